// Key lookup for upsert: text keys are matched by the bytes stored in the pages, never decoded.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TextKeys } from '../../../src/dataset/versioning/key-lookup.js';
import { bytesHash } from '../../../src/format/index.js';

const enc = new TextEncoder();
/** How a stored value is offered to the table: its bytes inside a larger page body. */
function lookup(t: TextKeys, value: string): string | undefined {
  const bytes = enc.encode(value);
  const body = new Uint8Array(bytes.length + 7);
  body.set(bytes, 3);
  const h = bytesHash(body, 3, bytes.length);
  return t.has(h) ? t.find(body, 3, bytes.length, h) : undefined;
}

describe('TextKeys', () => {
  it('finds exactly the keys given, byte for byte, among many (slots shared by probing)', () => {
    const keys = [...Array.from({ length: 5000 }, (_, i) => `req-${i}`), 'é', 'ß-straße', '日本語', '', 'req-1 '];
    const t = new TextKeys(new Set<unknown>([...keys, 7n, null]));
    for (const k of keys) assert.equal(lookup(t, k), k);
    for (const miss of ['req-5000', 'req-', 'e', 'ss-strasse', '日本', 'req-1  ', 'REQ-1']) assert.equal(lookup(t, miss), undefined);
  });

  it('tells apart keys that start their search at the same slot', () => {
    // Two keys whose hashes share their low 16 bits: the table must go on probing past the first.
    const seen = new Map<number, string>();
    let pair: [string, string] | null = null;
    for (let i = 0; !pair; i++) {
      const k = `k${i}`;
      const b = enc.encode(k);
      const h = bytesHash(b, 0, b.length) & 0xffff; // a collision of the low bits: same slot chain
      const other = seen.get(h);
      if (other !== undefined) pair = [other, k];
      else seen.set(h, k);
    }
    const t = new TextKeys([pair[0]]);
    assert.equal(lookup(t, pair[0]), pair[0]);
    assert.equal(lookup(t, pair[1]), undefined);
  });
});
