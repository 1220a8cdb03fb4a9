// SQLite FTS5, the reference BM25 the full-text tests compare with: one table over (rowid, text)
// with the tokenizer Quiver's matches, and query words quoted so FTS5 sees terms, not its syntax.
import Database from 'better-sqlite3';

/** An in-memory FTS5 table `t(x)` holding each text under its rowid (a document's index by default). */
export function fts5(docs: readonly string[] | readonly (readonly [number | bigint, string])[]): InstanceType<typeof Database> {
  const db = new Database(':memory:');
  db.exec(`CREATE VIRTUAL TABLE t USING fts5(x, tokenize='unicode61 remove_diacritics 1')`);
  const ins = db.prepare('INSERT INTO t(rowid, x) VALUES (?, ?)');
  db.transaction(() => docs.forEach((d, i) => (typeof d === 'string' ? ins.run(i, d) : ins.run(d[0], d[1]))))();
  return db;
}

/** Each query word quoted, joined by `joiner` (' ' for AND, ' OR ' for OR). */
export const quoted = (q: string, joiner: string) => q.split(/\s+/).map((w) => `"${w}"`).join(joiner);
