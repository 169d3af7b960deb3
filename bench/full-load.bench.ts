/**
 * Full load PostgreSQL -> PostgreSQL (issue 4, "Speed and memory"): 5 tables, 2M rows of mixed
 * types, loaded into fresh target databases by
 *   - a raw `psql -c "COPY ... TO STDOUT" | psql -c "COPY ... FROM STDIN"` pipe per table, all
 *     tables at once, into tables created beforehand (schema not timed): the machine's limit;
 *   - opendms `runFullLoad` (DROP_AND_CREATE, MaxFullLoadSubTasks 4, default splitting and COPY
 *     format, which is binary here as every column has a built-in type), once with primary keys
 *     created with the tables (DMS default) and once with CreatePkAfterFullLoad (as pgcopydb does);
 *   - `pgcopydb clone` (schema, data, indexes, constraints; --table-jobs 4 --index-jobs 2).
 * The dataset has primary keys and no secondary indexes. Each contender runs
 * ROUNDS times, alternating (the machine is shared and noisy); the best time counts. Reports rows/s and ratios, and the
 * peak RSS of this process while opendms loads (the loader streams, so it should stay flat).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { endpointSpec } from '../test/helpers/cdc-harness.js';
import { readSourceCatalog } from '../src/connectors/postgres/catalog.js';
import { runFullLoad } from '../src/engine/full-load/index.js';
import type { PlannedTable } from '../src/model/table-mappings.js';
import { startPostgres, type PostgresCluster } from '../test/helpers/postgres.js';

const TABLES: { name: string; rows: number; ddl: string; fill: string }[] = [
  {
    name: 'orders',
    rows: 800_000,
    ddl: 'CREATE TABLE bench.orders (id bigint PRIMARY KEY, customer integer NOT NULL, amount numeric(12,2), placed timestamptz, note text, ref uuid)',
    fill: `INSERT INTO bench.orders SELECT i, i % 50000, (i % 100000) / 100.0, timestamptz '2020-01-01' + i * interval '7 seconds', 'order note ' || md5(i::text), md5(i::text)::uuid FROM generate_series(1, 800000) i`,
  },
  {
    name: 'events',
    rows: 600_000,
    ddl: 'CREATE TABLE bench.events (id bigint PRIMARY KEY, kind text, payload jsonb, tags text[], at timestamptz)',
    fill: `INSERT INTO bench.events SELECT i, 'kind' || (i % 20), jsonb_build_object('i', i, 'user', md5(i::text), 'ok', i % 2 = 0), ARRAY['t' || (i % 5), 't' || (i % 7)], now() - i * interval '1 minute' FROM generate_series(1, 600000) i`,
  },
  {
    name: 'items',
    rows: 400_000,
    ddl: 'CREATE TABLE bench.items (shop varchar(20), sku integer, title varchar(200), price numeric(10,2), active boolean, since date, PRIMARY KEY (shop, sku))',
    fill: `INSERT INTO bench.items SELECT 'shop-' || (i % 40), i, 'item title ' || i || ' ' || md5(i::text), (i % 9999) / 10.0, i % 3 <> 0, date '2000-01-01' + (i % 8000) FROM generate_series(1, 400000) i`,
  },
  {
    name: 'blobs',
    rows: 100_000,
    ddl: 'CREATE TABLE bench.blobs (id bigint PRIMARY KEY, data bytea, body text)',
    fill: `INSERT INTO bench.blobs SELECT i, decode(repeat(md5(i::text), 16), 'hex'), repeat('x', 300) FROM generate_series(1, 100000) i`,
  },
  {
    name: 'logs',
    rows: 100_000,
    ddl: 'CREATE TABLE bench.logs (line text, level integer, took interval)',
    fill: `INSERT INTO bench.logs SELECT 'log line ' || i, i % 5, (i % 1000) * interval '1 millisecond' FROM generate_series(1, 100000) i`,
  },
];
const TOTAL_ROWS = TABLES.reduce((n, t) => n + t.rows, 0);
const JOBS = 4;
const ROUNDS = 3;


function sh(command: string, env: NodeJS.ProcessEnv, stdin?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('bash', ['-o', 'pipefail', '-c', command], { env, stdio: [stdin === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'] });
    if (stdin !== undefined) p.stdin?.end(stdin);
    let err = '';
    p.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command}: exit ${code}: ${err.slice(-2000)}`))));
  });
}

async function countRows(c: PostgresCluster, database: string): Promise<number> {
  const r = await c.query<{ n: string }>(`SELECT (${TABLES.map((t) => `(SELECT count(*) FROM bench.${t.name})`).join(' + ')})::text AS n`, [], database);
  return Number(r.rows[0]?.n);
}

async function timed(label: string, fn: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await fn();
  const s = (performance.now() - t) / 1000;
  console.log(`  ${label}: ${s.toFixed(2)} s (${Math.round(TOTAL_ROWS / s).toLocaleString('en-US')} rows/s)`);
  return s;
}

export async function run(): Promise<void> {
  const [src, tgt] = await Promise.all([startPostgres(), startPostgres()]);
  const env = { ...process.env, PGPASSWORD: src.password };
  try {
    console.log(`dataset: ${TABLES.length} tables, ${TOTAL_ROWS.toLocaleString('en-US')} rows`);
    await src.query('CREATE SCHEMA bench');
    for (const t of TABLES) await src.query(t.ddl);
    await Promise.all(TABLES.map((t) => src.query(t.fill)));
    await src.query('VACUUM ANALYZE');
    const size = await src.query<{ s: string }>(`SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) AS s FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'bench' AND c.relkind = 'r'`);
    console.log(`source size: ${size.rows[0]?.s}`);

    const client = new pg.Client({ connectionString: src.connectionString() });
    await client.connect();
    const catalog = await readSourceCatalog(client, { schemas: ['bench'] });
    await client.end();
    const planned: PlannedTable[] = catalog.map((t) => ({
      source: { schema: t.schema, table: t.table },
      target: { schema: t.schema, table: t.table },
      columns: t.columns.map((c) => ({ source: c.name, target: c.name })),
      loadOrder: 0,
      filters: [],
    }));

    const loadWithOpendms = async (database: string, createPkAfterFullLoad: boolean): Promise<void> => {
      const r = await runFullLoad({
        source: endpointSpec(src, 'source', 'postgres'),
        target: endpointSpec(tgt, 'target', database),
        tables: planned,
        catalog,
        settings: { targetTablePrepMode: 'DROP_AND_CREATE', maxSubTasks: JOBS, commitRate: 10000, createPkAfterFullLoad },
        controlSchema: 'public',
        taskName: 'BENCH',
        resume: false,
        onTableState: () => {},
        signal: new AbortController().signal,
      });
      if (r.errors.length > 0) throw new Error(`opendms errors: ${JSON.stringify(r.errors)}`);
    };

    const best = { rawPk: Infinity, raw: Infinity, opendms: Infinity, opendmsPkAfter: Infinity, pgcopydb: Infinity };
    let peakRssMb = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      console.log(`round ${round}`);
      // Raw COPY pipes, all tables at once, into tables restored beforehand (not timed): once with
      // their primary keys (the same work as opendms's default), once bare (the pure COPY limit).
      for (const withKeys of [true, false]) {
        const key = withKeys ? 'rawPk' : 'raw';
        const rawDb = `${key.toLowerCase()}_${round}`;
        await tgt.createDatabase(rawDb);
        const sections = withKeys ? ['--section=pre-data', '--section=post-data'] : ['--section=pre-data'];
        const ddl = execFileSync('pg_dump', ['--schema-only', '--no-owner', ...sections, '-d', src.connectionString()], { env }).toString();
        await sh(`psql -X -q -v ON_ERROR_STOP=1 -d '${tgt.connectionString(rawDb)}'`, env, ddl);
        const pipes = () =>
          Promise.all(
            TABLES.map((t) =>
              sh(`psql -X -q -d '${src.connectionString()}' -c "COPY bench.${t.name} TO STDOUT" | psql -X -q -d '${tgt.connectionString(rawDb)}' -c "COPY bench.${t.name} FROM STDIN"`, env),
            ),
          ).then(() => {});
        best[key] = Math.min(best[key], await timed(withKeys ? 'raw COPY pipes, tables with PK' : 'raw COPY pipes, bare tables', pipes));
        if ((await countRows(tgt, rawDb)) !== TOTAL_ROWS) throw new Error('raw pipe lost rows');
      }

      for (const pkAfter of [false, true]) {
        const key = pkAfter ? 'opendmsPkAfter' : 'opendms';
        const oDb = `${key.toLowerCase()}_${round}`;
        await tgt.createDatabase(oDb);
        const base = process.memoryUsage().rss;
        const sampler = setInterval(() => (peakRssMb = Math.max(peakRssMb, (process.memoryUsage().rss - base) / 1048576)), 100);
        const seconds = await timed(pkAfter ? 'opendms full load, CreatePkAfterFullLoad' : 'opendms full load', () => loadWithOpendms(oDb, pkAfter));
        clearInterval(sampler);
        best[key] = Math.min(best[key], seconds);
        if ((await countRows(tgt, oDb)) !== TOTAL_ROWS) throw new Error('opendms lost rows');
      }

      const cDb = `pgcopydb_${round}`;
      await tgt.createDatabase(cDb);
      const dir = mkdtempSync(join(tmpdir(), 'pgcopydb-'));
      try {
        best.pgcopydb = Math.min(
          best.pgcopydb,
          await timed('pgcopydb clone', () =>
            sh(
              `pgcopydb clone --source '${src.connectionString()}' --target '${tgt.connectionString(cDb)}' --table-jobs ${JOBS} --index-jobs 2 --no-owner --no-acl --skip-extensions --dir '${dir}'`,
              env,
            ),
          ),
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      if ((await countRows(tgt, cDb)) !== TOTAL_ROWS) throw new Error('pgcopydb lost rows');
    }
    const ratio = (anchor: number, ours: number) => `${(anchor / ours).toFixed(2)}x`;
    console.log(`opendms (PK with the table) / raw pipes into tables with PK: ${ratio(best.rawPk, best.opendms)} (goal >= 0.9x)`);
    console.log(`opendms (CreatePkAfterFullLoad) / raw pipes into bare tables: ${ratio(best.raw, best.opendmsPkAfter)} (goal >= 0.9x; opendms also builds the keys)`);
    console.log(`opendms (PK with the table) / raw pipes into bare tables: ${ratio(best.raw, best.opendms)}`);
    console.log(`opendms (CreatePkAfterFullLoad) / pgcopydb clone: ${ratio(best.pgcopydb, best.opendmsPkAfter)} (goal >= 1.0x; both build keys after the data)`);
    console.log(`opendms (PK with the table) / pgcopydb clone: ${ratio(best.pgcopydb, best.opendms)}`);
    console.log(`opendms loader peak RSS growth: ${peakRssMb.toFixed(0)} MB`);
  } finally {
    await Promise.all([src.stop(), tgt.stop()]);
  }
}
