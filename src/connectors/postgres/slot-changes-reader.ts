/**
 * Reads a slot's backlog through PostgreSQL's SQL decoding functions instead of the streaming
 * replication protocol: the catch-up path of CDC (docs/cdc.md, "Catching up a backlog").
 *
 * Why: a walsender sends (and flushes to the socket) every pgoutput message on its own, one TCP
 * send of 50-100 bytes each; streaming a backlog of 50,000 pgbench transactions cost the source
 * 1.5-2.5 s of CPU on our machine, more than decoding it. The same messages returned by
 * `pg_logical_slot_get_binary_changes` travel as the rows of a `COPY ... TO STDOUT (FORMAT binary)`,
 * sent in 8 kB buffers: 0.35-0.8 s of source CPU for that backlog.
 *
 * How, keeping exactly-once:
 *   - The task's slot is copied to a TEMPORARY slot owned by this reader's connection
 *     (`pg_copy_logical_replication_slot`), which is consumed call by call; the task's own slot
 *     moves only when `sendStatus` reports what the target committed (`pg_replication_slot_advance`,
 *     on a second connection the caller lends, at most every `advanceEveryMs`, and once more on
 *     close). A crash
 *     loses nothing: the temporary slot disappears with its session, the task's slot is where the
 *     target's checkpoint (or behind it) says, and a resumed session skips what the target has.
 *   - Each call asks for a number of changes; PostgreSQL ends a call only at a transaction
 *     boundary, so every call returns whole transactions. Calls double in size from `firstChanges`
 *     to `maxChanges`: the first returns quickly (PostgreSQL sends a call's rows only once it
 *     decoded them all), later ones cost fewer restarts of decoding.
 *   - The next call is sent as soon as the previous one's rows arrived, so the source decodes the
 *     next chunk while the consumer applies this one. Rows wait raw in a CopyDataQueue bounded
 *     by bytes (the socket is paused past it, and the server waits).
 *   - Calls are also bounded by WAL (`maxCallWalBytes`): PostgreSQL gathers a call's rows before
 *     sending them, so wide rows must not make one call's rows gigabytes on the source.
 *   - A call that stops short of both bounds reached the end of the WAL written when it started:
 *     the stream then ends (`finished`), and the caller, once it closed the reader, streams on the
 *     same connection from what the target committed, for low latency from then on. It also
 *     hands over early when every call would decode much WAL again before its first change
 *     (`maxRedecodeBytes`: the slot's restart_lsn held back, e.g. by a long-running transaction),
 *     since streaming decodes that once.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { formatLsn, parseLsn } from '../../model/lsn.js';
import type { Lsn } from '../../model/lsn.js';
import type { ChangeStream, StreamEvent } from './change-stream.js';
import { copyDataEnd, HIGH_WATER_BYTES } from './copy-data-queue.js';
import type { CopyDataQueue } from './copy-data-queue.js';
import { decodePgoutput } from './pgoutput.js';
import type { ReplicationConnection } from './replication-connection.js';
import { quoteLiteral } from './sql.js';

/** The 11-byte signature that opens a binary COPY stream (then 4 bytes of flags, 4 of header extension length). */
const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const COPY_HEADER_BYTES = 19;

/**
 * Decodes the CopyData message at `offset` of a run: one row of a binary COPY of the `data`
 * column, i.e. one pgoutput message; undefined for the COPY's trailer. The first row of each COPY
 * carries the stream's header before it.
 */
export function decodeSlotChangeRow(run: Buffer, offset: number): StreamEvent | undefined {
  let p = offset + 5;
  const end = copyDataEnd(run, offset);
  // A row starts with its field count (0x0001), the header with 'P': never confused.
  if (run[p] === 0x50 && end - p >= COPY_HEADER_BYTES && run.compare(COPY_SIGNATURE, 0, 11, p, p + 11) === 0) p += COPY_HEADER_BYTES;
  if (end - p < 6 || run.readInt16BE(p) !== 1) return undefined; // the trailer (-1)
  const length = run.readInt32BE(p + 2);
  return decodePgoutput(run, p + 6, p + 6 + length);
}

export interface SlotChangesReaderOptions {
  /** The task's slot: copied, never consumed; advanced only to what `sendStatus` reports flushed. */
  slotName: string;
  publication: string;
  /** Nothing before this position is needed (the target's checkpoint). */
  startLsn: Lsn;
  /** Changes (pgoutput messages) asked of the first call; each later call asks for four times as many, up to maxChanges. */
  firstChanges?: number;
  maxChanges?: number;
  /** The task's slot is advanced at most this often while reading (and once more on close). */
  advanceEveryMs?: number;
  /**
   * Bytes of rows queued before the connection is paused (CopyDataQueue): more than while
   * streaming, so the source decodes the next call while the target holds the engine up.
   */
  queueBytes?: number;
  /**
   * A call also ends once it decoded this much WAL (at the next transaction's end): PostgreSQL
   * gathers a call's rows before sending them (in memory to work_mem, then in a temporary file),
   * so wide rows must not make one call's rows gigabytes.
   */
  maxCallWalBytes?: number;
  /** The reader hands over to streaming once each call would decode more than this again first. */
  maxRedecodeBytes?: number;
}

/**
 * The temporary slot is moved to the start position first only past this gap: decoding starts at
 * the slot's restart_lsn either way, and a smaller gap costs less to read and skip than a separate
 * pass over it.
 */
const SKIP_AHEAD_BYTES = 16 * 1024 * 1024;

export class SlotChangesReader implements ChangeStream {
  private readonly tempSlot: string;
  private closing = false;
  private loop: Promise<void> | undefined;
  /** A decoding call is running on the reader's connection. */
  private calling = false;
  private flushed: Lsn = 0n;
  private advancedTo: Lsn = 0n;
  private lastAdvance = Date.now();
  private advancing: Promise<void> | undefined;
  private readerPid = 0;
  /** Calls made and changes read so far, and why the reader handed over before catching up (for the caller's report). */
  readonly progress: { calls: number; changes: number; stoppedEarly?: string } = { calls: 0, changes: 0 };
  /** The error that ended reading, if the source refused a call or the connection failed (not on close). */
  failure: Error | undefined;

  private constructor(
    private readonly reader: pg.Client,
    private readonly copy: CopyDataQueue,
    private readonly side: pg.Client,
    private readonly o: Required<SlotChangesReaderOptions>,
  ) {
    this.tempSlot = `${o.slotName.slice(0, 40)}_catchup_${randomBytes(5).toString('hex')}`;
  }

  /**
   * Copies the task's slot to a temporary one in `conn`'s session and starts reading from
   * `startLsn`. `side` is another connection to the source database, borrowed (not closed) to
   * advance the task's slot and to cancel a call. Throws if the source refuses (no free slot, no
   * privilege): the caller streams instead, on the same connection.
   */
  static async open(conn: ReplicationConnection, side: pg.Client, options: SlotChangesReaderOptions): Promise<SlotChangesReader> {
    const o: Required<SlotChangesReaderOptions> = {
      firstChanges: 10_000,
      maxChanges: 640_000,
      advanceEveryMs: 5_000,
      queueBytes: 16 * 1024 * 1024,
      maxCallWalBytes: 128 * 1024 * 1024,
      maxRedecodeBytes: 256 * 1024 * 1024,
      ...options,
    };
    const { client, queue } = conn.sqlSession;
    const r = new SlotChangesReader(client, queue, side, o);
    await r.start();
    return r;
  }

  private async start(): Promise<void> {
    // A replication connection takes simple queries only (no bind parameters): values are inlined.
    const [task, temp, start] = [quoteLiteral(this.o.slotName), quoteLiteral(this.tempSlot), quoteLiteral(formatLsn(this.o.startLsn))];
    // A role's statement_timeout would cancel a long decoding call, and streaming has no such limit.
    await this.reader.query('SET statement_timeout = 0');
    const copied = await this.reader.query<{ pid: number }>(`SELECT pg_backend_pid() AS pid FROM pg_copy_logical_replication_slot(${task}, ${temp}, true)`);
    this.readerPid = copied.rows[0]!.pid;
    try {
      // The copy starts where the task's slot confirmed; the target may already have more.
      await this.reader.query(
        `SELECT pg_replication_slot_advance(slot_name, ${start}::pg_lsn) FROM pg_replication_slots
          WHERE slot_name = ${temp} AND pg_wal_lsn_diff(${start}::pg_lsn, confirmed_flush_lsn) > ${SKIP_AHEAD_BYTES}`,
      );
    } catch (err) {
      // The caller streams on this connection instead: the temporary slot must not stay with it.
      await this.reader.query(`SELECT pg_drop_replication_slot(${temp})`).catch(() => undefined);
      throw err;
    }
    this.advancedTo = this.o.startLsn;
    // pg's parser is idle between queries: from here on the connection's CopyData goes to the queue.
    this.copy.capture();
    this.copy.highWaterBytes = this.o.queueBytes;
    this.loop = this.readAll();
  }

  private async readAll(): Promise<void> {
    const temp = quoteLiteral(this.tempSlot);
    let n = this.o.firstChanges;
    let upto: Lsn | undefined;
    try {
      while (!this.closing) {
        const sql =
          `COPY (SELECT data FROM pg_logical_slot_get_binary_changes(${temp}, ${upto === undefined ? 'NULL' : `${quoteLiteral(formatLsn(upto))}::pg_lsn`}, ${n}, ` +
          `'proto_version', '1', 'publication_names', ${quoteLiteral(this.o.publication)})) TO STDOUT (FORMAT binary)`;
        this.calling = true;
        const res = await this.reader.query(sql).finally(() => (this.calling = false));
        const rows = res.rowCount ?? 0;
        this.progress.calls++;
        this.progress.changes += rows;
        // Where the call ended, and how much WAL before it the next call would decode again.
        const at = await this.reader.query<{ confirmed: string; behind: string }>(
          `SELECT confirmed_flush_lsn::text AS confirmed, pg_wal_lsn_diff(confirmed_flush_lsn, restart_lsn)::text AS behind FROM pg_replication_slots WHERE slot_name = ${temp}`,
        );
        const confirmed = parseLsn(at.rows[0]!.confirmed);
        // Neither limit reached: the call got to the end of the WAL as it was when it started.
        if (rows < n && (upto === undefined || confirmed < upto)) break;
        const behind = Number(at.rows[0]!.behind);
        if (behind > this.o.maxRedecodeBytes) {
          // Every call would decode this much again before anything new (a transaction left open
          // on the source holds restart_lsn back): streaming decodes it once.
          this.progress.stoppedEarly = `each call decoded ${Math.round(behind / 1048576)} MB of WAL again before its first change (the slot's restart_lsn is held back, e.g. by a long-running transaction)`;
          break;
        }
        n = Math.min(n * 4, this.o.maxChanges);
        upto = confirmed + BigInt(this.o.maxCallWalBytes);
      }
      this.copy.end();
    } catch (err) {
      // A call cancelled by close() is no failure: the stream just ends.
      if (this.closing) this.copy.end();
      else {
        this.failure = err as Error;
        this.copy.fail(err as Error);
      }
    }
  }

  read(): Promise<Buffer[]> {
    return this.copy.read();
  }

  decode(run: Buffer, offset: number): StreamEvent | undefined {
    return decodeSlotChangeRow(run, offset);
  }

  get hasPending(): boolean {
    return this.copy.hasPending;
  }

  get finished(): boolean {
    return this.copy.finished;
  }

  interrupt(): void {
    this.copy.interrupt();
  }

  /** Moves the task's slot to `flushed` (what the target committed), at most every advanceEveryMs. */
  sendStatus(_written: Lsn, flushed: Lsn): void {
    if (flushed > this.flushed) this.flushed = flushed;
    if (!this.advancing && this.flushed > this.advancedTo && Date.now() - this.lastAdvance >= this.o.advanceEveryMs) this.advance();
  }

  private advance(): void {
    const to = this.flushed;
    this.lastAdvance = Date.now();
    // Only forward, and never while a walsender holds the slot (it confirms positions itself).
    this.advancing = this.side
      .query(
        `SELECT pg_replication_slot_advance(slot_name, $2::pg_lsn) FROM pg_replication_slots
          WHERE slot_name = $1 AND NOT active AND confirmed_flush_lsn < $2::pg_lsn`,
        [this.o.slotName, formatLsn(to)],
      )
      .then(
        () => {
          if (to > this.advancedTo) this.advancedTo = to;
        },
        // Best effort: the slot stays where it was (WAL is held a little longer) and the streaming
        // session that follows confirms the position itself.
        () => undefined,
      )
      .finally(() => (this.advancing = undefined));
  }

  /**
   * Stops reading (a call still decoding on the source is cancelled), drops the temporary slot,
   * moves the task's slot to what the target committed, and leaves the connection ready to
   * stream. Throws if the temporary slot could not be dropped: the caller must then close the
   * connection (which drops it), or the slot would hold WAL for as long as the connection lives.
   * A cancelled call already dropped it: an error in a walsender session drops the session's
   * temporary slots (WalSndErrorCleanup), hence the drop only if it is still there.
   */
  async close(): Promise<void> {
    this.closing = true;
    this.copy.end();
    if (this.calling) await this.side.query('SELECT pg_cancel_backend($1)', [this.readerPid]).catch(() => undefined);
    await this.loop;
    await this.advancing;
    if (this.flushed > this.advancedTo) {
      this.lastAdvance = 0;
      this.advance();
    }
    await Promise.all([
      this.advancing,
      this.reader.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = ${quoteLiteral(this.tempSlot)}`),
    ]);
    this.copy.highWaterBytes = HIGH_WATER_BYTES;
    this.copy.reopen();
  }
}
