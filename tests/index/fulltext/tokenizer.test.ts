import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Tokenizer } from '../../../src/index/index.js';

/** Edge cases of unicode61: case, diacritics (single, multiple, combining), scripts, symbols. */
const SAMPLES = [
  'Héllo WORLD', 'ǖber ǘ', 'ά έ Ωμέγα ΣΑΣ', 'ñandú Åsa øre straße İstanbul', 'cafe\u0301 x', '北京大学 東京',
  'emoji😀test', "snake_case it's 3.14 x²", 'ﬁne Ⅻ ①', 'Ǆ ǅ ǆ', 'ÆØ œuvre', 'Ω Ａｂｃ', 'a\u200db', 'I\u0307 ḯ ẞ',
  'ḃ ṁ ẁ ǎ ő ų ț Ḃ', 'x \u0301 y', 'Ǻ ǻ Ḉ ñ Ñ', 'ĳ Ĳ ŉ ǰ', 'Ä ä Ö ö Ü ü ÿ Ÿ', 'Ş ş Ğ ğ ı', 'Ā ē ī ō ū', 'Ṥ ṥ ạ ậ',
  '', '   ', '--', 'tab\tnew\nline',
];

describe('Tokenizer', () => {
  it('produces the same tokens as SQLite FTS5 unicode61 remove_diacritics 1', () => {
    const db = new Database(':memory:');
    db.exec(`CREATE VIRTUAL TABLE t USING fts5(x, tokenize='unicode61 remove_diacritics 1');
             CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance');`);
    const ins = db.prepare('INSERT INTO t(rowid, x) VALUES (?, ?)');
    SAMPLES.forEach((s, i) => ins.run(i + 1, s));
    const rows = db.prepare('SELECT doc, term FROM v ORDER BY doc, offset').all() as { doc: number; term: string }[];
    const tk = new Tokenizer();
    SAMPLES.forEach((s, i) => {
      const theirs = rows.filter((r) => r.doc === i + 1).map((r) => r.term);
      assert.deepEqual(tk.tokenize(s), theirs, JSON.stringify(s));
    });
    db.close();
  });

  it('keeps diacritics with removeDiacritics 0 and folds stacked ones with 2', () => {
    assert.deepEqual(new Tokenizer({ removeDiacritics: 0 }).tokenize('Café ǖ'), ['café', 'ǖ']);
    assert.deepEqual(new Tokenizer({ removeDiacritics: 2 }).tokenize('Café ǖ'), ['cafe', 'u']);
  });

  it('drops stopwords (compared after folding) and tokens shorter than minTokenLength', () => {
    const tk = new Tokenizer({ stopwords: ['The', 'à'], minTokenLength: 2 });
    assert.deepEqual(tk.tokenize('the cat A sat at the mat, à la'), ['cat', 'sat', 'at', 'mat', 'la']);
  });
});
