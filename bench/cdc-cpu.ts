/**
 * A profiling aid, not a benchmark (no anchor; not run by `npm run bench`): the CPU the engine's
 * own process spends per replicated change, measured on the real CDC path (ReplicationConnection
 * -> pgoutput decoding -> CdcSession -> Relations -> Applier netting and SQL building) with the
 * target's apply statements discarded instead of sent. The target database and the walsender are
 * other processes, so what is measured is exactly the Node work that limits catch-up, and it
 * varies far less with the machine's load than a wall-clock catch-up does.
 *
 *   npx tsx bench/cdc-cpu.ts [iterations=5]      CDC_CPU_TX=50000 sets the backlog
 *   CDC_CPU_PROFILE=/tmp/x.cpuprofile            writes a V8 CPU profile of the last iteration
 *   CDC_CPU_SOURCE=stream                        reads the streaming protocol instead of the SQL
 *                                                catch-up reader (the default, as a catch-up does)
 *   CDC_CPU_HEAP=/tmp/x.heapprofile              a sampling heap profile of the last iteration
 *
 * Each iteration streams the same backlog from a copy of one logical slot, so every iteration
 * sees the same WAL. Prints CPU ms per iteration (user+system; the main thread and V8's helper
 * threads apart: the first iteration of a process pays for compilation) and per transaction.
 */
import pg from 'pg';
import { readSourceCatalog } from '../src/connectors/postgres/catalog.js';
import type { ChangeStream } from '../src/connectors/postgres/change-stream.js';
import { ReplicationConnection } from '../src/connectors/postgres/replication-connection.js';
import { SlotChangesReader } from '../src/connectors/postgres/slot-changes-reader.js';
import { Applier } from '../src/engine/apply/applier.js';
import { applyPolicies, ErrorPolicy } from '../src/engine/apply/error-policy.js';
import { CdcSession } from '../src/engine/cdc/cdc-session.js';
import { Relations } from '../src/engine/cdc/relations.js';
import { controlTables } from '../src/engine/control-tables.js';
import { parseLsn } from '../src/model/lsn.js';
import { planTables, type TableMappings } from '../src/model/table-mappings.js';
import { defaultTaskSettings } from '../src/model/task-settings.js';
import { endpointSpec } from '../test/helpers/cdc-harness.js';
import { startPostgres } from '../test/helpers/postgres.js';
import { pgbench } from './pgbench.js';
import { threadCpuMs, threadCpuSince } from './proc.js';
import { startHeapSampling, startProfiler } from './profiler.js';

const TX = Number(process.env.CDC_CPU_TX ?? 50_000);
const ITERATIONS = Number(process.argv[2] ?? 5);
const STREAMING = process.env.CDC_CPU_SOURCE === 'stream';
/** `CDC_CPU_HEAP=<file>`: a sampling heap profile of the last iteration, and its top allocation sites. */
const HEAP_PROFILE = process.env.CDC_CPU_HEAP;

/** A target connection that accepts every statement at once: only our side's work is measured. */
class DiscardingTarget {
  bytes = 0;
  statements = 0;
  query(q: string | { text: string }): Promise<{ rowCount: number; rows: never[] }> {
    const text = typeof q === 'string' ? q : q.text;
    this.bytes += text.length;
    this.statements++;
    // A short asynchronous turn, as a real round trip would be (batches grow while it is out).
    return new Promise((resolve) => setTimeout(() => resolve({ rowCount: 1e9, rows: [] }), 2));
  }
}

async function profiled<T>(file: string | undefined, fn: () => Promise<T>): Promise<T> {
  if (!file) return fn();
  const profiler = await startProfiler();
  try {
    return await fn();
  } finally {
    console.log(`profile: ${await profiler.stop(file)}`);
  }
}

async function main(): Promise<void> {
  const [src, tgt] = await Promise.all([startPostgres(), startPostgres()]);
  try {
    await pgbench(src, ['-i', '-q', '-s', '1']);
    await pgbench(tgt, ['-i', '-q', '-s', '1']);
    await src.query('CREATE PUBLICATION cpu_pub FOR TABLE pgbench_accounts, pgbench_branches, pgbench_tellers, pgbench_history');
    await src.query(`SELECT pg_create_logical_replication_slot('cpu_base', 'pgoutput')`);
    await pgbench(src, ['-n', '-c', '4', '-t', String(Math.ceil(TX / 4))]);
    const end = parseLsn((await src.query<{ l: string }>('SELECT pg_current_wal_insert_lsn()::text AS l')).rows[0]!.l);
    // A transaction past the end: its Begin ends each session at once (reached_lsn).
    await src.query('INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 1, 1, 0, now())');

    const spec = endpointSpec(src, 'source', 'postgres');
    const targetClient = new pg.Client({ host: tgt.host, port: tgt.port, user: tgt.user, password: tgt.password, database: 'postgres' });
    const sourceClient = new pg.Client({ host: src.host, port: src.port, user: src.user, password: src.password, database: 'postgres' });
    await Promise.all([targetClient.connect(), sourceClient.connect()]);
    // The clusters are stopped at the end while these are open.
    for (const c of [targetClient, sourceClient]) c.on('error', () => undefined);
    const mappings: TableMappings = {
      rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': '1', 'object-locator': { 'schema-name': 'public', 'table-name': 'pgbench_%' }, 'rule-action': 'include' }],
    } as unknown as TableMappings;
    const planned = planTables(mappings, await readSourceCatalog(sourceClient));
    const byName = new Map(planned.map((t) => [`${t.source.schema}\u0000${t.source.table}`, t]));

    const results: number[] = [];
    for (let i = 1; i <= ITERATIONS; i++) {
      const slot = `cpu_it_${i}`;
      await src.query(`SELECT pg_copy_logical_replication_slot('cpu_base', $1)`, [slot]);
      const repl = await ReplicationConnection.open(spec, 'cdc-cpu');
      let stream: ChangeStream;
      if (STREAMING) {
        repl.start(slot, 0n, 'cpu_pub');
        stream = repl;
      } else {
        stream = await SlotChangesReader.open(repl, sourceClient, { slotName: slot, publication: 'cpu_pub', startLsn: 0n });
      }
      const db = new DiscardingTarget();
      const applier = new Applier(db as unknown as pg.Client, {
        taskName: 'CPU',
        controlTables: controlTables(undefined),
        errors: new ErrorPolicy(applyPolicies(defaultTaskSettings().ErrorBehavior)),
        chunkRows: 5_000,
        onTableSuspended: () => undefined,
      });
      const relations = new Relations(targetClient, { plan: (s, t) => byName.get(`${s}\u0000${t}`), replan: async () => undefined });
      const session = new CdcSession({
        stream,
        applier,
        relations,
        skipBefore: 0n,
        lenientBefore: 0n,
        tableSkipBefore: new Map(),
        startSeq: 0,
        batchApply: true,
        batchRows: 5_000,
        batchTimeoutMs: 1_000,
        minTransactionSize: 1_000,
        commitTimeoutMs: 1_000,
        maxRowsWhileCommitting: 7_500,
        stopAtLsn: end,
        onCommit: () => undefined,
        onTick: () => undefined,
      });
      const threads0 = threadCpuMs();
      const cpu0 = process.cpuUsage();
      const t0 = Date.now();
      const heap = i === ITERATIONS && HEAP_PROFILE ? await startHeapSampling() : undefined;
      await profiled(i === ITERATIONS ? process.env.CDC_CPU_PROFILE : undefined, () => session.run());
      if (heap) for (const line of await heap.stop(HEAP_PROFILE!)) console.log(line);
      const cpu = process.cpuUsage(cpu0);
      const threads = threadCpuSince(threads0);
      const ms = (cpu.user + cpu.system) / 1000;
      results.push(ms);
      console.log(
        `iteration ${i}: CPU ${ms.toFixed(0)} ms (user ${(cpu.user / 1000).toFixed(0)}, system ${(cpu.system / 1000).toFixed(0)}), ` +
          `wall ${Date.now() - t0} ms, ${db.statements} statements, ${(db.bytes / 1e6).toFixed(1)} MB of SQL; ${threads}`,
      );
      if (stream instanceof SlotChangesReader) await stream.close();
      await repl.close();
      await src.query(`SELECT pg_drop_replication_slot($1)`, [slot]).catch(() => undefined);
    }
    const best = Math.min(...results);
    console.log(`source: ${STREAMING ? 'streaming protocol' : 'SQL catch-up reader'}`);
    console.log(`best: ${best.toFixed(0)} ms CPU for ${TX} transactions = ${((best / TX) * 1000).toFixed(1)} us per transaction`);
    await Promise.all([targetClient.end(), sourceClient.end()]);
  } catch (err) {
    console.error(err);
    process.exitCode = 1;
  } finally {
    await Promise.all([src.stop(), tgt.stop()]);
  }
}

await main();
