// The SQL the UI sends, built in one place (pure: no fetch, no DOM). The user's WHERE is put in
// parentheses inside one SELECT over `dataset`; the server sandboxes the whole statement, so
// text that closes the parenthesis only makes another SELECT over the same dataset. Values the
// user picks (search words, a tag) travel as parameters, never as SQL text.

import type { ColumnDef } from './api.js';

/** Which columns the UI shows, by role; a role the dataset lacks is undefined. */
export interface Roles {
  image?: string;
  prompt?: string;
  rating?: string;
  tags?: string;
  embedding?: string;
  parent?: string;
  /** Columns too large to list in a row's table (images, embeddings). */
  large: string[];
}

const isImage = (c: ColumnDef) => c.type.kind === 'image';
const isEmbedding = (c: ColumnDef) => c.type.kind === 'embedding' || (c.type.kind === 'list' && c.type.element?.kind === 'embedding');
const isInt = (c: ColumnDef) => /^u?int(8|16|32|64)?$/.test(c.type.kind);

export function rolesOf(schema: ColumnDef[]): Roles {
  const named = (names: string[], ok: (c: ColumnDef) => boolean) => names.map((n) => schema.find((c) => c.name === n && ok(c))).find(Boolean)?.name;
  const embeddings = schema.filter(isEmbedding);
  return {
    image: schema.find(isImage)?.name,
    prompt: named(['prompt', 'caption', 'text'], (c) => c.type.kind === 'text') ?? schema.find((c) => c.type.kind === 'text')?.name,
    rating: named(['rating', 'score'], (c) => isInt(c) || c.type.kind.startsWith('float')),
    tags: named(['tags', 'labels'], (c) => c.type.kind === 'list' && c.type.element?.kind === 'text'),
    embedding: (embeddings.find((c) => c.name.includes('image')) ?? embeddings[0])?.name,
    parent: named(['parent_id', 'parent_row_id', 'parent'], isInt),
    large: schema.filter((c) => isImage(c) || isEmbedding(c) || (c.type.kind === 'list' && c.type.element?.kind === 'image')).map((c) => c.name),
  };
}

export const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** What narrows the grid: the user's WHERE, words to search in the prompt, and facets picked in the histograms. */
export interface Filter {
  where: string;
  search: string;
  rating?: number | null;
  tag?: string;
}

export interface Sql {
  sql: string;
  params: unknown[];
}

/** `where …` for a filter ('' when nothing filters), with its parameters. */
export function whereOf(f: Filter, roles: Roles): Sql {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (f.where.trim() !== '') parts.push(`(${f.where}\n)`);
  if (f.search.trim() !== '' && roles.prompt) {
    params.push(`%${f.search.trim()}%`);
    parts.push(`${ident(roles.prompt)} ilike $${params.length}`);
  }
  if (f.rating !== undefined && roles.rating) parts.push(f.rating === null ? `${ident(roles.rating)} is null` : `${ident(roles.rating)} = ${Number(f.rating)}`);
  if (f.tag !== undefined && roles.tags) {
    params.push(f.tag);
    parts.push(`list_contains(${ident(roles.tags)}, $${params.length})`);
  }
  return { sql: parts.length ? `where ${parts.join(' and ')}` : '', params };
}

/** The small columns a grid card shows. */
function cardColumns(roles: Roles): string {
  return ['row_id', roles.prompt, roles.rating, roles.tags].filter((c): c is string => c !== undefined).map((c) => (c === 'row_id' ? c : ident(c))).join(', ');
}

export function countSql(w: Sql): Sql {
  return { sql: `select count(*) as n from dataset ${w.sql}`, params: w.params };
}

export function pageSql(w: Sql, roles: Roles, limit: number, offset: number): Sql {
  return { sql: `select ${cardColumns(roles)} from dataset ${w.sql} order by row_id limit ${limit} offset ${offset}`, params: w.params };
}

export function ratingHistogramSql(w: Sql, rating: string): Sql {
  return { sql: `select ${ident(rating)} as value, count(*) as n from dataset ${w.sql} group by 1 order by 1 nulls last`, params: w.params };
}

/** The most frequent tags among the filtered rows, `tagsMax` at most. */
export function tagHistogramSql(w: Sql, tags: string, tagsMax: number): Sql {
  return {
    sql: `select tag as value, count(*) as n from (select unnest(${ident(tags)}) as tag from dataset ${w.sql}) group by 1 order by n desc, value limit ${tagsMax}`,
    params: w.params,
  };
}

/** Every small column of one row (row ids are integers: the text is checked before it becomes SQL). */
export function rowSql(rowId: string, roles: Roles): string {
  const exclude = roles.large.length ? ` exclude (${roles.large.map(ident).join(', ')})` : '';
  return `select *${exclude} from dataset where row_id = ${checkedId(rowId)}`;
}

export function checkedId(rowId: string): string {
  if (!/^\d{1,20}$/.test(rowId)) throw new Error(`ui: a row id must be an integer, got ${JSON.stringify(rowId)}`);
  return rowId;
}

export function vectorSql(rowId: string, embedding: string): string {
  return `select ${ident(embedding)} as v from dataset where row_id = ${checkedId(rowId)}`;
}

/** The `k` rows nearest to vector $1 by cosine similarity, the row itself left out. */
export function neighboursSql(rowId: string, roles: Roles, k: number): string {
  return `select ${cardColumns(roles)}, cosine_similarity(${ident(roles.embedding!)}, $1) as similarity from dataset where row_id <> ${checkedId(rowId)} order by cosine_similarity(${ident(roles.embedding!)}, $1) desc limit ${k}`;
}

export function childrenSql(rowId: string, roles: Roles, childrenMax: number): string {
  return `select ${cardColumns(roles)} from dataset where ${ident(roles.parent!)} = ${checkedId(rowId)} order by row_id limit ${childrenMax}`;
}

export function cardSql(rowId: string, roles: Roles): string {
  return `select ${cardColumns(roles)} from dataset where row_id = ${checkedId(rowId)}`;
}
