/**
 * A table suspended by ErrorBehavior stays suspended when the task is stopped and resumed (the
 * suspension is kept in awsdms_txn_state with the checkpoint); ReloadTables of that table lifts it.
 * The same run checks awsdms_history (HistoryTableEnabled): the slot in progress is written when the
 * task stops, one row for the full load and one for CDC. A CDC task with 1-minute timeslots writes
 * its rows while it runs. A task resumed from its saved RecoveryCheckpoint alone (no row on the
 * target) keeps a suspension met before its first commit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTask } from '../../src/engine/index.js';
import { startPostgres } from '../helpers/postgres.js';
import type { PostgresCluster } from '../helpers/postgres.js';
import { RecordingReporter, taskSpec } from '../helpers/cdc-harness.js';
import { waitFor } from '../helpers/ports.js';

let source: PostgresCluster;
let target: PostgresCluster;

beforeAll(async () => {
  [source, target] = await Promise.all([startPostgres(), startPostgres()]);
  await source.query(`
    CREATE SCHEMA app;
    CREATE TABLE app.p (id int PRIMARY KEY, v text);
    CREATE TABLE app.q (id int PRIMARY KEY, v text);
    INSERT INTO app.p SELECT g, 'p' || g FROM generate_series(1, 3) g;
    INSERT INTO app.q SELECT g, 'q' || g FROM generate_series(1, 2) g;
  `);
  await target.query('CREATE SCHEMA app');
}, 60_000);

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

async function rows(db: PostgresCluster, sql: string): Promise<unknown[]> {
  return (await db.query(sql)).rows;
}

const onTarget = async (sql: string) => (await rows(target, sql)).length > 0;

function spec(startType: 'start-replication' | 'resume-processing') {
  return taskSpec(source, target, {
    taskId: 'PERS',
    migrationType: 'full-load-and-cdc',
    startType,
    settings: {
      ErrorBehavior: { ApplyErrorInsertPolicy: 'SUSPEND_TABLE' },
      ControlTablesSettings: { HistoryTableEnabled: true, SuspendedTablesTableEnabled: true },
    },
  });
}

describe('a suspended table across stop and resume', () => {
  it('stays suspended after a resume until ReloadTables; awsdms_history has the run', async () => {
    const first = new RecordingReporter();
    const task = startTask(spec('start-replication'), first);
    try {
      await first.waitRunning();
      await waitFor('full load done', async () => first.lastTables.length === 2 && first.lastTables.every((t) => t.TableState === 'Table completed'), 60_000, 100);
      await waitFor('CDC running', async () => first.checkpoints.length > 0 || (await onTarget(`SELECT 1 FROM public.awsdms_txn_state WHERE task_name = 'PERS' AND phase = 'cdc'`)), 30_000, 100);
      // A row the target has and the source is about to insert: an insert conflict that suspends app.p.
      await target.query(`INSERT INTO app.p VALUES (10, 'target')`);
      await source.query(`INSERT INTO app.p VALUES (10, 'source')`);
      await source.query(`INSERT INTO app.q VALUES (3, 'q3')`);
      await waitFor('q3 applied', () => onTarget(`SELECT 1 FROM app.q WHERE id = 3`), 30_000, 100);
      await waitFor('p suspended', async () => first.lastTables.find((t) => t.TableName === 'p')?.TableState === 'Table error', 15_000, 50);
    } finally {
      await task.stop();
    }
    expect((await first.waitFinal()).status).toBe('stopped');
    expect(await rows(target, `SELECT suspended FROM public.awsdms_txn_state WHERE task_name = 'PERS'`)).toEqual([
      { suspended: expect.stringContaining('"table":"p"') },
    ]);

    // awsdms_history: the slot in progress was written at the stop, one row per phase.
    const history = (await rows(
      target,
      `SELECT server_name, timeslot_type, timeslot, timeslot_duration, timeslot_latency, timeslot_records::int AS records, timeslot_volume::int AS volume
         FROM public.awsdms_history WHERE task_name = 'PERS' ORDER BY timeslot_type DESC`,
    )) as { server_name: string; timeslot_type: string; timeslot: Date; timeslot_duration: number; timeslot_latency: number | null; records: number; volume: number | null }[];
    expect(history.map((h) => h.timeslot_type)).toEqual(['FULL LOAD', 'CHANGE PROCESSING (CDC)']);
    expect(history[0]).toMatchObject({ records: 5, volume: null, timeslot_latency: null });
    // Whole minutes, rounded: 1, or 2 if this machine was slow enough to pass 90 s.
    expect([1, 2]).toContain(history[0]!.timeslot_duration);
    expect(history[1]!.records).toBeGreaterThanOrEqual(1);
    expect(history[1]!.volume).toBeGreaterThanOrEqual(1);
    expect(history[1]!.timeslot_latency).not.toBeNull();
    expect(history[0]!.server_name.length).toBeGreaterThan(0);

    // Resumed: app.p stays suspended (its changes skipped), app.q replicates.
    const second = new RecordingReporter();
    const resumed = startTask(spec('resume-processing'), second);
    try {
      await second.waitRunning();
      await source.query(`INSERT INTO app.p VALUES (11, 'p11')`);
      await source.query(`INSERT INTO app.q VALUES (4, 'q4')`);
      await waitFor('q4 applied', () => onTarget(`SELECT 1 FROM app.q WHERE id = 4`), 30_000, 100);
      expect(await rows(target, 'SELECT id, v FROM app.p ORDER BY id')).toEqual([
        { id: 1, v: 'p1' },
        { id: 2, v: 'p2' },
        { id: 3, v: 'p3' },
        { id: 10, v: 'target' },
      ]);
      await waitFor('p reported suspended', async () => second.lastTables.find((t) => t.TableName === 'p')?.TableState === 'Table error', 15_000, 50);
      expect(second.events.some((e) => e.includes('app.p stays suspended'))).toBe(true);

      // ReloadTables lifts the suspension: the table is loaded again and follows the source.
      await resumed.reloadTables([{ SchemaName: 'app', TableName: 'p' }]);
      await waitFor('p reloaded', async () => second.lastTables.find((t) => t.TableName === 'p')?.TableState === 'Table completed', 60_000, 100);
      await source.query(`INSERT INTO app.p VALUES (12, 'p12')`);
      await waitFor('p12 applied', () => onTarget(`SELECT 1 FROM app.p WHERE id = 12`), 30_000, 100);
      const [src, tgt] = await Promise.all([source, target].map((db) => rows(db, 'SELECT id, v FROM app.p ORDER BY id')));
      expect(tgt).toEqual(src);
      expect(await rows(target, `SELECT suspended FROM public.awsdms_txn_state WHERE task_name = 'PERS'`)).toEqual([{ suspended: null }]);
      expect(await rows(target, `SELECT 1 FROM public.awsdms_suspended_tables WHERE task_name = 'PERS' AND table_name = 'p'`)).toEqual([]);
    } finally {
      await resumed.stop();
    }
    expect((await second.waitFinal()).status).toBe('stopped');
  }, 180_000);
});

describe('awsdms_history while the task runs', () => {
  it('writes a row when a timeslot (HistoryTimeslotInMinutes 1) is over, and the partial slot at the stop', async () => {
    await target.query(`CREATE TABLE IF NOT EXISTS app.h (id int PRIMARY KEY)`);
    await source.query(`CREATE TABLE IF NOT EXISTS app.h (id int PRIMARY KEY)`);
    const reporter = new RecordingReporter();
    const task = startTask(
      taskSpec(source, target, { taskId: 'HIST', migrationType: 'cdc', tables: 'h', settings: { ControlTablesSettings: { HistoryTableEnabled: true, historyTimeslotInMinutes: 1 } } }),
      reporter,
    );
    const history = async () =>
      (await rows(target, `SELECT timeslot_type, timeslot_duration, timeslot_records::int AS records FROM public.awsdms_history WHERE task_name = 'HIST' ORDER BY timeslot`)) as {
        timeslot_type: string;
        timeslot_duration: number;
        records: number;
      }[];
    try {
      await reporter.waitRunning();
      await source.query(`INSERT INTO app.h VALUES (1); INSERT INTO app.h VALUES (2); INSERT INTO app.h VALUES (3)`);
      await waitFor('h applied', () => onTarget(`SELECT 1 FROM app.h WHERE id = 3`), 30_000, 100);
      // The first slot ends a minute after the start: its row is written while the task runs.
      await waitFor('a timeslot row', async () => (await history()).length > 0, 120_000, 500);
      expect(reporter.final).toBeUndefined();
      expect((await history())[0]).toMatchObject({ timeslot_type: 'CHANGE PROCESSING (CDC)', timeslot_duration: 1 });
      await source.query(`INSERT INTO app.h VALUES (4)`);
      await waitFor('h4 applied', () => onTarget(`SELECT 1 FROM app.h WHERE id = 4`), 30_000, 100);
    } finally {
      await task.stop();
    }
    expect((await reporter.waitFinal()).status).toBe('stopped');
    const all = await history();
    expect(all.length).toBeGreaterThanOrEqual(2);
    expect(all.every((h) => h.timeslot_type === 'CHANGE PROCESSING (CDC)')).toBe(true);
    // Every committed change is in exactly one slot.
    expect(all.reduce((n, h) => n + h.records, 0)).toBe(4);
  }, 240_000);
});

describe('a suspension right after a resume from the saved checkpoint alone', () => {
  it('is kept: the resume writes the task row on the target before any change', async () => {
    const settings = { ErrorBehavior: { ApplyErrorInsertPolicy: 'SUSPEND_TABLE' } };
    const first = new RecordingReporter();
    const task = startTask(taskSpec(source, target, { taskId: 'PERSCP', migrationType: 'full-load-and-cdc', settings }), first);
    try {
      await first.waitRunning();
      await waitFor('CDC running', () => onTarget(`SELECT 1 FROM public.awsdms_txn_state WHERE task_name = 'PERSCP' AND phase = 'cdc'`), 60_000, 100);
    } finally {
      await task.stop();
    }
    const checkpoint = (await first.waitFinal()).recoveryCheckpoint!;
    expect(checkpoint).toMatch(/^checkpoint:V1#/);
    // The target forgot the task (a new control schema, a restored target): only the control
    // plane's saved checkpoint is left. The first change after the resume suspends app.p.
    await target.query(`DELETE FROM public.awsdms_txn_state WHERE task_name = 'PERSCP'`);
    await target.query(`INSERT INTO app.p VALUES (20, 'target')`);
    await source.query(`INSERT INTO app.p VALUES (20, 'source')`);

    const second = new RecordingReporter();
    const resumed = startTask(
      taskSpec(source, target, { taskId: 'PERSCP', migrationType: 'full-load-and-cdc', startType: 'resume-processing', settings, extra: { recoveryCheckpoint: checkpoint } }),
      second,
    );
    try {
      await second.waitRunning();
      await waitFor('p suspended', async () => second.lastTables.find((t) => t.TableName === 'p')?.TableState === 'Table error', 30_000, 50);
    } finally {
      await resumed.stop();
    }
    expect((await second.waitFinal()).status).toBe('stopped');
    expect(await rows(target, `SELECT suspended FROM public.awsdms_txn_state WHERE task_name = 'PERSCP'`)).toEqual([
      { suspended: expect.stringContaining('"table":"p"') },
    ]);
  }, 120_000);
});
