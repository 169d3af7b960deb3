/**
 * Full load PostgreSQL -> PostgreSQL against two real clusters: every common type round-trips
 * exactly (compared row by row as text), tables split into key ranges, each TargetTablePrepMode,
 * filters/renames/removed columns, an exported snapshot honoured, a data error confined to its
 * table, and a load stopped midway that resumes without reloading the ranges it had committed.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endpointSpec } from '../helpers/cdc-harness.js';
import type { TableStats } from '../../src/engine/contracts.js';
import { readSourceCatalog, type SourceTableInfo } from '../../src/connectors/postgres/catalog.js';
import { runFullLoad, type FullLoadOptions, type FullLoadSettings } from '../../src/engine/full-load/index.js';
import { parseTableMappings, planTables, type PlannedTable } from '../../src/model/table-mappings.js';
import { startPostgres, type PostgresCluster } from '../helpers/postgres.js';

let source: PostgresCluster;
let target: PostgresCluster;
let catalog: SourceTableInfo[];

const BIG_ROWS = 200_000;


const SOURCE_DDL = `
CREATE TYPE public.mood AS ENUM ('sad', 'ok', 'happy', 'it''s "fine"');
CREATE SCHEMA app;
CREATE TABLE app.kinds (
  id integer PRIMARY KEY,
  n_exact numeric(20,6), n_free numeric, f4 real, f8 double precision, small smallint, big bigint,
  ts timestamp, tstz timestamptz, d date, t time, iv interval,
  js jsonb, jt json, b bytea, u uuid, flag boolean, vc varchar(40), ch char(5), tx text COLLATE "C",
  tags text[], nums integer[], grid integer[][], m public.mood, moods public.mood[], addr inet, bits bit varying(8)
);
INSERT INTO app.kinds
SELECT i,
  CASE WHEN i % 7 = 0 THEN NULL ELSE (i * 12345.678901)::numeric(20,6) END,
  CASE WHEN i % 5 = 0 THEN NULL ELSE ('1e-20'::numeric * i + 123456789012345678901234567890.5) END,
  CASE WHEN i % 3 = 0 THEN NULL ELSE (i / 7.0)::real END,
  CASE WHEN i % 4 = 0 THEN 'NaN'::float8 WHEN i % 9 = 0 THEN '-Infinity' ELSE pi() * i END,
  (i % 32000)::smallint, i::bigint * 1000000007,
  timestamp '2001-02-03 04:05:06.789012' + i * interval '1 hour 3 seconds',
  CASE WHEN i % 11 = 0 THEN NULL ELSE timestamptz '1999-12-31 23:59:59.999999+05:30' + i * interval '17 minutes' END,
  date '0044-03-15' + i, time '12:34:56.5' + i * interval '1 second',
  make_interval(years => i % 3, months => i % 13, days => i, hours => -i, secs => i / 1000.0),
  jsonb_build_object('i', i, 'nested', jsonb_build_array(1, 'two', NULL, true), 'q', 'say "hi"' || E'\\n\\t\\\\'),
  '{"raw" : [1,2,  3]}'::json,
  CASE WHEN i % 6 = 0 THEN NULL ELSE decode(md5(i::text) || '00ff5c0a0d09', 'hex') END,
  md5(i::text)::uuid, i % 2 = 0,
  'vc ' || i, 'c' || (i % 10), E'tab\\there, newline\\nthere, backslash \\\\ quote '' "dq" ü € 𝄞 ' || i,
  CASE WHEN i % 8 = 0 THEN NULL ELSE ARRAY['a', 'b c', NULL, 'quote"d', E'back\\\\slash', '{braces}', ''] END,
  ARRAY[i, -i, NULL], ARRAY[[i, 2], [3, 4]],
  (ARRAY['sad', 'ok', 'happy', 'it''s "fine"'])[1 + i % 4]::public.mood,
  ARRAY['ok', 'it''s "fine"']::public.mood[],
  ('10.0.' || (i % 255) || '.1/24')::inet, (i % 256)::bit(8)::bit varying(8)
FROM generate_series(1, 3000) i;
CREATE INDEX kinds_vc_idx ON app.kinds (vc);
CREATE UNIQUE INDEX kinds_u_key ON app.kinds (u);

CREATE TABLE app.blobs (id bigint PRIMARY KEY, body text, data bytea);
INSERT INTO app.blobs VALUES
  (1, repeat('large text value ', 300000), decode(repeat(md5('x'), 150000), 'hex')),
  (2, NULL, decode(repeat('00ff10', 1500000), 'hex')),
  (3, repeat(E'line\\n\\ttab ü ', 400000), NULL);

CREATE TABLE app.big (id bigint PRIMARY KEY, grp integer NOT NULL, payload text, amount numeric(12,2), created timestamptz);
INSERT INTO app.big SELECT i, i % 10, 'payload ' || md5(i::text), (i % 100000) / 100.0, timestamptz '2020-01-01 00:00:00+00' + i * interval '1 second'
  FROM generate_series(1, ${BIG_ROWS}) i;
CREATE INDEX big_grp_idx ON app.big (grp, created DESC);

CREATE TABLE app.nokey (label text, qty integer);
INSERT INTO app.nokey SELECT 'dup', 1 FROM generate_series(1, 500);
INSERT INTO app.nokey SELECT 'row ' || i, i FROM generate_series(1, 1500) i;
INSERT INTO app.nokey VALUES (NULL, NULL), (NULL, NULL);

CREATE TABLE app.composite (region text, seq integer, val text, PRIMARY KEY (region, seq));
INSERT INTO app.composite SELECT (ARRAY['eu', 'us', 'ap', 'sa'])[1 + i % 4], i, 'v' || i FROM generate_series(1, 20000) i;

CREATE SCHEMA "Mixed Case";
CREATE TABLE "Mixed Case"."Odd ""Name""" ("Key" integer PRIMARY KEY, "select" text);
INSERT INTO "Mixed Case"."Odd ""Name""" SELECT i, 'v' || i FROM generate_series(1, 50) i;
ANALYZE;
`;

beforeAll(async () => {
  [source, target] = await Promise.all([startPostgres(), startPostgres()]);
  await source.query(SOURCE_DDL);
  const c = new pg.Client({ connectionString: source.connectionString() });
  await c.connect();
  try {
    catalog = await readSourceCatalog(c, { schemas: ['app', 'Mixed Case'] });
  } finally {
    await c.end();
  }
});

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

function info(schema: string, table: string): SourceTableInfo {
  const t = catalog.find((x) => x.schema === schema && x.table === table);
  if (!t) throw new Error(`no ${schema}.${table} in catalog`);
  return t;
}

/** A PlannedTable built by hand (as planTables would for an include-all rule). */
function planned(schema: string, table: string, extra: Partial<PlannedTable> = {}): PlannedTable {
  const t = info(schema, table);
  return {
    source: { schema, table },
    target: { schema, table },
    columns: t.columns.map((c) => ({ source: c.name, target: c.name })),
    loadOrder: 0,
    filters: [],
    ...extra,
  };
}

const ALL = (): PlannedTable[] => [
  planned('app', 'kinds'),
  planned('app', 'blobs', { loadOrder: 5 }),
  planned('app', 'big'),
  planned('app', 'nokey'),
  planned('app', 'composite', { parallelLoad: { type: 'ranges', columns: ['region', 'seq'], boundaries: [['ap', '100'], ['eu', '0'], ['us', '5000']] } }),
  planned('Mixed Case', 'Odd "Name"'),
];

const SETTINGS: FullLoadSettings = {
  targetTablePrepMode: 'DROP_AND_CREATE',
  maxSubTasks: 4,
  commitRate: 10000,
  createPkAfterFullLoad: false,
  split: { segmentRows: 50_000 },
  progressIntervalMs: 100,
};

interface LoadRun {
  states: TableStats[];
}

async function load(tables: PlannedTable[], over: Partial<FullLoadOptions> = {}, settings: Partial<FullLoadSettings> = {}): Promise<LoadRun & Awaited<ReturnType<typeof runFullLoad>>> {
  const states: TableStats[] = [];
  const result = await runFullLoad({
    source: endpointSpec(source, 'source'),
    target: endpointSpec(target, 'target'),
    tables,
    catalog,
    settings: { ...SETTINGS, ...settings },
    controlSchema: 'dms_control',
    taskName: 'TASKFULLLOAD',
    resume: false,
    onTableState: (s) => states.push(s),
    signal: new AbortController().signal,
    ...over,
  });
  return { ...result, states };
}

function q(ident: string): string {
  return `"${ident.replace(/"/g, '""')}"`;
}

/** md5 over every row's text form in a deterministic order, plus the count. */
async function digest(c: PostgresCluster, schema: string, table: string, columns: string[], where = ''): Promise<{ n: string; md5: string | null }> {
  const cols = columns.map(q).join(', ');
  const r = await c.query<{ n: string; md5: string | null }>(
    `SELECT count(*)::text AS n, md5(string_agg(t::text, E'\\n' ORDER BY t::text COLLATE "C")) AS md5 FROM (SELECT ${cols} FROM ${q(schema)}.${q(table)} ${where}) t`,
  );
  return r.rows[0] as { n: string; md5: string | null };
}

async function expectSame(schema: string, table: string, targetSchema = schema, targetTable = table, cols?: { s: string[]; t: string[] }, where = '') {
  const columns = info(schema, table).columns.map((c) => c.name);
  const s = await digest(source, schema, table, cols?.s ?? columns, where);
  const t = await digest(target, targetSchema, targetTable, cols?.t ?? columns);
  expect(Number(s.n)).toBeGreaterThan(0);
  expect(t).toEqual(s);
}

async function progressRows(table: string) {
  const r = await target.query<{ segment_no: number; status: string; row_count: string; updated_at: Date }>(
    `SELECT segment_no, status, row_count, updated_at FROM dms_control.awsdms_full_load_progress WHERE task_name = 'TASKFULLLOAD' AND table_name = $1 ORDER BY segment_no`,
    [table],
  );
  return r.rows;
}

describe('catalog', () => {
  it('reads exact types, keys, indexes, enums and replica identity', () => {
    const kinds = info('app', 'kinds');
    const type = (n: string) => kinds.columns.find((c) => c.name === n);
    expect(type('n_exact')?.type).toBe('numeric(20,6)');
    expect(type('tstz')?.type).toBe('timestamp with time zone');
    expect(type('vc')?.type).toBe('character varying(40)');
    expect(type('tags')?.isArray).toBe(true);
    expect(type('tx')?.collation).toBe('C');
    expect(type('moods')?.enumType).toEqual({ schema: 'public', name: 'mood', labels: ['sad', 'ok', 'happy', 'it\'s "fine"'] });
    expect(kinds.primaryKey).toEqual(['id']);
    expect(kinds.uniqueKeys).toEqual([['u']]);
    expect(kinds.indexes.map((i) => i.name).sort()).toEqual(['kinds_pkey', 'kinds_u_key', 'kinds_vc_idx']);
    expect(kinds.replicaIdentity).toBe('default');
    expect(info('app', 'composite').primaryKey).toEqual(['region', 'seq']);
    expect(info('app', 'nokey').primaryKey).toEqual([]);
    expect(info('app', 'big').estimatedRows).toBeGreaterThan(BIG_ROWS / 2);
  });
});

describe('DROP_AND_CREATE', () => {
  let run: Awaited<ReturnType<typeof load>>;
  beforeAll(async () => {
    run = await load(ALL());
  }, 120_000);

  it('completes every table and reports states and row counts', async () => {
    expect(run.outcome).toBe('completed');
    expect(run.errors).toEqual([]);
    expect(run.tablesCompleted).toBe(6);
    expect(run.snapshot.shared).toBe(true);
    const big = run.tables.find((t) => t.TableName === 'big');
    expect(big).toMatchObject({ TableState: 'Table completed', FullLoadRows: BIG_ROWS });
    expect(big?.FullLoadStartTime).toBeDefined();
    expect(big?.FullLoadEndTime).toBeDefined();
    const bigStates = run.states.filter((s) => s.TableName === 'big').map((s) => s.TableState);
    expect(bigStates[0]).toBe('Before load');
    expect(bigStates).toContain('Full load');
    expect(bigStates[bigStates.length - 1]).toBe('Table completed');
    // Progress while loading: row counts grow and never exceed the final count.
    const counts = run.states.filter((s) => s.TableName === 'big' && s.TableState === 'Full load').map((s) => s.FullLoadRows ?? 0);
    expect(Math.max(...counts)).toBeLessThanOrEqual(BIG_ROWS);
    expect(run.unsharedTablesWithoutKey).toEqual([]);
  });

  it('copies every row of every type exactly', async () => {
    await expectSame('app', 'kinds');
    await expectSame('app', 'blobs');
    await expectSame('app', 'big');
    await expectSame('app', 'nokey');
    await expectSame('app', 'composite');
    await expectSame('Mixed Case', 'Odd "Name"');
    const blob = await target.query<{ l: number; b: number }>('SELECT length(body) AS l, length(data) AS b FROM app.blobs WHERE id = 1');
    expect(blob.rows[0]).toEqual({ l: 17 * 300000, b: 16 * 150000 });
  });

  it('creates the same column types, the enum, the primary keys and the secondary indexes', async () => {
    const types = `SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull
                     FROM pg_attribute a WHERE a.attrelid = 'app.kinds'::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`;
    const s = (await source.query(types)).rows;
    const t = (await target.query(types)).rows;
    // The enum lives in the target table's schema.
    expect(t).toEqual(s.map((r) => ({ ...r, type: String(r.type).replace(/^mood/, 'app.mood') })));
    const labels = await target.query(`SELECT enum_range(NULL::app.mood)::text AS r`);
    expect(labels.rows[0]?.r).toBe('{sad,ok,happy,"it\'s \\"fine\\""}');
    const idx = await target.query<{ indexname: string; indexdef: string }>(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'app' ORDER BY indexname`);
    const names = idx.rows.map((r) => r.indexname);
    expect(names).toEqual(expect.arrayContaining(['big_grp_idx', 'big_pkey', 'composite_pkey', 'kinds_pkey', 'kinds_u_key', 'kinds_vc_idx']));
    expect(idx.rows.find((r) => r.indexname === 'big_grp_idx')?.indexdef).toContain('(grp, created DESC)');
    expect(idx.rows.find((r) => r.indexname === 'kinds_u_key')?.indexdef).toContain('UNIQUE');
    const pk = await target.query(`SELECT pg_get_constraintdef(oid) AS d FROM pg_constraint WHERE conrelid = 'app.composite'::regclass AND contype = 'p'`);
    expect(pk.rows[0]?.d).toBe('PRIMARY KEY (region, seq)');
  });

  it('split the large table into key ranges and recorded each in the progress table', async () => {
    const big = await progressRows('big');
    expect(big[0]).toMatchObject({ segment_no: 0, status: 'completed', row_count: String(BIG_ROWS) });
    const ranges = big.slice(1);
    expect(ranges.length).toBeGreaterThanOrEqual(4);
    expect(ranges.every((r) => r.status === 'loaded')).toBe(true);
    expect(ranges.reduce((n, r) => n + Number(r.row_count), 0)).toBe(BIG_ROWS);
    // Explicit parallel-load ranges: 3 boundaries -> 4 segments.
    expect((await progressRows('composite')).slice(1)).toHaveLength(4);
  });
});

describe('prep modes, filters, renames, removed columns', () => {
  it('TRUNCATE_BEFORE_LOAD empties an existing table first; DO_NOTHING keeps rows and creates missing tables', async () => {
    await target.query(`DROP TABLE IF EXISTS app.nokey; CREATE TABLE app.nokey (label text, qty bigint, extra text DEFAULT 'x'); INSERT INTO app.nokey VALUES ('stale', -1, 'y')`);
    await target.query(`DELETE FROM app.composite WHERE seq < 100; INSERT INTO app.composite VALUES ('zz', -5, 'stale')`);
    const r = await load([planned('app', 'nokey'), planned('app', 'composite')], {}, { targetTablePrepMode: 'TRUNCATE_BEFORE_LOAD' });
    expect(r.errors).toEqual([]);
    await expectSame('app', 'nokey');
    await expectSame('app', 'composite');
    // The table was kept (its extra column and default survive, its bigint took the source's
    // integers: an existing table is loaded in text format), only emptied.
    const extra = await target.query(`SELECT count(*)::int AS n FROM app.nokey WHERE extra = 'x'`);
    expect(extra.rows[0]?.n).toBe(2002);

    await target.query(`DROP TABLE IF EXISTS app.kinds; TRUNCATE app.nokey; DROP SCHEMA IF EXISTS "Mixed Case" CASCADE`);
    await target.query(`INSERT INTO app.nokey (label, qty) VALUES ('kept', 0)`);
    const d = await load([planned('app', 'nokey'), planned('app', 'kinds'), planned('Mixed Case', 'Odd "Name"')], {}, { targetTablePrepMode: 'DO_NOTHING' });
    expect(d.errors).toEqual([]);
    await expectSame('app', 'kinds');
    await expectSame('Mixed Case', 'Odd "Name"');
    const kept = await target.query(`SELECT count(*)::int AS n FROM app.nokey`);
    expect(kept.rows[0]?.n).toBe(2003);
  });

  it('applies selection filters, renames schema/table/columns, drops removed columns, defers the PK', async () => {
    const table = planned('app', 'big', {
      target: { schema: 'renamed', table: 'big2' },
      columns: [
        { source: 'id', target: 'ID' },
        { source: 'grp', target: 'group' },
        { source: 'payload', target: 'body' },
        { source: 'created', target: 'created' },
      ],
      filters: [
        { column: 'grp', conditions: [{ operator: 'between', startValue: '3', endValue: '4' }, { operator: 'eq', value: '9' }] },
        { column: 'id', conditions: [{ operator: 'lte', value: '150000' }] },
      ],
    });
    const r = await load([table], {}, { createPkAfterFullLoad: true, maxSubTasks: 3 });
    expect(r.errors).toEqual([]);
    const where = 'WHERE (grp BETWEEN 3 AND 4 OR grp = 9) AND id <= 150000';
    await expectSame('app', 'big', 'renamed', 'big2', { s: ['id', 'grp', 'payload', 'created'], t: ['ID', 'group', 'body', 'created'] }, where);
    const cols = await target.query(`SELECT attname FROM pg_attribute WHERE attrelid = 'renamed.big2'::regclass AND attnum > 0 ORDER BY attnum`);
    expect(cols.rows.map((c) => c.attname)).toEqual(['ID', 'group', 'body', 'created']);
    const pk = await target.query(`SELECT pg_get_constraintdef(oid) AS d FROM pg_constraint WHERE conrelid = 'renamed.big2'::regclass AND contype = 'p'`);
    expect(pk.rows[0]?.d).toBe('PRIMARY KEY ("ID")');
    const idx = await target.query(`SELECT indexdef FROM pg_indexes WHERE schemaname = 'renamed' AND indexname = 'big2_grp_idx'`);
    expect(idx.rows[0]?.indexdef).toContain('("group", created DESC)');
    // A secondary index over a removed column would not be created; this one has all its columns.
    expect(r.tables[0]?.FullLoadRows).toBe(Number((await source.query(`SELECT count(*) AS n FROM app.big ${where}`)).rows[0]?.n));
  });
});

describe('with a TableMappings document', () => {
  it('loads what parseTableMappings/planTables select, under their names', async () => {
    const mappings = parseTableMappings(
      JSON.stringify({
        rules: [
          { 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 'app', 'object-locator': { 'schema-name': 'app', 'table-name': '%' }, 'rule-action': 'include' },
          { 'rule-type': 'selection', 'rule-id': '2', 'rule-name': 'no-big', 'object-locator': { 'schema-name': 'app', 'table-name': 'b%' }, 'rule-action': 'exclude' },
          {
            'rule-type': 'selection', 'rule-id': '3', 'rule-name': 'eu', 'object-locator': { 'schema-name': 'app', 'table-name': 'composite' }, 'rule-action': 'include',
            filters: [{ 'filter-type': 'source', 'column-name': 'region', 'filter-conditions': [{ 'filter-operator': 'eq', value: 'eu' }] }],
          },
          { 'rule-type': 'transformation', 'rule-id': '4', 'rule-name': 'schema', 'rule-target': 'schema', 'object-locator': { 'schema-name': 'app' }, 'rule-action': 'rename', value: 'mapped' },
          { 'rule-type': 'transformation', 'rule-id': '5', 'rule-name': 'upper', 'rule-target': 'table', 'object-locator': { 'schema-name': 'app', 'table-name': 'nokey' }, 'rule-action': 'convert-uppercase' },
          { 'rule-type': 'transformation', 'rule-id': '6', 'rule-name': 'drop-js', 'rule-target': 'column', 'object-locator': { 'schema-name': 'app', 'table-name': 'kinds', 'column-name': 'j%' }, 'rule-action': 'remove-column' },
          {
            'rule-type': 'table-settings', 'rule-id': '7', 'rule-name': 'par', 'object-locator': { 'schema-name': 'app', 'table-name': 'composite' },
            'parallel-load': { type: 'ranges', columns: ['seq'], boundaries: [['5000'], ['10000']] },
          },
        ],
      }),
    );
    const tables = planTables(mappings, catalog);
    expect(tables.map((t) => `${t.target.schema}.${t.target.table}`).sort()).toEqual(['mapped.NOKEY', 'mapped.composite', 'mapped.kinds']);
    const r = await load(tables);
    expect(r.errors).toEqual([]);
    const kinds = info('app', 'kinds').columns.map((c) => c.name).filter((c) => !c.startsWith('j'));
    await expectSame('app', 'kinds', 'mapped', 'kinds', { s: kinds, t: kinds });
    await expectSame('app', 'nokey', 'mapped', 'NOKEY');
    await expectSame('app', 'composite', 'mapped', 'composite', undefined, `WHERE region = 'eu'`);
    expect((await progressRows('composite')).slice(1)).toHaveLength(3);
    // A fresh load forgets only its own tables' progress: big (loaded earlier, not here) keeps its record.
    expect((await progressRows('big'))[0]?.status).toBe('completed');
  });
});

describe('views', () => {
  it('loads a view (full-load-only tasks) into a table of the same column types', async () => {
    await source.query(`CREATE VIEW app.by_group AS SELECT grp, count(*) AS n, sum(amount) AS total, max(created) AS last FROM app.big GROUP BY grp`);
    const c = new pg.Client({ connectionString: source.connectionString() });
    await c.connect();
    const [view] = await readSourceCatalog(c, { includeViews: true, tables: [{ schema: 'app', table: 'by_group' }] }).finally(() => c.end());
    expect(view).toMatchObject({ tableType: 'view', primaryKey: [] });
    const table: PlannedTable = {
      source: { schema: 'app', table: 'by_group' },
      target: { schema: 'app', table: 'by_group' },
      columns: (view?.columns ?? []).map((col) => ({ source: col.name, target: col.name })),
      loadOrder: 0,
      filters: [],
    };
    const r = await load([table], { catalog: [...catalog, view as SourceTableInfo] });
    expect(r.errors).toEqual([]);
    const cols = ['grp', 'n', 'total', 'last'];
    const s = await digest(source, 'app', 'by_group', cols);
    expect(await digest(target, 'app', 'by_group', cols)).toEqual(s);
    const kind = await target.query(`SELECT relkind::text AS k FROM pg_class WHERE oid = 'app.by_group'::regclass`);
    expect(kind.rows[0]?.k).toBe('r');
  });
});

describe('snapshots and errors', () => {
  it('loads exactly the exported snapshot of a replication slot, not later commits', async () => {
    const repl = new pg.Client({ connectionString: source.connectionString(), replication: 'database' } as pg.ClientConfig);
    await repl.connect();
    try {
      const slot = await repl.query(`CREATE_REPLICATION_SLOT fl_test LOGICAL pgoutput EXPORT_SNAPSHOT`);
      const snapshotName = slot.rows[0]?.snapshot_name as string;
      await source.query(`INSERT INTO app.composite VALUES ('late', 1, 'after snapshot'); UPDATE app.composite SET val = 'changed' WHERE seq = 1`);
      let imported = false;
      const r = await load([planned('app', 'composite')], { snapshotName, onSnapshotImported: () => (imported = true) });
      expect(imported).toBe(true);
      expect(r.errors).toEqual([]);
      const late = await target.query(`SELECT count(*)::int AS n FROM app.composite WHERE region = 'late' OR val = 'changed'`);
      expect(late.rows[0]?.n).toBe(0);
      const all = await target.query(`SELECT count(*)::int AS n, max(val) FILTER (WHERE seq = 1) AS v FROM app.composite`);
      expect(all.rows[0]).toEqual({ n: 20000, v: 'v1' });
    } finally {
      await repl.end();
      await source.query(`SELECT pg_drop_replication_slot('fl_test')`);
      await source.query(`DELETE FROM app.composite WHERE region = 'late'; UPDATE app.composite SET val = 'v1' WHERE seq = 1`);
    }
  });

  it('a data error fails only its table, with the message', async () => {
    await target.query(`DROP TABLE IF EXISTS app.blobs; CREATE TABLE app.blobs (id bigint PRIMARY KEY, body text, data bytea CHECK (data IS NOT NULL))`);
    const r = await load([planned('app', 'blobs'), planned('Mixed Case', 'Odd "Name"')], {}, { targetTablePrepMode: 'TRUNCATE_BEFORE_LOAD' });
    expect(r.tablesErrored).toBe(1);
    expect(r.tablesCompleted).toBe(1);
    expect(r.errors[0]).toMatchObject({ schema: 'app', table: 'blobs' });
    expect(r.errors[0]?.message).toMatch(/check constraint/);
    expect(r.tables.find((t) => t.TableName === 'blobs')?.TableState).toBe('Table error');
    const n = await target.query(`SELECT count(*)::int AS n FROM app.blobs`);
    expect(n.rows[0]?.n).toBe(0);
  });
});

describe('interrupted full load', () => {
  it('resumes after a stop: committed ranges are kept, not reloaded; the rest converges', async () => {
    const settings: Partial<FullLoadSettings> = { maxSubTasks: 1, split: { segmentRows: 20_000 } };
    const stop = new AbortController();
    const first = await load([planned('app', 'big')], {
      signal: stop.signal,
      onTableState: (s) => {
        if ((s.FullLoadRows ?? 0) >= 70_000) stop.abort();
      },
    }, settings);
    expect(first.outcome).toBe('aborted');
    expect(first.tables[0]?.TableState).toBe('Table cancelled');

    const before = await progressRows('big');
    const loaded = before.filter((r) => r.segment_no > 0 && r.status === 'loaded');
    const pending = before.filter((r) => r.segment_no > 0 && r.status === 'pending');
    expect(loaded.length).toBeGreaterThanOrEqual(3);
    expect(pending.length).toBeGreaterThanOrEqual(2);
    // No half-counted range: the target holds exactly the rows of the loaded ranges.
    const onTarget = Number((await target.query(`SELECT count(*) AS n FROM app.big`)).rows[0]?.n);
    expect(onTarget).toBe(loaded.reduce((n, r) => n + Number(r.row_count), 0));

    // A change on the source after the stop, in a loaded range (id 1) and in a pending range (last id).
    await source.query(`UPDATE app.big SET payload = 'changed after stop' WHERE id IN (1, ${BIG_ROWS})`);
    try {
      const second = await load([planned('app', 'big')], { resume: true }, settings);
      expect(second.outcome).toBe('completed');
      expect(second.tables[0]).toMatchObject({ TableState: 'Table completed', FullLoadRows: BIG_ROWS });
      const after = await progressRows('big');
      // Loaded ranges were not touched again.
      for (const r of loaded) expect(after.find((a) => a.segment_no === r.segment_no)?.updated_at).toEqual(r.updated_at);
      // Proof by data: the loaded range still has the old value, the pending range the new one.
      const probe = await target.query<{ id: string; payload: string }>(`SELECT id::text, payload FROM app.big WHERE id IN (1, ${BIG_ROWS}) ORDER BY id`);
      expect(probe.rows[0]?.payload).not.toBe('changed after stop');
      expect(probe.rows[1]?.payload).toBe('changed after stop');
      // What CDC does from the slot's position (idempotent upsert by key) makes the target identical.
      const row = (await source.query(`SELECT * FROM app.big WHERE id = 1`)).rows[0] ?? {};
      await target.query(
        `INSERT INTO app.big VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET grp = EXCLUDED.grp, payload = EXCLUDED.payload, amount = EXCLUDED.amount, created = EXCLUDED.created`,
        [row.id, row.grp, row.payload, row.amount, row.created],
      );
      await expectSame('app', 'big');
    } finally {
      await source.query(`UPDATE app.big SET payload = 'payload ' || md5(id::text) WHERE id IN (1, ${BIG_ROWS})`);
    }
  });
});

describe('connection loss', () => {
  const kill = (c: PostgresCluster, pattern: string) =>
    c.query(`SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name LIKE $1`, [pattern]);

  it('retries ranges whose source or target session was killed, within the same snapshot', async () => {
    let killed: Promise<unknown> | undefined;
    const r = await load(
      [planned('app', 'big')],
      {
        onTableState: (s) => {
          if (!killed && (s.FullLoadRows ?? 0) > 0) killed = Promise.all([kill(source, 'opendms:TASKFULLLOAD:load-%'), kill(target, 'opendms:TASKFULLLOAD:load-%')]);
        },
      },
      { maxSubTasks: 2, split: { segmentRows: 20_000 }, retry: { attempts: 5, baseDelayMs: 50 }, progressIntervalMs: 10 },
    );
    expect(killed).toBeDefined();
    const [s, t] = (await killed) as { rows: { n: number }[] }[];
    expect((s?.rows[0]?.n ?? 0) + (t?.rows[0]?.n ?? 0)).toBeGreaterThan(0);
    expect(r.errors).toEqual([]);
    expect(r.outcome).toBe('completed');
    expect(r.snapshot.shared).toBe(true);
    await expectSame('app', 'big');
  });

  it('takes a new snapshot when the held one is lost, and says so', async () => {
    let killed: Promise<unknown> | undefined;
    const r = await load(
      [planned('app', 'big'), planned('app', 'nokey')],
      {
        onTableState: (s) => {
          // Early (frequent progress reports), so ranges are still to be read when the held snapshot dies:
          // on a fast machine a 1 s report could come after the last range.
          if (!killed && (s.FullLoadRows ?? 0) > 0) killed = kill(source, 'opendms:TASKFULLLOAD:%');
        },
      },
      { maxSubTasks: 4, split: { segmentRows: 20_000 }, retry: { attempts: 5, baseDelayMs: 50 }, progressIntervalMs: 10 },
    );
    await killed;
    expect(r.errors).toEqual([]);
    expect(r.snapshot.shared).toBe(false);
    await expectSame('app', 'big');
    await expectSame('app', 'nokey');
  });

  it('fails the load as retryable when the target stays unreachable', async () => {
    const dead = { ...endpointSpec(target, 'target'), port: 1 };
    await expect(load([planned('app', 'nokey')], { target: dead })).rejects.toMatchObject({ name: 'FullLoadError', retryable: true });
  });
});

describe('resources', () => {
  it('leaves no session behind on either cluster', async () => {
    for (const c of [source, target]) {
      const r = await c.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE 'opendms%'`);
      expect(r.rows[0]?.n).toBe(0);
    }
  });
});
