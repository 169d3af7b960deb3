/**
 * CDC that starts behind reads its backlog through the SQL decoding functions on a temporary copy
 * of the task's slot (SlotChangesReader), then hands over to streaming: under a concurrent
 * workload, across a stop in the middle of the catch-up, with its source connection killed, with
 * the whole task process killed, and when the source has no slot to spare. Every time source and
 * target are compared row by row, and the counter table (every update is `n = n + 1`) shows that
 * no change was applied twice.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTask } from '../../src/engine/index.js';
import { parseCheckpoint } from '../../src/engine/checkpoint.js';
import { parseLsn } from '../../src/model/lsn.js';
import { startPostgres } from '../helpers/postgres.js';
import type { PostgresCluster } from '../helpers/postgres.js';
import { ChildTask, RecordingReporter, seed, taskSpec, waitConverged, Workload } from '../helpers/cdc-harness.js';
import { waitFor } from '../helpers/ports.js';

let source: PostgresCluster;
let target: PostgresCluster;

beforeAll(async () => {
  [source, target] = await Promise.all([startPostgres(), startPostgres()]);
  await seed(source, 2000);
}, 60_000);

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

/** Any backlog is caught up through the SQL interface. */
const CATCH_UP = { OpendmsSettings: { SqlCatchUpThresholdBytes: 1 } };

const spec = (taskId: string, startType: 'start-replication' | 'resume-processing', batchApply: boolean, db = source) =>
  taskSpec(db, target, { taskId, migrationType: 'full-load-and-cdc', startType, batchApply, settings: CATCH_UP });

/**
 * A run slow enough to be stopped or killed in the middle of its catch-up, whatever the machine:
 * one target transaction per source transaction (MinTransactionSize 0).
 */
const slowSpec = (taskId: string) =>
  taskSpec(source, target, {
    taskId,
    migrationType: 'full-load-and-cdc',
    startType: 'resume-processing',
    settings: { ...CATCH_UP, ChangeProcessingTuning: { MinTransactionSize: 0 } },
  });

/**
 * `n` small source transactions, each touching a counter (n = n + 1: a double apply shows) and
 * inserting an item: enough changes for several calls of the reader (10k, then 20k, ... changes).
 */
async function backlog(db: PostgresCluster, n: number, firstId: number): Promise<void> {
  await db.query(`DO $$ BEGIN
    FOR i IN 0..${n - 1} LOOP
      UPDATE app.counters SET n = n + 1 WHERE id = 1 + i % 20;
      INSERT INTO app.items (id, n, label) VALUES (${firstId} + i, 0, 'backlog ' || i);
      COMMIT;
    END LOOP; END $$`);
}

const tempSlots = async (db: PostgresCluster) => Number((await db.query<{ n: string }>('SELECT count(*)::text AS n FROM pg_replication_slots WHERE temporary')).rows[0]!.n);

const caughtUpEvent = (events: string[]) => events.find((e) => e.startsWith('CDC caught up through the SQL interface'));

/**
 * Starts a task, waits until its full load is over and CDC runs, then stops it: the slot exists
 * and CDC has a position. (Stopped before the load's end, the resume would finish the load from a
 * newer snapshot, which holds changes written meanwhile.)
 */
async function primed(taskId: string, batchApply: boolean, db = source): Promise<void> {
  const reporter = new RecordingReporter();
  const task = startTask(spec(taskId, 'start-replication', batchApply, db), reporter);
  await reporter.waitRunning();
  await waitConverged(db, target);
  await waitFor('CDC phase', async () => (await target.query(`SELECT 1 FROM public.awsdms_txn_state WHERE task_name = $1 AND phase = 'cdc'`, [taskId])).rowCount === 1, 30_000, 20);
  await task.stop();
  expect((await reporter.waitFinal()).status).toBe('stopped');
}

describe('CDC catch-up through the SQL interface', () => {
  it('catches up a backlog under a concurrent workload, hands over to streaming, and keeps the slot honest', async () => {
    await primed('CATCHUP', true);
    await backlog(source, 30_000, 1_000_000);
    const workload = new Workload(source, 2_000_000);
    const reporter = new RecordingReporter();
    const task = startTask(spec('CATCHUP', 'resume-processing', true), reporter);
    await reporter.waitRunning().catch(async (err: Error) => {
      await task.stop();
      throw err;
    });
    await waitFor('catch-up finished', async () => caughtUpEvent(reporter.events) !== undefined, 120_000, 50);
    // Several calls (the first asks for 10,000 changes), and the backlog's 90k+ messages all read.
    const [, changes, calls] = /: (\d+) changes in (\d+) calls/.exec(caughtUpEvent(reporter.events)!)!;
    expect(Number(calls)).toBeGreaterThan(2);
    expect(Number(changes)).toBeGreaterThan(90_000);
    expect(reporter.events.some((e) => /^CDC is \d+ MB of WAL behind: catching up through the SQL interface/.test(e))).toBe(true);
    // Streaming from here: changes written after the handover arrive too.
    await new Promise((r) => setTimeout(r, 1000));
    await workload.stop();
    await waitConverged(source, target);
    expect(await tempSlots(source)).toBe(0);

    await task.stop();
    const final = await reporter.waitFinal();
    expect(final).toMatchObject({ status: 'stopped', stopReason: 'Stop Reason NORMAL' });
    const row = await target.query<{ checkpoint: string }>(`SELECT checkpoint FROM public.awsdms_txn_state WHERE task_name = 'CATCHUP'`);
    expect(row.rows[0]!.checkpoint).toBe(final.recoveryCheckpoint);
    // The task's slot was moved on (WAL released) at least to what the target committed.
    const confirmed = async () =>
      parseLsn((await source.query<{ lsn: string }>(`SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = 'opendms_catchup'`)).rows[0]!.lsn);
    await waitFor('slot confirmed the checkpoint', async () => (await confirmed()) >= parseCheckpoint(final.recoveryCheckpoint!).lsn, 10_000, 50);
  }, 180_000);

  it('stops in the middle of a catch-up with a checkpoint, and resumes from it (transactional apply)', async () => {
    await primed('CUSTOP', false);
    await backlog(source, 60_000, 3_000_000);
    const reporter = new RecordingReporter();
    const task = startTask(slowSpec('CUSTOP'), reporter);
    try {
      await reporter.waitRunning();
      await waitFor('catch-up under way', async () => reporter.checkpoints.length > 0, 60_000, 5);
    } finally {
      await task.stop();
    }
    const final = await reporter.waitFinal();
    expect(final).toMatchObject({ status: 'stopped', stopReason: 'Stop Reason NORMAL' });
    // It stopped before catching up, at a source commit, with the target's checkpoint.
    expect(caughtUpEvent(reporter.events)).toBeUndefined();
    const row = await target.query<{ checkpoint: string }>(`SELECT checkpoint FROM public.awsdms_txn_state WHERE task_name = 'CUSTOP'`);
    expect(row.rows[0]!.checkpoint).toBe(final.recoveryCheckpoint);
    await waitFor('temporary slot dropped', async () => (await tempSlots(source)) === 0, 10_000, 50);

    const again = new RecordingReporter();
    const resumed = startTask(spec('CUSTOP', 'resume-processing', false), again);
    try {
      await again.waitRunning();
      await waitConverged(source, target);
      expect(caughtUpEvent(again.events)).toBeDefined();
    } finally {
      await resumed.stop();
    }
  }, 180_000);

  it('retries from the target when the source connection it reads on is killed mid catch-up', async () => {
    await primed('CUKILL', true);
    await backlog(source, 60_000, 4_000_000);
    const reporter = new RecordingReporter();
    const task = startTask(spec('CUKILL', 'resume-processing', true), reporter);
    try {
      await reporter.waitRunning();
      await waitFor('catch-up under way', async () => reporter.checkpoints.length > 0, 60_000, 5);
      const killed = await source.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'opendms:CUKILL:cdc'`);
      expect(killed.rowCount).toBe(1);
      await waitConverged(source, target, 120_000);
      expect(reporter.events.some((e) => e.startsWith('recoverable error'))).toBe(true);
      expect(caughtUpEvent(reporter.events)).toBeDefined();
    } finally {
      await task.stop();
    }
    expect((await reporter.waitFinal()).status).toBe('stopped');
    expect(await tempSlots(source)).toBe(0);
  }, 180_000);

  it('resumes after the task process is killed during the catch-up, nothing lost or doubled', async () => {
    await primed('CUCRASH', true);
    await backlog(source, 60_000, 5_000_000);
    const workload = new Workload(source, 6_000_000);
    try {
      const child = new ChildTask(slowSpec('CUCRASH'));
      try {
        await child.waitRunning();
        await waitFor('catch-up under way', async () => child.checkpoints.length > 0, 60_000, 5);
      } finally {
        await child.kill();
      }
      expect(child.lines.some((l) => l.type === 'event' && l.message?.startsWith('CDC caught up through the SQL interface'))).toBe(false);
      // The temporary slot goes with the killed process's source session.
      await waitFor('temporary slot dropped', async () => (await tempSlots(source)) === 0, 10_000, 50);

      const again = new ChildTask(spec('CUCRASH', 'resume-processing', true));
      try {
        await again.waitRunning();
        await new Promise((r) => setTimeout(r, 500));
        await workload.stop();
        await waitConverged(source, target, 120_000);
        expect(again.lines.some((l) => l.type === 'event' && l.message?.startsWith('CDC caught up through the SQL interface'))).toBe(true);
      } finally {
        expect((await again.stop())?.status).toBe('stopped');
      }
    } finally {
      await workload.stop().catch(() => undefined);
    }
  }, 180_000);
});

describe('CDC catch-up ended early by the task itself', () => {
  it('reloads a table asked for in the middle of a catch-up, then goes on (no retry)', async () => {
    await primed('CURELOAD', true);
    await backlog(source, 8_000, 7_000_000);
    const reporter = new RecordingReporter();
    const task = startTask(slowSpec('CURELOAD'), reporter);
    try {
      await reporter.waitRunning();
      await waitFor('catch-up under way', async () => reporter.checkpoints.length > 0, 60_000, 5);
      await task.reloadTables([{ SchemaName: 'app', TableName: 'counters' }]);
      await waitFor('counters reloaded', async () => reporter.events.some((e) => e.startsWith('reloading app.counters')), 60_000, 20);
      await waitConverged(source, target, 120_000);
      expect(reporter.events.filter((e) => e.startsWith('recoverable error'))).toEqual([]);
      expect(reporter.final).toBeUndefined();
    } finally {
      await task.stop();
    }
    expect((await reporter.waitFinal()).status).toBe('stopped');
    expect(await tempSlots(source)).toBe(0);
  }, 180_000);

  it('stops at a CdcStopPosition commit_time reached in the middle of a catch-up', async () => {
    await primed('CUSTOPAT', true);
    await backlog(source, 30_000, 8_000_000);
    const stopAt = (await source.query<{ t: string }>(`SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS t`)).rows[0]!.t;
    await new Promise((r) => setTimeout(r, 50));
    await backlog(source, 30_000, 9_000_000);
    const reporter = new RecordingReporter();
    const task = startTask(
      taskSpec(source, target, {
        taskId: 'CUSTOPAT',
        migrationType: 'full-load-and-cdc',
        startType: 'resume-processing',
        batchApply: true,
        settings: CATCH_UP,
        extra: { cdcStopPosition: `commit_time:${stopAt}` },
      }),
      reporter,
    );
    let final;
    try {
      final = await reporter.waitFinal(120_000);
    } finally {
      await task.stop();
    }
    expect(final).toMatchObject({ status: 'stopped', stopReason: 'Stop Reason STOPPED_AT_COMMIT_TIME' });
    expect(reporter.events.filter((e) => e.startsWith('recoverable error'))).toEqual([]);
    // Everything of the first part is on the target, nothing of the second.
    const ids = async (db: PostgresCluster, from: number) =>
      (await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM app.items WHERE id >= $1 AND id < $2`, [from, from + 1_000_000])).rows[0]!.n;
    expect(await ids(target, 8_000_000)).toBe('30000');
    expect(await ids(target, 9_000_000)).toBe('0');
    expect(await tempSlots(source)).toBe(0);
  }, 180_000);
});

describe('CDC that falls behind while streaming', () => {
  it('stops streaming at a transaction boundary, catches up through the SQL interface, and streams again', async () => {
    const reporter = new RecordingReporter();
    const settings = { OpendmsSettings: { SqlCatchUpThresholdBytes: 1024 * 1024, SqlCatchUpWhileStreamingBytes: 2 * 1024 * 1024 } };
    const task = startTask(taskSpec(source, target, { taskId: 'CUBEHIND', migrationType: 'full-load-and-cdc', batchApply: true, settings }), reporter);
    const blocker = new pg.Client({ connectionString: target.connectionString() });
    let workload: Workload | undefined;
    try {
      await reporter.waitRunning();
      await waitFor('CDC phase', async () => (await target.query(`SELECT 1 FROM public.awsdms_txn_state WHERE task_name = 'CUBEHIND' AND phase = 'cdc'`)).rowCount === 1, 60_000, 20);
      await waitConverged(source, target);
      expect(reporter.events.some((e) => e.startsWith('CDC is '))).toBe(false);
      // The target stalls (a lock held by someone else) while the source writes ~10 MB of WAL:
      // the stream stays behind for longer than the watch's 10 s. A workload runs throughout, across
      // the stop, the catch-up and the return to streaming.
      workload = new Workload(source, 12_000_000);
      await blocker.connect();
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE app.items IN ACCESS EXCLUSIVE MODE');
      await backlog(source, 30_000, 10_000_000);
      await waitFor('fell behind', async () => reporter.events.some((e) => /^CDC streaming stayed \d+ MB of WAL behind the source for 10 s/.test(e)), 60_000, 100);
      await blocker.query('ROLLBACK');
      await waitFor('caught up through SQL', async () => caughtUpEvent(reporter.events) !== undefined, 120_000, 50);
      const at = (re: RegExp) => reporter.events.findIndex((e) => re.test(e));
      const [fell, behind, caught] = [at(/^CDC streaming stayed/), at(/^CDC is \d+ MB of WAL behind: catching up through the SQL interface/), at(/^CDC caught up through the SQL interface/)];
      expect(fell).toBeGreaterThanOrEqual(0);
      expect(behind).toBeGreaterThan(fell);
      expect(caught).toBeGreaterThan(behind);
      // Streaming again: what the workload writes from now on arrives too.
      await new Promise((r) => setTimeout(r, 1000));
      await workload.stop();
      await waitConverged(source, target);
      expect(await tempSlots(source)).toBe(0);
      expect(reporter.events.filter((e) => e.startsWith('recoverable error'))).toEqual([]);
    } finally {
      await workload?.stop().catch(() => undefined);
      await blocker.end().catch(() => undefined);
      await task.stop();
    }
    expect(await reporter.waitFinal()).toMatchObject({ status: 'stopped', stopReason: 'Stop Reason NORMAL' });
  }, 180_000);
});

describe('CDC streaming while the target is stalled', () => {
  it('keeps the replication connection alive past wal_sender_timeout while an apply waits on a lock', async () => {
    // The walsender ends a connection that sent no status for wal_sender_timeout; the apply below
    // waits 8 s on the lock, so the session must keep reporting while it waits.
    const timeout = async (value: string | undefined) => {
      await source.query(value ? `ALTER SYSTEM SET wal_sender_timeout = '${value}'` : 'ALTER SYSTEM RESET wal_sender_timeout');
      await source.query('SELECT pg_reload_conf()');
    };
    const reporter = new RecordingReporter();
    const settings = { OpendmsSettings: { SqlCatchUpWhileStreamingBytes: 0 } };
    const task = startTask(taskSpec(source, target, { taskId: 'CUSTALL', migrationType: 'full-load-and-cdc', batchApply: true, settings }), reporter);
    const blocker = new pg.Client({ connectionString: target.connectionString() });
    try {
      await reporter.waitRunning();
      await waitFor('CDC phase', async () => (await target.query(`SELECT 1 FROM public.awsdms_txn_state WHERE task_name = 'CUSTALL' AND phase = 'cdc'`)).rowCount === 1, 60_000, 20);
      await timeout('2s');
      await blocker.connect();
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE app.items IN ACCESS EXCLUSIVE MODE');
      await backlog(source, 200, 13_000_000);
      await new Promise((r) => setTimeout(r, 8000));
      await blocker.query('ROLLBACK');
      await waitConverged(source, target);
      expect(reporter.events.filter((e) => e.startsWith('recoverable error'))).toEqual([]);
    } finally {
      await timeout(undefined);
      await blocker.end().catch(() => undefined);
      await task.stop();
    }
    expect(await reporter.waitFinal()).toMatchObject({ status: 'stopped', stopReason: 'Stop Reason NORMAL' });
  }, 120_000);
});

describe('CDC catch-up refused by the source while reading', () => {
  it('retries streaming when a decoding call fails (temp_file_limit), nothing lost or doubled', async () => {
    await primed('CUREFUSED', true);
    await backlog(source, 5_000, 11_000_000);
    // A call's rows are gathered in a temporary file past work_mem: the source refuses the first call.
    const limit = async (on: boolean) => {
      await source.query(on ? `ALTER SYSTEM SET work_mem = '64kB'` : 'ALTER SYSTEM RESET work_mem');
      await source.query(on ? `ALTER SYSTEM SET temp_file_limit = '100kB'` : 'ALTER SYSTEM RESET temp_file_limit');
      await source.query('SELECT pg_reload_conf()');
    };
    await limit(true);
    const reporter = new RecordingReporter();
    const task = startTask(spec('CUREFUSED', 'resume-processing', true), reporter);
    try {
      await waitFor('streamed instead', async () => reporter.events.some((e) => /^CDC is \d+ MB of WAL behind; streaming it, since reading through the SQL interface failed earlier/.test(e)), 60_000, 20);
      await limit(false);
      await waitConverged(source, target);
      expect(reporter.events.find((e) => e.startsWith('recoverable error'))).toMatch(/reading the backlog through the SQL interface failed \(.*temp_file_limit.*\)/);
      expect(caughtUpEvent(reporter.events)).toBeUndefined();
      expect(await tempSlots(source)).toBe(0);
    } finally {
      await limit(false);
      await task.stop();
    }
    expect((await reporter.waitFinal()).status).toBe('stopped');
  }, 120_000);
});

describe('CDC catch-up unavailable', () => {
  let small: PostgresCluster;
  beforeAll(async () => {
    // One replication slot: the task's own. The temporary copy cannot be made.
    small = await startPostgres({ max_replication_slots: 1 });
    await seed(small, 500);
  }, 60_000);
  afterAll(async () => {
    await small?.stop();
  });

  it('streams the backlog instead, and says why', async () => {
    await target.query('DROP SCHEMA app CASCADE');
    await primed('CUNOSLOT', true, small);
    await backlog(small, 5_000, 1_000_000);
    const reporter = new RecordingReporter();
    const task = startTask(spec('CUNOSLOT', 'resume-processing', true, small), reporter);
    await reporter.waitRunning();
    await waitConverged(small, target);
    expect(reporter.events.find((e) => e.includes('the catch-up through the SQL interface is unavailable'))).toMatch(/replication slots are in use/);
    await task.stop();
    expect((await reporter.waitFinal()).status).toBe('stopped');
  }, 120_000);
});
