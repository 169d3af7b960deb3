/**
 * One CDC session: reads source changes from a ChangeStream (the replication stream from the
 * task's slot, or the SQL catch-up reader on a copy of it), applies each source
 * transaction to the target through the Applier, commits target transactions with the checkpoint
 * row, and confirms to the source only what the target committed.
 *
 * Positions (all LSNs):
 *   skipBefore  every source transaction whose commit record starts before it (Begin.finalLsn <
 *               skipBefore) is already on the target (it is the commit END-LSN stored in
 *               awsdms_txn_state) and is skipped: this is what makes apply exactly-once after a
 *               crash, whatever the slot re-sends.
 *   committed   commit end-LSN of the last source transaction committed on the target.
 *   idle        a keepalive's walEnd seen while no source transaction was open and nothing was
 *               waiting for the target: everything before it was either applied or not ours.
 *   flush (sent to the source) = max(committed, idle): the slot never releases WAL the target
 *               does not have.
 *
 * Target transactions end at source commit boundaries only: after each source transaction
 * (transactional apply) or, in batch mode, when the batch is big enough, old enough, or the
 * stream has nothing more queued (so a lightly loaded task has low latency and a busy one gets
 * big batches). A stop that arrives in the middle of a source transaction reads on to its commit.
 */
import type { ChangeStream, StreamEvent } from '../../connectors/postgres/change-stream.js';
import { copyDataEnd } from '../../connectors/postgres/copy-data-queue.js';
import type { Lsn } from '../../model/lsn.js';
import { maxLsn } from '../../model/lsn.js';
import type { Applier, TableCounts } from '../apply/applier.js';
import { formatCheckpoint } from '../checkpoint.js';
import type { CdcStop } from '../checkpoint.js';
import type { MappedRelation, Relations } from './relations.js';
import { identityRow, toRow } from './relations.js';
import type { RelationColumn } from '../../connectors/postgres/pgoutput.js';

export type CdcEndReason = 'stopped' | 'server_time' | 'commit_time' | 'stream_ended' | 'reached_lsn';

export interface CdcSessionOptions {
  /** Where changes come from: the replication stream, or the SQL catch-up reader (change-stream.ts). */
  stream: ChangeStream;
  applier: Applier;
  relations: Relations;
  skipBefore: Lsn;
  /**
   * Transactions before this LSN are replayed over a full load resumed from a later snapshot:
   * an UPDATE whose row is missing then inserts it instead of raising an apply error.
   */
  lenientBefore: Lsn;
  /** Per source table (`schema\u0000table`): changes of transactions before this LSN are already on the target. */
  tableSkipBefore: Map<string, Lsn>;
  startSeq: number;
  batchApply: boolean;
  /** Batch mode: commit once the target transaction holds this many changes. */
  batchRows: number;
  /** Batch mode: commit a batch at the latest after this long. */
  batchTimeoutMs: number;
  /**
   * Transactional mode: consecutive source transactions are grouped into one target transaction
   * until it holds this many changes (ChangeProcessingTuning.MinTransactionSize; 0 = one target
   * transaction per source transaction) ...
   */
  minTransactionSize: number;
  /** ... or it is this old (CommitTimeout), or the stream has nothing more queued. */
  commitTimeoutMs: number;
  /**
   * While the previous commit is still on its way to the target, a target transaction that
   * reached its size (batchRows / minTransactionSize) keeps growing up to this many changes
   * instead of waiting for it: the engine keeps decoding while the target works, and the target
   * gets bigger batches when it is the slower side.
   */
  maxRowsWhileCommitting: number;
  stopAt?: CdcStop;
  /** End once every transaction committed before this LSN is applied (StopTaskCachedChangesApplied). */
  stopAtLsn?: Lsn;
  /** Called after each target commit. */
  onCommit(c: { counts: TableCounts[]; lsn: Lsn; checkpoint: string; commitTime: Date | null }): void;
  /** Called about once a second with the live figures. */
  onTick(live: { latencySeconds: number; pendingChanges: number; lastCommitted: Lsn }): void;
}

/** Messages handled between two turns of the event loop (see run()). */
const YIELD_EVERY = 256;
/** Feedback at least this often while streaming. */
const FEEDBACK_INTERVAL_MS = 1_000;
/** After a target commit, feedback at most this often: WAL is released (and a waiting stop or move sees the position) soon after each batch. */
const COMMIT_FEEDBACK_MIN_MS = 100;

export class CdcSession {
  private stopRequested = false;
  private inTxn = false;
  private skipTxn = false;
  private txnFinal: Lsn = 0n;
  private txnHasRows = false;
  private committed: Lsn;
  private idle: Lsn = 0n;
  private received: Lsn = 0n;
  private seq: number;
  /** The last source commit with changes for the target: end-LSN and commit time (ms). */
  private lastCommit: { lsn: Lsn; timeMs: number } | undefined;
  private rowsInTarget = 0;
  private targetTxnStarted = 0;
  private lastFeedback = 0;
  private lastTick = 0;
  private lastEventAt = Date.now();
  private latencySeconds = 0;
  private endReason: CdcEndReason | undefined;
  private sinceYield = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: CdcSessionOptions) {
    this.committed = o.skipBefore;
    this.seq = o.startSeq;
  }

  /** Asks the session to end at the next source transaction boundary. */
  requestStop(): void {
    this.stopRequested = true;
    this.o.stream.interrupt();
  }

  get lastCommitted(): Lsn {
    return this.committed;
  }

  /**
   * How far the stream got: the last position received (a commit or a keepalive), at least the
   * start; inside a transaction, its commit (the source decoded up to there: what is left of it is
   * this session's to read, however large the transaction).
   */
  get receivedLsn(): Lsn {
    return maxLsn(maxLsn(this.received, this.committed), this.inTxn ? this.txnFinal : 0n);
  }

  get checkpointSeq(): number {
    return this.seq;
  }

  async run(): Promise<{ reason: CdcEndReason; lsn: Lsn }> {
    // Wakes the loop while the stream is quiet, for feedback, stop positions and statistics. The
    // status also goes out from here while the loop waits on the target (a lock, a slow commit):
    // a walsender that hears nothing for wal_sender_timeout (60 s) ends the connection.
    const stream = this.o.stream;
    this.timer = setInterval(() => {
      stream.interrupt();
      if (Date.now() - this.lastFeedback >= FEEDBACK_INTERVAL_MS) this.sendFeedback(false);
    }, 250);
    try {
      while (!this.endReason) {
        const runs = await stream.read();
        this.o.applier.throwIfFailed();
        // read() returns [] when interrupted (timer, stop) or once the stream ended; it throws on failure.
        if (runs.length === 0 && stream.finished) this.endReason = 'stream_ended';
        for (let i = 0; i < runs.length && !this.endReason; i++) {
          const run = runs[i]!;
          for (let o = 0; o < run.length && !this.endReason; ) {
            const event = stream.decode(run, o);
            o = copyDataEnd(run, o);
            if (!event) continue;
            // Row changes are handled synchronously; only what needs the target returns a promise.
            const p = this.handle(event);
            if (p) await p;
            else if (++this.sinceYield >= YIELD_EVERY) {
              // Let the event loop read the socket now and then: if it sat unread for a whole
              // batch, the walsender would block on a full socket instead of decoding ahead.
              this.sinceYield = 0;
              await new Promise<void>((resolve) => setImmediate(resolve));
            }
          }
        }
        if (!this.inTxn && !this.endReason) await this.maybeCommit(false);
        this.checkServerTime();
        if (this.stopRequested && !this.inTxn && !this.endReason) this.endReason = 'stopped';
        this.periodic();
      }
      if (!this.inTxn) await this.commitIfDirty();
      else await this.o.applier.rollback();
      await this.o.applier.settle();
      this.sendFeedback(false);
      return { reason: this.endReason, lsn: this.committed };
    } catch (err) {
      // Whatever the failure, the commit in flight settles before the caller reads the target's
      // checkpoint to resume (it must not be re-applied by a retry while still committing).
      await this.o.applier.settle().catch(() => undefined);
      throw err;
    } finally {
      clearInterval(this.timer);
    }
  }

  /** One message; returns a promise only when it must wait for the target (commit, relation, DDL, a flush). */
  private handle(m: StreamEvent): Promise<void> | undefined {
    switch (m.tag) {
      case 'keepalive':
        this.received = maxLsn(this.received, m.walEnd);
        if (this.quiet) {
          this.idle = maxLsn(this.idle, m.walEnd);
          if (this.o.stopAt?.kind === 'commit_time' && m.serverTime >= this.o.stopAt.at) this.endReason = 'commit_time';
          if (this.o.stopAtLsn !== undefined && m.walEnd >= this.o.stopAtLsn) this.endReason = 'reached_lsn';
        }
        if (m.replyRequested) this.sendFeedback(false);
        return undefined;
      case 'begin':
        this.lastEventAt = Date.now();
        this.skipTxn = m.finalLsn < this.o.skipBefore;
        if (!this.skipTxn && this.o.stopAtLsn !== undefined && m.finalLsn >= this.o.stopAtLsn) {
          this.endReason = 'reached_lsn';
          return undefined;
        }
        if (!this.skipTxn && this.o.stopAt?.kind === 'commit_time' && m.commitTimeMs > this.o.stopAt.at.getTime()) {
          // This transaction is past the stop point: end before it.
          this.endReason = 'commit_time';
          return undefined;
        }
        this.inTxn = true;
        this.txnHasRows = false;
        this.txnFinal = m.finalLsn;
        return this.setLenient(m.finalLsn < this.o.lenientBefore);
      case 'commit':
        this.received = maxLsn(this.received, m.endLsn);
        this.inTxn = false;
        if (this.skipTxn) return undefined;
        if (this.txnHasRows) {
          if (this.lastCommit) {
            this.lastCommit.lsn = m.endLsn;
            this.lastCommit.timeMs = m.commitTimeMs;
          } else this.lastCommit = { lsn: m.endLsn, timeMs: m.commitTimeMs };
        } else if (!this.o.applier.dirty && !this.o.applier.committing) {
          // Nothing of ours in it: the position is safe to confirm.
          this.idle = maxLsn(this.idle, m.endLsn);
        }
        if (this.stopRequested) {
          this.endReason = 'stopped';
          return undefined;
        }
        return this.maybeCommit(true);
      case 'relation':
        if (this.o.relations.isUnchanged(m.relationId, m.schema, m.name, m.columns)) return undefined;
        return this.onRelation(m.relationId, m.schema, m.name, m.columns);
      case 'insert': {
        const rel = this.relation(m.relationId);
        if (!rel) return undefined;
        this.row();
        return this.o.applier.insert(rel.apply, toRow(rel, m.newTuple));
      }
      case 'update': {
        const rel = this.relation(m.relationId);
        if (!rel) return undefined;
        this.row();
        const row = toRow(rel, m.newTuple);
        const old = m.oldTuple ?? m.keyTuple;
        const oldRow = old ? toRow(rel, old) : undefined;
        // Only a table without a key on the target locates rows by their identity columns.
        const match =
          rel.apply.keyIdx.length > 0 ? undefined : m.oldTuple ? identityRow(rel, m.oldTuple, true) : identityRow(rel, m.keyTuple ?? m.newTuple, false);
        return this.o.applier.update(rel.apply, row, oldRow, match);
      }
      case 'delete': {
        const rel = this.relation(m.relationId);
        if (!rel) return undefined;
        this.row();
        const old = m.oldTuple ?? m.keyTuple;
        const keyed = rel.apply.keyIdx.length > 0;
        return this.o.applier.delete(rel.apply, old ? (keyed ? toRow(rel, old) : identityRow(rel, old, m.oldTuple !== undefined)) : undefined);
      }
      case 'truncate': {
        if (this.skipTxn) return undefined;
        const rels = m.relationIds.map((id) => this.o.relations.get(id)).filter((r): r is MappedRelation => !!r);
        if (rels.length === 0) return undefined;
        this.txnHasRows = true;
        return this.o.applier.truncate(rels.map((r) => r.apply));
      }
      default:
        return undefined; // origin, type, message: nothing to apply
    }
  }

  /**
   * The applier judges a whole target transaction's conflicts by one `lenient` flag, so a target
   * transaction never mixes replay over a resumed full load with normal apply: at the boundary the
   * pending one is committed first.
   */
  private setLenient(lenient: boolean): Promise<void> | undefined {
    if (lenient === this.o.applier.lenient) return undefined;
    if (!this.o.applier.dirty || !this.lastCommit) {
      this.o.applier.lenient = lenient;
      return undefined;
    }
    return this.commit().then(() => {
      this.o.applier.lenient = lenient;
    });
  }

  private async onRelation(relationId: number, schema: string, name: string, columns: RelationColumn[]): Promise<void> {
    // Relations reads the target's catalogue on the apply connection.
    await this.o.applier.settle();
    const change = await this.o.relations.onRelation(relationId, schema, name, columns);
    if (change.relation && change.ddl.length > 0) {
      for (const sql of change.ddl) await this.o.applier.ddl(change.relation.apply, sql);
      this.txnHasRows = true;
    }
  }

  private relation(id: number): MappedRelation | undefined {
    if (this.skipTxn) return undefined;
    const rel = this.o.relations.get(id);
    if (rel === undefined) throw new Error(`pgoutput: change for relation ${id} before its Relation message`);
    if (rel && this.o.tableSkipBefore.size > 0) {
      const before = this.o.tableSkipBefore.get(`${rel.source.schema}\u0000${rel.source.table}`);
      if (before !== undefined && this.txnFinal < before) return undefined;
    }
    return rel ?? undefined;
  }

  private row(): void {
    this.txnHasRows = true;
    if (this.rowsInTarget++ === 0) this.targetTxnStarted = Date.now();
  }

  /**
   * At a source commit boundary: commit the target transaction when the mode says so (a promise
   * only then). Both modes end target transactions only at source commits, in source order, so
   * the target always shows the source as of some commit; transactional apply groups small source
   * transactions as AWS DMS does (MinTransactionSize / CommitTimeout), batch apply nets bigger
   * batches. Either way a quiet stream commits at once, so latency stays low when load is light.
   */
  private maybeCommit(atCommitMessage: boolean): Promise<void> | undefined {
    if (!this.o.applier.dirty || !this.lastCommit) return undefined;
    const rows = this.o.batchApply ? this.o.batchRows : this.o.minTransactionSize;
    const timeoutMs = this.o.batchApply ? this.o.batchTimeoutMs : this.o.commitTimeoutMs;
    const big = this.rowsInTarget >= rows && (!this.o.applier.committing || this.rowsInTarget >= this.o.maxRowsWhileCommitting);
    const old = Date.now() - this.targetTxnStarted >= timeoutMs;
    // Nothing more queued: commit now for low latency, unless the previous batch is still on its
    // way; then keep reading into this one (it is committed when that one lands and wakes the loop,
    // see commit()), so decoding overlaps the target's work instead of waiting for it.
    const caughtUp = !atCommitMessage && !this.o.stream.hasPending && !this.o.applier.committing;
    return big || old || caughtUp ? this.commit() : undefined;
  }

  private async commitIfDirty(): Promise<void> {
    if (this.o.applier.dirty && this.lastCommit) await this.commit();
  }

  /**
   * Sends the target transaction. The applier may return before it is durable (at most one
   * batch in flight, so the next one is read and netted meanwhile): `committed`, the statistics
   * and the feedback to the source move only in the callback, once the target committed.
   */
  private async commit(): Promise<void> {
    // A copy: lastCommit is updated in place as the next batch is read.
    const last = { lsn: this.lastCommit!.lsn, time: new Date(this.lastCommit!.timeMs) };
    this.seq++;
    const checkpoint = formatCheckpoint({ seq: this.seq, lsn: last.lsn });
    this.rowsInTarget = 0;
    await this.o.applier.commit({ checkpoint, lsn: last.lsn, seq: this.seq, phase: 'cdc', commitTime: last.time }, (counts) => {
      this.committed = maxLsn(this.committed, last.lsn);
      this.latencySeconds = Math.max(0, (Date.now() - last.time.getTime()) / 1000);
      this.o.onCommit({ counts, lsn: last.lsn, checkpoint, commitTime: last.time });
      // A batch held back while this one was in flight is committed by the loop, now.
      if (this.o.applier.dirty) this.o.stream.interrupt();
      if (Date.now() - this.lastFeedback >= COMMIT_FEEDBACK_MIN_MS) this.sendFeedback(false);
    });
  }

  /** Nothing of ours is pending, sent or in flight: a position seen now is safe to confirm. */
  private get quiet(): boolean {
    return !this.inTxn && !this.o.applier.dirty && !this.o.applier.committing;
  }

  private checkServerTime(): void {
    const stop = this.o.stopAt;
    if (stop?.kind === 'server_time' && !this.inTxn && !this.endReason && Date.now() >= stop.at.getTime()) this.endReason = 'server_time';
  }

  private periodic(): void {
    const now = Date.now();
    if (now - this.lastFeedback >= FEEDBACK_INTERVAL_MS) this.sendFeedback(false);
    if (now - this.lastTick >= 1_000) {
      this.lastTick = now;
      const caughtUp = this.quiet && now - this.lastEventAt > 1_000;
      this.o.onTick({
        latencySeconds: caughtUp ? 0 : this.latencySeconds,
        pendingChanges: this.o.applier.pendingCount + this.rowsInTarget,
        lastCommitted: this.committed,
      });
    }
  }

  private sendFeedback(replyRequested: boolean): void {
    this.lastFeedback = Date.now();
    const flushed = maxLsn(this.committed, this.idle);
    this.o.stream.sendStatus(maxLsn(this.received, flushed), flushed, replyRequested);
  }
}
