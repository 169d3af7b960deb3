/**
 * CDC-only tasks on hand-made target tables: ADD COLUMN and TRUNCATE reach the target, a row the
 * target refuses goes to awsdms_apply_exceptions while the rest applies, a transaction far larger
 * than a batch is applied in chunks inside one target transaction, connections killed under the
 * task are retried (or fail the task when RecoverableErrorCount is 0), and CdcStopPosition stops
 * the task at the right place.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTask } from '../../src/engine/index.js';
import { startPostgres } from '../helpers/postgres.js';
import type { PostgresCluster } from '../helpers/postgres.js';
import { RecordingReporter, taskSpec } from '../helpers/cdc-harness.js';
import { waitFor } from '../helpers/ports.js';

let source: PostgresCluster;
let target: PostgresCluster;

const DDL = `
  CREATE SCHEMA app;
  CREATE TABLE app.t (id int PRIMARY KEY, v text, amount numeric(10,2));
  CREATE TABLE app.gone (id int PRIMARY KEY, v text);
  CREATE TABLE app.bulk (id int PRIMARY KEY, v text);
`;

beforeAll(async () => {
  [source, target] = await Promise.all([startPostgres(), startPostgres()]);
  await source.query(DDL);
  await target.query(DDL);
  // The target refuses what the source accepts: a data error to route to apply exceptions.
  await target.query('ALTER TABLE app.t ADD CONSTRAINT small CHECK (amount < 1000)');
}, 60_000);

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

async function rows(db: PostgresCluster, sql: string): Promise<unknown[]> {
  return (await db.query(sql)).rows;
}

describe('CDC apply: DDL, errors, big transactions, retries, stop positions', () => {
  it('applies ADD COLUMN, TRUNCATE, logs a refused row and applies a 100k-row transaction', async () => {
    const reporter = new RecordingReporter();
    const task = startTask(
      taskSpec(source, target, { taskId: 'EDGES', migrationType: 'cdc', batchApply: true, settings: { ControlTablesSettings: { StatusTableEnabled: true } } }),
      reporter,
    );
    await reporter.waitRunning();
    await source.query(`INSERT INTO app.t VALUES (1, 'a', 1), (2, 'b', 5000), (3, 'c', 3)`);
    await source.query(`INSERT INTO app.gone SELECT g, 'x' FROM generate_series(1, 10) g`);
    await source.query(`ALTER TABLE app.t ADD COLUMN extra jsonb`);
    await source.query(`INSERT INTO app.t VALUES (4, 'd', 4, '{"k": 1}'); UPDATE app.t SET extra = '[1]' WHERE id = 1`);
    await source.query(`TRUNCATE app.gone`);
    await source.query(`INSERT INTO app.bulk SELECT g, repeat('v', 50) || g FROM generate_series(1, 100000) g`);
    await waitFor('bulk applied', async () => (await rows(target, 'SELECT 1 FROM app.bulk WHERE id = 100000')).length === 1, 60_000, 200);

    expect(await rows(target, 'SELECT id, v, amount::text, extra FROM app.t ORDER BY id')).toEqual([
      { id: 1, v: 'a', amount: '1.00', extra: [1] },
      { id: 3, v: 'c', amount: '3.00', extra: null },
      { id: 4, v: 'd', amount: '4.00', extra: { k: 1 } },
    ]);
    expect(await rows(target, 'SELECT count(*)::int AS n FROM app.gone')).toEqual([{ n: 0 }]);
    expect(await rows(target, 'SELECT count(*)::int AS n FROM app.bulk')).toEqual([{ n: 100000 }]);
    const exceptions = await rows(target, 'SELECT task_name, table_owner, table_name, statement, error FROM public.awsdms_apply_exceptions');
    expect(exceptions).toHaveLength(1);
    expect(exceptions[0]).toMatchObject({ task_name: 'EDGES', table_owner: 'app', table_name: 't' });
    expect(String((exceptions[0] as { statement: string }).statement)).toContain(`'5000.00'`);
    expect(String((exceptions[0] as { error: string }).error)).toContain('small');

    await waitFor('status row', async () => (await rows(target, `SELECT 1 FROM public.awsdms_status WHERE task_name = 'EDGES' AND task_status = 'CHANGE PROCESSING (CDC)'`)).length === 1, 15_000, 200);
    await task.stop();
    expect(await reporter.waitFinal()).toMatchObject({ status: 'stopped', stopReason: 'Stop Reason NORMAL' });
    expect(await rows(target, `SELECT task_status FROM public.awsdms_status WHERE task_name = 'EDGES'`)).toEqual([{ task_status: 'NOT RUNNING' }]);
    const t = reporter.lastTables.find((s) => s.TableName === 't')!;
    expect(t.Ddls).toBeGreaterThanOrEqual(1);
    expect(reporter.lastTables.find((s) => s.TableName === 'gone')!.Ddls).toBe(1);
  }, 100_000);

  it('moves a row whose key changed, keeping its unchanged TOASTed value, and stops on STOP_TASK data errors', async () => {
    const reporter = new RecordingReporter();
    startTask(
      taskSpec(source, target, { taskId: 'EDGES', migrationType: 'cdc', startType: 'resume-processing', settings: { ErrorBehavior: { DataErrorPolicy: 'STOP_TASK' } } }),
      reporter,
    );
    await reporter.waitRunning();
    await source.query(`INSERT INTO app.gone SELECT 500, string_agg(md5(g::text), '') FROM generate_series(1, 300) g`);
    await source.query(`UPDATE app.gone SET id = 501 WHERE id = 500`);
    await waitFor('moved', async () => (await rows(target, 'SELECT 1 FROM app.gone WHERE id = 501')).length === 1, 30_000, 100);
    const [src, tgt] = await Promise.all([source, target].map((db) => rows(db, 'SELECT id, md5(v) AS h FROM app.gone ORDER BY id')));
    expect(tgt).toEqual(src);
    expect(tgt).toHaveLength(1);

    await source.query(`INSERT INTO app.t VALUES (30, 'too big', 9999)`);
    const final = await reporter.waitFinal(30_000);
    expect(final.status).toBe('failed');
    expect(final.status === 'failed' && final.failureMessage).toMatch(/"app"\."t".*small.*STOP_TASK/);
    // The refused row is not applied, and the checkpoint did not pass it: a fixed target resumes it.
    await target.query('ALTER TABLE app.t DROP CONSTRAINT small');
    const again = new RecordingReporter();
    const resumed = startTask(taskSpec(source, target, { taskId: 'EDGES', migrationType: 'cdc', startType: 'resume-processing' }), again);
    await waitFor('refused row applied after the fix', async () => (await rows(target, 'SELECT 1 FROM app.t WHERE id = 30')).length === 1, 30_000, 100);
    await resumed.stop();
    await target.query('DELETE FROM app.t WHERE id = 30; ALTER TABLE app.t ADD CONSTRAINT small CHECK (amount < 1000)');
    await source.query('DELETE FROM app.t WHERE id = 30');
  }, 100_000);

  it('retries when its connections are killed, and fails naming the cause when retries are off', async () => {
    const reporter = new RecordingReporter();
    const task = startTask(
      taskSpec(source, target, { taskId: 'EDGES', migrationType: 'cdc', startType: 'resume-processing', settings: { ErrorBehavior: { RecoverableErrorInterval: 0 } } }),
      reporter,
    );
    await reporter.waitRunning();
    await source.query(`INSERT INTO app.t VALUES (10, 'before kill', 1)`);
    await waitFor('applied', async () => (await rows(target, 'SELECT 1 FROM app.t WHERE id = 10')).length === 1, 30_000, 100);
    await target.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'opendms:EDGES:apply%'`);
    await source.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'walsender'`);
    await source.query(`INSERT INTO app.t VALUES (11, 'after kill', 1)`);
    await waitFor('applied after retry', async () => (await rows(target, 'SELECT 1 FROM app.t WHERE id = 11')).length === 1, 30_000, 100);
    await waitFor('a retry event', async () => reporter.events.some((e) => e.includes('recoverable error')), 30_000, 50);
    await source.query(`INSERT INTO app.t VALUES (12, 'after retry', 1)`);
    await waitFor('applied after the retry', async () => (await rows(target, 'SELECT 1 FROM app.t WHERE id = 12')).length === 1, 30_000, 100);
    await task.stop();
    expect((await reporter.waitFinal()).status).toBe('stopped');

    const strict = new RecordingReporter();
    startTask(
      taskSpec(source, target, { taskId: 'EDGES', migrationType: 'cdc', startType: 'resume-processing', settings: { ErrorBehavior: { RecoverableErrorCount: 0 } } }),
      strict,
    );
    await strict.waitRunning();
    await waitFor('streaming', async () => (await rows(source, `SELECT 1 FROM pg_replication_slots WHERE slot_name = 'opendms_edges' AND active`)).length === 1, 30_000, 50);
    await source.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'walsender'`);
    const final = await strict.waitFinal(30_000);
    expect(final.status).toBe('failed');
    expect(final.status === 'failed' && final.failureMessage).toMatch(/terminat/i);
  }, 100_000);

  it('stops at CdcStopPosition server_time by itself', async () => {
    const at = new Date(Date.now() + 2000).toISOString().slice(0, 19);
    const reporter = new RecordingReporter();
    startTask(taskSpec(source, target, { taskId: 'EDGES', migrationType: 'cdc', startType: 'resume-processing', extra: { cdcStopPosition: `server_time:${at}` } }), reporter);
    await reporter.waitRunning();
    const final = await reporter.waitFinal(30_000);
    expect(final).toMatchObject({ status: 'stopped', stopReason: 'Stop Reason STOPPED_AT_SERVER_TIME' });
    expect(Date.now()).toBeGreaterThanOrEqual(new Date(`${at}Z`).getTime());
  }, 60_000);

  it('stops at CdcStopPosition commit_time without applying later transactions', async () => {
    await source.query(`INSERT INTO app.t VALUES (20, 'early', 1)`);
    const stopAt = new Date(Date.now() + 1500);
    const stopText = stopAt.toISOString().slice(0, 19);
    const reporter = new RecordingReporter();
    startTask(
      taskSpec(source, target, { taskId: 'EDGES', migrationType: 'cdc', startType: 'resume-processing', extra: { cdcStopPosition: `commit_time:${stopText}` } }),
      reporter,
    );
    await reporter.waitRunning();
    await waitFor('early applied', async () => (await rows(target, 'SELECT 1 FROM app.t WHERE id = 20')).length === 1, 30_000, 100);
    await new Promise((r) => setTimeout(r, Math.max(0, new Date(`${stopText}Z`).getTime() + 1000 - Date.now())));
    await source.query(`INSERT INTO app.t VALUES (21, 'late', 1)`);
    const final = await reporter.waitFinal(30_000);
    expect(final, JSON.stringify(final)).toMatchObject({ status: 'stopped', stopReason: 'Stop Reason STOPPED_AT_COMMIT_TIME' });
    expect(await rows(target, 'SELECT id FROM app.t WHERE id = 21')).toEqual([]);
  }, 60_000);
});
