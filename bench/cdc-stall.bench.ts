/**
 * CDC after a target stall (docs/cdc.md, "Falling behind while streaming"), side by side in one run.
 *
 * A consumer streams, caught up; its target's pgbench_accounts is locked (as a long DDL or a
 * maintenance job would lock it); pgbench writes TX transactions; the lock is held HOLD_S seconds
 * more, then released. Time = from the release until the consumer's slot has confirmed the end of
 * the backlog. Consumers, each alone (the others stopped), in an order that rotates every round:
 *
 *   native     PostgreSQL's own subscription (the anchor);
 *   streaming  an opendms task with the switch off (OpendmsSettings.SqlCatchUpWhileStreamingBytes
 *              0): it streams the backlog, as before the switch existed;
 *   switch     an opendms task with the default settings: it stops streaming at a transaction
 *              boundary and catches up through the SQL interface, then streams again.
 *
 * Both opendms targets are checked equal to the source after their catch-up (exactly-once kept).
 * Ratios are native / opendms time (higher is faster). `CDC_STALL_TX` sets the backlog (default
 * 150,000 transactions, ~83 MB of WAL: past the switch's 64 MiB), `CDC_STALL_ROUNDS` the rounds (1).
 */
import pg from 'pg';
import type { RunningTask } from '../src/engine/contracts.js';
import { startPostgres, type PostgresCluster } from '../test/helpers/postgres.js';
import { insertLsn, pgbenchDigest, pgbenchTaskSpec, slotActive, slotConfirmed, startAndWait, until } from './cdc-pgbench-task.js';
import type { BenchReporter } from './cdc-pgbench-task.js';
import { pgbench } from './pgbench.js';

const TX = Number(process.env.CDC_STALL_TX ?? 150_000);
const ROUNDS = Number(process.env.CDC_STALL_ROUNDS ?? 1);
const CLIENTS = 4;
/** Seconds the lock is held after the backlog is written: past the switch's 10 s of sustained lag. */
const HOLD_S = 12;

interface Consumer {
  name: string;
  database: string;
  slot: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** What the run did, for the report (opendms: the switch's and the catch-up's events). */
  note(): string;
}

function opendms(src: PostgresCluster, tgt: PostgresCluster, name: string, switchOn: boolean): Consumer & { create(): Promise<void> } {
  const taskId = `BENCHSTALL${name.toUpperCase()}`;
  const spec = (startType: 'start-replication' | 'resume-processing') =>
    pgbenchTaskSpec(src, tgt, name, startType, { taskId, settings: switchOn ? {} : { OpendmsSettings: { SqlCatchUpWhileStreamingBytes: 0 } } });
  let running: { task: RunningTask; reporter: BenchReporter } | undefined;
  let seen = 0;
  return {
    name,
    database: name,
    slot: `opendms_${taskId.toLowerCase()}`,
    async create() {
      const first = await startAndWait(spec('start-replication'));
      await first.task.stop();
    },
    async start() {
      running = await startAndWait(spec('resume-processing'));
      seen = 0;
    },
    async stop() {
      await running?.task.stop();
      running = undefined;
    },
    note() {
      const events = running?.reporter.events.slice(seen) ?? [];
      seen += events.length;
      const fell = events.find((e) => e.startsWith('CDC streaming stayed'));
      const caught = events.find((e) => e.startsWith('CDC caught up through the SQL interface'));
      return fell ? `switched (${fell.replace(/:.*/, '')}); ${caught ?? 'no SQL catch-up'}` : 'streamed';
    },
  };
}

function native(src: PostgresCluster, tgt: PostgresCluster, monitor: pg.Client): Consumer & { create(): Promise<void> } {
  return {
    name: 'native',
    database: 'native',
    slot: 'native_stall',
    async create() {
      await src.query('CREATE PUBLICATION native_stall FOR TABLE pgbench_accounts, pgbench_branches, pgbench_tellers, pgbench_history');
      await src.query(`SELECT pg_create_logical_replication_slot('native_stall', 'pgoutput')`);
      await tgt.query(
        `CREATE SUBSCRIPTION native_stall CONNECTION 'host=${src.host} port=${src.port} user=${src.user} password=${src.password} dbname=postgres'
         PUBLICATION native_stall WITH (create_slot = false, slot_name = 'native_stall', copy_data = false, enabled = false)`,
        [],
        'native',
      );
    },
    async start() {
      await tgt.query('ALTER SUBSCRIPTION native_stall ENABLE', [], 'native');
    },
    async stop() {
      await tgt.query('ALTER SUBSCRIPTION native_stall DISABLE', [], 'native');
      await until('native walsender gone', async () => !(await slotActive(monitor, 'native_stall')));
    },
    note: () => 'PostgreSQL subscription',
  };
}

export async function run(): Promise<void> {
  const [src, tgt] = await Promise.all([startPostgres(), startPostgres()]);
  try {
    await pgbench(src, ['-i', '-q', '-s', '1']);
    for (const db of ['native', 'streaming', 'switch']) {
      await tgt.createDatabase(db);
      await pgbench(tgt, ['-i', '-q', '-s', '1'], db);
    }
    const monitor = new pg.Client({ host: src.host, port: src.port, user: src.user, password: src.password, database: 'postgres' });
    await monitor.connect();
    monitor.on('error', () => undefined);
    const consumers = [native(src, tgt, monitor), opendms(src, tgt, 'streaming', false), opendms(src, tgt, 'switch', true)];
    for (const c of consumers) await c.create();

    console.log(`backlog: ${TX.toLocaleString('en-US')} pgbench transactions (${CLIENTS} clients) written while the target is locked, released ${HOLD_S} s later; ${ROUNDS} round(s)`);
    const times = new Map<string, number[]>(consumers.map((c) => [c.name, []]));
    for (let round = 1; round <= ROUNDS; round++) {
      const order = consumers.map((_, i) => consumers[(i + round - 1) % consumers.length]!);
      console.log(`round ${round} (${order.map((c) => c.name).join(', ')}):`);
      for (const c of order) {
        // Caught up on what the other consumers' turns wrote, then streaming.
        await c.start();
        const now = await insertLsn(src);
        await until(`${c.name} caught up before the stall`, () => slotConfirmed(monitor, c.slot, now));
        c.note();
        const lock = new pg.Client({ host: tgt.host, port: tgt.port, user: tgt.user, password: tgt.password, database: c.database });
        await lock.connect();
        await lock.query('BEGIN');
        await lock.query('LOCK TABLE pgbench_accounts IN ACCESS EXCLUSIVE MODE');
        const w0 = Date.now();
        await pgbench(src, ['-n', '-c', String(CLIENTS), '-t', String(Math.ceil(TX / CLIENTS))]);
        const end = await insertLsn(src);
        const wal = (await monitor.query<{ mb: string }>(`SELECT round(pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn) / 1048576.0)::text AS mb`, [end, now])).rows[0]!.mb;
        await new Promise((r) => setTimeout(r, HOLD_S * 1000));
        const t0 = Date.now();
        await lock.query('ROLLBACK');
        await lock.end();
        await until(`${c.name} caught up after the stall`, () => slotConfirmed(monitor, c.slot, end));
        const ms = Date.now() - t0;
        times.get(c.name)!.push(ms);
        const note = c.note();
        if (c.name !== 'native') {
          const [a, b] = await Promise.all([pgbenchDigest(src, 'postgres'), pgbenchDigest(tgt, c.database)]);
          if (a !== b) throw new Error(`${c.name} target differs from the source after the stall: ${a} vs ${b}`);
        }
        console.log(`  ${c.name}: ${ms} ms after the release (${Math.round(TX / (ms / 1000))} tx/s; ${wal} MB of WAL written in ${Math.round((Date.now() - w0 - ms) / 1000)} s before it)${c.name === 'native' ? '' : ', target identical'}; ${note}`);
        await c.stop();
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const [n, s, w] = ['native', 'streaming', 'switch'].map((k) => median(times.get(k)!));
    console.log(`after a stall, median over ${ROUNDS} round(s): native ${n} ms, opendms streaming ${s} ms (${(n! / s!).toFixed(2)}x native), opendms switching to the SQL catch-up ${w} ms (${(n! / w!).toFixed(2)}x native, ${(s! / w!).toFixed(2)}x streaming)`);
    await monitor.end();
  } finally {
    await Promise.all([src.stop(), tgt.stop()]);
  }
}
