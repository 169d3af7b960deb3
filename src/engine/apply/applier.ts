/**
 * Applies source row changes to a PostgreSQL target, set-based, with the recovery checkpoint in
 * the same transaction.
 *
 * The caller (src/engine/cdc) feeds changes in source order and decides where target
 * transactions end: after every source transaction (transactional apply) or after many
 * (BatchApplyEnabled). Either way pending changes are netted per key and applied in chunks of a
 * few thousand rows (`flush()`), so a huge source transaction never sits in memory: its chunks are
 * applied inside one still-open target transaction, which commits with the source commit.
 *
 * Each chunk runs under a savepoint. When a set-based statement fails (bad value, constraint) or
 * meets an apply conflict (an UPDATE or, unless ApplyErrorDeletePolicy is IGNORE_RECORD, a DELETE
 * that misses rows; unless ApplyErrorInsertPolicy is INSERT_RECORD, an INSERT whose key exists,
 * found by `ON CONFLICT DO NOTHING` inserting fewer rows than it had), the chunk is rolled back to
 * the savepoint and replayed one row at a time,
 * each under its own savepoint, so the one bad row goes to awsdms_apply_exceptions and the task
 * follows ErrorBehavior, while the good rows still apply.
 *
 * The apply session runs with `session_replication_role = replica`, as PostgreSQL's own
 * subscriber does: foreign keys and user triggers do not fire, so a batch touching tables linked by
 * (even non-deferrable) foreign keys can be applied in any order; the source already enforced
 * them. `SET CONSTRAINTS ALL DEFERRED` would not help non-deferrable constraints.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { classifyPostgresError } from '../../connectors/postgres/errors.js';
import type { Lsn } from '../../model/lsn.js';
import type { ControlTables, TxnPhase } from '../control-tables.js';
import { insertApplyException, txnStateUpsertLiteralSql } from '../control-tables.js';
import type { ApplyTable, Row } from './apply-table.js';
import { keyOf, NetChanges } from './net-changes.js';
import { deleteOneSql, deleteSql, describeStatement, insertSql, setColumns, updateOneSql, updateSql, upsertSql } from './statements.js';
import type { ConflictOp, Decision, ErrorPolicy, RowPolicy } from './error-policy.js';

export interface TableCounts {
  table: ApplyTable;
  inserts: number;
  updates: number;
  deletes: number;
  ddls: number;
}

/** A failure that stops the task (STOP_TASK policies, or an error no policy covers). */
export class FatalApplyError extends Error {}

/** A set-based statement that touched fewer rows than it had (an apply conflict): replayed row by row to find them. */
class MissingRowsError extends Error {}

/** A change of a key-less table; all three fields always present (one object shape, see NetChanges). */
type OrderedOp = { op: 'insert'; row: Row; match: undefined } | { op: 'update'; row: Row; match: Row } | { op: 'delete'; row: undefined; match: Row };

/** Both fields are always present (one undefined), so every Pending has the same object shape. */
interface Pending {
  table: ApplyTable;
  /** Keyed tables: net changes. */
  net: NetChanges | undefined;
  /** Key-less tables: changes in order (they cannot be netted). */
  ordered: OrderedOp[] | undefined;
}

export interface ApplierOptions {
  taskName: string;
  controlTables: ControlTables;
  /** ErrorBehavior: the policies and the escalation counts (kept by the task across applier instances). */
  errors: ErrorPolicy;
  /** Rows per set-based chunk (2-5k measured best here). */
  chunkRows: number;
  /**
   * Called once per suspended table, on the apply connection's turn: what it writes to the target
   * through that connection joins the open transaction, so it is durable exactly when the
   * checkpoint passing the skipped change is.
   */
  onTableSuspended(table: ApplyTable, reason: string): Promise<void> | void;
}

const STATEMENT_CACHE_SIZE = 200;
/**
 * Pending rows are sent before the commit only past this many chunks: the memory bound for a
 * source transaction bigger than a batch. Batches end at about one chunk (the session commits
 * at its batch size), so a normal batch goes out whole in the single-round-trip commit instead of
 * being flushed through separate statements just before it (measured: 6-8 round trips per batch
 * down to 1).
 */
const FLUSH_CHUNKS = 2;
/**
 * Pending rows are also sent once their values add up to this many characters: with wide rows
 * (large text, bytea, JSON) the row-count bound alone would let a source transaction of a few
 * thousand rows take gigabytes here. Big rows then go in smaller chunks; narrow rows never reach it.
 */
export const FLUSH_CHARS = 8 * 1024 * 1024;

/** Characters of a row's values (UTF-16 code units; bytes for ASCII): the memory measure of pending rows. */
function rowBytes(row: Row): number {
  let n = 0;
  for (let i = 0; i < row.length; i++) {
    const v = row[i];
    if (typeof v === 'string') n += v.length;
  }
  return n;
}

export class Applier {
  private pending = new Map<string, Pending>();
  /** The overlapped commit of the previous batch (see commit()); it never rejects, failures go to inflightError. */
  private inflight: Promise<void> | undefined;
  private inflightError: unknown;
  private pendingRows = 0;
  private pendingValueChars = 0;
  private inTxn = false;
  private counts = new Map<string, TableCounts>();
  private readonly statementNames = new Map<string, string>();
  readonly suspended = new Set<string>();
  /**
   * Set while replaying changes over a full load resumed from a later snapshot: an UPDATE that
   * finds no row inserts its new image (unchanged TOAST columns NULL; a later change in the replay
   * fixes them), as the full load's convergence invariant requires.
   */
  lenient = false;
  /** ApplyErrorInsertPolicy INSERT_RECORD: an insert overwrites an existing row (no conflict check). */
  private readonly insertsOverwrite: boolean;
  /** ApplyErrorDeletePolicy IGNORE_RECORD without ApplyErrorEscalationCount: a delete that finds no row needs no check. */
  private readonly deletesMayMiss: boolean;

  constructor(
    private readonly db: pg.Client,
    private readonly opts: ApplierOptions,
  ) {
    this.insertsOverwrite = opts.errors.policies.insertExisting === 'INSERT_RECORD';
    this.deletesMayMiss = opts.errors.policies.deleteMissing === 'IGNORE_RECORD' && opts.errors.policies.applyEscalation.count === 0;
  }

  /** Session settings for the apply connection (see the module comment for replication_role). */
  async init(): Promise<void> {
    // A commit we report to the source as flushed must be durable on the target.
    // Batches join an unnest(...) of a few thousand keys to the table; the planner, which guesses
    // 100 rows for unnest, otherwise picks a hash join over a full scan of the table (37 ms instead
    // of 10 ms for 1,250 keys into 100k rows, and linear in the table size). This session only runs
    // apply statements, so nested loops over the primary key index are always the right plan.
    await this.db.query(
      'SET synchronous_commit = on; SET statement_timeout = 0; SET enable_hashjoin = off; SET enable_mergejoin = off; SET standard_conforming_strings = on',
    );
    try {
      await this.db.query('SET session_replication_role = replica');
    } catch {
      // Not a superuser: FKs stay on; netted batches are then applied deletes-first per table,
      // which is right for most schemas but can fail on cross-table FK order.
    }
  }

  /** Rows waiting to be applied (not yet sent to the target). */
  get pendingCount(): number {
    return this.pendingRows;
  }

  /** Characters of the pending rows' values (flushed at FLUSH_CHARS: at most that plus one row). */
  get pendingChars(): number {
    return this.pendingValueChars;
  }

  /** True when the target transaction holds work (sent or pending). */
  get dirty(): boolean {
    return this.inTxn || this.pendingRows > 0 || this.counts.size > 0;
  }

  isSuspended(t: ApplyTable): boolean {
    return this.suspended.has(t.qualified);
  }

  insert(t: ApplyTable, row: Row): Promise<void> | undefined {
    if (this.isSuspended(t)) return undefined;
    const p = this.slot(t);
    if (p.net) p.net.insert(row, this.lenient || this.insertsOverwrite);
    else p.ordered!.push({ op: 'insert', row, match: undefined });
    this.count(t).inserts++;
    return this.added(row);
  }

  /**
   * `oldKey`: the old row or old key (from the K/O tuple), when the source sent one; `match`:
   * for key-less tables, the columns identifying the row (undefined = not compared).
   */
  update(t: ApplyTable, row: Row, oldKey: Row | undefined, match: Row | undefined): Promise<void> | undefined {
    if (this.isSuspended(t)) return undefined;
    this.count(t).updates++;
    const p = this.slot(t);
    if (p.net) {
      if (oldKey && keyOf(oldKey, t.keyIdx) !== keyOf(row, t.keyIdx)) return this.moveKey(t, row, oldKey);
      p.net.update(row);
      return this.added(row);
    }
    if (!match) return this.tableErrorInOrder(t, `table ${t.qualified} has no primary key on the target and the source sent no old row; updates need REPLICA IDENTITY FULL on the source table`);
    p.ordered!.push({ op: 'update', row, match });
    return this.added(row);
  }

  delete(t: ApplyTable, keyOrOld: Row | undefined): Promise<void> | undefined {
    if (this.isSuspended(t)) return undefined;
    this.count(t).deletes++;
    const p = this.slot(t);
    if (!keyOrOld) return this.tableErrorInOrder(t, `the source sent no key for a delete on ${t.qualified}`);
    if (p.net) p.net.delete(keyOrOld, this.lenient || this.deletesMayMiss);
    else p.ordered!.push({ op: 'delete', row: undefined, match: keyOrOld });
    return this.added(keyOrOld);
  }

  /** TRUNCATE: everything pending is applied first, so order is kept. */
  async truncate(tables: ApplyTable[]): Promise<void> {
    const live = tables.filter((t) => !this.isSuspended(t));
    if (live.length === 0) return;
    await this.settle();
    await this.flush();
    await this.begin();
    await this.db.query(`TRUNCATE ${live.map((t) => t.qualified).join(', ')}`);
    for (const t of live) this.count(t).ddls++;
  }

  /** A DDL statement (e.g. ADD COLUMN) applied in order, inside the current target transaction. */
  async ddl(t: ApplyTable, sql: string): Promise<void> {
    await this.settle();
    await this.flush();
    await this.begin();
    await this.db.query(sql);
    this.count(t).ddls++;
  }

  /** Applies pending changes inside the open target transaction. */
  async flush(): Promise<void> {
    await this.settle();
    if (this.pendingRows === 0) return;
    const work = [...this.pending.values()];
    this.pending = new Map();
    this.pendingRows = 0;
    this.pendingValueChars = 0;
    // Round trips dominate small transactions, so the BEGIN / savepoint bookkeeping rides along
    // with neighbouring statements (simple-query batches) instead of costing its own trips.
    const release = this.chunkOpen ? 'RELEASE SAVEPOINT opendms_chunk; ' : '';
    await this.db.query(this.inTxn ? `${release}SAVEPOINT opendms_chunk` : 'BEGIN; SAVEPOINT opendms_chunk');
    this.inTxn = true;
    this.chunkOpen = true;
    try {
      for (const p of work) await this.applySet(p);
    } catch (err) {
      if (classifyPostgresError(err).retryable && !(err instanceof MissingRowsError)) throw err;
      await this.db.query('ROLLBACK TO SAVEPOINT opendms_chunk');
      for (const p of work) await this.applyOneByOne(p);
    }
  }

  /**
   * Commits the target transaction with the checkpoint row for `position` (commit end-LSN of the
   * last source transaction included). Returns the per-table counts it made durable.
   */
  async commit(
    position: { checkpoint: string; lsn: Lsn; seq: number; phase: TxnPhase; commitTime: Date | null },
    onDurable: (counts: TableCounts[]) => void,
  ): Promise<void> {
    await this.settle();
    const upsert = txnStateUpsertLiteralSql(this.opts.controlTables, this.opts.taskName, position);
    const inline = this.inlineBatch(upsert);
    if (inline) {
      const counts = this.takeCounts();
      // Lenient replay decides per row on failure from `lenient`, which the caller changes per
      // source transaction: such batches are not overlapped with the next one.
      const overlap = !this.lenient;
      const sent = this.runInline(inline, upsert);
      if (!overlap) return sent.then(() => onDurable(counts));
      this.inflight = sent.then(
        () => {
          // Cleared before the callback, so what it wakes sees no commit in flight.
          this.inflight = undefined;
          try {
            onDurable(counts);
          } catch (err) {
            this.inflightError = err;
          }
        },
        (err: unknown) => {
          this.inflight = undefined;
          this.inflightError = err;
        },
      );
      return;
    }
    await this.flush();
    const release = this.chunkOpen ? 'RELEASE SAVEPOINT opendms_chunk; ' : '';
    await this.db.query(this.inTxn ? `${release}${upsert}; COMMIT` : `BEGIN; ${upsert}; COMMIT`);
    this.chunkOpen = false;
    this.inTxn = false;
    onDurable(this.takeCounts());
  }

  /**
   * True while a commit is on its way to the target (not yet known to be durable), and for good
   * once one failed: nothing may then be confirmed to the source as idle.
   */
  get committing(): boolean {
    return this.inflight !== undefined || this.inflightError !== undefined;
  }

  /** Waits for the commit in flight, if any; throws its failure (and keeps throwing it: the session must end). */
  async settle(): Promise<void> {
    if (this.inflight) await this.inflight;
    this.throwIfFailed();
  }

  /** Throws the failure of an overlapped commit, once it is known. */
  throwIfFailed(): void {
    if (this.inflightError !== undefined) throw this.inflightError;
  }

  /** Drops everything not committed (stop in the middle of a source transaction, or an error). */
  async rollback(): Promise<void> {
    await this.settle();
    this.pending = new Map();
    this.pendingRows = 0;
    this.pendingValueChars = 0;
    this.counts = new Map();
    this.chunkOpen = false;
    if (this.inTxn) {
      this.inTxn = false;
      await this.db.query('ROLLBACK');
    }
  }

  // ---- internals ----

  private slot(t: ApplyTable): Pending {
    let p = this.pending.get(t.qualified);
    if (!p) {
      p = t.keyIdx.length > 0 ? { table: t, net: new NetChanges(t.keyIdx), ordered: undefined } : { table: t, net: undefined, ordered: [] };
      this.pending.set(t.qualified, p);
    }
    return p;
  }

  private count(t: ApplyTable): TableCounts {
    let c = this.counts.get(t.qualified);
    if (!c) {
      c = { table: t, inserts: 0, updates: 0, deletes: 0, ddls: 0 };
      this.counts.set(t.qualified, c);
    }
    return c;
  }

  private added(row: Row): Promise<void> | undefined {
    this.pendingRows++;
    this.pendingValueChars += rowBytes(row);
    return this.pendingRows >= this.opts.chunkRows * FLUSH_CHUNKS || this.pendingValueChars >= FLUSH_CHARS ? this.flush() : undefined;
  }

  private async begin(): Promise<void> {
    if (this.inTxn) return;
    await this.db.query('BEGIN');
    this.inTxn = true;
  }

  /** Whether a chunk savepoint is open (released lazily with the next statement batch). */
  private chunkOpen = false;

  private async moveKey(t: ApplyTable, row: Row, oldKey: Row): Promise<void> {
    // A key change cannot be netted (two keys); apply what is pending, then move the row.
    await this.settle();
    await this.flush();
    await this.begin();
    const match: Row = t.columns.map((_, i) => (t.keyIdx.includes(i) ? oldKey[i] : undefined));
    await this.runOne(t, 'UPDATE', row, () => updateOneSql(t, row, match), true);
  }

  private async run(text: string, values: unknown[]): Promise<number> {
    let name = this.statementNames.get(text);
    if (!name && this.statementNames.size < STATEMENT_CACHE_SIZE) {
      // Named after the text: a later Applier on the same connection reuses the same names.
      name = `opendms_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
      this.statementNames.set(text, name);
    }
    const res = await this.db.query(name ? { name, text, values } : { text, values });
    return res.rowCount ?? 0;
  }

  private async applySet(p: Pending): Promise<void> {
    const t = p.table;
    if (this.isSuspended(t)) return;
    if (p.ordered) {
      await this.applyOrdered(t, p.ordered, false);
      return;
    }
    for (const st of setStatements(p)) {
      const n = await this.run(st.text, st.values);
      if (st.expect > 0 && n < st.expect) throw new MissingRowsError(`${st.expect - n} rows of ${t.qualified} in conflict with the target`);
    }
  }

  /**
   * A whole target transaction in ONE round trip: BEGIN, the set-based statements with their
   * arrays inlined as literals, the checkpoint upsert and COMMIT, as one simple-query batch. Used
   * when nothing was sent yet and every pending table is keyed or append-only (every small source
   * transaction in transactional mode, most batches). A statement with an apply conflict (see the
   * module comment) makes the batch fail on purpose (division by zero in its row-count check), so
   * that, as with any error, the transaction is rolled back and replayed row by row to find the
   * offending rows.
   * Takes the pending work (synchronously, so the caller can collect the next batch meanwhile);
   * undefined when it cannot be used (the caller takes the normal path).
   */
  private inlineBatch(upsert: string): { text: string; work: Pending[] } | undefined {
    const work = [...this.pending.values()].filter((p) => !this.isSuspended(p.table));
    if (this.inTxn || work.some((p) => p.ordered && p.ordered.some((o) => o.op !== 'insert'))) return undefined;
    const parts = ['BEGIN'];
    for (const p of work) {
      for (const st of p.net ? setStatements(p) : appendStatements(p)) {
        const text = inlineArrays(p.table, st);
        parts.push(st.expect === 0 ? text : `WITH _w AS (${text} RETURNING 1) SELECT 1 / (CASE WHEN count(*) = ${st.expect} THEN 1 ELSE 0 END) FROM _w`);
      }
    }
    parts.push(upsert, 'COMMIT');
    this.pending = new Map();
    this.pendingRows = 0;
    this.pendingValueChars = 0;
    return { text: parts.join(';\n'), work };
  }

  /**
   * Runs an inline batch; on a data error, replays its work row by row in a new transaction.
   * While it runs, the caller may only add changes to memory (every method that touches the
   * target first waits for it with settle()), so inTxn and the savepoints are this batch's.
   */
  private async runInline(batch: { text: string; work: Pending[] }, upsert: string): Promise<void> {
    try {
      await this.db.query(batch.text);
      return;
    } catch (err) {
      if (classifyPostgresError(err).retryable && (err as { code?: string }).code !== '22012') throw err;
      await this.db.query('ROLLBACK');
    }
    await this.begin();
    for (const p of batch.work) await this.applyOneByOne(p);
    await this.db.query(`${upsert}; COMMIT`);
    this.chunkOpen = false;
    this.inTxn = false;
  }

  private takeCounts(): TableCounts[] {
    const counts = [...this.counts.values()];
    this.counts = new Map();
    return counts;
  }

  /** Key-less table: consecutive inserts go in one statement, updates/deletes one by one, in order. */
  private async applyOrdered(t: ApplyTable, ops: OrderedOp[], oneByOne: boolean): Promise<void> {
    const all = t.columns.map((_, i) => i);
    let inserts: Row[] = [];
    const flushInserts = async () => {
      if (inserts.length === 0) return;
      const rows = inserts;
      inserts = [];
      if (!oneByOne) await this.run(upsertSql(t), columnsOf(rows, all));
      else for (const row of rows) await this.runOne(t, 'INSERT', row, () => ({ text: upsertSql(t), values: columnsOf([row], all) }), false);
    };
    for (const op of ops) {
      if (this.isSuspended(t)) return;
      if (op.op === 'insert') {
        inserts.push(op.row);
        continue;
      }
      await flushInserts();
      if (op.op === 'update') {
        if (!oneByOne) {
          const q = updateOneSql(t, op.row, op.match);
          if ((await this.db.query(q.text, q.values)).rowCount === 0) throw new MissingRowsError(`an updated row of ${t.qualified} was not found on the target`);
        } else await this.runOne(t, 'UPDATE', op.row, () => updateOneSql(t, op.row, op.match), true);
      } else {
        const q = deleteOneSql(t, op.match);
        const mustMatch = !this.deletesMayMiss && !this.lenient;
        if (oneByOne) await this.runOne(t, 'DELETE', op.match, () => q, mustMatch);
        else if ((await this.db.query(q.text, q.values)).rowCount === 0 && mustMatch) throw new MissingRowsError(`a deleted row of ${t.qualified} was not found on the target`);
      }
    }
    await flushInserts();
  }

  private async applyOneByOne(p: Pending): Promise<void> {
    const t = p.table;
    if (p.ordered) {
      await this.applyOrdered(t, p.ordered, true);
      return;
    }
    const all = t.columns.map((_, i) => i);
    const entries = [...p.net!.entries.values()];
    // Same order as the set-based path: deletes, upserts, updates.
    for (const op of ['delete', 'upsert', 'update'] as const) {
      for (const e of entries) {
        if (e.op !== op || this.isSuspended(t)) continue;
        if (op === 'delete') await this.runOne(t, 'DELETE', e.row, () => ({ text: deleteSql(t), values: columnsOf([e.row], t.keyIdx) }), e.tolerant !== true);
        else if (op === 'upsert') {
          const text = e.tolerant ? upsertSql(t) : insertSql(t);
          await this.runOne(t, 'INSERT', e.row, () => ({ text, values: columnsOf([e.row], all) }), e.tolerant !== true);
        } else {
          const set = setColumns(t, e.row, false);
          if (set.length > 0) await this.runOne(t, 'UPDATE', e.row, () => ({ text: updateSql(t, set), values: columnsOf([e.row], [...t.keyIdx, ...set]) }), true);
        }
      }
    }
  }

  /**
   * One row under its own savepoint; a refused row goes through ErrorBehavior, and so does a row
   * that `mustMatch` but touched nothing (an apply conflict, see conflict()).
   */
  private async runOne(
    t: ApplyTable,
    op: 'INSERT' | 'UPDATE' | 'DELETE',
    row: Row,
    build: () => { text: string; values: unknown[] },
    mustMatch: boolean,
  ): Promise<void> {
    if (this.isSuspended(t)) return;
    await this.db.query('SAVEPOINT opendms_row');
    let affected: number;
    try {
      const q = build();
      affected = (await this.db.query(q.text, q.values)).rowCount ?? 0;
    } catch (err) {
      const c = classifyPostgresError(err);
      if (c.retryable) throw err;
      await this.db.query('ROLLBACK TO SAVEPOINT opendms_row');
      const isData = c.code !== undefined && (c.code.startsWith('22') || c.code.startsWith('23'));
      if (isData) await this.rowError(t, op, row, c.message, this.opts.errors.dataError(t.qualified));
      else await this.tableError(t, `${t.qualified}: ${c.message}`);
      return;
    }
    await this.db.query('RELEASE SAVEPOINT opendms_row');
    if (mustMatch && affected === 0) await this.conflict(t, op, row);
  }

  /**
   * An apply conflict: an INSERT whose key exists, an UPDATE or DELETE that found no row. While
   * replaying over a resumed full load (`lenient`), an UPDATE inserts its row (the convergence
   * invariant); otherwise ApplyErrorInsert/Update/DeletePolicy and the escalation decide.
   */
  private async conflict(t: ApplyTable, op: ConflictOp, row: Row): Promise<void> {
    const all = t.columns.map((_, i) => i);
    const upsert = () => this.runOne(t, 'INSERT', row, () => ({ text: upsertSql(t), values: columnsOf([row], all) }), false);
    if (op === 'UPDATE' && this.lenient) return upsert();
    const d = this.opts.errors.conflict(t.qualified, op);
    if (d.policy === 'UPDATE_RECORD') {
      // Only a complete row can be inserted (an unchanged TOASTed value is unknown).
      if (!row.includes(undefined)) await upsert();
      return;
    }
    if (d.policy === 'INSERT_RECORD') return upsert();
    const message =
      op === 'INSERT'
        ? 'duplicate key: a row with this key already exists on the target'
        : `0 rows affected: the row to ${op === 'UPDATE' ? 'update' : 'delete'} was not found on the target`;
    await this.rowError(t, op, row, message, { policy: d.policy, setting: d.setting });
  }

  private async rowError(t: ApplyTable, op: 'INSERT' | 'UPDATE' | 'DELETE', row: Row, message: string, d: Decision<RowPolicy>): Promise<void> {
    const policy = d.policy;
    if (policy === 'IGNORE_RECORD') return;
    await insertApplyException(this.db, this.opts.controlTables, {
      taskName: this.opts.taskName,
      tableOwner: t.schema,
      tableName: t.table,
      statement: describeStatement(t, op, row),
      error: message,
    });
    if (policy === 'STOP_TASK') throw new FatalApplyError(`could not apply a change to ${t.qualified}: ${message} (${d.setting} STOP_TASK)`);
    if (policy === 'SUSPEND_TABLE') await this.suspend(t, message);
  }

  /**
   * A table error met while a change is added (not while applying): what the suspension writes
   * waits for the commit in flight and joins the open target transaction, so it is durable
   * exactly with the checkpoint that passes the change.
   */
  private async tableErrorInOrder(t: ApplyTable, message: string): Promise<void> {
    await this.settle();
    await this.begin();
    await this.tableError(t, message);
  }

  private async tableError(t: ApplyTable, message: string): Promise<void> {
    const d = this.opts.errors.tableError();
    if (d.policy === 'STOP_TASK') throw new FatalApplyError(`${message} (${d.setting} STOP_TASK)`);
    await this.suspend(t, message);
  }

  private async suspend(t: ApplyTable, reason: string): Promise<void> {
    if (this.suspended.has(t.qualified)) return;
    this.suspended.add(t.qualified);
    const p = this.pending.get(t.qualified);
    if (p) {
      this.pendingRows -= p.net ? p.net.entries.size : p.ordered!.length;
      this.pending.delete(t.qualified);
    }
    await this.opts.onTableSuspended(t, reason);
  }
}

/** A set-based statement: one text[] per parameter, the values of `columns[n]`; `expect` = rows an UPDATE must find. */
interface SetStatement {
  text: string;
  values: (string | null)[][];
  columns: number[];
  /** Rows it must touch (0: no check). */
  expect: number;
}

function statement(text: string, rows: Row[], columns: number[], expect: number): SetStatement {
  return { text, values: columnsOf(rows, columns), columns, expect };
}

/** A keyed table's net changes, sorted into the statements that apply them. */
interface NetGroups {
  deletes: Row[];
  strictDeletes: Row[];
  upserts: Row[];
  inserts: Row[];
  /** Updates by the columns they set. */
  updates: Map<string, { set: number[]; rows: Row[] }>;
}

/**
 * The one loop over every pending row, kept apart from the SQL building around it: V8 compiles a
 * function with a hot loop while it runs, and the whole of setStatements (SQL builders inlined,
 * recompiled after each new object shape) took ~100x the compile time of this loop alone (V8's
 * --trace-opt, first catch-up of a process).
 */
function groupNetChanges(t: ApplyTable, net: NetChanges): NetGroups {
  const g: NetGroups = { deletes: [], strictDeletes: [], upserts: [], inserts: [], updates: new Map() };
  for (const e of net.entries.values()) {
    if (e.op === 'delete') (e.tolerant ? g.deletes : g.strictDeletes).push(e.row);
    else if (e.op === 'upsert') (e.tolerant ? g.upserts : g.inserts).push(e.row);
    else {
      // Updates are grouped by the columns they set. Most send every column (no unchanged
      // TOASTed value): one group, found without work per row.
      const mask = e.row.includes(undefined) ? sentColumnsMask(e.row) : '';
      let group = g.updates.get(mask);
      if (!group) g.updates.set(mask, (group = { set: setColumns(t, e.row, false), rows: [] }));
      if (group.set.length > 0) group.rows.push(e.row);
    }
  }
  return g;
}

/**
 * The set-based statements for a keyed table's net changes: deletes, upserts/inserts, updates per
 * column set. `tolerant` entries (see NetEntry) go in statements that cannot conflict.
 */
function setStatements(p: Pending): SetStatement[] {
  const t = p.table;
  const g = groupNetChanges(t, p.net!);
  const out: SetStatement[] = [];
  const all = allColumns(t);
  if (g.deletes.length > 0) out.push(statement(deleteSql(t), g.deletes, t.keyIdx, 0));
  // Deletes and inserts that must not conflict (ApplyErrorDeletePolicy / ApplyErrorInsertPolicy):
  // a short row count sends the chunk to the row-by-row replay, which finds the offending rows.
  if (g.strictDeletes.length > 0) out.push(statement(deleteSql(t), g.strictDeletes, t.keyIdx, g.strictDeletes.length));
  if (g.upserts.length > 0) out.push(statement(upsertSql(t), g.upserts, all, 0));
  if (g.inserts.length > 0) out.push(statement(insertSql(t), g.inserts, all, g.inserts.length));
  for (const { set, rows } of g.updates.values()) {
    if (rows.length > 0) out.push(statement(updateSql(t, set), rows, [...t.keyIdx, ...set], rows.length));
  }
  return out;
}

/** Which columns a row sends (those not undefined), as a grouping key. */
function sentColumnsMask(row: Row): string {
  let mask = '';
  for (let i = 0; i < row.length; i++) mask += row[i] === undefined ? '-' : '+';
  return mask;
}

const allColumns = (t: ApplyTable): number[] => t.columns.map((_, i) => i);

/** Key-less table holding only inserts (append-only, e.g. a history table): one multi-row insert. */
function appendStatements(p: Pending): SetStatement[] {
  const t = p.table;
  const rows: Row[] = [];
  for (const o of p.ordered!) if (o.op === 'insert') rows.push(o.row);
  return [statement(upsertSql(t), rows, allColumns(t), 0)];
}

/** Characters that need escaping inside an array element or the SQL literal around it. */
const SPECIAL = /["\\']/;

/**
 * A text[] as an SQL literal: `'{"a","b\"c",NULL}'`. Values of a `bare` column (numbers, bools,
 * UUIDs: see ApplyTable.bareValues) go as they are; every other value is quoted so nothing is
 * misread, and escaped only where it holds a quote or backslash (rare, and the test is a native
 * scan). This runs for every value of every batch: the regex replacements it replaces were ~15 %
 * of the engine's CPU in catch-up, and bare numbers make the SQL shorter for the target to parse.
 * The apply session runs with standard_conforming_strings on (init), so backslashes need no E'' form.
 */
function textArrayLiteral(values: (string | null)[], bare: boolean): string {
  if (values.length === 0) return "'{}'";
  // The usual case, in one join (one allocation): no NULL, and nothing to escape.
  let plain = true;
  for (let i = 0; i < values.length && plain; i++) {
    const v = values[i];
    plain = v !== null && v !== undefined && (bare || !SPECIAL.test(v));
  }
  if (plain) return bare ? `'{${values.join(',')}}'` : `'{"${values.join('","')}"}'`;
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) parts[i] = 'NULL';
    else if (bare) parts[i] = v;
    else if (!SPECIAL.test(v)) parts[i] = `"${v}"`;
    else parts[i] = `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/'/g, "''")}"`;
  }
  return `'{${parts.join(',')}}'`;
}

/**
 * Replaces each `$n::<type>[]` parameter with its array as a literal (for simple-query batches).
 * Only outside double quotes: a quoted identifier may hold anything, `$1::` included.
 */
function inlineArrays(t: ApplyTable, st: SetStatement): string {
  const parts = st.text.split('"');
  for (let i = 0; i < parts.length; i += 2) {
    parts[i] = parts[i]!.replace(/\$(\d+)(?=::)/g, (_, n: string) => {
      const p = Number(n) - 1;
      return textArrayLiteral(st.values[p]!, t.bareValues[st.columns[p]!] === true);
    });
  }
  return parts.join('"');
}

/** Rows -> one text[] per column in `idx` (the statements' parameters). */
function columnsOf(rows: Row[], idx: number[]): (string | null)[][] {
  const out = new Array<(string | null)[]>(idx.length);
  for (let c = 0; c < idx.length; c++) {
    const i = idx[c]!;
    const col = new Array<string | null>(rows.length);
    for (let r = 0; r < rows.length; r++) {
      const v = rows[r]![i];
      col[r] = v === undefined ? null : v;
    }
    out[c] = col;
  }
  return out;
}
