// One-shot writes are group-committed (write-batcher.ts): concurrent appends of one token to one
// branch share commits. Whatever the batching, every acknowledged row is in the version its
// answer names, with the token as author, and a request whose staging fails fails alone.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { served, type Served } from './fixture.js';

let s: Served;
before(async () => {
  s = await served(1, { tokenRequestsMax: 64 });
});
after(() => s.close());

describe('server: group commit of one-shot writes', () => {
  it('acknowledges each of 24 concurrent appends with a commit that holds its row; a bad one fails alone', async () => {
    const answers = await Promise.all(
      Array.from({ length: 24 }, (_, i) => s.call('POST', `/v1/datasets/gen/append?message=m${i}`, s.write, { records: [i === 7 ? { prompt: 'bad', rating: 'not a number' } : { prompt: `c${i}`, rating: i % 5 }] })),
    );
    assert.equal(answers[7].status, 400);
    for (const [i, a] of answers.entries()) {
      if (i === 7) continue;
      assert.equal(a.status, 200, JSON.stringify(a.body));
      assert.equal(a.body.commit.meta.author, 'writer-bob');
      const at = await s.call('POST', `/v1/datasets/gen/query?version=${a.body.commit.id}`, s.read, { sql: 'select prompt from dataset where row_id = $1', params: [{ $bigint: a.body.rowIds[0] }] });
      assert.deepEqual(at.body.rows, [{ prompt: `c${i}` }]);
      // The commit's message is this request's, or lists it among the batch's.
      const msgs: string[] = a.body.commit.meta.messages ?? [a.body.commit.message];
      assert.ok(msgs.includes(`m${i}`), JSON.stringify(a.body.commit));
    }
    const n = (await s.call('POST', '/v1/datasets/gen/query', s.read, { sql: "select count(*)::int as n from dataset where prompt like 'c%' or prompt = 'bad'" })).body.rows[0].n;
    assert.equal(n, 23);
  });
});
