/**
 * ErrorBehavior.TableErrorPolicy during CDC: a target table dropped under a running task
 * suspends only that table (SUSPEND_TABLE: TableState `Table error`, an event, a row in
 * awsdms_suspended_tables) while the other tables keep replicating and the checkpoint keeps
 * moving, or fails the task naming the table (STOP_TASK). And ApplyErrorUpdatePolicy: an update
 * of a row missing on the target inserts it (UPDATE_RECORD) or is logged (LOG_ERROR).
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
  CREATE TABLE app.keep (id int PRIMARY KEY, v text);
  CREATE TABLE app.lost (id int PRIMARY KEY, v text);
`;

beforeAll(async () => {
  [source, target] = await Promise.all([startPostgres(), startPostgres()]);
  await source.query(DDL);
  await target.query(DDL);
}, 60_000);

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

async function rows(db: PostgresCluster, sql: string): Promise<unknown[]> {
  return (await db.query(sql)).rows;
}

async function checkpointLsn(): Promise<string> {
  const r = (await target.query(`SELECT commit_lsn::text AS l FROM public.awsdms_txn_state WHERE task_name = 'TERR'`)).rows as { l: string }[];
  return r[0]?.l ?? '';
}

describe('TableErrorPolicy when a target table disappears during CDC', () => {
  for (const batchApply of [false, true]) {
    it(`SUSPEND_TABLE suspends only that table and the others keep replicating (batch apply ${batchApply})`, async () => {
      await target.query(`DROP TABLE IF EXISTS app.lost; CREATE TABLE app.lost (id int PRIMARY KEY, v text); DROP TABLE IF EXISTS public.awsdms_suspended_tables`);
      const reporter = new RecordingReporter();
      const task = startTask(
        taskSpec(source, target, {
          taskId: 'TERR',
          migrationType: 'cdc',
          batchApply,
          settings: { ControlTablesSettings: { SuspendedTablesTableEnabled: true } },
        }),
        reporter,
      );
      try {
        await reporter.waitRunning();
        await source.query(`INSERT INTO app.keep SELECT g + ${batchApply ? 1000 : 0}, 'k' || g FROM generate_series(1, 5) g`);
        await source.query(`INSERT INTO app.lost VALUES (${batchApply ? 1001 : 1}, 'l')`);
        await waitFor('lost applied', async () => (await rows(target, 'SELECT 1 FROM app.lost')).length === 1, 30_000, 100);
        await target.query('DROP TABLE app.lost');
        const before = await checkpointLsn();
        // Both tables in one source transaction, then each alone: only `lost` may be skipped.
        await source.query(`BEGIN; INSERT INTO app.lost VALUES (${batchApply ? 1002 : 2}, 'x'); UPDATE app.keep SET v = 'both' WHERE id = ${batchApply ? 1001 : 1}; COMMIT`);
        await source.query(`UPDATE app.lost SET v = 'y'`);
        // The last transaction commits after this position: a checkpoint past it includes it.
        const mark = ((await source.query(`SELECT pg_current_wal_lsn()::text AS l`)).rows[0] as { l: string }).l;
        await source.query(`INSERT INTO app.keep SELECT g + ${batchApply ? 1000 : 0}, 'later${batchApply}' FROM generate_series(6, 10) g; DELETE FROM app.keep WHERE id = ${batchApply ? 1002 : 2}`);
        await waitFor('keep applied', async () => (await rows(target, `SELECT 1 FROM app.keep WHERE v = 'later${batchApply}'`)).length === 5, 30_000, 100);
        const [src, tgt] = await Promise.all([source, target].map((db) => rows(db, 'SELECT id, v FROM app.keep ORDER BY id')));
        expect(tgt).toEqual(src);

        await waitFor('suspended in the stats', async () => reporter.lastTables.find((s) => s.TableName === 'lost')?.TableState === 'Table error', 15_000, 50);
        expect(reporter.lastTables.find((s) => s.TableName === 'keep')!.TableState).not.toBe('Table error');
        expect(reporter.events.some((e) => e.includes('app.lost') && e.includes('suspended'))).toBe(true);
        const suspended = await rows(target, 'SELECT server_name, task_name, table_owner, table_name, suspend_reason, suspend_timestamp FROM public.awsdms_suspended_tables');
        expect(suspended).toHaveLength(1);
        expect(suspended[0]).toMatchObject({ task_name: 'TERR', table_owner: 'app', table_name: 'lost' });
        expect(String((suspended[0] as { suspend_reason: string }).suspend_reason)).toMatch(/lost.*does not exist/);
        // The checkpoint moved past the changes of the suspended table.
        await waitFor('checkpoint moved', async () => {
          const l = await checkpointLsn();
          const past = (await source.query(`SELECT $1::pg_lsn > $2::pg_lsn AS ok`, [l, mark])).rows[0] as { ok: boolean } | undefined;
          return l !== before && past?.ok === true;
        }, 15_000, 100);
      } finally {
        await task.stop();
      }
      expect(await reporter.waitFinal()).toMatchObject({ status: 'stopped' });
      await source.query('DELETE FROM app.lost');
    }, 90_000);
  }

  it('STOP_TASK fails the task naming the table, without passing its change', async () => {
    await target.query(`DROP TABLE IF EXISTS app.lost; CREATE TABLE app.lost (id int PRIMARY KEY, v text)`);
    const reporter = new RecordingReporter();
    startTask(
      // start-replication: a resumed task would keep app.lost suspended by the test before (a suspension persists).
      taskSpec(source, target, { taskId: 'TERR', migrationType: 'cdc', startType: 'start-replication', settings: { ErrorBehavior: { TableErrorPolicy: 'STOP_TASK' } } }),
      reporter,
    );
    await reporter.waitRunning();
    await source.query(`INSERT INTO app.lost VALUES (50, 'a')`);
    await waitFor('lost applied', async () => (await rows(target, 'SELECT 1 FROM app.lost WHERE id = 50')).length === 1, 30_000, 100);
    await target.query('DROP TABLE app.lost');
    await source.query(`INSERT INTO app.lost VALUES (51, 'b')`);
    const final = await reporter.waitFinal(30_000);
    expect(final.status).toBe('failed');
    expect(final.status === 'failed' && final.failureMessage).toMatch(/"app"\."lost".*STOP_TASK/);
    // Recreated on the target, a resumed task applies the change it stopped on.
    await target.query(`CREATE TABLE app.lost (id int PRIMARY KEY, v text)`);
    const again = new RecordingReporter();
    const resumed = startTask(taskSpec(source, target, { taskId: 'TERR', migrationType: 'cdc', startType: 'resume-processing' }), again);
    await waitFor('change applied after the fix', async () => (await rows(target, 'SELECT 1 FROM app.lost WHERE id = 51')).length === 1, 30_000, 100);
    await resumed.stop();
    expect((await again.waitFinal()).status).toBe('stopped');
  }, 90_000);
});

describe('ApplyErrorUpdatePolicy when an updated row is missing on the target', () => {
  for (const [policy, batchApply] of [['UPDATE_RECORD', false], ['LOG_ERROR', false], ['UPDATE_RECORD', true]] as const) {
    it(`${policy} (batch apply ${batchApply})`, async () => {
      const id = 700 + (policy === 'UPDATE_RECORD' ? 0 : 10) + (batchApply ? 1 : 0);
      await target.query(`DELETE FROM public.awsdms_apply_exceptions`);
      const reporter = new RecordingReporter();
      const task = startTask(
        taskSpec(source, target, { taskId: 'TERR', migrationType: 'cdc', startType: 'resume-processing', batchApply, settings: { ErrorBehavior: { ApplyErrorUpdatePolicy: policy } } }),
        reporter,
      );
      try {
        await reporter.waitRunning();
        await source.query(`INSERT INTO app.keep VALUES (${id}, 'new')`);
        await waitFor('inserted', async () => (await rows(target, `SELECT 1 FROM app.keep WHERE id = ${id}`)).length === 1, 30_000, 100);
        await target.query(`DELETE FROM app.keep WHERE id = ${id}`);
        await source.query(`UPDATE app.keep SET v = 'changed' WHERE id = ${id}`);
        await source.query(`INSERT INTO app.keep VALUES (${id + 1000}, 'after')`);
        await waitFor('later change applied', async () => (await rows(target, `SELECT 1 FROM app.keep WHERE id = ${id + 1000}`)).length === 1, 30_000, 100);
        const exceptions = await rows(target, `SELECT table_name, statement, error FROM public.awsdms_apply_exceptions`);
        if (policy === 'UPDATE_RECORD') {
          expect(await rows(target, `SELECT id, v FROM app.keep WHERE id = ${id}`)).toEqual([{ id, v: 'changed' }]);
          expect(exceptions).toEqual([]);
        } else {
          expect(await rows(target, `SELECT id FROM app.keep WHERE id = ${id}`)).toEqual([]);
          expect(exceptions).toHaveLength(1);
          expect(exceptions[0]).toMatchObject({ table_name: 'keep' });
          expect(String((exceptions[0] as { statement: string }).statement)).toContain(String(id));
          expect(String((exceptions[0] as { error: string }).error)).toMatch(/not found/);
        }
      } finally {
        await task.stop();
      }
      expect((await reporter.waitFinal()).status).toBe('stopped');
    }, 60_000);
  }
});
