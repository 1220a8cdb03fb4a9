// The demo (`npm start`) runs end to end on a small dataset: it exits 0 and prints every
// section, so the product walkthrough cannot silently rot.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

describe('demo/main.ts', () => {
  it('plays 200 requests, answers every product question and travels back in time', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'demo/main.ts', '--rows', '200'], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, `demo exited with ${r.status}\n${r.stderr}`);
    const sections = [
      'Live writes: one append per request',
      '1. Which prompts produce the most regenerations?',
      '2. Top 1% rated outputs of the last 7 days',
      '3. Rating by tag',
      '4. Images per request',
      '5. Highest-rated requests of the last 7 days near a prompt embedding',
      '6. Time travel',
      '7. ds.versions()',
      '8. Late feedback (1 row updated), then a fine-tuning set curated on branch ft-v1',
      'demo done in',
    ];
    for (const s of sections) assert.ok(r.stdout.includes(s), `missing section "${s}" in:\n${r.stdout}`);
    // 200 requests committed every 50: the first version holds 50 of them, the head all 200.
    assert.match(r.stdout, /\{ version: '[0-9a-f]{12}…' \}\s+requests 1\.\.50\s+50\b/);
    assert.match(r.stdout, /\{ branch: 'main' \} \(now\)\s+requests 151\.\.200\s+200\b/);
    // The curated branch keeps only safe requests rated 4 or 5.
    assert.match(r.stdout, /ft-v1\s+[0-9a-f]{12}\s+fine-tune set v1: rating >= 4, safe only\s+\d+\s+\d+\s+4\.\d+\s+0\s*$/m);
  });

  it('refuses an unknown argument with a non-zero exit', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'demo/main.ts', '--bogus'], { encoding: 'utf8', timeout: 60_000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /demo: unknown or invalid argument "--bogus"/);
  });
});
