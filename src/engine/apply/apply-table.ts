/**
 * What the applier knows about one target table: the target columns fed by the source (in the
 * order the rows carry their values), their target types (values travel as PostgreSQL text and
 * are cast to these on the target, so every type round-trips exactly), and the key used to net
 * and match rows (the target's primary key).
 */
import type pg from 'pg';
import { qualifiedName } from '../../connectors/postgres/sql.js';

export interface ApplyTable {
  /** The source table it is fed from (for statistics). */
  source: { schema: string; table: string };
  /** `"schema"."table"` on the target, also the table's identity inside a batch. */
  qualified: string;
  schema: string;
  table: string;
  /** Target column names, aligned with row value arrays. */
  columns: string[];
  /** Target column types as format_type prints them. */
  types: string[];
  /** Positions (into `columns`) of the target primary key; empty when the table has none. */
  keyIdx: number[];
  /** For key-less tables: columns compared as text because their type has no equality (json, point, ...). */
  textCompare: boolean[];
  /**
   * Columns whose values may go unquoted into an array literal: their SOURCE type's text form
   * never holds a quote, backslash, comma, brace, space or the word NULL (see BARE_TEXT_TYPES).
   */
  bareValues: boolean[];
  /**
   * The typed array a column's values travel in (`integer[]`): the target parses each element
   * with the column type's own input function. Undefined: as text[], cast per value (array-typed
   * columns, whose values are themselves array literals, and types not listed in TYPED_ARRAYS).
   */
  arrayTypes: (string | undefined)[];
}

/** Target types (as format_type prints them) whose values travel in a typed array. */
const TYPED_ARRAYS = /^(smallint|integer|bigint|real|double precision|boolean|uuid|date|text|bytea|jsonb?|numeric(\(\d+(,\d+)?\))?|character( varying)?(\(\d+\))?|timestamp(\(\d\))? with(out)? time zone|time(\(\d\))? without time zone)$/;

/**
 * Source types (by OID) whose text output is only digits, signs, a decimal point, exponents,
 * NaN/Infinity, t/f or a hex UUID: bool, int8, int2, int4, oid, float4, float8, numeric, uuid.
 */
const BARE_TEXT_TYPES = new Set([16, 20, 21, 23, 26, 700, 701, 1700, 2950]);

/** A target row: values in PostgreSQL text form, null, or `undefined` for an unchanged TOASTed value. */
export type Row = (string | null | undefined)[];

export interface TargetColumnInfo {
  name: string;
  type: string;
}

export interface TargetTableInfo {
  columns: TargetColumnInfo[];
  primaryKey: string[];
}

/** Reads a target table's columns and primary key; undefined when the table does not exist. */
export async function readTargetTable(db: pg.ClientBase, schema: string, table: string): Promise<TargetTableInfo | undefined> {
  const cols = await db.query<{ name: string; type: string }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
       FROM pg_attribute a
      WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [qualifiedName(schema, table)],
  );
  if (cols.rows.length === 0) return undefined;
  const pk = await db.query<{ name: string }>(
    `SELECT a.attname AS name
       FROM pg_index i
       JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = to_regclass($1) AND i.indisprimary
      ORDER BY k.ord`,
    [qualifiedName(schema, table)],
  );
  return { columns: cols.rows, primaryKey: pk.rows.map((r) => r.name) };
}

const NO_EQUALITY = /^(json|xml|point|line|lseg|box|path|polygon|circle)(\[\])?$/;

/** Builds the applier's view from the target's catalogue and the target columns the source feeds. */
export function buildApplyTable(
  source: { schema: string; table: string },
  schema: string,
  table: string,
  info: TargetTableInfo,
  columns: string[],
  /** The source type OID of each column (pgoutput's Relation message), when known. */
  sourceTypeOids?: number[],
): ApplyTable {
  const types = columns.map((c) => {
    const col = info.columns.find((tc) => tc.name === c);
    if (!col) throw new Error(`target table ${qualifiedName(schema, table)} has no column "${c}"`);
    return col.type;
  });
  const keyIdx = info.primaryKey.map((k) => columns.indexOf(k));
  return {
    source,
    qualified: qualifiedName(schema, table),
    schema,
    table,
    columns,
    types,
    keyIdx: keyIdx.length > 0 && keyIdx.every((i) => i >= 0) ? keyIdx : [],
    textCompare: types.map((t) => NO_EQUALITY.test(t)),
    bareValues: columns.map((_, i) => sourceTypeOids !== undefined && BARE_TEXT_TYPES.has(sourceTypeOids[i]!)),
    arrayTypes: types.map((t) => (TYPED_ARRAYS.test(t) ? `${t}[]` : undefined)),
  };
}
