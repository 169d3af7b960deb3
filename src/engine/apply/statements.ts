/**
 * SQL for applying changes to a PostgreSQL target. Pure string building.
 *
 * Set-based statements take one text[] parameter per column (`unnest($1::text[], $2::text[])`)
 * and cast each value to the target column's type in the select list. Casting after unnest (not
 * `$1::int[]`) is what makes array-typed columns work: an element `{1,2}` is text until cast to
 * `integer[]`.
 */
import { quoteIdent, quoteLiteral } from '../../connectors/postgres/sql.js';
import type { ApplyTable, Row } from './apply-table.js';

const col = (t: ApplyTable, i: number) => quoteIdent(t.columns[i]!);
const cast = (t: ApplyTable, i: number, expr: string) => `${expr}::${t.types[i]}`;
/** Column i's value from the unnest: already typed, or text cast to the column's type. */
const unnested = (t: ApplyTable, i: number, n: number) => (t.arrayTypes[i] ? `_u.v${n}` : cast(t, i, `_u.v${n}`));

function unnestFrom(t: ApplyTable, idx: number[]): string {
  return `unnest(${idx.map((i, n) => `$${n + 1}::${t.arrayTypes[i] ?? 'text[]'}`).join(', ')}) AS _u(${idx.map((_, n) => `v${n}`).join(', ')})`;
}

function allIdx(t: ApplyTable): number[] {
  return t.columns.map((_, i) => i);
}

/** INSERT ... ON CONFLICT (key) DO UPDATE for every column; params: one text[] per column. */
export function upsertSql(t: ApplyTable): string {
  const idx = allIdx(t);
  const select = idx.map((i, n) => unnested(t, i, n)).join(', ');
  const nonKey = idx.filter((i) => !t.keyIdx.includes(i));
  const conflict =
    t.keyIdx.length === 0
      ? ''
      : nonKey.length === 0
        ? ` ON CONFLICT (${t.keyIdx.map((i) => col(t, i)).join(', ')}) DO NOTHING`
        : ` ON CONFLICT (${t.keyIdx.map((i) => col(t, i)).join(', ')}) DO UPDATE SET ${nonKey.map((i) => `${col(t, i)} = EXCLUDED.${col(t, i)}`).join(', ')}`;
  return `INSERT INTO ${t.qualified} (${idx.map((i) => col(t, i)).join(', ')}) SELECT ${select} FROM ${unnestFrom(t, idx)}${conflict}`;
}

/**
 * INSERT ... ON CONFLICT (key) DO NOTHING: the row count says how many keys were new; the others
 * are insert conflicts (ApplyErrorInsertPolicy). Params as upsertSql.
 */
export function insertSql(t: ApplyTable): string {
  const idx = allIdx(t);
  const select = idx.map((i, n) => unnested(t, i, n)).join(', ');
  return `INSERT INTO ${t.qualified} (${idx.map((i) => col(t, i)).join(', ')}) SELECT ${select} FROM ${unnestFrom(t, idx)} ON CONFLICT (${t.keyIdx.map((i) => col(t, i)).join(', ')}) DO NOTHING`;
}

/** UPDATE of the `set` columns, matched on the key; params: key columns then set columns. */
export function updateSql(t: ApplyTable, set: number[]): string {
  const params = [...t.keyIdx, ...set];
  const k = t.keyIdx.length;
  const assignments = set.map((i, n) => `${col(t, i)} = ${unnested(t, i, k + n)}`).join(', ');
  const where = t.keyIdx.map((i, n) => `_t.${col(t, i)} = ${unnested(t, i, n)}`).join(' AND ');
  return `UPDATE ${t.qualified} AS _t SET ${assignments} FROM ${unnestFrom(t, params)} WHERE ${where}`;
}

/** DELETE matched on the key; params: key columns. */
export function deleteSql(t: ApplyTable): string {
  const where = t.keyIdx.map((i, n) => `_t.${col(t, i)} = ${unnested(t, i, n)}`).join(' AND ');
  return `DELETE FROM ${t.qualified} AS _t USING ${unnestFrom(t, t.keyIdx)} WHERE ${where}`;
}

/** Columns an update sets: those sent (not unchanged TOAST), the key excluded unless `withKey`. */
export function setColumns(t: ApplyTable, row: Row, withKey: boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < row.length; i++) if (row[i] !== undefined && (withKey || !t.keyIdx.includes(i))) out.push(i);
  return out;
}

/**
 * One row located by `match` (values of the columns to compare; `undefined` = don't compare):
 * the key for keyed tables, the old row for tables without a key. For key-less tables the first
 * matching physical row is taken (ctid), as PostgreSQL's own subscriber does for REPLICA IDENTITY FULL.
 */
function locate(t: ApplyTable, match: Row, params: (string | null)[]): string {
  const conds: string[] = [];
  for (let i = 0; i < match.length; i++) {
    const v = match[i];
    if (v === undefined) continue;
    if (v === null) {
      conds.push(`${col(t, i)} IS NULL`);
      continue;
    }
    params.push(v);
    conds.push(t.textCompare[i] ? `${col(t, i)}::text = $${params.length}` : `${col(t, i)} = ${cast(t, i, `$${params.length}`)}`);
  }
  if (conds.length === 0) throw new Error(`no columns to locate a row of ${t.qualified}`);
  if (t.keyIdx.length > 0) return conds.join(' AND ');
  return `ctid = (SELECT ctid FROM ${t.qualified} WHERE ${conds.join(' AND ')} LIMIT 1)`;
}

/** A single-row UPDATE setting the sent columns of `row` (key included) where `match` matches. */
export function updateOneSql(t: ApplyTable, row: Row, match: Row): { text: string; values: (string | null)[] } {
  const values: (string | null)[] = [];
  const set = setColumns(t, row, true).map((i) => {
    values.push(row[i] as string | null);
    return `${col(t, i)} = ${cast(t, i, `$${values.length}`)}`;
  });
  return { text: `UPDATE ${t.qualified} SET ${set.join(', ')} WHERE ${locate(t, match, values)}`, values };
}

export function deleteOneSql(t: ApplyTable, match: Row): { text: string; values: (string | null)[] } {
  const values: (string | null)[] = [];
  return { text: `DELETE FROM ${t.qualified} WHERE ${locate(t, match, values)}`, values };
}

/** A readable statement for `awsdms_apply_exceptions` (values inlined as literals). */
export function describeStatement(t: ApplyTable, op: 'INSERT' | 'UPDATE' | 'DELETE', row: Row): string {
  const lit = (v: string | null | undefined) => (v === undefined ? '<unchanged>' : v === null ? 'NULL' : quoteLiteral(v));
  if (op === 'INSERT') {
    return `INSERT INTO ${t.qualified} (${t.columns.map(quoteIdent).join(', ')}) VALUES (${row.map(lit).join(', ')})`;
  }
  const key = (t.keyIdx.length > 0 ? t.keyIdx : allIdx(t)).map((i) => `${col(t, i)} = ${lit(row[i])}`).join(' AND ');
  if (op === 'DELETE') return `DELETE FROM ${t.qualified} WHERE ${key}`;
  const set = setColumns(t, row, false).map((i) => `${col(t, i)} = ${lit(row[i])}`);
  return `UPDATE ${t.qualified} SET ${set.join(', ')} WHERE ${key}`;
}
