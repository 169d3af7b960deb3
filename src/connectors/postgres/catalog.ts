/**
 * The source catalogue as the engine needs it: tables (and views), their columns with exact types
 * (`format_type`, so `numeric(10,2)`, `character varying(40)`, `timestamp with time zone`,
 * `text[]` come back as PostgreSQL prints them), NOT NULL, collations, enum and domain types,
 * primary key, unique and secondary indexes, replica identity, and size estimates that decide how a
 * table is split for a parallel full load.
 *
 * `SourceTableInfo` extends the mapping module's `SourceTable`, so the result feeds `planTables`
 * directly.
 */
import type pg from 'pg';
import type { SourceColumn, SourceTable } from '../../model/table-mappings.js';

export interface EnumTypeInfo {
  schema: string;
  name: string;
  /** Labels in sort order. */
  labels: string[];
}

export interface SourceColumnInfo extends SourceColumn {
  /** Position in the table (attnum). */
  ordinal: number;
  notNull: boolean;
  /** Set when the column (or its array element) is an enum: the target needs the type created. */
  enumType?: EnumTypeInfo;
  /** Set when the column's type is a domain: its base type, as format_type prints it. */
  domainBaseType?: string;
  /** Whether the type is an array (of `type` minus `[]`). */
  isArray: boolean;
  /** The type's OID on the source (below 16384: a built-in type, the same OID on every server). */
  typeOid: number;
  /** Collation name when it differs from the type's default. */
  collation?: string;
  /** Generated (stored) column: the target gets a plain column holding the values. */
  generated: boolean;
}

export interface SourceIndexInfo {
  name: string;
  primary: boolean;
  unique: boolean;
  /** Access method (btree, hash, gin, gist, brin, ...). */
  method: string;
  /**
   * Key columns in order: a column name, or `null` for an expression key (see `keyDefinitions`).
   */
  keyColumns: (string | null)[];
  /** Each key as pg_get_indexdef prints it (column name or expression), with DESC/NULLS/opclass. */
  keyDefinitions: string[];
  /** INCLUDE columns. */
  includeColumns: string[];
  /** Partial index predicate, when any. */
  predicate?: string;
  /** Name of the constraint the index backs (PRIMARY KEY / UNIQUE / EXCLUDE), when any. */
  constraintName?: string;
  /** The full source definition, for messages. */
  definition: string;
}

export interface SourceTableInfo extends SourceTable {
  tableType: 'table' | 'view';
  columns: SourceColumnInfo[];
  /** Primary key column names in key order; empty when the table has none. */
  primaryKey: string[];
  /** Unique, non-partial, plain-column indexes other than the primary key (candidate keys). */
  uniqueKeys: string[][];
  /** All indexes, the primary key's included. */
  indexes: SourceIndexInfo[];
  replicaIdentity: 'default' | 'nothing' | 'full' | 'index';
  /** Planner estimate (pg_class.reltuples); -1 when never analysed. */
  estimatedRows: number;
  /** Heap size in bytes (without TOAST and indexes). */
  sizeBytes: number;
  /** Heap + TOAST size in bytes. */
  totalBytes: number;
}

export interface ReadCatalogOptions {
  /** Only these schemas (default: every non-system schema). */
  schemas?: string[];
  /** Only these tables. */
  tables?: { schema: string; table: string }[];
  /** Include views (for full-load-only tasks that select `table-type: view|all`). Default false. */
  includeViews?: boolean;
}

interface TableRow {
  oid: number;
  schema: string;
  table: string;
  relkind: string;
  replident: string;
  reltuples: number;
  size_bytes: string;
  total_bytes: string;
}

interface ColumnRow {
  relid: number;
  name: string;
  attnum: number;
  type: string;
  notnull: boolean;
  generated: string;
  collation: string | null;
  is_array: boolean;
  type_oid: number;
  enum_schema: string | null;
  enum_name: string | null;
  enum_labels: string[] | null;
  domain_base: string | null;
}

interface IndexRow {
  relid: number;
  name: string;
  primary: boolean;
  unique: boolean;
  method: string;
  definition: string;
  predicate: string | null;
  nkeyatts: number;
  column_names: (string | null)[];
  key_defs: string[];
  options: number[];
  opclasses: (string | null)[];
  constraint_name: string | null;
}

const REPLICA_IDENTITY: Record<string, SourceTableInfo['replicaIdentity']> = { d: 'default', n: 'nothing', f: 'full', i: 'index' };

/** The relations readSourceCatalog reads (before its `tables` filter), over `pg_class c JOIN pg_namespace n`. */
const CATALOG_RELATIONS = `c.relkind::text = ANY($1::text[])
        AND NOT c.relispartition
        AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
        AND ($2::text[] IS NULL OR n.nspname = ANY($2::text[]))`;

const relationKinds = (opts: ReadCatalogOptions): string[] => (opts.includeViews ? ['r', 'p', 'v', 'm'] : ['r', 'p']);

/** Reads the catalogue of the database `client` is connected to. */
export async function readSourceCatalog(client: pg.Client, opts: ReadCatalogOptions = {}): Promise<SourceTableInfo[]> {
  const kinds = relationKinds(opts);
  const tables = await client.query<TableRow>(
    `SELECT c.oid::int AS oid, n.nspname AS schema, c.relname AS table, c.relkind::text AS relkind,
            c.relreplident::text AS replident, c.reltuples::float8 AS reltuples,
            pg_relation_size(c.oid)::text AS size_bytes,
            (pg_relation_size(c.oid) + COALESCE(pg_total_relation_size(NULLIF(c.reltoastrelid, 0)), 0))::text AS total_bytes
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE ${CATALOG_RELATIONS}
      ORDER BY n.nspname, c.relname`,
    [kinds, opts.schemas ?? null],
  );
  let rows = tables.rows;
  if (opts.tables) {
    const wanted = new Set(opts.tables.map((t) => `${t.schema}\u0000${t.table}`));
    rows = rows.filter((r) => wanted.has(`${r.schema}\u0000${r.table}`));
  }
  if (rows.length === 0) return [];
  const oids = rows.map((r) => r.oid);

  const columns = await client.query<ColumnRow>(
    `SELECT a.attrelid::int AS relid, a.attname AS name, a.attnum::int AS attnum,
            format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS notnull, a.attgenerated::text AS generated,
            CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation THEN co.collname END AS collation,
            (t.typcategory = 'A') AS is_array, a.atttypid::int AS type_oid,
            en.nspname AS enum_schema, et.typname AS enum_name,
            CASE WHEN et.oid IS NOT NULL THEN ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = et.oid ORDER BY e.enumsortorder) END AS enum_labels,
            CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS domain_base
       FROM pg_attribute a
       JOIN pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_collation co ON co.oid = a.attcollation
       LEFT JOIN pg_type et ON et.oid = CASE WHEN t.typcategory = 'A' THEN t.typelem ELSE t.oid END AND et.typtype = 'e'
       LEFT JOIN pg_namespace en ON en.oid = et.typnamespace
      WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attrelid, a.attnum`,
    [oids],
  );

  const indexes = await client.query<IndexRow>(
    `SELECT i.indrelid::int AS relid, ic.relname AS name, i.indisprimary AS primary, i.indisunique AS unique,
            am.amname AS method, pg_get_indexdef(i.indexrelid) AS definition,
            pg_get_expr(i.indpred, i.indrelid) AS predicate, i.indnkeyatts::int AS nkeyatts,
            ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                    LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum AND k.attnum > 0
                   ORDER BY k.ord) AS column_names,
            ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true) FROM generate_series(1, i.indnatts) k ORDER BY k) AS key_defs,
            i.indoption::int2[]::int[] AS options,
            ARRAY(SELECT CASE WHEN oc.opcdefault THEN NULL ELSE quote_ident(ocn.nspname) || '.' || quote_ident(oc.opcname) END
                    FROM unnest(i.indclass::oid[]) WITH ORDINALITY k(opc, ord)
                    JOIN pg_opclass oc ON oc.oid = k.opc JOIN pg_namespace ocn ON ocn.oid = oc.opcnamespace
                   ORDER BY k.ord) AS opclasses,
            con.conname AS constraint_name
       FROM pg_index i
       JOIN pg_class ic ON ic.oid = i.indexrelid
       JOIN pg_am am ON am.oid = ic.relam
       LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x')
      WHERE i.indrelid = ANY($1::oid[]) AND i.indisvalid AND i.indislive
      ORDER BY i.indrelid, i.indisprimary DESC, ic.relname`,
    [oids],
  );

  const columnsByRel = groupBy(columns.rows, (c) => c.relid);
  const indexesByRel = groupBy(indexes.rows, (i) => i.relid);

  return rows.map((r) => {
    const cols = (columnsByRel.get(r.oid) ?? []).map(toColumn);
    const idx = (indexesByRel.get(r.oid) ?? []).map(toIndex);
    const pk = idx.find((i) => i.primary);
    const plainUnique = idx.filter((i) => i.unique && !i.primary && !i.predicate && i.keyColumns.every((c) => c !== null));
    const isView = r.relkind === 'v' || r.relkind === 'm';
    return {
      schema: r.schema,
      table: r.table,
      tableType: isView ? 'view' : 'table',
      columns: cols,
      primaryKey: pk ? (pk.keyColumns as string[]) : [],
      uniqueKeys: plainUnique.map((i) => i.keyColumns as string[]),
      indexes: idx,
      replicaIdentity: REPLICA_IDENTITY[r.replident] ?? 'default',
      estimatedRows: r.reltuples,
      sizeBytes: Number(r.size_bytes),
      totalBytes: Number(r.total_bytes),
    } satisfies SourceTableInfo;
  });
}

/*
 * Catalog stamps: one short text that changes whenever anything the catalog readers return could
 * have changed, so a catalog read earlier can be reused without reading it again. A stamp is an
 * md5 over, per relation, the OID and the row version (xmin) of every catalog row the readers look
 * at: the pg_class and pg_namespace rows, every pg_attribute row (dropped ones included), the
 * pg_index rows and their indexes' pg_class rows, the pg_constraint rows, the pg_type rows of the
 * column types (with their element and base types, and those types' schemas), the pg_enum rows of
 * enum types and the pg_collation rows of the columns' collations. Every DDL
 * writes a new version of at least one of these rows (a new xmin), and a table dropped and
 * created again has a new OID, so equal stamps mean an unchanged catalog.
 *
 * What it does not cover: statistics PostgreSQL updates in place (reltuples, relpages: the
 * readers' size estimates, used only to split a full load). A change that does not matter (a
 * GRANT, a TRUNCATE giving a new relfilenode) changes the stamp too: the catalog is read again.
 * The stamp must be taken BEFORE the read it vouches for: a DDL in between then shows as a
 * mismatch at the next comparison, never as a stale catalog passing.
 */
const STAMP_PARTS = `
  SELECT r.key, 'c' || c.oid::text || ':' || c.xmin::text || ':' || n.xmin::text AS part
    FROM rels r JOIN pg_class c ON c.oid = r.oid JOIN pg_namespace n ON n.oid = c.relnamespace
  UNION ALL
  SELECT r.key, 'a' || r.oid::text || ':' || a.attnum::text || ':' || a.xmin::text
    FROM rels r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0
  UNION ALL
  SELECT r.key, 'i' || i.indexrelid::text || ':' || i.xmin::text || ':' || ic.xmin::text
    FROM rels r JOIN pg_index i ON i.indrelid = r.oid JOIN pg_class ic ON ic.oid = i.indexrelid
  UNION ALL
  SELECT r.key, 'k' || co.oid::text || ':' || co.xmin::text
    FROM rels r JOIN pg_constraint co ON co.conrelid = r.oid
  UNION ALL
  SELECT r.key, 't' || t.oid::text || ':' || t.xmin::text || ':' || tn.xmin::text
    FROM rels r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0
    JOIN pg_type at ON at.oid = a.atttypid
    JOIN pg_type t ON t.oid IN (at.oid, at.typelem, at.typbasetype)
    JOIN pg_namespace tn ON tn.oid = t.typnamespace
  UNION ALL
  SELECT r.key, 'l' || co.oid::text || ':' || co.xmin::text
    FROM rels r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0
    JOIN pg_collation co ON co.oid = a.attcollation
  UNION ALL
  SELECT r.key, 'e' || e.oid::text || ':' || e.xmin::text
    FROM rels r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0
    JOIN pg_type at ON at.oid = a.atttypid
    JOIN pg_enum e ON e.enumtypid IN (at.oid, at.typelem)`;

/** The stamp of everything readSourceCatalog(client, opts) would read (without `tables`), in one query. */
export async function sourceCatalogStamp(client: pg.ClientBase, opts: Omit<ReadCatalogOptions, 'tables'> = {}): Promise<string> {
  const r = await client.query<{ stamp: string }>(
    `WITH rels AS (SELECT c.oid, ''::text AS key FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${CATALOG_RELATIONS})
     SELECT md5(coalesce(string_agg(DISTINCT p.part, ',' ORDER BY p.part), '')) AS stamp FROM (${STAMP_PARTS}) p`,
    [relationKinds(opts), opts.schemas ?? null],
  );
  return r.rows[0]!.stamp;
}

/**
 * Per table (qualified, quoted name as `qualifiedName` prints it), the stamp of its catalog rows;
 * a table that does not exist gets the stamp of nothing (never the stamp of a table).
 */
export async function tableStamps(client: pg.ClientBase, qualifiedNames: string[]): Promise<Map<string, string>> {
  const r = await client.query<{ key: string; stamp: string }>(
    `WITH names AS (SELECT DISTINCT unnest($1::text[]) AS key),
          rels AS (SELECT key, to_regclass(key)::oid AS oid FROM names)
     SELECT names.key, md5(coalesce(string_agg(DISTINCT p.part, ',' ORDER BY p.part), '')) AS stamp
       FROM names LEFT JOIN (${STAMP_PARTS}) p ON p.key = names.key
      GROUP BY names.key`,
    [qualifiedNames],
  );
  return new Map(r.rows.map((row) => [row.key, row.stamp]));
}

function toColumn(c: ColumnRow): SourceColumnInfo {
  const col: SourceColumnInfo = {
    name: c.name,
    type: c.type,
    ordinal: c.attnum,
    notNull: c.notnull,
    isArray: c.is_array,
    typeOid: c.type_oid,
    generated: c.generated !== '',
  };
  if (c.collation) col.collation = c.collation;
  if (c.enum_schema && c.enum_name) col.enumType = { schema: c.enum_schema, name: c.enum_name, labels: c.enum_labels ?? [] };
  if (c.domain_base) col.domainBaseType = c.domain_base;
  return col;
}

function toIndex(i: IndexRow): SourceIndexInfo {
  const keyCount = i.nkeyatts;
  const keyDefinitions = i.key_defs.slice(0, keyCount).map((def, k) => {
    // indoption bits: 1 = DESC, 2 = NULLS FIRST (the default for DESC).
    const opt = i.options[k] ?? 0;
    const desc = (opt & 1) !== 0;
    const nullsFirst = (opt & 2) !== 0;
    const opclass = i.opclasses[k];
    let out = def;
    if (opclass) out += ` ${opclass}`;
    if (desc) out += ' DESC';
    if (desc && !nullsFirst) out += ' NULLS LAST';
    if (!desc && nullsFirst) out += ' NULLS FIRST';
    return out;
  });
  const index: SourceIndexInfo = {
    name: i.name,
    primary: i.primary,
    unique: i.unique,
    method: i.method,
    keyColumns: i.column_names.slice(0, keyCount),
    keyDefinitions,
    includeColumns: i.column_names.slice(keyCount).filter((c): c is string => c !== null),
    definition: i.definition,
  };
  if (i.predicate) index.predicate = i.predicate;
  if (i.constraint_name) index.constraintName = i.constraint_name;
  return index;
}

function groupBy<T, K>(items: T[], key: (t: T) => K): Map<K, T[]> {
  const out = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}
