/**
 * CDC end to end against real clusters, driving startTask() directly: full load + CDC under a
 * concurrent write workload (every common type, TOASTed values left unchanged by updates, FK
 * pairs, a key-less table), in transactional and batch apply modes, then source and target
 * compared row by row; stop/resume under load; a CDC-only task from a captured checkpoint.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTask } from '../../src/engine/index.js';
import { parseCheckpoint } from '../../src/engine/checkpoint.js';
import { startPostgres } from '../helpers/postgres.js';
import type { PostgresCluster } from '../helpers/postgres.js';
import { RecordingReporter, seed, taskSpec, waitConverged, Workload } from '../helpers/cdc-harness.js';
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

async function slotActive(name: string): Promise<boolean> {
  const r = await source.query<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [name]);
  return r.rows[0]?.active === true;
}

describe('full load and CDC, PostgreSQL to PostgreSQL', () => {
  it('loads and follows a concurrent workload in transactional mode, then stops cleanly with a checkpoint', async () => {
    const workload = new Workload(source, 100_000);
    const reporter = new RecordingReporter();
    const task = startTask(taskSpec(source, target, { taskId: 'TXNTASK', migrationType: 'full-load-and-cdc' }), reporter);
    await reporter.waitRunning();
    await waitFor('some changes applied', async () => reporter.checkpoints.length > 0, 60_000, 100);
    await new Promise((r) => setTimeout(r, 1500));
    await workload.stop();
    await waitConverged(source, target);

    // Unchanged TOASTed values survived updates on the target.
    const big = await target.query<{ n: string }>(`SELECT count(*)::text AS n FROM app.items WHERE big IS NOT NULL AND n > 0`);
    const bigSrc = await source.query<{ n: string }>(`SELECT count(*)::text AS n FROM app.items WHERE big IS NOT NULL AND n > 0`);
    expect(big.rows[0]!.n).toBe(bigSrc.rows[0]!.n);

    await task.stop();
    const final = await reporter.waitFinal();
    expect(final).toMatchObject({ status: 'stopped', stopReason: 'Stop Reason NORMAL' });
    expect(final.recoveryCheckpoint).toMatch(/^checkpoint:V1#\d+#[0-9A-F]{8}\/[0-9A-F]{8}#0#0#\*#0#0$/);
    // The checkpoint equals the target's control row, and the slot was released.
    const row = await target.query<{ checkpoint: string }>(`SELECT checkpoint FROM public.awsdms_txn_state WHERE task_name = 'TXNTASK'`);
    expect(row.rows[0]!.checkpoint).toBe(final.recoveryCheckpoint);
    expect(await slotActive('opendms_txntask')).toBe(false);
    const items = reporter.lastTables.find((t) => t.TableName === 'items')!;
    expect(items.TableState).toBe('Table completed');
    // The workload runs before the snapshot too, so the full load holds however many rows
    // were there then; the statistics must account for every row on the target exactly.
    expect(items.FullLoadRows).toBeGreaterThan(1500);
    expect((items.Inserts ?? 0) + (items.Updates ?? 0) + (items.Deletes ?? 0)).toBeGreaterThan(0);
    const onTarget = Number((await target.query<{ n: string }>(`SELECT count(*)::text AS n FROM app.items`)).rows[0]!.n);
    expect((items.FullLoadRows ?? 0) + (items.Inserts ?? 0) - (items.Deletes ?? 0)).toBe(onTarget);
  }, 120_000);

  it('resumes under load in batch mode after stops, and a CDC-only task continues from the captured checkpoint', async () => {
    const workload = new Workload(source, 200_000);
    let checkpoint = '';
    for (let round = 0; round < 3; round++) {
      const reporter = new RecordingReporter();
      const task = startTask(
        taskSpec(source, target, { taskId: 'TXNTASK', migrationType: 'full-load-and-cdc', startType: 'resume-processing', batchApply: true }),
        reporter,
      );
      await reporter.waitRunning();
      await waitFor('a commit in this round', async () => reporter.checkpoints.length > 0, 30_000, 50).catch((err: Error) => {
        throw new Error(`${err.message}; events: ${reporter.events.join(' | ')}; statuses: ${JSON.stringify(reporter.statuses)}`);
      });
      await task.stop();
      const final = await reporter.waitFinal();
      expect(final.status).toBe('stopped');
      checkpoint = final.recoveryCheckpoint!;
    }
    // Workflow B: a new CDC-only task from the captured checkpoint, on the old task's slot.
    const reporter = new RecordingReporter();
    const task = startTask(
      taskSpec(source, target, {
        taskId: 'CDCONLY',
        migrationType: 'cdc',
        batchApply: true,
        sourceSettings: { SlotName: 'opendms_txntask' },
        extra: { cdcStartPosition: checkpoint },
      }),
      reporter,
    );
    await reporter.waitRunning();
    await new Promise((r) => setTimeout(r, 1500));
    await workload.stop();
    await waitConverged(source, target).catch((err: Error) => {
      throw new Error(`${err.message}\nevents: ${reporter.events.join(' | ')}; statuses: ${JSON.stringify(reporter.statuses)}`);
    });
    await task.stop();
    const final = await reporter.waitFinal();
    expect(final.status).toBe('stopped');
    expect(parseCheckpoint(final.recoveryCheckpoint!).lsn).toBeGreaterThanOrEqual(parseCheckpoint(checkpoint).lsn);
    expect(reporter.lastCdc?.retainedWalBytes).toBeGreaterThanOrEqual(0);
  }, 120_000);
});

describe('ReloadTables', () => {
  it('reloads a damaged table while CDC goes on under load', async () => {
    const workload = new Workload(source, 300_000);
    const reporter = new RecordingReporter();
    const task = startTask(
      taskSpec(source, target, { taskId: 'TXNTASK', migrationType: 'full-load-and-cdc', startType: 'resume-processing', batchApply: true }),
      reporter,
    );
    await reporter.waitRunning();
    await target.query('DELETE FROM app.counters WHERE id > 10; UPDATE app.items SET label = NULL WHERE id < 50');
    await task.reloadTables([
      { SchemaName: 'app', TableName: 'counters' },
      { SchemaName: 'app', TableName: 'items' },
    ]);
    await waitFor('reload event', async () => reporter.events.some((e) => e.startsWith('reloading app.counters')), 30_000, 50);
    await new Promise((r) => setTimeout(r, 1500));
    await workload.stop();
    await waitConverged(source, target);
    expect(reporter.lastTables.find((t) => t.TableName === 'counters')).toMatchObject({ TableState: 'Table completed', FullLoadReloaded: true });
    await task.stop();
    expect((await reporter.waitFinal()).status).toBe('stopped');
  }, 120_000);
});

describe('full-load-only task and an idle, filtered source', () => {
  it('finishes a full-load task with FULL_LOAD_ONLY_FINISHED and table statistics', async () => {
    const reporter = new RecordingReporter();
    startTask(taskSpec(source, target, { taskId: 'FLONLY', migrationType: 'full-load', tables: 'counters' }), reporter);
    const final = await reporter.waitFinal(60_000);
    expect(final).toMatchObject({ status: 'stopped', stopReason: 'Stop Reason FULL_LOAD_ONLY_FINISHED' });
    expect(reporter.lastTables).toEqual([expect.objectContaining({ SchemaName: 'app', TableName: 'counters', TableState: 'Table completed', FullLoadRows: 20 })]);
    expect((await source.query(`SELECT 1 FROM pg_replication_slots WHERE slot_name = 'opendms_flonly'`)).rows).toEqual([]);
  }, 60_000);

  it('stops after the changes cached during the full load (StopTaskCachedChangesApplied), then resumes', async () => {
    const workload = new Workload(source, 400_000);
    const spec = (startType: 'start-replication' | 'resume-processing') =>
      taskSpec(source, target, { taskId: 'CACHED', migrationType: 'full-load-and-cdc', tables: 'counters', startType, settings: { FullLoadSettings: { StopTaskCachedChangesApplied: true } } });
    const reporter = new RecordingReporter();
    startTask(spec('start-replication'), reporter);
    expect(await reporter.waitFinal(60_000)).toMatchObject({ status: 'stopped', stopReason: 'Stop Reason STOPPED_AFTER_CACHED_EVENTS' });
    const again = new RecordingReporter();
    const task = startTask(spec('resume-processing'), again);
    await again.waitRunning();
    await workload.stop();
    const sum = async (db: PostgresCluster) => (await db.query<{ s: string }>('SELECT sum(n)::text AS s FROM app.counters')).rows[0]!.s;
    const want = await sum(source);
    await waitFor('counters caught up', async () => (await sum(target)) === want, 30_000, 100);
    await task.stop();
    expect(await again.waitFinal()).toMatchObject({ status: 'stopped', stopReason: 'Stop Reason NORMAL' });
  }, 90_000);

  it('confirms the slot past WAL written only to tables it does not replicate', async () => {
    await source.query('CREATE TABLE public.unrelated (id serial PRIMARY KEY, v text)');
    const reporter = new RecordingReporter();
    const task = startTask(
      taskSpec(source, target, { taskId: 'IDLE', migrationType: 'cdc', tables: 'counters', settings: { OpendmsSettings: { RetainedWalAlarmBytes: 1 } } }),
      reporter,
    );
    await reporter.waitRunning();
    const slotLsn = async () =>
      (await source.query<{ ok: boolean }>(`SELECT confirmed_flush_lsn >= $1::pg_lsn AS ok FROM pg_replication_slots WHERE slot_name = 'opendms_idle'`, [mark])).rows[0]?.ok;
    await source.query(`INSERT INTO public.unrelated (v) SELECT 'x' FROM generate_series(1, 2000)`);
    const mark = (await source.query<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l')).rows[0]!.l;
    await source.query(`INSERT INTO public.unrelated (v) SELECT 'y' FROM generate_series(1, 2000)`);
    await waitFor('slot confirmed past unrelated WAL', async () => (await slotLsn()) === true, 30_000, 200);
    // The retained-WAL alarm (threshold 1 byte here) was raised as an event.
    await waitFor('retained WAL event', async () => reporter.events.some((e) => /opendms_idle holds back \d+ bytes of WAL/.test(e)), 10_000, 100);
    await task.stop();
    const final = await reporter.waitFinal();
    expect(final.status).toBe('stopped');

    // Plan B of the upgrade workflow: a new CDC-only task on the old slot from the captured
    // checkpoint. The slot confirmed past the checkpoint (unrelated WAL), which must not stop it.
    const confirmed = (await source.query<{ l: string }>(`SELECT confirmed_flush_lsn::text AS l FROM pg_replication_slots WHERE slot_name = 'opendms_idle'`)).rows[0]!.l;
    expect(parseCheckpoint(final.recoveryCheckpoint!).lsn).toBeLessThan(parseCheckpoint(`checkpoint:V1#0#${confirmed}#0#0#*#0#0`).lsn);
    await source.query('UPDATE app.counters SET n = n + 1 WHERE id <= 5');
    const planB = new RecordingReporter();
    const resumed = startTask(
      taskSpec(source, target, {
        taskId: 'PLANB',
        migrationType: 'cdc',
        tables: 'counters',
        sourceSettings: { SlotName: 'opendms_idle' },
        extra: { cdcStartPosition: final.recoveryCheckpoint! },
      }),
      planB,
    );
    await planB.waitRunning();
    expect(planB.events.some((e) => /confirmed_flush_lsn .* capture starts there/.test(e))).toBe(true);
    const sum = async (db: PostgresCluster) => (await db.query<{ s: string }>('SELECT sum(n)::text AS s FROM app.counters')).rows[0]!.s;
    const want = await sum(source);
    await waitFor('the update made while no task ran reaches the target', async () => (await sum(target)) === want, 30_000, 100);
    await resumed.stop();
    expect((await planB.waitFinal()).status).toBe('stopped');
  }, 90_000);
});
