// Ranged reads of one immutable object as a batch: the ranges a reader planned are sorted,
// merged where the gap between them is small (one request costs more than a few KiB of extra
// bytes on object storage) and, when asked, where the bytes it wastes stay a bounded fraction of
// the bytes wanted, fetched in parallel, and handed back in the order they were asked.

import { QuiverError } from '../errors.js';
import type { ByteRange, ObjectStore } from './object-store.js';

/** One object's bytes, read by batches of ranges. */
export interface AsyncByteSource {
  /** The object's size in bytes. */
  readonly size: number;
  /** The bytes of each range, in the order given; one batch costs as few requests as its gaps allow. */
  read(ranges: readonly ByteRange[]): Promise<Uint8Array[]>;
}

export interface ByteSourceOptions {
  /** Ranges closer than this are fetched as one request. Default 64 KiB. */
  gapBytesMax?: number;
  /**
   * A request spanning several ranges reads at most this fraction of their bytes again in the
   * gaps between them (0.25: 25 % more than wanted); a gap that would pass it starts a new
   * request. Default: no bound beyond gapBytesMax.
   */
  wastedFractionMax?: number;
}

/** A byte source over `key` of `store`, whose size the caller knows (from a head or a manifest). */
export function byteSourceOf(store: Pick<ObjectStore, 'get'>, key: string, size: number, options: ByteSourceOptions = {}): AsyncByteSource {
  const gapBytesMax = options.gapBytesMax ?? 64 * 1024;
  const wastedFractionMax = options.wastedFractionMax ?? Infinity;
  return {
    size,
    async read(ranges) {
      for (const r of ranges) {
        if (r.offset < 0 || r.length < 0 || r.offset + r.length > size) {
          throw new QuiverError('corrupt', `storage: range ${r.offset}+${r.length} is outside "${key}" (${size} bytes)`, { key });
        }
      }
      const spans = mergeRanges(ranges, gapBytesMax, wastedFractionMax);
      const fetched = await Promise.all(spans.map((s) => store.get(key, s)));
      fetched.forEach((b, i) => {
        if (b.length !== spans[i].length) {
          throw new QuiverError('corrupt', `storage: read of ${spans[i].length} bytes at ${spans[i].offset} of "${key}" returned ${b.length}`, { key });
        }
      });
      return ranges.map((r) => {
        if (r.length === 0) return new Uint8Array(0);
        const i = spans.findIndex((s) => r.offset >= s.offset && r.offset + r.length <= s.offset + s.length);
        const at = r.offset - spans[i].offset;
        return fetched[i].subarray(at, at + r.length);
      });
    },
  };
}

/**
 * The spans that cover `ranges`, merged where they overlap or lie within `gapBytesMax` of each
 * other and the span's gap bytes stay within `wastedFractionMax` of the bytes it was asked for.
 */
export function mergeRanges(ranges: readonly ByteRange[], gapBytesMax: number, wastedFractionMax = Infinity): ByteRange[] {
  const sorted = ranges.filter((r) => r.length > 0).sort((a, b) => a.offset - b.offset);
  const out: ByteRange[] = [];
  let wanted = 0;
  let wasted = 0;
  for (const r of sorted) {
    const last = out[out.length - 1];
    const end = last ? last.offset + last.length : 0;
    const gap = Math.max(0, r.offset - end);
    const adds = Math.max(0, r.offset + r.length - Math.max(end, r.offset));
    if (last && r.offset <= end + gapBytesMax && wasted + gap <= wastedFractionMax * (wanted + adds)) {
      last.length = Math.max(last.length, r.offset + r.length - last.offset);
      wanted += adds;
      wasted += gap;
    } else {
      out.push({ offset: r.offset, length: r.length });
      wanted = r.length;
      wasted = 0;
    }
  }
  return out;
}
