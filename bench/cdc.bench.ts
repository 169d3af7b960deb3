/**
 * CDC PostgreSQL -> PostgreSQL (issue 4, "Speed and memory"), side by side in one run:
 *
 *   catch-up  a backlog of TX pgbench (tpcb-like) transactions, written while nothing consumes,
 *             applied by PostgreSQL's own subscription (CREATE SUBSCRIPTION on a pre-made slot,
 *             copy_data off) and by an opendms CDC task (BatchApplyEnabled, resumed: a cold start
 *             of the task), one after the other, each into its own target database. Time = until
 *             the consumer's slot has confirmed the backlog's end LSN. The opendms target is then
 *             checked equal to the source (exactly-once kept). Ratio = native time / opendms time
 *             (target >= 2x). ROUNDS rounds, each on a new backlog, who goes first alternating;
 *             the median ratio is the result.
 *   latency   pgbench at half the measured opendms rate for LATENCY_S seconds while the task
 *             runs: per applied history row, target apply time (a target-only column defaulting
 *             to clock_timestamp()) minus source commit-time (mtime); p50/p99 (target p99 < 1 s).
 *   memory    peak RSS of this process (the engine runs in it) while one 1M-row source
 *             transaction is applied (target < 300 MB).
 *
 * `CDC_BENCH_TX` changes the backlog size (default 50,000); `CDC_BENCH_ROUNDS` the rounds (3);
 * `CDC_BENCH_TRANSACTIONAL=1` runs the opendms task with transactional apply (BatchApplyEnabled
 * off) instead.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { TaskSpec } from '../src/engine/contracts.js';
import { startPostgres, type PostgresCluster } from '../test/helpers/postgres.js';
import { pgbenchDigest as digest, pgbenchTaskSpec, slotActive, slotConfirmed, startAndWait, until } from './cdc-pgbench-task.js';
import { cpuSince, sampleChildCpu } from './proc.js';
import { pgbench } from './pgbench.js';
import { startProfiler } from './profiler.js';

const TX = Number(process.env.CDC_BENCH_TX ?? 50_000);
const CLIENTS = 4;
const LATENCY_S = 15;
/** `CDC_BENCH_ROUNDS`: catch-up comparisons, each on a new backlog (the median ratio is reported). */
const ROUNDS = Number(process.env.CDC_BENCH_ROUNDS ?? 3);
const BATCH = process.env.CDC_BENCH_TRANSACTIONAL !== '1';
const MODE = BATCH ? 'batch apply' : 'transactional apply';
/** `CDC_BENCH_CATCH_UP_ONLY=1`: only the catch-up comparison (quicker when iterating on apply speed). */
const CATCH_UP_ONLY = process.env.CDC_BENCH_CATCH_UP_ONLY === '1';
/** `CDC_BENCH_PROFILE=<file>`: writes a V8 CPU profile of the opendms catch-up (open it in Chrome DevTools). */
const PROFILE = process.env.CDC_BENCH_PROFILE;
/**
 * `CDC_BENCH_PERF=<file>`: records `perf` samples of the whole machine (every process: the engine,
 * the walsender, the target's backend) during the first opendms catch-up; Debian's linux-perf.
 */
const PERF = process.env.CDC_BENCH_PERF;

function startPerf(file: string): () => Promise<string> {
  const p = spawn('perf', ['record', '-a', '-g', '-e', 'cpu-clock', '-F', '1999', '-o', file], { stdio: 'ignore' });
  return async () => {
    p.kill('SIGINT');
    await new Promise((r) => p.once('exit', r));
    return file;
  };
}

const spec = (src: PostgresCluster, tgt: PostgresCluster, database: string, startType: TaskSpec['startType'], migrationType: TaskSpec['migrationType'] = 'cdc') =>
  pgbenchTaskSpec(src, tgt, database, startType, { batchApply: BATCH, migrationType });

/**
 * CPU each process of both clusters used during a phase (walsender, apply worker, backends, also
 * those that exited before its end), as one line.
 */
function pgCpuSampler(srcPid: number, tgtPid: number): { stop(): string } {
  const [src, tgt] = [sampleChildCpu(srcPid), sampleChildCpu(tgtPid)];
  return {
    stop() {
      const line = (side: string, used: Map<string, number>) =>
        cpuSince(new Map(), used).map((x) => `${side} ${x.name.replace(/^postgres: /, '').replace(/ 127\.0\.0\.1\(\d+\)/, '')} ${x.seconds.toFixed(2)} s`);
      return [...line('source', src.stop()), ...line('target', tgt.stop())].join('; ');
    },
  };
}

/** The cluster's postmaster (its children are the backends, walsenders and workers). */
const postmasterPid = (c: PostgresCluster): number => Number(readFileSync(join(c.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);

export async function run(): Promise<void> {
  const [src, tgt] = await Promise.all([startPostgres(), startPostgres()]);
  try {
    await pgbench(src, ['-i', '-q', '-s', '1']);
    for (const db of ['native', 'opendms']) {
      await tgt.createDatabase(db);
      await pgbench(tgt, ['-i', '-q', '-s', '1'], db);
    }
    // The target-only column that timestamps each apply (for the latency phase).
    await tgt.query('ALTER TABLE pgbench_history ADD COLUMN applied_at timestamptz DEFAULT clock_timestamp()', [], 'opendms');
    // One connection polls the slots: a connection per poll (password auth, a backend forked on the
    // source) every 50 ms cost CPU on both sides that competed with what is measured.
    const monitor = new pg.Client({ host: src.host, port: src.port, user: src.user, password: src.password, database: 'postgres' });
    await monitor.connect();
    monitor.on('error', () => undefined);
    await src.query('CREATE PUBLICATION native_pub FOR TABLE pgbench_accounts, pgbench_branches, pgbench_tellers, pgbench_history');
    await src.query(`SELECT pg_create_logical_replication_slot('native_slot', 'pgoutput')`);
    // The opendms task's slot and checkpoint, taken at the same point, then stopped.
    const first = await startAndWait(spec(src, tgt, 'opendms', 'start-replication'));
    await first.task.stop();

    // ---- catch-up, in rounds: a new backlog each round, the order of the two alternating ----
    const [srcPid, tgtPid] = [postmasterPid(src), postmasterPid(tgt)];
    const rate = (n: number, ms: number) => Math.round(n / (ms / 1000));
    const ratios: number[] = [];
    let resumed: Awaited<ReturnType<typeof startAndWait>> | undefined;
    let oursMs = 0;
    console.log(`backlog: ${TX.toLocaleString('en-US')} pgbench transactions (${CLIENTS} clients), ${ROUNDS} round(s)`);
    for (let round = 1; round <= ROUNDS; round++) {
      await resumed?.task.stop();
      await pgbench(src, ['-n', '-c', String(CLIENTS), '-t', String(Math.ceil(TX / CLIENTS))]);
      const end = (await src.query<{ l: string }>('SELECT pg_current_wal_insert_lsn()::text AS l')).rows[0]!.l;
      // How much WAL each consumer's decoding restarts from (restart_lsn moves only at the
      // source's running-transactions records): every decoding session reads it again.
      const restart = await src.query<{ slot_name: string; mb: string }>(
        `SELECT slot_name, round(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) / 1048576.0, 1)::text AS mb FROM pg_replication_slots ORDER BY 1`,
      );

      const native = async () => {
        const sampler = pgCpuSampler(srcPid, tgtPid);
        const t0 = Date.now();
        if (round === 1) {
          await tgt.query(
            `CREATE SUBSCRIPTION native_sub CONNECTION 'host=${src.host} port=${src.port} user=${src.user} password=${src.password} dbname=postgres'
             PUBLICATION native_pub WITH (create_slot = false, slot_name = 'native_slot', copy_data = false)`,
            [],
            'native',
          );
        } else await tgt.query('ALTER SUBSCRIPTION native_sub ENABLE', [], 'native');
        await until('native subscription caught up', () => slotConfirmed(monitor, 'native_slot', end));
        const ms = Date.now() - t0;
        const cpu = sampler.stop();
        await tgt.query('ALTER SUBSCRIPTION native_sub DISABLE', [], 'native');
        // Disabled means its walsender is gone too: the next phase measures only its own processes.
        await until('native walsender gone', async () => !(await slotActive(monitor, 'native_slot')));
        return { ms, cpu };
      };
      const ours = async () => {
        const profiler = PROFILE && round === 1 ? await startProfiler() : undefined;
        const perf = PERF && round === 1 ? startPerf(PERF) : undefined;
        const sampler = pgCpuSampler(srcPid, tgtPid);
        const t0 = Date.now();
        const cpu0 = process.cpuUsage();
        resumed = await startAndWait(spec(src, tgt, 'opendms', 'resume-processing'));
        const startupMs = Date.now() - t0;
        await until('opendms caught up', () => slotConfirmed(monitor, 'opendms_benchcdc', end));
        const ms = Date.now() - t0;
        const cpu = process.cpuUsage(cpu0);
        const pgCpu = sampler.stop();
        if (profiler) console.log(`CPU profile of the catch-up: ${await profiler.stop(PROFILE!)}`);
        if (perf) console.log(`perf profile of the whole machine during the catch-up: ${await perf()} (perf report -i ${PERF} --sort comm,dso,sym)`);
        const [a, b] = await Promise.all([digest(src, 'postgres'), digest(tgt, 'opendms')]);
        if (a !== b) throw new Error(`opendms target differs from the source after catch-up: ${a} vs ${b}`);
        return { ms, startupMs, cpu, pgCpu };
      };
      // Alternating who goes first, so neither always finds the source's caches warmer.
      const nativeFirst = round % 2 === 1;
      const n = nativeFirst ? await native() : undefined;
      const o = await ours();
      if (!nativeFirst) await resumed!.task.stop();
      const nn = n ?? (await native());
      if (!nativeFirst) resumed = await startAndWait(spec(src, tgt, 'opendms', 'resume-processing'));
      oursMs = o.ms;
      ratios.push(nn.ms / o.ms);
      console.log(`round ${round} (${nativeFirst ? 'native first' : 'opendms first'}; WAL from restart_lsn: ${restart.rows.map((r) => `${r.slot_name} ${r.mb} MB`).join(', ')}):`);
      console.log(`  catch-up native subscription: ${nn.ms} ms (${rate(TX, nn.ms)} tx/s)`);
      console.log(`    PostgreSQL processes' CPU: ${nn.cpu}`);
      console.log(`  catch-up opendms ${MODE}: ${o.ms} ms (${rate(TX, o.ms)} tx/s; task start ${o.startupMs} ms of it), target identical`);
      // Where the limit is: this process (the engine) vs the wall time.
      console.log(`    opendms process CPU: ${Math.round((o.cpu.user + o.cpu.system) / 1000)} ms (user ${Math.round(o.cpu.user / 1000)}, system ${Math.round(o.cpu.system / 1000)})`);
      console.log(`    PostgreSQL processes' CPU: ${o.pgCpu}`);
      console.log(`  ratio opendms/native: ${(nn.ms / o.ms).toFixed(2)}x`);
    }
    const sorted = [...ratios].sort((x, y) => x - y);
    console.log(`catch-up ratio opendms/native: median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)}x over ${ROUNDS} round(s) (${ratios.map((r) => r.toFixed(2)).join(', ')}) (target >= 2x)`);
    if (CATCH_UP_ONLY) {
      await resumed?.task.stop();
      await monitor.end();
      return;
    }
    const task = resumed!;

    // ---- latency at half the opendms rate ----
    const half = Math.max(100, Math.round(rate(TX, oursMs) / 2));
    const mark = (await tgt.query<{ n: string }>('SELECT count(*)::text AS n FROM pgbench_history', [], 'opendms')).rows[0]!.n;
    await pgbench(src, ['-n', '-c', String(CLIENTS), '-R', String(half), '-T', String(LATENCY_S)]);
    const end2 = (await src.query<{ l: string }>('SELECT pg_current_wal_insert_lsn()::text AS l')).rows[0]!.l;
    await until('opendms caught up after the latency run', () => slotConfirmed(monitor, 'opendms_benchcdc', end2));
    const lat = await tgt.query<{ p50: number; p99: number; n: string }>(
      `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d) AS p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY d) AS p99, count(*)::text AS n
         FROM (SELECT extract(epoch FROM applied_at - mtime) AS d FROM pgbench_history OFFSET ${Number(mark)}) x`,
      [],
      'opendms',
    );
    const l = lat.rows[0]!;
    console.log(`latency at ${half} tx/s for ${LATENCY_S} s (${l.n} rows): p50 ${(l.p50 * 1000).toFixed(0)} ms, p99 ${(l.p99 * 1000).toFixed(0)} ms (target p99 < 1000 ms)`);

    // ---- memory: one 1M-row transaction ----
    await src.query('CREATE TABLE public.pgbench_big (id int PRIMARY KEY, v text)');
    await tgt.query('CREATE TABLE public.pgbench_big (id int PRIMARY KEY, v text)', [], 'opendms');
    await task.task.stop();
    const again = await startAndWait(spec(src, tgt, 'opendms', 'resume-processing'));
    let peak = process.memoryUsage().rss;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
    const before = process.memoryUsage().rss;
    await src.query(`INSERT INTO public.pgbench_big SELECT g, repeat('v', 60) || g FROM generate_series(1, 1000000) g`);
    const end3 = (await src.query<{ l: string }>('SELECT pg_current_wal_insert_lsn()::text AS l')).rows[0]!.l;
    await until('1M-row transaction applied', () => slotConfirmed(monitor, 'opendms_benchcdc', end3));
    clearInterval(sampler);
    const n = (await tgt.query<{ n: string }>('SELECT count(*)::text AS n FROM pgbench_big', [], 'opendms')).rows[0]!.n;
    if (n !== '1000000') {
      // Say whether rows were late (slot confirmed too early) or lost, for whoever debugs it.
      const slot = (await src.query<{ c: string }>(`SELECT confirmed_flush_lsn::text AS c FROM pg_replication_slots WHERE slot_name = 'opendms_benchcdc'`)).rows[0]?.c;
      await new Promise((r) => setTimeout(r, 10_000));
      const later = (await tgt.query<{ n: string }>('SELECT count(*)::text AS n FROM pgbench_big', [], 'opendms')).rows[0]!.n;
      throw new Error(`1M-row transaction: target has ${n} rows once the slot confirmed ${slot} (transaction ends at ${end3}); ${later} rows 10 s later`);
    }
    const mb = (x: number) => Math.round(x / 1024 / 1024);
    console.log(`1M-row transaction: process RSS ${mb(before)} MB before, peak ${mb(peak)} MB (target < 300 MB)`);
    await again.task.stop();
    await monitor.end();
  } finally {
    await Promise.all([src.stop(), tgt.stop()]);
  }
}
