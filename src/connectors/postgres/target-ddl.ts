/**
 * DDL on a PostgreSQL target for a full load: schemas, enum types, tables with their primary key
 * and the source's exact column types, drop/truncate, and the primary key and secondary indexes
 * built after the data is in (building an index once over loaded rows is much cheaper than
 * maintaining it row by row during COPY).
 *
 * Everything here runs on a caller-supplied client, so the caller decides the transaction: table
 * preparation runs in the same target transaction that records the table's load plan.
 */
import type pg from 'pg';
import type { SourceColumnInfo, SourceIndexInfo, SourceTableInfo } from './catalog.js';
import { qualifiedName, quoteIdent, quoteLiteral } from './sql.js';
import { targetColumnDeclaration, targetColumnType } from './type-map.js';

export interface TargetColumnDef {
  /** Name on the target (after renames). */
  name: string;
  /** The source column it is loaded from (type, nullability, enum). */
  source: SourceColumnInfo;
}

export interface TargetTableDef {
  schema: string;
  table: string;
  columns: TargetColumnDef[];
  /** Primary key as target column names; empty when the table has none (or a key column was removed). */
  primaryKey: string[];
  /** Constraint name for the primary key. */
  primaryKeyName?: string;
}

/** The target table definition for a source table, given its moved columns (source -> target names). */
export function targetTableDef(
  source: SourceTableInfo,
  target: { schema: string; table: string },
  columns: { source: string; target: string }[],
): TargetTableDef {
  const bySource = new Map(source.columns.map((c) => [c.name, c]));
  const names = new Map(columns.map((c) => [c.source, c.target]));
  const defs = columns.map((c) => {
    const col = bySource.get(c.source);
    if (!col) throw new Error(`column ${c.source} does not exist in source table ${source.schema}.${source.table}`);
    return { name: c.target, source: col };
  });
  // A primary key whose column is not moved cannot exist on the target: the table loads without one.
  const pk = source.primaryKey.every((c) => names.has(c)) ? source.primaryKey.map((c) => names.get(c) as string) : [];
  const pkIndex = source.indexes.find((i) => i.primary);
  const def: TargetTableDef = { schema: target.schema, table: target.table, columns: defs, primaryKey: pk };
  if (pk.length > 0 && pkIndex?.constraintName) def.primaryKeyName = renameForTable(pkIndex.constraintName, source.table, target.table);
  return def;
}

/**
 * Creates the schema when missing. Parallel table preparations race on CREATE SCHEMA IF NOT EXISTS
 * (it is not atomic), so they serialise on a transaction-scoped advisory lock: call inside a
 * transaction.
 */
export async function ensureSchema(client: pg.Client, schema: string): Promise<void> {
  const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
  if (exists.rowCount !== 0) return;
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`opendms:schema:${schema}`]);
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
}

export async function tableExists(client: pg.Client, schema: string, table: string): Promise<boolean> {
  const r = await client.query('SELECT to_regclass($1) IS NOT NULL AS present', [qualifiedName(schema, table)]);
  return r.rows[0]?.present === true;
}

/**
 * Creates the enum types the table's columns need in the table's schema; an existing enum gets any
 * missing labels. Takes a transaction-scoped advisory lock per type, so two loads preparing tables
 * that share an enum do not race (call inside a transaction).
 */
export async function ensureEnumTypes(client: pg.Client, def: TargetTableDef): Promise<void> {
  const seen = new Set<string>();
  for (const col of def.columns) {
    const e = col.source.enumType;
    if (!e || seen.has(e.name)) continue;
    seen.add(e.name);
    const qualified = qualifiedName(def.schema, e.name);
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`opendms:type:${qualified}`]);
    const existing = await client.query<{ labels: string[] | null }>(
      `SELECT ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) AS labels
         FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = $1 AND t.typname = $2 AND t.typtype = 'e'`,
      [def.schema, e.name],
    );
    const row = existing.rows[0];
    if (!row) {
      await client.query(`CREATE TYPE ${qualified} AS ENUM (${e.labels.map(quoteLiteral).join(', ')})`);
      continue;
    }
    const have = new Set(row.labels ?? []);
    for (const label of e.labels) {
      if (!have.has(label)) await client.query(`ALTER TYPE ${qualified} ADD VALUE IF NOT EXISTS ${quoteLiteral(label)}`);
    }
  }
}

/** CREATE TABLE with the mapped types and NOT NULLs; the primary key too unless it is deferred. */
export function createTableSql(def: TargetTableDef, withPrimaryKey: boolean): string {
  const cols = def.columns.map((c) => `  ${quoteIdent(c.name)} ${targetColumnDeclaration(c.source, def.schema)}${c.source.notNull ? ' NOT NULL' : ''}`);
  if (withPrimaryKey && def.primaryKey.length > 0) cols.push(`  ${primaryKeyClause(def)}`);
  return `CREATE TABLE ${qualifiedName(def.schema, def.table)} (\n${cols.join(',\n')}\n)`;
}

function primaryKeyClause(def: TargetTableDef): string {
  const name = def.primaryKeyName ? `CONSTRAINT ${quoteIdent(def.primaryKeyName)} ` : '';
  return `${name}PRIMARY KEY (${def.primaryKey.map(quoteIdent).join(', ')})`;
}

/** Schema, enum types and table, dropping any table of that name first. */
export async function dropAndCreateTable(client: pg.Client, def: TargetTableDef, withPrimaryKey: boolean): Promise<void> {
  await ensureSchema(client, def.schema);
  await client.query(`DROP TABLE IF EXISTS ${qualifiedName(def.schema, def.table)} CASCADE`);
  await ensureEnumTypes(client, def);
  await client.query(createTableSql(def, withPrimaryKey));
}

/** Creates the table (schema, enums) when it does not exist; returns whether it did. */
export async function createTableIfMissing(client: pg.Client, def: TargetTableDef, withPrimaryKey: boolean): Promise<boolean> {
  if (await tableExists(client, def.schema, def.table)) return false;
  await ensureSchema(client, def.schema);
  await ensureEnumTypes(client, def);
  await client.query(createTableSql(def, withPrimaryKey));
  return true;
}

export async function truncateTable(client: pg.Client, schema: string, table: string): Promise<void> {
  await client.query(`TRUNCATE TABLE ${qualifiedName(schema, table)}`);
}

/** Adds the deferred primary key unless the table already has one. */
export async function addPrimaryKeyIfMissing(client: pg.Client, def: TargetTableDef): Promise<void> {
  if (def.primaryKey.length === 0) return;
  const has = await client.query(`SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'p'`, [qualifiedName(def.schema, def.table)]);
  if ((has.rowCount ?? 0) > 0) return;
  await client.query(`ALTER TABLE ${qualifiedName(def.schema, def.table)} ADD ${primaryKeyClause(def)}`);
}

/**
 * CREATE INDEX statements for the source's non-primary-key indexes, with columns renamed as on the
 * target. Indexes over a column that is not moved are left out; exclusion constraints too (they
 * belong to the application's rules, not to the data). Expression and predicate text is copied as
 * the source prints it.
 */
export function secondaryIndexSql(source: SourceTableInfo, def: TargetTableDef, columns: { source: string; target: string }[]): string[] {
  const names = new Map(columns.map((c) => [c.source, c.target]));
  const out: string[] = [];
  for (const index of source.indexes) {
    if (index.primary) continue;
    if (index.constraintName && !index.unique) continue; // exclusion constraint
    const sql = indexSql(index, source.table, def, names);
    if (sql) out.push(sql);
  }
  return out;
}

function indexSql(index: SourceIndexInfo, sourceTable: string, def: TargetTableDef, names: Map<string, string>): string | undefined {
  const keys: string[] = [];
  for (let k = 0; k < index.keyColumns.length; k++) {
    const column = index.keyColumns[k];
    const keyDef = index.keyDefinitions[k] ?? '';
    if (column === null || column === undefined) {
      // Expression key: copied as printed (it names source columns; renames inside are not rewritten).
      keys.push(keyDef.startsWith('(') ? keyDef : `(${keyDef})`);
      continue;
    }
    const target = names.get(column);
    if (target === undefined) return undefined;
    // keyDef starts with the column as printed (quoted when needed); keep opclass/ordering after it.
    const printed = keyDef.startsWith(quoteIdent(column)) ? quoteIdent(column) : column;
    keys.push(quoteIdent(target) + keyDef.slice(printed.length));
  }
  const include: string[] = [];
  for (const column of index.includeColumns) {
    const target = names.get(column);
    if (target === undefined) return undefined;
    include.push(quoteIdent(target));
  }
  const name = renameForTable(index.name, sourceTable, def.table);
  return (
    `CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX IF NOT EXISTS ${quoteIdent(name)} ON ${qualifiedName(def.schema, def.table)} USING ${index.method} (${keys.join(', ')})` +
    (include.length > 0 ? ` INCLUDE (${include.join(', ')})` : '') +
    (index.predicate ? ` WHERE ${index.predicate}` : '')
  );
}

/** `orders_pkey` for table `orders` renamed to `sales` becomes `sales_pkey`; other names stay. */
function renameForTable(name: string, sourceTable: string, targetTable: string): string {
  return sourceTable !== targetTable && name.includes(sourceTable) ? name.replace(sourceTable, targetTable).slice(0, 63) : name;
}

/** Type to cast a literal to when comparing it with a target column. */
export function targetCastType(def: TargetTableDef, targetColumn: string): string {
  const col = def.columns.find((c) => c.name === targetColumn);
  if (!col) throw new Error(`column ${targetColumn} is not loaded into ${def.schema}.${def.table}`);
  return targetColumnType(col.source, def.schema);
}
