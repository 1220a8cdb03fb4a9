// A minimal Thrift compact-protocol encoder: just what a Parquet footer and page header need.
// Fields must be written in increasing id order within a struct (the delta encoding assumes it).

const T_BOOL_TRUE = 1;
const T_BOOL_FALSE = 2;
const T_I32 = 5;
const T_I64 = 6;
const T_BINARY = 8;
const T_LIST = 9;
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
