// A minimal Thrift compact protocol: the encoder writes just what a Parquet footer and page
// header need; the decoder reads any struct back as field id -> value, skipping nothing it
// does not understand into a wrong state (unknown types are a corrupt-file error).
// Fields must be written in increasing id order within a struct (the delta encoding assumes it).

const T_BOOL_TRUE = 1;
const T_BOOL_FALSE = 2;
const T_BYTE = 3;
const T_I16 = 4;
const T_I32 = 5;
const T_I64 = 6;
const T_DOUBLE = 7;
const T_BINARY = 8;
const T_LIST = 9;
const T_SET = 10;
const T_MAP = 11;
const T_STRUCT = 12;

export type ThriftValue =
  | { t: 'i32'; v: number }
  | { t: 'i64'; v: number | bigint }
  | { t: 'bool'; v: boolean }
  | { t: 'bin'; v: Uint8Array | string }
  | { t: 'struct'; v: ThriftStruct }
  | { t: 'list'; elem: 'i32' | 'bin' | 'struct'; v: (number | string | Uint8Array | ThriftStruct)[] };

/** A struct is a list of [fieldId, value] pairs; undefined values are skipped (optional fields). */
export type ThriftStruct = [number, ThriftValue | undefined][];

export class ByteSink {
  buf: Uint8Array;
  len = 0;
  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
  }
  ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + extra) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  varint(n: number | bigint): void {
    let v = BigInt(n);
    if (v >= 0n && v < 0x80n) return this.byte(Number(v));
    while (v >= 0x80n) {
      this.byte(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.byte(Number(v));
  }
  /** Unsigned varint for small non-negative numbers, without BigInt. */
  uvarint(n: number): void {
    while (n >= 0x80) {
      this.byte((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    this.byte(n);
  }
  zigzag(n: number | bigint): void {
    const v = BigInt(n);
    this.varint(v >= 0n ? v << 1n : ((-v) << 1n) - 1n);
  }
  u32le(n: number): void {
    this.ensure(4);
    this.buf[this.len] = n & 255;
    this.buf[this.len + 1] = (n >>> 8) & 255;
    this.buf[this.len + 2] = (n >>> 16) & 255;
    this.buf[this.len + 3] = (n >>> 24) & 255;
    this.len += 4;
  }
  result(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

const encoder = new TextEncoder();

function typeId(v: ThriftValue): number {
  switch (v.t) {
    case 'i32':
      return T_I32;
    case 'i64':
      return T_I64;
    case 'bool':
      return v.v ? T_BOOL_TRUE : T_BOOL_FALSE;
    case 'bin':
      return T_BINARY;
    case 'struct':
      return T_STRUCT;
    case 'list':
      return T_LIST;
  }
}

function writeBinary(out: ByteSink, v: Uint8Array | string): void {
  const b = typeof v === 'string' ? encoder.encode(v) : v;
  out.uvarint(b.length);
  out.bytes(b);
}

export function writeStruct(out: ByteSink, s: ThriftStruct): void {
  let last = 0;
  for (const [id, value] of s) {
    if (value === undefined) continue;
    const delta = id - last;
    const tid = typeId(value);
    if (delta > 0 && delta <= 15) out.byte((delta << 4) | tid);
    else {
      out.byte(tid);
      out.zigzag(id);
    }
    last = id;
    switch (value.t) {
      case 'i32':
      case 'i64':
        out.zigzag(value.v);
        break;
      case 'bool':
        break; // the value lives in the type nibble
      case 'bin':
        writeBinary(out, value.v);
        break;
      case 'struct':
        writeStruct(out, value.v);
        break;
      case 'list': {
        const et = value.elem === 'i32' ? T_I32 : value.elem === 'bin' ? T_BINARY : T_STRUCT;
        const n = value.v.length;
        if (n < 15) out.byte((n << 4) | et);
        else {
          out.byte(0xf0 | et);
          out.uvarint(n);
        }
        for (const e of value.v) {
          if (value.elem === 'i32') out.zigzag(e as number);
          else if (value.elem === 'bin') writeBinary(out, e as string | Uint8Array);
          else writeStruct(out, e as ThriftStruct);
        }
        break;
      }
    }
  }
  out.byte(0); // stop
}

export const i32 = (v: number): ThriftValue => ({ t: 'i32', v });
export const i64 = (v: number | bigint): ThriftValue => ({ t: 'i64', v });
export const bin = (v: Uint8Array | string): ThriftValue => ({ t: 'bin', v });
export const struct = (v: ThriftStruct): ThriftValue => ({ t: 'struct', v });
export const opt = <T>(x: T | undefined, f: (x: T) => ThriftValue): ThriftValue | undefined => (x === undefined ? undefined : f(x));

/**
 * A decoded value: integers as numbers (i64 as bigint only beyond 2^53), binaries as bytes,
 * lists and sets as arrays, structs as field id -> value.
 */
export type ThriftRead = boolean | number | bigint | Uint8Array | ThriftRead[] | ThriftFields | Map<ThriftRead, ThriftRead>;
export type ThriftFields = Map<number, ThriftRead>;

/** Thrown on bytes that do not decode; the caller maps it to its own error. */
export class ThriftDecodeError extends Error {}

/** A cursor over compact-protocol bytes. */
export class ByteSource {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start = 0,
  ) {
    this.pos = start;
  }
  byte(): number {
    if (this.pos >= this.buf.length) throw new ThriftDecodeError('thrift: truncated');
    return this.buf[this.pos++];
  }
  /** Unsigned varint as a number when it fits 53 bits, else a bigint. */
  varint(): number | bigint {
    let n = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      n += (b & 0x7f) * mul;
      if (b < 0x80) return Number.isSafeInteger(n) ? n : this.bigVarint(i + 1);
      mul *= 128;
    }
    throw new ThriftDecodeError('thrift: varint too long');
  }
  private bigVarint(len: number): bigint {
    // Re-read exactly: the float accumulation above lost precision.
    this.pos -= len;
    let v = 0n;
    let shift = 0n;
    for (let i = 0; i < len; i++) {
      const b = this.byte();
      v |= BigInt(b & 0x7f) << shift;
      shift += 7n;
    }
    return v;
  }
  uvarint(): number {
    const v = this.varint();
    if (typeof v !== 'number') throw new ThriftDecodeError('thrift: length out of range');
    return v;
  }
  zigzag(): number | bigint {
    const v = this.varint();
    if (typeof v === 'number') return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
    const s = (v >> 1n) ^ -(v & 1n);
    return s >= BigInt(Number.MIN_SAFE_INTEGER) && s <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(s) : s;
  }
  take(n: number): Uint8Array {
    if (n < 0 || this.pos + n > this.buf.length) throw new ThriftDecodeError('thrift: truncated');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

function readValue(src: ByteSource, type: number, depth: number): ThriftRead {
  if (depth > 64) throw new ThriftDecodeError('thrift: nesting too deep');
  switch (type) {
    case T_BOOL_TRUE:
      return true;
    case T_BOOL_FALSE:
      return false;
    case T_BYTE:
      return (src.byte() << 24) >> 24;
    case T_I16:
    case T_I32:
    case T_I64:
      return src.zigzag();
    case T_DOUBLE: {
      const b = src.take(8);
      return new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, true);
    }
    case T_BINARY:
      return src.take(src.uvarint());
    case T_LIST:
    case T_SET: {
      const h = src.byte();
      const n = h >> 4 === 15 ? src.uvarint() : h >> 4;
      const et = h & 15;
      const out: ThriftRead[] = [];
      // In a collection a boolean is a byte of its own (1 true, 0 or 2 false).
      for (let i = 0; i < n; i++) out.push(et === T_BOOL_TRUE || et === T_BOOL_FALSE ? src.byte() === 1 : readValue(src, et, depth + 1));
      return out;
    }
    case T_MAP: {
      const n = src.uvarint();
      const out = new Map<ThriftRead, ThriftRead>();
      if (n === 0) return out;
      const kv = src.byte();
      for (let i = 0; i < n; i++) out.set(readValue(src, kv >> 4, depth + 1), readValue(src, kv & 15, depth + 1));
      return out;
    }
    case T_STRUCT:
      return readStructFrom(src, depth + 1);
    default:
      throw new ThriftDecodeError(`thrift: unknown type ${type}`);
  }
}

function readStructFrom(src: ByteSource, depth: number): ThriftFields {
  const out: ThriftFields = new Map();
  let last = 0;
  for (;;) {
    const h = src.byte();
    if (h === 0) return out;
    const delta = h >> 4;
    const id = delta ? last + delta : Number(src.zigzag());
    out.set(id, readValue(src, h & 15, depth));
    last = id;
  }
}

/** Decodes the struct starting at `src.pos`, leaving `src.pos` just after it. */
export function readStruct(src: ByteSource): ThriftFields {
  return readStructFrom(src, 0);
}
