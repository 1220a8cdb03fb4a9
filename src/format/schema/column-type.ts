// Column types: the seed's short strings ('text', 'image', 'emb-1536', 'list<text>', 'text?')
// and a typed builder (`t.int64()`, `t.embedding(768)`, `t.list(t.image())`), both parsed into
// one canonical ColumnType that is stored with the data.

import { QuiverError } from '../../errors.js';

export type ScalarKind =
  | 'text'
  | 'bool'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'float32'
  | 'float64'
  | 'timestamp'
  | 'json'
  | 'binary'
  | 'image';

export type ColumnType = { kind: ScalarKind } | { kind: 'embedding'; dim: number } | { kind: 'list'; element: ColumnType };

export interface ColumnDef {
  name: string;
  type: ColumnType;
  /** Null allowed. Columns are nullable unless declared required (`'text!'` or `.required()`). */
  nullable: boolean;
}

/** A type from the builder: a ColumnType plus nullability, chainable. */
export class TypeSpec {
  constructor(
    readonly type: ColumnType,
    readonly nullable = true,
  ) {}
  /** This type, with null refused. */
  required(): TypeSpec {
    return new TypeSpec(this.type, false);
  }
  /** This type, with null allowed (the default). */
  optional(): TypeSpec {
    return new TypeSpec(this.type, true);
  }
}

const scalar = (kind: ScalarKind) => () => new TypeSpec({ kind });

/** The typed schema builder. Every column is nullable unless `.required()`. */
export const t = {
  text: scalar('text'),
  bool: scalar('bool'),
  int8: scalar('int8'),
  int16: scalar('int16'),
  int32: scalar('int32'),
  int64: scalar('int64'),
  uint8: scalar('uint8'),
  uint16: scalar('uint16'),
  uint32: scalar('uint32'),
  uint64: scalar('uint64'),
  float32: scalar('float32'),
  float64: scalar('float64'),
  timestamp: scalar('timestamp'),
  json: scalar('json'),
  binary: scalar('binary'),
  /** Encoded PNG, JPEG, WebP or GIF bytes; format, width and height are recorded at append. */
  image: scalar('image'),
  /** A float32 vector of `dim` values. */
  embedding: (dim: number) => {
    if (!Number.isInteger(dim) || dim < 1 || dim > 65_536) throw new QuiverError('invalid_input', `schema: embedding dimension must be an integer in 1..65536, got ${dim}`);
    return new TypeSpec({ kind: 'embedding', dim });
  },
  list: (element: TypeSpec) => {
    if (element.type.kind === 'list') throw new QuiverError('invalid_input', 'schema: lists of lists are not supported');
    return new TypeSpec({ kind: 'list', element: element.type });
  },
};

const ALIASES: Record<string, ScalarKind> = {
  text: 'text',
  string: 'text',
  str: 'text',
  bool: 'bool',
  boolean: 'bool',
  int: 'int32',
  integer: 'int32',
  long: 'int64',
  float: 'float64',
  double: 'float64',
  date: 'timestamp',
  datetime: 'timestamp',
  bytes: 'binary',
  blob: 'binary',
};

/** Parses a short type string: 'text', 'int', 'emb-1536', 'embedding(768)', 'list<image>', 'text?', 'text!'. */
export function parseTypeString(s: string): TypeSpec {
  let src = s.trim();
  let nullable = true;
  if (src.endsWith('?')) src = src.slice(0, -1).trim();
  else if (src.endsWith('!')) {
    nullable = false;
    src = src.slice(0, -1).trim();
  }
  const lower = src.toLowerCase();
  const list = /^list<(.+)>$/.exec(lower);
  if (list) return new TypeSpec(t.list(parseTypeString(list[1])).type, nullable);
  const emb = /^(?:emb|embedding|vector)[-(](\d+)\)?$/.exec(lower);
  if (emb) return new TypeSpec(t.embedding(Number(emb[1])).type, nullable);
  const kind = ALIASES[lower] ?? (lower as ScalarKind);
  if (!(kind in t) || kind === ('embedding' as string) || kind === ('list' as string)) {
    throw new QuiverError('invalid_input', `schema: unknown type "${s}"`, { type: s });
  }
  return new TypeSpec({ kind }, nullable);
}

export type SchemaInput = Record<string, string | TypeSpec>;

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
/** Names Quiver itself puts in the `dataset` table. */
export const RESERVED = new Set(['row_id']);
/**
 * Names starting with two underscores are Quiver's: the view's `__quiver_file` and
 * `__quiver_fragment`, the update and curate targets, search's `__score` and `__q_*` helpers.
 * A user column under one of them would be shadowed or break those statements' binding.
 */
export const RESERVED_PREFIX = '__';

export function isReservedName(name: string): boolean {
  return RESERVED.has(name.toLowerCase()) || name.startsWith(RESERVED_PREFIX);
}

/** Turns the user's schema object into column definitions, refusing bad names and collisions. */
export function parseSchema(input: SchemaInput): ColumnDef[] {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new QuiverError('invalid_input', 'schema: expected an object of column name to type');
  }
  const cols: ColumnDef[] = [];
  for (const [name, spec] of Object.entries(input)) {
    if (!NAME.test(name)) throw new QuiverError('invalid_input', `schema: invalid column name "${name}" (letters, digits and _; not starting with a digit)`, { column: name });
    if (isReservedName(name)) throw new QuiverError('invalid_input', `schema: column name "${name}" is reserved (row_id and names starting with __ are Quiver's own)`, { column: name });
    const ts = typeof spec === 'string' ? parseTypeString(spec) : spec;
    if (!(ts instanceof TypeSpec)) throw new QuiverError('invalid_input', `schema: column "${name}" has no type`, { column: name });
    cols.push({ name, type: ts.type, nullable: ts.nullable });
  }
  if (cols.length === 0) throw new QuiverError('invalid_input', 'schema: a dataset needs at least one column');
  const names = new Set(cols.map((c) => c.name.toLowerCase()));
  if (names.size !== cols.length) throw new QuiverError('invalid_input', 'schema: column names must be unique (case-insensitive)');
  for (const c of cols) {
    for (const derived of derivedColumns(c)) {
      if (names.has(derived.toLowerCase())) throw new QuiverError('invalid_input', `schema: column "${derived}" collides with the metadata Quiver keeps for image column "${c.name}"`, { column: derived });
    }
  }
  return cols;
}

export function isImage(type: ColumnType): boolean {
  return type.kind === 'image' || (type.kind === 'list' && type.element.kind === 'image');
}

/** Metadata columns kept beside an image column: `<col>_format`, `<col>_width`, `<col>_height`. */
export function derivedColumns(c: ColumnDef): string[] {
  return isImage(c.type) ? [`${c.name}_format`, `${c.name}_width`, `${c.name}_height`] : [];
}

/**
 * Large columns (media, binary, vectors) live in files of their own, so scalar work never
 * reads them and small-column updates never rewrite them.
 */
export function isLarge(type: ColumnType): boolean {
  if (type.kind === 'list') return isLarge(type.element);
  return type.kind === 'image' || type.kind === 'binary' || type.kind === 'embedding';
}

/** The DuckDB SQL type a column has in the `dataset` table. */
export function sqlType(type: ColumnType): string {
  switch (type.kind) {
    case 'text':
      return 'VARCHAR';
    case 'json':
      return 'JSON';
    case 'bool':
      return 'BOOLEAN';
    case 'int8':
      return 'TINYINT';
    case 'int16':
      return 'SMALLINT';
    case 'int32':
      return 'INTEGER';
    case 'int64':
      return 'BIGINT';
    case 'uint8':
      return 'UTINYINT';
    case 'uint16':
      return 'USMALLINT';
    case 'uint32':
      return 'UINTEGER';
    case 'uint64':
      return 'UBIGINT';
    case 'float32':
      return 'FLOAT';
    case 'float64':
      return 'DOUBLE';
    case 'timestamp':
      return 'TIMESTAMP';
    case 'binary':
    case 'image':
      return 'BLOB';
    case 'embedding':
      return `FLOAT[${type.dim}]`;
    case 'list':
      return `${sqlType(type.element)}[]`;
  }
}

/** A readable name for messages and docs: 'list<image>', 'embedding(768)'. */
export function typeName(type: ColumnType): string {
  if (type.kind === 'embedding') return `embedding(${type.dim})`;
  if (type.kind === 'list') return `list<${typeName(type.element)}>`;
  return type.kind;
}

const SIGNED = ['int8', 'int16', 'int32', 'int64'];
const UNSIGNED = ['uint8', 'uint16', 'uint32', 'uint64'];

/**
 * True when every value of type `from` is exactly a value of `to`: a wider integer of the same
 * signedness, an unsigned integer into a wider signed one, float32 into float64, or an integer
 * of up to 32 bits into float64. The widenings `alterColumn` allows without rewriting files.
 */
export function widens(from: ColumnType, to: ColumnType): boolean {
  const a = from.kind;
  const b = to.kind;
  if (a === b) return false;
  const si = (k: string) => SIGNED.indexOf(k);
  const ui = (k: string) => UNSIGNED.indexOf(k);
  if (si(a) >= 0 && si(b) > si(a)) return true;
  if (ui(a) >= 0 && ui(b) > ui(a)) return true;
  if (ui(a) >= 0 && si(b) > ui(a)) return true;
  if (a === 'float32' && b === 'float64') return true;
  return b === 'float64' && ((si(a) >= 0 && si(a) <= 2) || (ui(a) >= 0 && ui(a) <= 2));
}
