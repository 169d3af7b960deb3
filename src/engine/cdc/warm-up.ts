/**
 * JIT warm-up of the CDC hot path, once per process, while the first task that will run CDC is
 * still opening its connections.
 *
 * Why: V8 first interprets the code that decodes, nets and builds SQL for every change, then
 * compiles it (TurboFan, on background threads). Measured with the cdc bench's backlog of 50k
 * pgbench transactions: a cold process spends ~0.95 s of CPU on it against ~0.5 s once warm, most
 * of the difference in compilation and early interpreted runs, and that cold second came out of
 * the first catch-up of every freshly started replication instance (a side-by-side upgrade moves
 * tasks to exactly such instances). A task's start waits ~0.1 s on connections and catalog
 * queries with the CPU idle: synthetic changes pushed through the real path
 * (decoders -> CdcSession -> Relations -> Applier netting and SQL building, with the SQL
 * discarded) in that time make the real changes run on compiled code.
 *
 * Nothing here touches a database; failures are ignored (the task then simply starts cold).
 */
import type pg from 'pg';
import type { ChangeStream, StreamEvent } from '../../connectors/postgres/change-stream.js';
import { decodeStreamMessage } from '../../connectors/postgres/replication-connection.js';
import { decodeSlotChangeRow } from '../../connectors/postgres/slot-changes-reader.js';
import type { Lsn } from '../../model/lsn.js';
import type { PlannedTable } from '../../model/table-mappings.js';
import { defaultTaskSettings } from '../../model/task-settings.js';
import { Applier } from '../apply/applier.js';
import { applyPolicies, ErrorPolicy } from '../apply/error-policy.js';
import { controlTables } from '../control-tables.js';
import { CdcSession } from './cdc-session.js';
import { Relations } from './relations.js';

/** Synthetic source transactions per framing (about 60 ms of CPU on the development machine). */
const TRANSACTIONS = 800;

/** What the warm-up pushed through: source changes committed, target statements built. */
export interface WarmUpResult {
  changes: number;
  statements: number;
}

let warming: Promise<WarmUpResult | undefined> | undefined;

/**
 * Warms the CDC hot path once per process; later calls return the same promise. Never rejects:
 * undefined if the warm-up failed (the task then starts cold).
 */
export function warmUpCdc(): Promise<WarmUpResult | undefined> {
  warming ??= run().catch(() => undefined);
  return warming;
}

async function run(): Promise<WarmUpResult> {
  const result: WarmUpResult = { changes: 0, statements: 0 };
  for (const framing of ['sql', 'stream'] as const) {
    for (const batchApply of [true, false]) await replay(new SyntheticStream(changes(framing), framing), batchApply, result);
  }
  return result;
}

// ---- the synthetic source: two tables, every kind of change, the types the SQL treats apart ----

interface Column {
  name: string;
  typeOid: number;
  key: boolean;
  type: string;
}

const ITEMS: Column[] = [
  { name: 'id', typeOid: 20, key: true, type: 'bigint' },
  { name: 'n', typeOid: 23, key: false, type: 'integer' },
  { name: 'label', typeOid: 25, key: false, type: 'text' },
  { name: 'amount', typeOid: 1700, key: false, type: 'numeric(14,4)' },
  { name: 'ts', typeOid: 1184, key: false, type: 'timestamp with time zone' },
  { name: 'flag', typeOid: 16, key: false, type: 'boolean' },
  { name: 'doc', typeOid: 3802, key: false, type: 'jsonb' },
];
const EVENTS: Column[] = [
  { name: 'a', typeOid: 23, key: false, type: 'integer' },
  { name: 'b', typeOid: 25, key: false, type: 'text' },
];
const SCHEMA = 'opendms_warm_up';

/** A pgoutput encoder for the few messages the warm-up sends. */
class Writer {
  private buf = Buffer.alloc(1024);
  private at = 0;
  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = Buffer.alloc(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }
  u8(v: number): this {
    this.room(1);
    this.buf[this.at++] = v;
    return this;
  }
  i16(v: number): this {
    this.room(2);
    this.at = this.buf.writeInt16BE(v, this.at);
    return this;
  }
  i32(v: number): this {
    this.room(4);
    this.at = this.buf.writeInt32BE(v, this.at);
    return this;
  }
  u64(v: bigint): this {
    this.room(8);
    this.at = this.buf.writeBigUInt64BE(v, this.at);
    return this;
  }
  str(s: string): this {
    const b = Buffer.from(s);
    this.room(b.length + 1);
    this.at += b.copy(this.buf, this.at);
    return this.u8(0);
  }
  tuple(values: (string | null | undefined)[]): this {
    this.i16(values.length);
    for (const v of values) {
      if (v === null) this.u8(0x6e);
      else if (v === undefined) this.u8(0x75);
      else {
        const b = Buffer.from(v);
        this.u8(0x74).i32(b.length);
        this.room(b.length);
        this.at += b.copy(this.buf, this.at);
      }
    }
    return this;
  }
  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.at));
    this.at = 0;
    return out;
  }
}

function relation(w: Writer, id: number, table: string, columns: Column[]): Buffer {
  w.u8(0x52).i32(id).str(SCHEMA).str(table).u8(0x64).i16(columns.length);
  for (const c of columns) w.u8(c.key ? 1 : 0).str(c.name).i32(c.typeOid).i32(-1);
  return w.take();
}

/** The pgoutput messages of TRANSACTIONS source transactions, with the Relation messages first. */
function changes(framing: 'sql' | 'stream'): Buffer[] {
  const w = new Writer();
  const out = [relation(w, 1, 'items', ITEMS), relation(w, 2, 'events', EVENTS)];
  const time = BigInt(Date.now() - 946_684_800_000) * 1000n;
  let lsn = 0x1000_0000n;
  const item = (id: number, round: number): (string | null | undefined)[] => [
    String(id),
    String(round),
    round % 7 === 0 ? `label "${id}" \\ 'q'` : `label ${id}`,
    `${id}.${round % 10_000}`,
    '2026-12-04 10:00:00.123456+00',
    round % 2 === 0 ? 't' : 'f',
    round % 5 === 0 ? null : `{"id": ${id}, "tags": ["a", "b"]}`,
  ];
  for (let i = 0; i < TRANSACTIONS; i++) {
    const end = lsn + 0x200n;
    out.push(w.u8(0x42).u64(end - 0x30n).u64(time).i32(1000 + i).take());
    out.push(w.u8(0x49).i32(1).u8(0x4e).tuple(item(100_000 + i, i)).take());
    const updated = item(1 + (i % 700), i);
    if (i % 3 === 0) updated[6] = undefined; // an unchanged TOASTed value
    out.push(w.u8(0x55).i32(1).u8(0x4e).tuple(updated).take());
    if (i % 4 === 0) out.push(w.u8(0x44).i32(1).u8(0x4b).tuple([String(100_000 + i - 2), null, null, null, null, null, null]).take());
    out.push(w.u8(0x49).i32(2).u8(0x4e).tuple([String(i % 50), `event ${i}`]).take());
    out.push(w.u8(0x43).u8(0).u64(end - 0x30n).u64(end).u64(time).take());
    lsn = end;
  }
  return frame(out, framing);
}

/** CopyData messages as the two sources deliver them: binary COPY rows, or XLogData. */
function frame(messages: Buffer[], framing: 'sql' | 'stream'): Buffer[] {
  const runs: Buffer[] = [];
  let run: Buffer[] = [];
  for (const m of messages) {
    const head = Buffer.alloc(framing === 'sql' ? 11 : 30);
    head.write('d', 0);
    head.writeInt32BE(head.length - 1 + m.length, 1);
    if (framing === 'sql') {
      head.writeInt16BE(1, 5);
      head.writeInt32BE(m.length, 7);
    } else head.write('w', 5);
    run.push(head, m);
    if (run.length >= 512) {
      runs.push(Buffer.concat(run));
      run = [];
    }
  }
  if (run.length > 0) runs.push(Buffer.concat(run));
  return runs;
}

class SyntheticStream implements ChangeStream {
  private left: Buffer[];
  constructor(
    runs: Buffer[],
    private readonly framing: 'sql' | 'stream',
  ) {
    this.left = runs;
  }
  read(): Promise<Buffer[]> {
    // A few runs per read, as a socket delivers them, so the loop's commits interleave.
    const some = this.left.slice(0, 8);
    this.left = this.left.slice(8);
    return Promise.resolve(some);
  }
  decode(run: Buffer, offset: number): StreamEvent | undefined {
    return this.framing === 'sql' ? decodeSlotChangeRow(run, offset) : decodeStreamMessage(run, offset);
  }
  get hasPending(): boolean {
    return this.left.length > 0;
  }
  get finished(): boolean {
    return this.left.length === 0;
  }
  interrupt(): void {}
  sendStatus(): void {}
}

/** A target that accepts every statement at once: the SQL is built, counted, not sent. */
function discardingTarget(result: WarmUpResult): pg.Client {
  return {
    query: (): Promise<{ rowCount: number; rows: never[] }> => {
      result.statements++;
      return Promise.resolve({ rowCount: 0, rows: [] });
    },
  } as unknown as pg.Client;
}

function planned(table: string, columns: Column[]): PlannedTable {
  return {
    source: { schema: SCHEMA, table },
    target: { schema: SCHEMA, table },
    columns: columns.map((c) => ({ source: c.name, target: c.name, removed: false })),
    loadOrder: 0,
    filters: [],
  };
}

async function replay(stream: SyntheticStream, batchApply: boolean, result: WarmUpResult): Promise<void> {
  const target = discardingTarget(result);
  const tables = new Map([
    ['items', { plan: planned('items', ITEMS), columns: ITEMS }],
    ['events', { plan: planned('events', EVENTS), columns: EVENTS }],
  ]);
  const relations = new Relations(
    target,
    { plan: (_schema, table) => tables.get(table)?.plan, replan: () => Promise.resolve(undefined) },
    {
      take: (_db, _schema, table) => {
        const t = tables.get(table)!.columns;
        return Promise.resolve({ columns: t.map((c) => ({ name: c.name, type: c.type })), primaryKey: t.filter((c) => c.key).map((c) => c.name) });
      },
    },
  );
  const applier = new Applier(target, {
    taskName: 'warm-up',
    controlTables: controlTables(undefined),
    errors: new ErrorPolicy(applyPolicies(defaultTaskSettings().ErrorBehavior)),
    chunkRows: 5_000,
    onTableSuspended: () => undefined,
  });
  const session = new CdcSession({
    stream,
    applier,
    relations,
    skipBefore: 0n as Lsn,
    lenientBefore: 0n,
    tableSkipBefore: new Map(),
    startSeq: 0,
    batchApply,
    batchRows: 5_000,
    batchTimeoutMs: 60_000,
    minTransactionSize: 1_000,
    commitTimeoutMs: 60_000,
    maxRowsWhileCommitting: 7_500,
    onCommit: (c) => {
      for (const t of c.counts) result.changes += t.inserts + t.updates + t.deletes;
    },
    onTick: () => undefined,
  });
  await session.run();
}
