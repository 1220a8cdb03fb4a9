// Declared schemas as the user writes them (`{ column: 'SQL TYPE' }`) and their Arrow form,
// using the query layer's SQL-to-Arrow type mapping.

import * as arrow from 'apache-arrow';
import { QuiverError } from '../errors.js';
import { arrowTypeFromSql } from '../query/index.js';
import type { ColumnSpec, SchemaSpec } from './schema.js';

export function columnsFromSpec(spec: SchemaSpec): ColumnSpec[] {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new QuiverError('invalid_input', 'pipeline: schema must be an object of column name to SQL type');
  }
  const cols = Object.entries(spec).map(([name, type]) => {
    if (typeof type !== 'string' || type.trim() === '') {
      throw new QuiverError('invalid_input', `pipeline: schema column "${name}" needs a SQL type, got ${JSON.stringify(type)}`, { column: name });
    }
    return { name, type: type.trim().toUpperCase() };
  });
  if (cols.length === 0) throw new QuiverError('invalid_input', 'pipeline: schema has no columns');
  return cols;
}

export function arrowSchemaFromColumns(cols: readonly ColumnSpec[]): arrow.Schema {
  return new arrow.Schema(cols.map((c) => new arrow.Field(c.name, arrowTypeFromSql(c.type), true)));
}
