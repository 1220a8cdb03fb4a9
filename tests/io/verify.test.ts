// verify (src/io/verify.ts): a clean dataset with branches, tags, deletes, updates and a vector
// index is ok; a flipped byte in each kind of object, or a deleted one, is reported by key.
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { open, verify } from '../../src/index.js';
import { forgetChecksums, manifestKeys, readCommit, readManifest } from '../../src/format/index.js';
import { openStore } from '../../src/storage/index.js';
import { tempDir } from '../helpers/tmp.js';
import { datasetWith, records } from './fixtures.js';

/** A dataset whose history has every kind of object: fragments, image files, deletes, an update, an index, a tag and a branch. */
async function richDataset(): Promise<string> {
  const url = join(tempDir(), 'ds');
  const recs = await records(40);
  const ds = await datasetWith(url, recs.slice(0, 20));
  await ds.tag('v1');
  await ds.append(recs.slice(20));
  await ds.commit('more');
  await ds.delete({ where: 'prompt = $1', params: ['prompt 3'] });
  await ds.commit('delete one');
  await ds.update({ rows: [{ row_id: 5n, prompt: 'renamed' }] });
  await ds.commit('update one');
  await ds.createIndex('emb', { kind: 'vector', metric: 'cosine' });
  await (await ds.branch('side')).close();
  await ds.close();
  return url;
}

/** Every data and index key the manifests of the branch's history name (a write may leave files no manifest names). */
async function reachableKeys(url: string): Promise<string[]> {
  const store = openStore(url);
  const ds = await open(url);
  const keys = new Set<string>();
  for (const c of await ds.versions()) for (const k of manifestKeys(await readManifest(store, (await readCommit(store, c.id)).manifest))) keys.add(k);
  await ds.close();
  return [...keys].sort();
}

function keysUnder(url: string, dir: string, pattern: RegExp): string[] {
  return readdirSync(join(url, dir)).filter((n) => pattern.test(n)).map((n) => `${dir}/${n}`).sort();
}

function flipByte(url: string, key: string, at = 0.5): void {
  const path = join(url, key);
  const b = readFileSync(path);
  b[Math.floor(b.length * at)] ^= 0x20;
  writeFileSync(path, b);
  forgetChecksums(`file://${url}`);
}

describe('verify', () => {
  it('reports a clean dataset as ok, having checked every object its refs reach', async () => {
    const url = await richDataset();
    const report = await verify(url);
    assert.deepEqual(report.problems, []);
    assert.equal(report.ok, true);
    assert.equal(report.refs, 3);
    assert.ok(report.commits >= 6, `${report.commits} commits`);
    const reachable = await reachableKeys(url);
    assert.ok(reachable.some((k) => k.startsWith('index/')) && reachable.some((k) => k.includes('.deletes-')));
    assert.equal(report.files, reachable.length, 'every data, deletes and index file');
  });

  it('names a flipped byte in a small-column, image, deletes and index file, and a commit and a manifest', async () => {
    const url = await richDataset();
    const reachable = await reachableKeys(url);
    const victims = [/\.scalar\.parquet$/, /\.image\.parquet$/, /\.deletes-/, /\.qvix$/].map((re) => reachable.find((k) => re.test(k))!);
    for (const key of victims) flipByte(url, key);
    // The root commit and the first version's manifest: every file is still reached through later ones.
    const store = openStore(url);
    const ds = await open(url);
    const versions = await ds.versions();
    await ds.close();
    const commit = `meta/commits/${versions.find((c) => c.parents.length === 0)!.id}.json`;
    const manifest = `meta/manifests/${(await readCommit(store, versions.find((c) => c.message === 'seed')!.id)).manifest}.json`;
    flipByte(url, commit, 0.8);
    flipByte(url, manifest, 0.8);
    const report = await verify(url);
    assert.equal(report.ok, false);
    const named = new Set(report.problems.map((p) => p.key));
    for (const key of [...victims, commit, manifest]) assert.ok(named.has(key), `${key} not in ${[...named].join(', ')}`);
    for (const p of report.problems) assert.equal(p.problem, 'corrupt', `${p.key}: ${p.reason}`);
  });

  it('names a missing data file as missing, with what named it', async () => {
    const url = await richDataset();
    const key = keysUnder(url, 'data', /\.emb\.parquet$/)[0];
    rmSync(join(url, key));
    const report = await verify(url);
    const p = report.problems.find((x) => x.key === key);
    assert.ok(p, JSON.stringify(report.problems));
    assert.equal(p.problem, 'missing');
    assert.match(p.via, /^manifest [0-9a-f]{32}/);
  });

  it('names the page of a flipped byte inside a page body, and the whole-file CRC of one in the footer', async () => {
    const url = await richDataset();
    const [image, scalar] = [/\.image\.parquet$/, /\.scalar\.parquet$/].map((re) => keysUnder(url, 'data', re)[0]);
    flipByte(url, image, 0.3); // images fill the file: this lands in a page's body
    const path = join(url, scalar);
    const b = readFileSync(path);
    b[b.length - 10] ^= 0x01; // inside the footer, which no page CRC covers
    writeFileSync(path, b);
    const report = await verify(url);
    const reason = (key: string) => report.problems.find((x) => x.key === key)?.reason ?? `nothing for ${key}: ${JSON.stringify(report.problems)}`;
    assert.match(reason(image), /page at \d+: its crc32 is [0-9a-f]{8}, the page header recorded/);
    assert.match(reason(scalar), /crc32|footer|rows|values/);
  });
});
