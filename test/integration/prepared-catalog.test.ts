/**
 * The catalog prepared ahead of a handover (prepare-task, src/engine/prepared-catalog.ts) against
 * real clusters: the catalog stamps change with every DDL the readers could see and only then;
 * a task stopped on "A" and resumed on "B" uses what B prepared while A still ran; a column added
 * on the source, or on the target, between the preparation and the handover makes the resume read
 * that part again, and the data still arrives identical.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sourceCatalogStamp, tableStamps } from '../../src/connectors/postgres/catalog.js';
import type { TaskSpec } from '../../src/engine/contracts.js';
import { startTask } from '../../src/engine/index.js';
import { preparedTaskArns, prepareTask, takePrepared } from '../../src/engine/prepared-catalog.js';
import { RecordingReporter, taskSpec } from '../helpers/cdc-harness.js';
import { waitFor } from '../helpers/ports.js';
import { startPostgres } from '../helpers/postgres.js';
import type { PostgresCluster } from '../helpers/postgres.js';

let source: PostgresCluster;
let target: PostgresCluster;

beforeAll(async () => {
  [source, target] = await Promise.all([startPostgres(), startPostgres()]);
  await source.query(`CREATE SCHEMA app; CREATE TYPE app.mood AS ENUM ('sad', 'ok');`);
}, 60_000);

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

describe('catalog stamps', () => {
  it('change with each DDL the catalog readers see, and not with data changes', async () => {
    await source.query(`CREATE TABLE app.s (id int PRIMARY KEY, v text, m app.mood)`);
    const db = new pg.Client({ connectionString: source.connectionString() });
    await db.connect();
    try {
      const stamp = () => sourceCatalogStamp(db);
      const one = async () => (await tableStamps(db, ['"app"."s"'])).get('"app"."s"');
      let before = await stamp();
      let beforeTable = await one();
      await source.query(`INSERT INTO app.s SELECT g, 'x', 'ok' FROM generate_series(1, 100) g`);
      await source.query(`UPDATE app.s SET v = 'y'; ANALYZE app.s`);
      expect(await stamp()).toBe(before);
      expect(await one()).toBe(beforeTable);
      for (const ddl of [
        'ALTER TABLE app.s ADD COLUMN c2 int',
        'ALTER TABLE app.s ALTER COLUMN c2 TYPE bigint',
        'ALTER TABLE app.s ALTER COLUMN v SET NOT NULL',
        'CREATE UNIQUE INDEX s_v ON app.s (v, id)',
        'ALTER TABLE app.s REPLICA IDENTITY FULL',
        "ALTER TYPE app.mood ADD VALUE 'happy'",
        "ALTER TYPE app.mood RENAME VALUE 'happy' TO 'glad'",
        'ALTER TYPE app.mood RENAME TO feeling',
        'ALTER TYPE app.feeling RENAME TO mood',
        'ALTER TABLE app.s DROP COLUMN c2',
        'ALTER TABLE app.s RENAME TO s2',
        'ALTER TABLE app.s2 RENAME TO s',
      ]) {
        await source.query(ddl);
        const after = await stamp();
        expect(after, ddl).not.toBe(before);
        const afterTable = await one();
        expect(afterTable, ddl).not.toBe(beforeTable);
        before = after;
        beforeTable = afterTable;
      }
      // A new table changes the source stamp (the mappings may select it), not another table's.
      await source.query('CREATE TABLE app.other (id int)');
      expect(await stamp()).not.toBe(before);
      expect(await one()).toBe(beforeTable);
      // Dropped and created again with the same shape: a new OID, a new stamp.
      before = await stamp();
      await source.query('DROP TABLE app.other; CREATE TABLE app.other (id int)');
      expect(await stamp()).not.toBe(before);
      // A table that does not exist has a stamp no table has.
      expect((await tableStamps(db, ['"app"."nope"'])).get('"app"."nope"')).toMatch(/^[0-9a-f]{32}$/);
    } finally {
      await db.end();
      await source.query('DROP TABLE app.s, app.other');
    }
  });
});

describe('a task resumed where its catalog was prepared', () => {
  const rows = 'SELECT * FROM app.t ORDER BY id';

  /** Runs the task ("on A"), prepares its resume ("on B"), runs `between`, stops it and resumes it. */
  async function handover(taskId: string, between: () => Promise<void>, compare = rows): Promise<{ events: string[]; stop: () => Promise<void> }> {
    const spec: TaskSpec = taskSpec(source, target, { taskId, migrationType: 'full-load-and-cdc', tables: 't' });
    const onA = new RecordingReporter();
    const a = startTask(spec, onA);
    await onA.waitRunning();
    await source.query(`INSERT INTO app.t (id, v) VALUES (1001, 'before prepare')`);
    await waitFor('first change on the target', async () => (await target.query('SELECT 1 FROM app.t WHERE id = 1001')).rows.length === 1, 60_000, 50);
    const resume: TaskSpec = { ...spec, startType: 'resume-processing' };
    const prepared = await prepareTask(resume, 60_000);
    expect(prepared).toMatchObject({ taskArn: spec.taskArn, plannedTables: 1, targetTables: 1 });
    expect(preparedTaskArns()).toContain(spec.taskArn);
    await between();
    await a.stop();
    expect(await onA.waitFinal()).toMatchObject({ status: 'stopped' });
    const onB = new RecordingReporter();
    const b = startTask(resume, onB);
    await onB.waitRunning();
    // Taken once: nothing is left for a later start.
    expect(preparedTaskArns()).not.toContain(spec.taskArn);
    await source.query(`INSERT INTO app.t (id, v) VALUES (2001, 'after resume')`);
    await source.query(`UPDATE app.t SET v = v || '+' WHERE id <= 5`);
    await waitFor('source and target identical', async () => JSON.stringify((await source.query(compare)).rows) === JSON.stringify((await target.query(compare)).rows), 60_000, 100);
    return {
      events: onB.events,
      stop: async () => {
        await b.stop();
        expect(await onB.waitFinal()).toMatchObject({ status: 'stopped' });
      },
    };
  }

  async function freshTable(): Promise<void> {
    await source.query('DROP TABLE IF EXISTS app.t; CREATE TABLE app.t (id int PRIMARY KEY, v text NOT NULL)');
    await source.query(`INSERT INTO app.t SELECT g, 'row ' || g FROM generate_series(1, 200) g`);
    await target.query('DROP SCHEMA IF EXISTS app CASCADE');
  }

  it('uses the prepared catalog when nothing changed', async () => {
    await freshTable();
    const r = await handover('PREPUSED', async () => {
      await source.query(`INSERT INTO app.t (id, v) VALUES (1002, 'between')`);
    });
    expect(r.events).toContainEqual(expect.stringMatching(/^used the catalog prepared on this replication instance [\d.]+ s ago: source catalog unchanged \(1 table\(s\)\); 1 target table\(s\)/));
    expect(r.events.filter((e) => /changed since|stale/.test(e))).toEqual([]);
    await r.stop();
  }, 120_000);

  it('reads the source catalog again when a column was added on the source between preparation and handover', async () => {
    await freshTable();
    const r = await handover('PREPSRC', async () => {
      await source.query('ALTER TABLE app.t ADD COLUMN extra numeric(8,2)');
      await source.query(`INSERT INTO app.t (id, v, extra) VALUES (1003, 'new column', 12.5)`);
      // Task A adds the column on the target as the change arrives.
      await waitFor('new column on the target', async () => (await target.query('SELECT 1 FROM app.t WHERE id = 1003')).rows.length === 1, 60_000, 50);
    });
    expect(r.events).toContainEqual(expect.stringMatching(/^the catalog prepared on this replication instance [\d.]+ s ago is stale \(the source catalog changed since\): read again/));
    // Task A added the column on the target: that table's prepared catalog is stale too.
    expect(r.events).toContain('target table "app"."t" changed since the catalog was prepared on this replication instance: read again');
    await source.query(`INSERT INTO app.t (id, v, extra) VALUES (3001, 'after', 7.25)`);
    await waitFor('new column identical', async () => JSON.stringify((await source.query(rows)).rows) === JSON.stringify((await target.query(rows)).rows), 60_000, 100);
    expect((await target.query<{ extra: string }>('SELECT extra FROM app.t WHERE id = 3001')).rows[0]!.extra).toBe('7.25');
    await r.stop();
  }, 120_000);

  it('reads a target table again when a column was added on the target between preparation and handover', async () => {
    await freshTable();
    const sourceRows = 'SELECT id, v FROM app.t ORDER BY id';
    const r = await handover('PREPTGT', async () => {
      // The target gets a column of its own: the apply must learn the table's new shape, not the prepared one.
      await target.query(`ALTER TABLE app.t ADD COLUMN audit text DEFAULT 'target only'`);
      await source.query(`INSERT INTO app.t (id, v) VALUES (1004, 'after target ddl')`);
    }, sourceRows);
    expect(r.events).toContainEqual(expect.stringMatching(/^used the catalog prepared on this replication instance .*source catalog unchanged/));
    expect(r.events).toContain('target table "app"."t" changed since the catalog was prepared on this replication instance: read again');
    expect(JSON.stringify((await target.query(sourceRows)).rows)).toBe(JSON.stringify((await source.query(sourceRows)).rows));
    expect((await target.query<{ n: string }>(`SELECT count(*)::text AS n FROM app.t WHERE audit = 'target only' AND id IN (1004, 2001)`)).rows[0]!.n).toBe('2');
    await r.stop();
  }, 120_000);

  it('is not used for another spec, nor after it expired', async () => {
    await freshTable();
    const spec: TaskSpec = taskSpec(source, target, { taskId: 'PREPKEY', migrationType: 'cdc', tables: 't', startType: 'resume-processing' });
    await prepareTask(spec, 60_000);
    expect(takePrepared({ ...spec, tableMappings: { rules: [] } })).toBeUndefined();
    await prepareTask(spec, 60_000);
    expect(takePrepared(spec)).toMatchObject({ taskArn: spec.taskArn });
    expect(takePrepared(spec)).toBeUndefined();
    await prepareTask(spec, 1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(takePrepared(spec)).toBeUndefined();
  });
});
