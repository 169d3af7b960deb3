/**
 * WHERE clauses of a full-load segment: selection-rule `filters` (conditions within a filter ORed,
 * filters ANDed) and a PK range (`lower <= key < upper`, row-wise for composite keys). COPY
 * (SELECT ...) takes no bind parameters, so values are inlined as literals cast to the column's
 * type, which also makes the comparison typed (numbers compare as numbers, not text).
 */
import type { SourceFilter, SourceFilterCondition } from '../../model/table-mappings.js';
import { quoteIdent, quoteLiteral } from '../../connectors/postgres/sql.js';

/** Column name -> SQL type to cast literals to. */
export type ColumnTypes = (column: string) => string;

function lit(value: string | undefined, type: string, what: string): string {
  if (value === undefined) throw new Error(`filter on ${what} needs a value`);
  return `${quoteLiteral(value)}::${type}`;
}

function conditionSql(column: string, type: string, c: SourceFilterCondition): string {
  const col = quoteIdent(column);
  switch (c.operator) {
    case 'eq':
      return `${col} = ${lit(c.value, type, column)}`;
    case 'noteq':
      return `${col} <> ${lit(c.value, type, column)}`;
    case 'gte':
      return `${col} >= ${lit(c.value, type, column)}`;
    case 'lte':
      return `${col} <= ${lit(c.value, type, column)}`;
    case 'between':
      return `${col} BETWEEN ${lit(c.startValue, type, column)} AND ${lit(c.endValue, type, column)}`;
    case 'notbetween':
      return `${col} NOT BETWEEN ${lit(c.startValue, type, column)} AND ${lit(c.endValue, type, column)}`;
    case 'null':
      return `${col} IS NULL`;
    case 'notnull':
      return `${col} IS NOT NULL`;
  }
}

/** SQL for the selection filters, or undefined when there are none. */
export function filtersSql(filters: SourceFilter[], types: ColumnTypes): string | undefined {
  const parts = filters
    .filter((f) => f.conditions.length > 0)
    .map((f) => `(${f.conditions.map((c) => conditionSql(f.column, types(f.column), c)).join(' OR ')})`);
  return parts.length > 0 ? parts.join(' AND ') : undefined;
}

/** A key range over `columns`: `lower` inclusive, `upper` exclusive, either open when absent. */
export interface KeyRange {
  columns: string[];
  lower?: string[];
  upper?: string[];
}

function tuple(columns: string[]): string {
  return columns.length === 1 ? quoteIdent(columns[0] as string) : `ROW(${columns.map(quoteIdent).join(', ')})`;
}

function values(columns: string[], vals: string[], types: ColumnTypes): string {
  const items = columns.map((c, i) => lit(vals[i], types(c), c));
  return columns.length === 1 ? (items[0] as string) : `ROW(${items.join(', ')})`;
}

/**
 * SQL for a key range. Rows with a NULL key column fall outside every bounded range (as DMS
 * documents for parallel-load ranges); a range open on both sides matches everything.
 */
export function rangeSql(range: KeyRange, types: ColumnTypes): string | undefined {
  const parts: string[] = [];
  if (range.lower) parts.push(`${tuple(range.columns)} >= ${values(range.columns, range.lower, types)}`);
  if (range.upper) parts.push(`${tuple(range.columns)} < ${values(range.columns, range.upper, types)}`);
  return parts.length > 0 ? parts.join(' AND ') : undefined;
}

/** `WHERE a AND b` from the parts present, or ''. */
export function whereClause(...parts: (string | undefined)[]): string {
  const present = parts.filter((p): p is string => p !== undefined && p !== '');
  return present.length > 0 ? ` WHERE ${present.map((p) => `(${p})`).join(' AND ')}` : '';
}
