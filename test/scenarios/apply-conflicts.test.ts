/**
 * Apply conflicts during CDC follow ErrorBehavior, in transactional and batch apply:
 * ApplyErrorInsertPolicy for an INSERT whose key exists on the target, ApplyErrorDeletePolicy for
 * a DELETE that finds no row, the escalation counts (apply, data, table errors), and what is not a
 * conflict at all (a key deleted and inserted again, or inserted and deleted, in one batch).
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
  CREATE TABLE app.c (id int PRIMARY KEY, v text);
  CREATE TABLE app.m (id serial PRIMARY KEY, note text);
  CREATE TABLE app.t1 (id int PRIMARY KEY, v text);
  CREATE TABLE app.t2 (id int PRIMARY KEY, v text);
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

/** Same rows on both sides, then the target loses 3 and gains 1: the conflicts to come. */
async function reset(): Promise<void> {
  const sql = `TRUNCATE app.c, app.m, app.t1, app.t2; INSERT INTO app.c SELECT g, 'both' FROM generate_series(1, 4) g`;
  await Promise.all([source.query(sql), target.query(sql)]);
  await target.query(`DO $$ BEGIN
    IF to_regclass('public.awsdms_apply_exceptions') IS NOT NULL THEN DELETE FROM public.awsdms_apply_exceptions; END IF;
    IF to_regclass('public.awsdms_suspended_tables') IS NOT NULL THEN DELETE FROM public.awsdms_suspended_tables; END IF;
  END $$`);
  await target.query(`DELETE FROM app.c WHERE id = 3; INSERT INTO app.c VALUES (10, 'target')`);
}

/** A marker committed after everything before it: once on the target, the earlier changes were applied (or skipped). */
async function marker(note: string): Promise<void> {
  await source.query(`INSERT INTO app.m (note) VALUES ($1)`, [note]);
  await waitFor(`marker ${note}`, async () => (await rows(target, `SELECT 1 FROM app.m WHERE note = '${note}'`)).length === 1, 30_000, 100);
}

async function exceptions(): Promise<{ table_name: string; statement: string; error: string }[]> {
  return (await rows(target, `SELECT table_name, statement, error FROM public.awsdms_apply_exceptions ORDER BY error_time`)) as never;
}

const CONFLICTS = {
  // 10 exists on the target only; 11 is new.
  inserts: `INSERT INTO app.c VALUES (10, 'source'), (11, 'new')`,
  // 3 is missing on the target; 4 is there.
  deletes: `DELETE FROM app.c WHERE id IN (3, 4)`,
};

function start(o: { batchApply: boolean; eb: Record<string, unknown>; startType?: 'start-replication' | 'resume-processing'; tables?: string }) {
  const reporter = new RecordingReporter();
  const task = startTask(
    taskSpec(source, target, {
      taskId: 'CONF',
      migrationType: 'cdc',
      startType: o.startType ?? 'start-replication',
      batchApply: o.batchApply,
      ...(o.tables ? { tables: o.tables } : {}),
      settings: { ErrorBehavior: o.eb, ControlTablesSettings: { SuspendedTablesTableEnabled: true } },
    }),
    reporter,
  );
  return { task, reporter };
}

describe('ApplyErrorInsertPolicy and ApplyErrorDeletePolicy', () => {
  for (const [policy, batchApply] of [
    ['IGNORE_RECORD', true],
    ['LOG_ERROR', false],
    ['LOG_ERROR', true],
  ] as const) {
    it(`${policy} (batch apply ${batchApply}): the conflicting rows are not applied, the others are`, async () => {
      await reset();
      const { task, reporter } = start({ batchApply, eb: { ApplyErrorInsertPolicy: policy, ApplyErrorDeletePolicy: policy } });
      try {
        await reporter.waitRunning();
        await source.query(CONFLICTS.inserts);
        await source.query(CONFLICTS.deletes);
        // Not conflicts: a key deleted then inserted again, and a key inserted then deleted, in one transaction.
        await source.query(`BEGIN; DELETE FROM app.c WHERE id = 1; INSERT INTO app.c VALUES (1, 'again'); COMMIT`);
        await source.query(`BEGIN; INSERT INTO app.c VALUES (20, 'brief'); DELETE FROM app.c WHERE id = 20; COMMIT`);
        await marker(`${policy}${batchApply}`);
        expect(await rows(target, 'SELECT id, v FROM app.c ORDER BY id')).toEqual([
          { id: 1, v: 'again' },
          { id: 2, v: 'both' },
          { id: 10, v: 'target' },
          { id: 11, v: 'new' },
        ]);
        const ex = await exceptions();
        if (policy === 'IGNORE_RECORD') {
          expect(ex).toEqual([]);
        } else {
          expect(ex).toHaveLength(2);
          const insert = ex.find((e) => e.statement.startsWith('INSERT'))!;
          expect(insert).toMatchObject({ table_name: 'c' });
          expect(insert.statement).toContain(`'10'`);
          expect(insert.statement).toContain(`'source'`);
          expect(insert.error).toMatch(/already exists/);
          const del = ex.find((e) => e.statement.startsWith('DELETE'))!;
          expect(del.statement).toContain(`'3'`);
          expect(del.error).toMatch(/not found/);
        }
        expect(reporter.lastTables.find((t) => t.TableName === 'c')?.TableState).not.toBe('Table error');
      } finally {
        await task.stop();
      }
      expect((await reporter.waitFinal()).status).toBe('stopped');
    }, 90_000);
  }

  it('INSERT_RECORD (batch apply true) overwrites the existing row', async () => {
    await reset();
    const { task, reporter } = start({ batchApply: true, eb: { ApplyErrorInsertPolicy: 'INSERT_RECORD' } });
    try {
      await reporter.waitRunning();
      await source.query(CONFLICTS.inserts);
      await marker('insert-record');
      expect(await rows(target, 'SELECT id, v FROM app.c WHERE id >= 10 ORDER BY id')).toEqual([
        { id: 10, v: 'source' },
        { id: 11, v: 'new' },
      ]);
      expect(await exceptions()).toEqual([]);
    } finally {
      await task.stop();
    }
    expect((await reporter.waitFinal()).status).toBe('stopped');
  }, 90_000);

  it('SUSPEND_TABLE (batch apply false) suspends the table and logs the row; other tables go on', async () => {
    await reset();
    const { task, reporter } = start({ batchApply: false, eb: { ApplyErrorInsertPolicy: 'SUSPEND_TABLE', ApplyErrorDeletePolicy: 'SUSPEND_TABLE' } });
    try {
      await reporter.waitRunning();
      await source.query(CONFLICTS.inserts);
      await source.query(`UPDATE app.c SET v = 'later' WHERE id = 2`);
      await marker('suspend');
      await waitFor('suspended in the stats', async () => reporter.lastTables.find((t) => t.TableName === 'c')?.TableState === 'Table error', 15_000, 50);
      expect(await rows(target, `SELECT v FROM app.c WHERE id = 2`)).toEqual([{ v: 'both' }]);
      const ex = await exceptions();
      expect(ex).toHaveLength(1);
      expect(ex[0]!.error).toMatch(/already exists/);
      expect(await rows(target, `SELECT table_name FROM public.awsdms_suspended_tables WHERE task_name = 'CONF'`)).toEqual([{ table_name: 'c' }]);
      expect(reporter.events.some((e) => e.includes('app.c') && e.includes('suspended'))).toBe(true);
    } finally {
      await task.stop();
    }
    expect((await reporter.waitFinal()).status).toBe('stopped');
  }, 90_000);

  for (const [op, batchApply] of [
    ['INSERT', true],
    ['DELETE', false],
  ] as const) {
    it(`STOP_TASK on ${op} conflicts (batch apply ${batchApply}) fails the task without passing the transaction`, async () => {
      await reset();
      const setting = op === 'INSERT' ? 'ApplyErrorInsertPolicy' : 'ApplyErrorDeletePolicy';
      const { reporter } = start({ batchApply, eb: { [setting]: 'STOP_TASK' } });
      await reporter.waitRunning();
      await source.query(op === 'INSERT' ? CONFLICTS.inserts : CONFLICTS.deletes);
      const final = await reporter.waitFinal(30_000);
      expect(final.status).toBe('failed');
      expect(final.status === 'failed' && final.failureMessage).toMatch(new RegExp(`"app"\\."c".*${setting} STOP_TASK`));
      // Nothing of that transaction reached the target: 11 not inserted, 4 not deleted.
      expect(await rows(target, 'SELECT id FROM app.c ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }, { id: 4 }, { id: 10 }]);
    }, 90_000);
  }
});

describe('Error escalation', () => {
  it('ApplyErrorEscalationCount 3 / STOP_TASK: conflicts of every kind count, ignored ones too; the third stops the task', async () => {
    await reset();
    const { reporter } = start({ batchApply: false, eb: { ApplyErrorEscalationCount: 3, ApplyErrorEscalationPolicy: 'STOP_TASK' } });
    await reporter.waitRunning();
    // 1: a delete of a missing row, ignored (ApplyErrorDeletePolicy IGNORE_RECORD) but counted.
    await source.query(`DELETE FROM app.c WHERE id = 3`);
    // 2: an insert conflict, logged (ApplyErrorInsertPolicy LOG_ERROR).
    await source.query(`INSERT INTO app.c VALUES (10, 'source')`);
    await marker('two conflicts');
    expect((await exceptions()).map((e) => e.statement)).toEqual([expect.stringMatching(/^INSERT/)]);
    expect(reporter.final).toBeUndefined();
    // 3: an update of a missing row reaches the count.
    await target.query(`DELETE FROM app.c WHERE id = 2`);
    await source.query(`UPDATE app.c SET v = 'x' WHERE id = 2`);
    const final = await reporter.waitFinal(30_000);
    expect(final.status === 'failed' && final.failureMessage).toMatch(/"app"\."c".*ApplyErrorEscalationPolicy STOP_TASK/);
  }, 90_000);

  it('DataErrorEscalationCount 2 / SUSPEND_TABLE (batch apply true): the first refused row is logged, the second suspends the table', async () => {
    await reset();
    await target.query(`ALTER TABLE app.c ADD CONSTRAINT no_bad CHECK (v <> 'bad')`);
    try {
      const { task, reporter } = start({ batchApply: true, eb: { DataErrorEscalationCount: 2, DataErrorEscalationPolicy: 'SUSPEND_TABLE' } });
      try {
        await reporter.waitRunning();
        await source.query(`INSERT INTO app.c VALUES (30, 'bad'), (31, 'good')`);
        await marker('first bad');
        expect(await rows(target, 'SELECT id FROM app.c WHERE id >= 30 ORDER BY id')).toEqual([{ id: 31 }]);
        expect(reporter.lastTables.find((t) => t.TableName === 'c')?.TableState).not.toBe('Table error');
        await source.query(`INSERT INTO app.c VALUES (32, 'bad')`);
        await marker('second bad');
        await source.query(`INSERT INTO app.c VALUES (33, 'good')`);
        await marker('after');
        await waitFor('suspended in the stats', async () => reporter.lastTables.find((t) => t.TableName === 'c')?.TableState === 'Table error', 15_000, 50);
        expect(await rows(target, 'SELECT id FROM app.c WHERE id >= 30 ORDER BY id')).toEqual([{ id: 31 }]);
        expect((await exceptions()).map((e) => e.error)).toEqual([expect.stringContaining('no_bad'), expect.stringContaining('no_bad')]);
      } finally {
        await task.stop();
      }
      expect((await reporter.waitFinal()).status).toBe('stopped');
    } finally {
      await target.query(`ALTER TABLE app.c DROP CONSTRAINT no_bad`);
    }
  }, 90_000);

  it('TableErrorEscalationCount 2: the first table error suspends its table, the second stops the task', async () => {
    await reset();
    const { reporter } = start({ batchApply: false, eb: { TableErrorEscalationCount: 2 } });
    try {
      await reporter.waitRunning();
      await source.query(`INSERT INTO app.t1 VALUES (1, 'a'); INSERT INTO app.t2 VALUES (1, 'a')`);
      await waitFor('t1 and t2 applied', async () => (await rows(target, 'SELECT 1 FROM app.t1 UNION ALL SELECT 1 FROM app.t2')).length === 2, 30_000, 100);
      await target.query('DROP TABLE app.t1; DROP TABLE app.t2');
      await source.query(`INSERT INTO app.t1 VALUES (2, 'b')`);
      await marker('t1 suspended');
      await waitFor('t1 suspended in the stats', async () => reporter.lastTables.find((t) => t.TableName === 't1')?.TableState === 'Table error', 15_000, 50);
      await source.query(`INSERT INTO app.t2 VALUES (2, 'b')`);
      const final = await reporter.waitFinal(30_000);
      expect(final.status === 'failed' && final.failureMessage).toMatch(/"app"\."t2".*TableErrorEscalationPolicy STOP_TASK/);
    } finally {
      await target.query('DROP TABLE IF EXISTS app.t1, app.t2; CREATE TABLE app.t1 (id int PRIMARY KEY, v text); CREATE TABLE app.t2 (id int PRIMARY KEY, v text)');
    }
  }, 90_000);
});
