#!/usr/bin/env node
// Runs the whole test suite with Node's own test runner (Node 20 has no glob for --test).
// Usage: node scripts/run-tests.mjs [path-substring ...]  — filters test files by substring.
// QUIVER_SERVERS=off skips booting the test servers.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = walk('tests').sort().filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('run-tests: no test file matches', filters);
  process.exit(1);
}
// Tests that need the S3 and Azure servers import tests/helpers/servers.ts; boot them first
// (idempotent: a no-op when they run). A failed boot is reported, and those tests then skip
// with the reason, or fail under CI=true.
if (process.env.QUIVER_SERVERS !== 'off' && files.some((f) => readFileSync(f, 'utf8').includes('helpers/servers.js'))) {
  const up = spawnSync('bash', ['scripts/servers/up.sh'], { stdio: 'inherit' });
  if (up.status !== 0) console.error(`run-tests: scripts/servers/up.sh failed (exit ${up.status}); server tests will skip, or fail under CI=true`);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], {
  stdio: 'inherit',
  // The SDK's notice that its 2027 releases need Node 22 is for users, not for every test process.
  env: { ...process.env, QUIVER_TEST: '1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
});
process.exit(r.status ?? 1);
