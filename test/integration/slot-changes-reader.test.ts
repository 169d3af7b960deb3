/**
 * The SQL catch-up reader on its own (the task-level behaviour is in cdc-catch-up.test.ts): it
 * reads every change of a backlog once and in commit order across many bounded calls, leaves the
 * task's slot where the consumer says, drops its temporary slot, and hands over early when every
 * call would decode the same held-back WAL again.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyDataEnd } from '../../src/connectors/postgres/copy-data-queue.js';
import { ReplicationConnection } from '../../src/connectors/postgres/replication-connection.js';
import { SlotChangesReader } from '../../src/connectors/postgres/slot-changes-reader.js';
import type { SlotChangesReaderOptions } from '../../src/connectors/postgres/slot-changes-reader.js';
import { parseLsn } from '../../src/model/lsn.js';
import type { Lsn } from '../../src/model/lsn.js';
import { endpointSpec } from '../helpers/cdc-harness.js';
import { startPostgres } from '../helpers/postgres.js';
import type { PostgresCluster } from '../helpers/postgres.js';

let source: PostgresCluster;
let side: pg.Client;

beforeAll(async () => {
  source = await startPostgres();
  await source.query('CREATE TABLE t (id int PRIMARY KEY, v text)');
  await source.query('CREATE PUBLICATION p FOR TABLE t');
  side = new pg.Client({ connectionString: source.connectionString() });
  await side.connect();
}, 60_000);

afterAll(async () => {
  await side?.end();
  await source?.stop();
});

/** `n` transactions of one insert each, ids from `first`. */
const insert = (first: number, n: number) =>
  source.query(`DO $$ BEGIN FOR i IN ${first}..${first + n - 1} LOOP INSERT INTO t VALUES (i, repeat('x', 200)); COMMIT; END LOOP; END $$`);

const slotPosition = async (slot: string) =>
  (await source.query<{ c: string }>('SELECT confirmed_flush_lsn::text AS c FROM pg_replication_slots WHERE slot_name = $1', [slot])).rows[0]!.c;

/** Reads the reader to its end: inserted ids in order, commit end-LSNs, and what it reports. */
async function readAll(slot: string, options: Partial<SlotChangesReaderOptions>): Promise<{ ids: number[]; commits: Lsn[]; reader: SlotChangesReader }> {
  const repl = await ReplicationConnection.open(endpointSpec(source, 'source'), 'reader-test');
  try {
    const reader = await SlotChangesReader.open(repl, side, { slotName: slot, publication: 'p', startLsn: 0n, ...options });
    const ids: number[] = [];
    const commits: Lsn[] = [];
    while (!reader.finished) {
      for (const run of await reader.read()) {
        for (let o = 0; o < run.length; o = copyDataEnd(run, o)) {
          const m = reader.decode(run, o);
          if (m?.tag === 'insert') ids.push(Number(m.newTuple[0]));
          if (m?.tag === 'commit') commits.push(m.endLsn);
        }
      }
    }
    // The consumer says everything read is committed: the task's slot moves there on close.
    reader.sendStatus(commits.at(-1)!, commits.at(-1)!);
    await reader.close();
    return { ids, commits, reader };
  } finally {
    await repl.close();
  }
}

describe('SlotChangesReader', () => {
  it('reads a backlog once, in commit order, in calls bounded by changes and by WAL, and moves the task slot only on word', async () => {
    await source.query(`SELECT pg_create_logical_replication_slot('bounded', 'pgoutput')`);
    await insert(1, 3000);
    await source.query('SELECT pg_switch_wal()'); // the backlog is flushed, whatever synchronous_commit says
    const before = await slotPosition('bounded');
    const { ids, commits, reader } = await readAll('bounded', { firstChanges: 100, maxCallWalBytes: 64 * 1024 });
    expect(ids).toEqual(Array.from({ length: 3000 }, (_, i) => i + 1));
    expect(commits.every((c, i) => i === 0 || c > commits[i - 1]!)).toBe(true);
    // 3,000 transactions of ~300 bytes of WAL in calls of at most 64 kB (plus a transaction).
    expect(reader.progress.calls).toBeGreaterThan(10);
    expect(reader.progress.stoppedEarly).toBeUndefined();
    expect(before).not.toBe(await slotPosition('bounded'));
    expect(parseLsn(await slotPosition('bounded'))).toBe(commits.at(-1));
    expect((await source.query('SELECT 1 FROM pg_replication_slots WHERE temporary')).rowCount).toBe(0);
  }, 60_000);

  it('hands over early when a transaction left open holds the slot back', async () => {
    await source.query(`SELECT pg_create_logical_replication_slot('held', 'pgoutput')`);
    const open = new pg.Client({ connectionString: source.connectionString() });
    await open.connect();
    try {
      // An open transaction that wrote: decoding must restart before it, call after call.
      await open.query('BEGIN');
      await open.query(`INSERT INTO t VALUES (0, 'open')`);
      await source.query('CHECKPOINT'); // a running-transactions record while it is open
      await insert(10_001, 3000);
      await source.query('SELECT pg_switch_wal()');
      const { ids, reader } = await readAll('held', { firstChanges: 100, maxRedecodeBytes: 256 * 1024 });
      expect(reader.progress.stoppedEarly).toMatch(/MB of WAL again before its first change/);
      // What it read before handing over is whole and in order; the rest is the stream's.
      expect(ids.length).toBeLessThan(3000);
      expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => 10_001 + i));
    } finally {
      await open.query('ROLLBACK').catch(() => undefined);
      await open.end();
    }
  }, 60_000);
});
