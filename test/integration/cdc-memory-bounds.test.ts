/**
 * CDC memory stays bounded whatever the size of a source transaction and the width of its rows
 * (issue 4): the replication queue pauses the socket by bytes as well as by events, and the
 * applier sends pending rows by characters as well as by rows, inside the one open target
 * transaction. A transaction of wide rows (many times both bounds) checks each bound, then goes
 * end to end through a task, target compared with the source.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyDataEnd, HIGH_WATER_BYTES } from '../../src/connectors/postgres/copy-data-queue.js';
import { decodeStreamMessage, ReplicationConnection } from '../../src/connectors/postgres/replication-connection.js';
import { Applier, FLUSH_CHARS } from '../../src/engine/apply/applier.js';
import { buildApplyTable, readTargetTable } from '../../src/engine/apply/apply-table.js';
import { applyPolicies, ErrorPolicy } from '../../src/engine/apply/error-policy.js';
import { controlTables, ensureControlTables } from '../../src/engine/control-tables.js';
import { startTask } from '../../src/engine/index.js';
import { defaultTaskSettings } from '../../src/model/task-settings.js';
import { endpointSpec, RecordingReporter, taskSpec } from '../helpers/cdc-harness.js';
import { waitFor } from '../helpers/ports.js';
import { startPostgres, type PostgresCluster } from '../helpers/postgres.js';

/** Rows of 512 kB: 160 of them are 80 MB, 20x the queue's byte bound and 5x the applier's. */
const WIDE = 512 * 1024;
const ROWS = 160;
const WIDE_DDL = 'CREATE TABLE app.wide (id integer PRIMARY KEY, body text)';
/** One transaction; values differ per row (repeat() compresses on disk, but pgoutput sends them whole). */
const WIDE_TX = (from: number, to: number) => `INSERT INTO app.wide SELECT g, repeat(md5(g::text), ${WIDE / 32}) FROM generate_series(${from}, ${to}) g`;

let source: PostgresCluster;
let target: PostgresCluster;

beforeAll(async () => {
  [source, target] = await Promise.all([startPostgres(), startPostgres()]);
  for (const c of [source, target]) {
    await c.query('CREATE SCHEMA app');
    await c.query(WIDE_DDL);
  }
}, 60_000);

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

const digest = async (c: PostgresCluster) =>
  (await c.query<{ d: string }>(`SELECT count(*) || '/' || coalesce(sum(hashtext(w::text)::bigint), 0) AS d FROM app.wide w`)).rows[0]!.d;

describe('CDC memory bounds for wide rows', () => {
  it('pauses the replication socket once the queue holds HIGH_WATER_BYTES, and delivers every row', async () => {
    await source.query('CREATE PUBLICATION mem_pub FOR TABLE app.wide');
    const repl = await ReplicationConnection.open(endpointSpec(source, 'source'), 'mem-test');
    try {
      const slot = await repl.createSlot('mem_slot', false);
      await source.query(WIDE_TX(1, ROWS));
      repl.start('mem_slot', slot.consistentPoint, 'mem_pub');
      let inserts = 0;
      let chars = 0;
      let pausedSeen = 0;
      while (inserts < ROWS) {
        // Let the queue fill until the connection pauses itself (or the whole transaction is in).
        // (or, once the rest of the transaction is smaller than the bound, until it is all there).
        const whole = ROWS * WIDE - chars;
        await waitFor('queue paused or complete', async () => repl.queued.paused || repl.queued.bytes >= whole, 60_000, 20);
        const q = repl.queued;
        if (q.paused) {
          pausedSeen++;
          // At most the bound plus the socket read that crossed it.
          expect(q.bytes).toBeLessThan(HIGH_WATER_BYTES + 2 * WIDE + 64 * 1024);
        }
        for (const run of await repl.read()) {
          for (let at = 0; at < run.length; at = copyDataEnd(run, at)) {
            const m = decodeStreamMessage(run, at);
            if (m?.tag === 'insert') {
              inserts++;
              chars += (m.newTuple[1] as string).length;
            }
          }
        }
      }
      expect(pausedSeen).toBeGreaterThan(1);
      expect(chars).toBe(ROWS * WIDE);
    } finally {
      await repl.close();
      await waitFor('slot free', async () => (await source.query(`SELECT active FROM pg_replication_slots WHERE slot_name = 'mem_slot'`)).rows[0]?.active === false, 10_000);
      await source.query(`SELECT pg_drop_replication_slot('mem_slot')`);
      await source.query('DROP PUBLICATION mem_pub');
    }
  }, 120_000);

  it('flushes pending rows at FLUSH_CHARS inside the open target transaction, committed whole with the checkpoint', async () => {
    const db = new pg.Client({ connectionString: target.connectionString() });
    await db.connect();
    try {
      const ct = controlTables('public');
      await ensureControlTables(db, ct, { statusTable: false });
      const info = (await readTargetTable(db, 'app', 'wide'))!;
      const table = buildApplyTable({ schema: 'app', table: 'wide' }, 'app', 'wide', info, ['id', 'body']);
      const applier = new Applier(db, {
        taskName: 'MEMTEST',
        controlTables: ct,
        errors: new ErrorPolicy(applyPolicies(defaultTaskSettings().ErrorBehavior)),
        chunkRows: 5000,
        onTableSuspended: () => {},
      });
      await applier.init();
      const value = (i: number) => `${i}:`.padEnd(WIDE, 'x');
      let flushes = 0;
      let last = 0;
      for (let i = 1; i <= ROWS; i++) {
        const p = applier.insert(table, [String(i), value(i)]);
        if (p) await p;
        expect(applier.pendingChars).toBeLessThan(FLUSH_CHARS + WIDE + 16);
        if (applier.pendingChars < last) flushes++;
        last = applier.pendingChars;
      }
      expect(flushes).toBeGreaterThanOrEqual(Math.floor((ROWS * WIDE) / FLUSH_CHARS) - 1);
      // Flushed chunks are in the open transaction, invisible until the commit.
      const other = async () => (await target.query<{ n: string }>('SELECT count(*)::text AS n FROM app.wide')).rows[0]!.n;
      expect(await other()).toBe('0');
      let durable = false;
      await applier.commit({ checkpoint: 'checkpoint:V1#1#00000000/00000001#0#0#*#0#0', lsn: 1n, seq: 1, phase: 'cdc', commitTime: new Date() }, () => (durable = true));
      await applier.settle();
      expect(durable).toBe(true);
      expect(await other()).toBe(String(ROWS));
      const sum = await target.query<{ n: string }>(`SELECT sum(length(body))::text AS n FROM app.wide`);
      expect(sum.rows[0]!.n).toBe(String(ROWS * WIDE));
    } finally {
      await target.query('TRUNCATE app.wide');
      await target.query(`DELETE FROM public.awsdms_txn_state WHERE task_name = 'MEMTEST'`).catch(() => undefined);
      await db.end();
    }
  }, 120_000);

  it.each([false, true])('applies a wide-row transaction end to end (batch apply %s), target equal to the source', async (batchApply) => {
    await source.query('TRUNCATE app.wide');
    await target.query('TRUNCATE app.wide');
    const id = batchApply ? 'MEMWIDEB' : 'MEMWIDET';
    const reporter = new RecordingReporter();
    const task = startTask(taskSpec(source, target, { taskId: id, migrationType: 'cdc', batchApply, tables: 'wide', settings: { FullLoadSettings: { TargetTablePrepMode: 'DO_NOTHING' } } }), reporter);
    try {
      await waitFor('task running', async () => reporter.statuses.some((s) => s.status === 'running'), 60_000);
      await source.query(WIDE_TX(1, ROWS));
      await source.query(`UPDATE app.wide SET body = body || 'u' WHERE id % 2 = 0`);
      const want = await digest(source);
      await waitFor('wide transactions applied', async () => (await digest(target)) === want, 120_000, 200);
    } finally {
      await task.stop();
    }
  }, 180_000);
});
