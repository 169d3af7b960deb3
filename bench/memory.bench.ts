/**
 * Memory of a replication-instance process (issue 4, "Speed and memory": the instance process
 * stays under 300 MB RSS while loading a 10M-row table and while applying a single 1M-row
 * transaction). Everything goes through the real service and a real instance process
 * (`opendms serve`, dms.t3.medium), as an operator would run it:
 *
 *   full load  one table of MEMORY_BENCH_ROWS (default 10,000,000) wide-ish rows of mixed types
 *              (~250 bytes: bigint key, int, numeric, timestamptz, text, uuid, jsonb, bool, float8,
 *              int[]), generated on the source with generate_series, loaded by a full-load-and-cdc
 *              task (default settings: 4 subtasks, key ranges of 1M rows).
 *   1M-row transactions, applied by the same task's CDC, MEMORY_BENCH_TX rows each (default
 *              1,000,000), into a second table:
 *                - INSERT, transactional apply (BatchApplyEnabled false, the default);
 *                - INSERT of as many new rows, batch apply (the task stopped, modified, resumed);
 *                - UPDATE of the first MEMORY_BENCH_TX rows, batch apply;
 *              and one INSERT of 400 rows of 512 kB (200 MB, wide rows) into a third table, batch apply.
 *
 * Peak RSS of the instance process per phase: the kernel's high-water mark (VmHWM, reset before
 * each phase by writing 5 to /proc/<pid>/clear_refs) and, as a cross-check, VmRSS sampled every
 * 100 ms. Reported against the 300 MB limit as a ratio. After each phase the target is checked
 * equal to the source: row count and sum(hashtext(row::text)) of every table.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateEndpointCommand,
  CreateReplicationInstanceCommand,
  CreateReplicationTaskCommand,
  DescribeReplicationInstancesCommand,
  DescribeReplicationTasksCommand,
  DescribeTableStatisticsCommand,
  ModifyReplicationTaskCommand,
  StartReplicationTaskCommand,
  StopReplicationTaskCommand,
  type DatabaseMigrationServiceClient,
} from '@aws-sdk/client-database-migration-service';
import { waitFor } from '../test/helpers/ports.js';
import { startPostgres, type PostgresCluster } from '../test/helpers/postgres.js';
import { startService } from '../test/helpers/service.js';
import { rssMb } from './proc.js';

const ROWS = Number(process.env.MEMORY_BENCH_ROWS ?? 10_000_000);
const TX = Number(process.env.MEMORY_BENCH_TX ?? 1_000_000);
const LIMIT_MB = 300;
const fmt = (n: number) => n.toLocaleString('en-US');

const WIDE_DDL = `CREATE TABLE public.wide (
  id bigint PRIMARY KEY, account integer NOT NULL, amount numeric(14,2), created timestamptz,
  title text, ref uuid, attrs jsonb, active boolean, score double precision, tags integer[])`;
const WIDE_FILL = (from: number, to: number) => `INSERT INTO public.wide
  SELECT i, i % 100000, (i % 1000000) / 100.0, timestamptz '2020-01-01' + i * interval '3 seconds',
         'title ' || i || ' ' || md5(i::text) || ' ' || md5((i + 1)::text), md5(i::text)::uuid,
         jsonb_build_object('i', i, 'k', 'kind' || (i % 17), 'ok', i % 2 = 0), i % 3 <> 0, i / 7.0,
         ARRAY[i % 10, i % 100, i % 1000]
    FROM generate_series(${from}, ${to}) i`;
const TX_DDL = 'CREATE TABLE public.txbig (id integer PRIMARY KEY, v text, n bigint)';
/** Wide rows: 400 x 512 kB in one transaction (200 MB), the case a bound by row count alone misses. */
const WIDE_ROWS = 400;
const WIDE_TX_DDL = 'CREATE TABLE public.txwide (id integer PRIMARY KEY, body text)';

/** Peak RSS of one process over a phase: kernel high-water mark plus sampling. */
class PeakRss {
  private sampled = 0;
  private timer: NodeJS.Timeout;
  private readonly hwmResettable: boolean;

  constructor(private readonly pid: number) {
    let ok = true;
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5'); // resets VmHWM to the current RSS
    } catch {
      ok = false;
    }
    this.hwmResettable = ok;
    this.sampled = rssMb(pid);
    this.timer = setInterval(() => {
      try {
        this.sampled = Math.max(this.sampled, rssMb(pid));
      } catch {
        // the process is gone; the phase will fail on its own
      }
    }, 100);
  }

  /** Stops sampling; the phase's peak in MB (the high-water mark when it could be reset). */
  end(): { peakMb: number; sampledMb: number; hwmMb: number | undefined } {
    clearInterval(this.timer);
    const hwmKb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'))?.[1] ?? 0);
    const hwmMb = this.hwmResettable ? hwmKb / 1024 : undefined;
    return { peakMb: Math.max(this.sampled, hwmMb ?? 0), sampledMb: this.sampled, hwmMb };
  }
}

async function digest(c: PostgresCluster, table: string): Promise<string> {
  const r = await c.query<{ d: string }>(`SELECT count(*) || '/' || coalesce(sum(hashtext(t::text)::bigint), 0) AS d FROM public.${table} t`);
  return r.rows[0]!.d;
}

async function sameData(src: PostgresCluster, tgt: PostgresCluster, table: string): Promise<string> {
  const [a, b] = await Promise.all([digest(src, table), digest(tgt, table)]);
  if (a !== b) throw new Error(`target differs from the source for ${table}: source ${a}, target ${b}`);
  return a;
}

export async function run(): Promise<void> {
  const pgSettings = { max_wal_size: "'4GB'", checkpoint_timeout: "'30min'" };
  const [source, target] = await Promise.all([startPostgres(pgSettings), startPostgres(pgSettings)]);
  const svc = await startService({ env: { OPENDMS_LOG_LEVEL: 'warn' }, args: ['--log-level', 'warn'] });
  const dms: DatabaseMigrationServiceClient = svc.client();
  try {
    console.log(`load: ${readFileSync('/proc/loadavg', 'utf8').trim()} (1/5/15-min load average, ${(await import('node:os')).cpus().length} cores)`);
    // ---- source data ----
    let t0 = performance.now();
    await source.query(WIDE_DDL);
    const parts = 4;
    const per = Math.ceil(ROWS / parts);
    await Promise.all(Array.from({ length: parts }, (_, p) => source.query(WIDE_FILL(p * per + 1, Math.min(ROWS, (p + 1) * per)))));
    await source.query(TX_DDL);
    await source.query(WIDE_TX_DDL);
    await source.query('VACUUM ANALYZE public.wide');
    const size = (await source.query<{ s: string }>(`SELECT pg_size_pretty(pg_table_size('public.wide')) AS s`)).rows[0]!.s;
    console.log(`source: ${fmt(ROWS)} rows in public.wide (${size} heap+TOAST), generated in ${((performance.now() - t0) / 1000).toFixed(0)} s`);

    // ---- service objects ----
    const instanceArn = (
      await dms.send(new CreateReplicationInstanceCommand({ ReplicationInstanceIdentifier: 'bench-memory', ReplicationInstanceClass: 'dms.t3.medium' }))
    ).ReplicationInstance!.ReplicationInstanceArn!;
    await waitFor('instance available', async () => {
      const r = await dms.send(new DescribeReplicationInstancesCommand({ Filters: [{ Name: 'replication-instance-arn', Values: [instanceArn] }] }));
      return r.ReplicationInstances?.[0]?.ReplicationInstanceStatus === 'available';
    }, 60_000, 100);
    const pid = Number(readFileSync(join(svc.dataDir, 'instances', instanceArn.split(':').pop()!, 'instance.pid'), 'utf8'));
    const ep = async (id: string, type: 'source' | 'target', db: PostgresCluster): Promise<string> =>
      (
        await dms.send(
          new CreateEndpointCommand({ EndpointIdentifier: id, EndpointType: type, EngineName: 'postgres', ServerName: '127.0.0.1', Port: db.port, DatabaseName: 'postgres', Username: db.user, Password: db.password }),
        )
      ).Endpoint!.EndpointArn!;
    const [srcArn, tgtArn] = await Promise.all([ep('bench-mem-src', 'source', source), ep('bench-mem-tgt', 'target', target)]);
    const settings = (batch: boolean) => JSON.stringify({ TargetMetadata: { BatchApplyEnabled: batch } });
    const taskArn = (
      await dms.send(
        new CreateReplicationTaskCommand({
          ReplicationTaskIdentifier: 'bench-memory',
          SourceEndpointArn: srcArn,
          TargetEndpointArn: tgtArn,
          ReplicationInstanceArn: instanceArn,
          MigrationType: 'full-load-and-cdc',
          ReplicationTaskSettings: settings(false),
          TableMappings: JSON.stringify({
            rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': '1', 'object-locator': { 'schema-name': 'public', 'table-name': '%' }, 'rule-action': 'include' }],
          }),
        }),
      )
    ).ReplicationTask!.ReplicationTaskArn!;
    const status = async (): Promise<string> => {
      const r = await dms.send(new DescribeReplicationTasksCommand({ Filters: [{ Name: 'replication-task-arn', Values: [taskArn] }], WithoutSettings: true }));
      const t = r.ReplicationTasks![0]!;
      if (t.Status === 'failed') throw new Error(`task failed: ${t.LastFailureMessage ?? t.StopReason}`);
      return t.Status!;
    };
    const until = (want: string, timeoutMs = 120_000) => waitFor(`task ${want}`, async () => (await status()) === want, timeoutMs, 200);
    await until('ready');

    const results: { phase: string; peakMb: number; detail: string }[] = [];
    const report = (phase: string, p: ReturnType<PeakRss['end']>, seconds: number, extra: string) => {
      const detail = `${seconds.toFixed(0)} s, peak ${p.peakMb.toFixed(0)} MB (VmHWM ${p.hwmMb?.toFixed(0) ?? 'n/a'}, sampled ${p.sampledMb.toFixed(0)}), ${extra}`;
      console.log(`${phase}: ${detail}; ratio to ${LIMIT_MB} MB: ${(p.peakMb / LIMIT_MB).toFixed(2)}`);
      results.push({ phase, peakMb: p.peakMb, detail });
    };

    // ---- full load ----
    console.log(`instance process ${pid}: ${rssMb(pid).toFixed(0)} MB RSS idle`);
    let peak = new PeakRss(pid);
    t0 = performance.now();
    await dms.send(new StartReplicationTaskCommand({ ReplicationTaskArn: taskArn, StartReplicationTaskType: 'start-replication' }));
    await waitFor('full load completed', async () => {
      await status();
      const r = await dms.send(new DescribeTableStatisticsCommand({ ReplicationTaskArn: taskArn }));
      const wide = r.TableStatistics?.find((s) => s.TableName === 'wide');
      return wide?.TableState === 'Table completed';
    }, 3_600_000, 500);
    let seconds = (performance.now() - t0) / 1000;
    let p = peak.end();
    const wideDigest = await sameData(source, target, 'wide');
    report(`full load of ${fmt(ROWS)} rows`, p, seconds, `${fmt(Math.round(ROWS / seconds))} rows/s, target identical (${wideDigest.split('/')[0]} rows)`);
    await until('running');

    // ---- one big source transaction, applied by CDC ----
    const applyOne = async (label: string, sql: string, table = 'txbig') => {
      // Let the task settle (the previous phase's garbage, connections) before measuring.
      await new Promise((r) => setTimeout(r, 2_000));
      const before = rssMb(pid);
      peak = new PeakRss(pid);
      t0 = performance.now();
      await source.query(sql);
      const want = await digest(source, table);
      await waitFor(`${label} applied`, async () => (await digest(target, table)) === want, 1_800_000, 500);
      seconds = (performance.now() - t0) / 1000;
      p = peak.end();
      report(label, p, seconds, `RSS ${before.toFixed(0)} MB before, target identical`);
    };
    await applyOne(`${fmt(TX)}-row INSERT transaction, transactional apply`, `INSERT INTO public.txbig SELECT g, repeat('v', 60) || g, g FROM generate_series(1, ${TX}) g`);

    await dms.send(new StopReplicationTaskCommand({ ReplicationTaskArn: taskArn }));
    await until('stopped');
    await dms.send(new ModifyReplicationTaskCommand({ ReplicationTaskArn: taskArn, ReplicationTaskSettings: settings(true) }));
    await waitFor('task modified', async () => (await status()) === 'stopped', 60_000, 200);
    await dms.send(new StartReplicationTaskCommand({ ReplicationTaskArn: taskArn, StartReplicationTaskType: 'resume-processing' }));
    await until('running');
    await applyOne(`${fmt(TX)}-row INSERT transaction, batch apply`, `INSERT INTO public.txbig SELECT g, repeat('w', 60) || g, g FROM generate_series(${TX + 1}, ${2 * TX}) g`);
    await applyOne(`${fmt(TX)}-row UPDATE transaction, batch apply`, `UPDATE public.txbig SET v = v || 'u', n = n + 1 WHERE id <= ${TX}`);
    await applyOne(`${WIDE_ROWS}-row INSERT transaction of 512 kB rows (200 MB), batch apply`, `INSERT INTO public.txwide SELECT g, repeat(md5(g::text), 16384) FROM generate_series(1, ${WIDE_ROWS}) g`, 'txwide');
    await sameData(source, target, 'wide');

    await dms.send(new StopReplicationTaskCommand({ ReplicationTaskArn: taskArn }));
    await until('stopped');
    const worst = Math.max(...results.map((r) => r.peakMb));
    console.log(`worst peak ${worst.toFixed(0)} MB: ratio to the ${LIMIT_MB} MB limit ${(worst / LIMIT_MB).toFixed(2)} (goal <= 1.00)`);
    console.log(`load at the end: ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
  } finally {
    await svc.destroy();
    await Promise.all([source.stop(), target.stop()]);
  }
}
