// The quiver commands run as a user runs them, as child processes over one dataset folder: each
// command's result (its --json parses and says what happened, the human form where it matters),
// url@ref addressing, and bad input exiting with the table's status and one line on stderr.
// The rows are appended with the library (import is its own command, tested with it).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as arrow from 'apache-arrow';
import * as quiver from '../../src/index.js';
import { EXIT_STATUS } from '../../src/cli/commands.js';
import { jsonOf, quiver as run, QUIVER_BIN } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('quiver-cli-');
const url = join(dir, 'gen');

async function seed(): Promise<void> {
  const ds = await quiver.open(url);
  await ds.append(Array.from({ length: 6 }, (_, i) => ({
    prompt: `prompt ${i}`, image: null, prompt_emb: Float32Array.of(Math.cos(i), Math.sin(i), 1, 0), rating: i, tags: i % 2 ? ['safe'] : ['unsafe'],
  })));
  await ds.commit('six rows');
  await ds.close();
}

describe('quiver commands', () => {
  it('create makes a dataset from a --schema list and reports its columns', async () => {
    const r = jsonOf(await run(['create', url, '--schema', 'prompt=text,image=image,prompt_emb=emb-4,rating=int,tags=list<text>', '--json'], dir));
    assert.deepEqual(r.schema.map((c: { name: string }) => c.name), ['prompt', 'image', 'prompt_emb', 'rating', 'tags']);
    await seed();
  });

  it('query prints a table, JSON lines with $n parameters, CSV and an Arrow stream', async () => {
    const sql = 'select prompt, rating from dataset where rating >= $1 order by rating';
    const [tableRun, jsonl, csv, ipc] = await Promise.all([
      run(['query', url, sql, '--param', '4'], dir),
      run(['query', url, sql, '--param', '4', '--json'], dir),
      run(['query', url, "select prompt, 'a,\"b' as odd from dataset order by rating limit 1", '--format', 'csv'], dir),
      run(['query', url, 'select row_id, prompt_emb from dataset order by row_id', '--format', 'arrow'], dir),
    ]);
    assert.equal(tableRun.status, 0, tableRun.stderr);
    assert.deepEqual(tableRun.stdout.trim().split('\n').map((l) => l.split(/\s{2,}/)), [['prompt', 'rating'], ['prompt 4', '4'], ['prompt 5', '5'], ['(2 rows)']]);
    assert.equal(jsonl.status, 0, jsonl.stderr);
    assert.deepEqual(jsonl.stdout.trim().split('\n').map((l) => JSON.parse(l)), [{ prompt: 'prompt 4', rating: 4 }, { prompt: 'prompt 5', rating: 5 }]);
    assert.equal(csv.stdout, 'prompt,odd\nprompt 0,"a,""b"\n');
    const t = arrow.tableFromIPC(ipc.bytes);
    assert.equal(t.numRows, 6);
    assert.deepEqual(t.schema.fields.map((f) => f.name), ['row_id', 'prompt_emb']);
  });

  it('query prints the header of an empty result as csv and as a table, from the result\'s schema', async () => {
    const sql = 'select prompt, rating * 2 as twice from dataset where rating > 100';
    const [csv, tableRun, jsonl] = await Promise.all([
      run(['query', url, sql, '--format', 'csv'], dir),
      run(['query', url, sql], dir),
      run(['query', url, sql, '--json'], dir),
    ]);
    assert.equal(csv.status, 0, csv.stderr);
    assert.equal(csv.stdout, 'prompt,twice\n');
    assert.equal(tableRun.status, 0, tableRun.stderr);
    assert.deepEqual(tableRun.stdout.trim().split('\n').map((l) => l.split(/\s{2,}/)), [['prompt', 'twice'], ['(0 rows)']]);
    assert.equal(jsonl.stdout, '', 'JSON lines of no rows are no lines');
  });

  it('schema and info describe the addressed version', async () => {
    const [schema, info] = await Promise.all([run(['schema', url, '--json'], dir), run(['info', url, '--json'], dir)]);
    assert.deepEqual(jsonOf(schema).columns[2], { name: 'prompt_emb', type: 'embedding(4)', nullable: true });
    const i = jsonOf(info);
    assert.equal(i.rows, 6);
    assert.equal(i.branch, 'main');
    assert.deepEqual(i.branches, ['main']);
  });

  it('branch and tag create refs at the addressed version and list them', async () => {
    const b = jsonOf(await run(['branch', url, 'ft', '--json'], dir));
    const t = jsonOf(await run(['tag', `${url}@ft`, 'r1', '--json'], dir));
    assert.equal(t.commit, b.commit);
    const list = jsonOf(await run(['branch', url, '--json'], dir));
    assert.deepEqual(list.branches.map((x: { name: string }) => x.name), ['ft', 'main']);
  });

  it('update, delete and curate change the addressed branch only, one commit each', async () => {
    const up = jsonOf(await run(['update', `${url}@ft`, '--where', 'rating = $1', '--param', '0', '--set', 'rating=9', '--set', 'tags=["safe","reviewed"]', '--json'], dir));
    assert.equal(up.rows, 1);
    const del = jsonOf(await run(['delete', `${url}@ft`, '--where', "prompt = 'prompt 1'", '--message', 'takedown', '--json'], dir));
    assert.equal(del.rows, 1);
    const cur = jsonOf(await run(['curate', `${url}@ft`, "not list_contains(tags, 'unsafe')", '--message', 'safe only', '--json'], dir));
    assert.deepEqual([cur.kept, cur.removed], [3, 2]);
    const [main, ft] = await Promise.all([run(['query', url, 'select count(*) n from dataset', '--json'], dir), run(['query', `${url}@ft`, 'select count(*) n from dataset', '--json'], dir)]);
    assert.deepEqual([jsonOf(main).n, jsonOf(ft).n], [6, 3]);
  });

  it('diff counts and lists the rows between two refs; log and versions show the history', async () => {
    const [diff, log, versions] = await Promise.all([
      run(['diff', url, 'main', 'ft', '--rows', '10', '--json'], dir),
      run(['log', `${url}@ft`, '--limit', '2', '--json'], dir),
      run(['versions', `${url}@r1`, '--json'], dir),
    ]);
    const d = jsonOf(diff);
    assert.deepEqual([d.counts.added, d.counts.removed, d.counts.changed], [0, 3, 1]);
    assert.equal(d.rows.length, 4);
    assert.deepEqual(jsonOf(log).commits.map((c: { message: string }) => c.message), ['safe only', 'takedown']);
    assert.deepEqual(jsonOf(versions).versions.map((c: { message: string }) => c.message), ['create dataset', 'six rows']);
  });

  it('merge fast-forwards main to the branch', async () => {
    const m = jsonOf(await run(['merge', url, 'ft', '--json'], dir));
    assert.equal(m.kind, 'fast-forward');
    assert.equal(jsonOf(await run(['info', url, '--json'], dir)).rows, 3);
  });

  it('index create, list and drop manage a vector index', async () => {
    const made = jsonOf(await run(['index', 'create', url, 'prompt_emb', '--kind', 'vector', '--metric', 'cosine', '--json'], dir));
    assert.equal(made.kind, 'vector');
    assert.deepEqual(jsonOf(await run(['index', 'list', url, '--json'], dir)).indexes.map((i: { column: string; kind: string }) => [i.column, i.kind]), [['prompt_emb', 'vector']]);
    jsonOf(await run(['index', 'drop', url, 'prompt_emb', '--kind', 'vector', '--json'], dir));
    assert.deepEqual(jsonOf(await run(['index', 'list', url, '--json'], dir)).indexes, []);
  });

  it('compact commits or says there is nothing to do, and draws no bar off a terminal', async () => {
    const r = await run(['compact', url, '--json'], dir);
    const c = jsonOf(r);
    assert.ok(c.commit === null || /^[0-9a-f]{32}$/.test(c.commit), JSON.stringify(c));
    assert.equal(r.stderr, '', 'stderr is no terminal: no progress is drawn');
  });

  it('vacuum --dry-run counts the files of a deleted branch and deletes nothing; vacuum deletes them', async () => {
    jsonOf(await run(['branch', url, 'scratch', '--json'], dir));
    jsonOf(await run(['update', `${url}@scratch`, '--where', 'true', '--set', 'rating=1', '--json'], dir));
    assert.equal(jsonOf(await run(['branch', url, '--delete', 'scratch', '--json'], dir)).deleted, 'scratch');
    const vacuum = (...flags: string[]) => run(['vacuum', url, '--older-than-ms', '0', '--json', ...flags], dir).then(jsonOf);
    const dry = await vacuum('--dry-run');
    assert.equal(dry.dryRun, true);
    assert.ok(dry.deleted > 0, JSON.stringify(dry));
    assert.equal((await vacuum('--dry-run')).deleted, dry.deleted, 'the dry run deleted nothing');
    assert.equal((await vacuum()).deleted, dry.deleted);
    assert.equal((await vacuum('--dry-run')).deleted, 0);
    assert.equal((await run(['vacuum', url, '--dry-run'], dir)).stderr, '', 'stderr is no terminal: no progress is drawn');
    assert.equal(jsonOf(await run(['query', url, 'select sum(rating) s from dataset', '--json'], dir)).s, 9 + 3 + 5, 'main is intact');
  });

  it('serve answers HTTP for the datasets under --root with tokens that token create makes and token revoke ends', async () => {
    const child = spawn(process.execPath, [QUIVER_BIN, 'serve', '--root', dir, '--port', '0', '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [line] = (await once(child.stdout, 'data')) as [Buffer];
    const { url: base, bootstrapToken } = JSON.parse(line.toString());
    const info = (token?: string, name = 'gen') => fetch(`${base}/v1/datasets/${name}/stream/info`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    try {
      const ok = await info(bootstrapToken);
      assert.equal(ok.status, 200);
      assert.equal((await ok.json()).rows, 3);
      assert.equal((await info()).status, 401);
      assert.ok([400, 404].includes((await info(bootstrapToken, '..%2Fgen')).status), 'a name outside the root is refused');

      const made = jsonOf(await run(['token', 'create', 'trainer', '--root', dir, '--role', 'read', '--datasets', 'gen', '--json'], dir));
      assert.match(made.token, /^qv_/);
      assert.equal((await info(made.token)).status, 200);
      const listed = jsonOf(await run(['token', 'list', '--root', dir, '--json'], dir)).tokens;
      assert.deepEqual(listed.map((t: { name: string; role: string }) => [t.name, t.role]), [['bootstrap-admin', 'admin'], ['trainer', 'read']]);
      assert.equal(JSON.stringify(listed).includes(made.token), false, 'list never shows a secret');
      assert.equal(jsonOf(await run(['token', 'revoke', 'trainer', '--root', dir, '--json'], dir)).revoked[0].id, made.info.id);
      assert.equal((await info(made.token)).status, 401);
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
  });

  it('exits with the table\'s status and one stderr line for bad input', async () => {
    const cases: [string[], number, RegExp][] = [
      [['frobnicate'], EXIT_STATUS.invalid_input, /unknown command "frobnicate"/],
      [['query', url], EXIT_STATUS.invalid_input, /query needs <sql>/],
      [['query', url, 'select 1', '--format', 'xml'], EXIT_STATUS.invalid_input, /--format must be table, jsonl, csv, arrow, got "xml"/],
      [['query', url, 'selec 1'], EXIT_STATUS.invalid_sql, /syntax error/],
      [['query', join(dir, 'nothing'), 'select 1'], EXIT_STATUS.not_found, /no dataset at/],
      [['query', `${url}@nope`, 'select 1'], EXIT_STATUS.not_found, /no branch, tag or version "nope"/],
      [['create', url, '--schema', 'a=int'], EXIT_STATUS.already_exists, /already exists/],
      [['create', join(dir, 'x'), '--schema', 'a=integr'], EXIT_STATUS.invalid_input, /integr/],
      [['update', `${url}@r1`, '--where', 'true', '--set', 'rating=1'], EXIT_STATUS.read_only, /read-only/],
      [['branch', url, 'ft'], EXIT_STATUS.already_exists, /ft/],
      [['log', url, '--limit', 'many'], EXIT_STATUS.invalid_input, /--limit must be an integer >= 1, got "many"/],
      [['token', 'revoke', 'nobody', '--root', dir], EXIT_STATUS.not_found, /no live token/],
      [['token', 'frob'], EXIT_STATUS.invalid_input, /token takes create, list, revoke, got "frob"/],
    ];
    const runs = await Promise.all(cases.map(([args]) => run(args, dir)));
    runs.forEach((r, i) => {
      const [args, status, message] = cases[i];
      assert.equal(r.status, status, `quiver ${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '', `quiver ${args.join(' ')} printed on stdout`);
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, `quiver ${args.join(' ')} printed one line: ${r.stderr}`);
      assert.match(lines[0], new RegExp(`^quiver ${args[0]}: `));
      assert.match(lines[0], message);
    });
  });

  it('with --json prints a failure as one JSON object on stderr: code, message, details, the table\'s status', async () => {
    const cases: [string[], keyof typeof EXIT_STATUS, RegExp][] = [
      [['frobnicate', '--json'], 'invalid_input', /unknown command "frobnicate"/],
      [['query', url, 'selec 1', '--json'], 'invalid_sql', /syntax error/],
      [['query', `${url}@nope`, 'select 1', '--json'], 'not_found', /no branch, tag or version "nope"/],
      [['update', `${url}@r1`, '--json', '--where', 'true', '--set', 'rating=1'], 'read_only', /read-only/],
    ];
    const runs = await Promise.all(cases.map(([args]) => run(args, dir)));
    runs.forEach((r, i) => {
      const [args, code, message] = cases[i];
      assert.equal(r.status, EXIT_STATUS[code], `quiver ${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '', `quiver ${args.join(' ')} printed on stdout`);
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, `quiver ${args.join(' ')} printed one line: ${r.stderr}`);
      const e = JSON.parse(lines[0]);
      assert.deepEqual(Object.keys(e), ['code', 'message', 'details', 'status']);
      assert.equal(e.code, code);
      assert.equal(e.status, EXIT_STATUS[code]);
      assert.match(e.message, message);
      assert.equal(typeof e.details, 'object');
    });
    assert.equal(JSON.parse(runs[2].stderr).details.at, 'nope', 'details say what was not found');
  });
});
