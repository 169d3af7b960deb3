/**
 * A `replication=database` connection to a PostgreSQL source: slot commands and the streaming
 * replication protocol (CopyBoth), carrying pgoutput messages.
 *
 * Built on `pg`'s Client: START_REPLICATION is sent as a simple query; the server answers with
 * CopyBothResponse and then CopyData messages, which a CopyDataFramer takes off the socket before
 * pg's parser sees them (everything else still goes to pg, which runs the query's life cycle). We
 * write standby status updates with `sendCopyFromChunk`.
 *
 * Flow control: raw CopyData queues up here and the consumer takes it all at once with `read()`
 * and decodes it message by message. Reading in batches is deliberate (one socket wake-up per
 * 60-byte message costs both sides a lot of CPU); past HIGH_WATER_BYTES the socket is paused, so a
 * slow target holds WAL on the source instead of memory in this process.
 */
import type { Socket } from 'node:net';
import pg from 'pg';
import type { EndpointConnectionSpec } from '../../engine/contracts.js';
import { formatLsn, parseLsn } from '../../model/lsn.js';
import type { Lsn } from '../../model/lsn.js';
import { CopyDataFramer } from './copy-data-framer.js';
import { postgresClientConfig } from './pool.js';
import { quoteIdent } from './sql.js';
import { dateToPgTimestamp, decodePgoutput, pgTimestampToDate } from './pgoutput.js';
import type { PgoutputMessage } from './pgoutput.js';

/** The server's primary keepalive: how far its WAL goes, and whether it wants a status update now. */
export interface Keepalive {
  tag: 'keepalive';
  walEnd: Lsn;
  serverTime: Date;
  replyRequested: boolean;
}

/** One message of the stream: a pgoutput message (from XLogData) or a keepalive. */
export type StreamEvent = PgoutputMessage | Keepalive;

/** Where the CopyData message at `offset` of a run ends (and the next one starts). */
export function streamMessageEnd(run: Buffer, offset: number): number {
  return offset + 1 + run.readInt32BE(offset + 1);
}

/**
 * Decodes the CopyData message at `offset` of a run `read()` returned: a pgoutput message (from
 * XLogData) or a keepalive; undefined for anything else. Decoding is left to the consumer,
 * message by message, so what waits in the queue is raw bytes, not decoded objects: objects made
 * and consumed at once die young, while thousands of queued decoded messages survived garbage
 * collections and were copied and promoted (measured: a third of the engine's CPU in catch-up
 * went to GC).
 */
export function decodeStreamMessage(run: Buffer, offset: number): StreamEvent | undefined {
  const p = offset + 5;
  const type = run[p];
  // 'w' XLogData: walStart, walEnd, sendTime (8 bytes each), then the pgoutput message.
  if (type === 0x77) return decodePgoutput(run, p + 25, streamMessageEnd(run, offset));
  if (type === 0x6b) {
    // 'k' primary keepalive
    return { tag: 'keepalive', walEnd: run.readBigUInt64BE(p + 1), serverTime: pgTimestampToDate(run.readBigInt64BE(p + 9)), replyRequested: run[p + 17] === 1 };
  }
  return undefined;
}

export interface CreatedSlot {
  slotName: string;
  consistentPoint: Lsn;
  /** Set when the slot was created with an exported snapshot (kept only while this connection is idle). */
  snapshotName?: string;
}

/**
 * Bytes of queued CopyData past which the socket is paused: the rest waits in the kernel and on
 * the walsender, so a slow target holds WAL on the source, not memory here.
 */
export const HIGH_WATER_BYTES = 4 * 1024 * 1024;

/** The parts of pg's internal Connection we drive directly (not in @types/pg). */
interface RawConnection {
  sendCopyFromChunk(chunk: Buffer): void;
  stream: Socket;
}

export class ReplicationConnection {
  private readonly raw: RawConnection;
  /** Runs of framed CopyData messages (see CopyDataFramer), oldest first. */
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  /** The socket is paused because HIGH_WATER_BYTES are queued (until the consumer takes them). */
  private paused = false;
  private streaming = false;
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  private constructor(private readonly client: pg.Client) {
    this.raw = (client as unknown as { connection: RawConnection }).connection;
    client.on('error', (err) => this.fail(err));
    client.on('end', () => {
      this.ended = true;
      this.notify();
    });
  }

  static async open(endpoint: EndpointConnectionSpec, applicationName: string): Promise<ReplicationConnection> {
    // No statement timeout: START_REPLICATION runs for as long as the task streams.
    const config = postgresClientConfig(endpoint, { statementTimeoutMs: 0, applicationNameSuffix: applicationName });
    const client = new pg.Client({ ...config, replication: 'database' } as pg.ClientConfig);
    // An error before connect() settles would otherwise be an unhandled 'error' event.
    client.on('error', () => {});
    await client.connect();
    return new ReplicationConnection(client);
  }

  async identifySystem(): Promise<{ systemId: string; timeline: number; xlogPos: Lsn }> {
    const res = await this.client.query<{ systemid: string; timeline: string; xlogpos: string }>('IDENTIFY_SYSTEM');
    const row = res.rows[0]!;
    return { systemId: row.systemid, timeline: Number(row.timeline), xlogPos: parseLsn(row.xlogpos) };
  }

  /**
   * CREATE_REPLICATION_SLOT (PostgreSQL 15 syntax). With `exportSnapshot` the snapshot stays
   * importable (SET TRANSACTION SNAPSHOT) until this connection runs another command, so the
   * caller must run the full load before calling `start()`.
   */
  async createSlot(slotName: string, exportSnapshot: boolean): Promise<CreatedSlot> {
    const res = await this.client.query<{ slot_name: string; consistent_point: string; snapshot_name: string | null }>(
      `CREATE_REPLICATION_SLOT ${quoteIdent(slotName)} LOGICAL pgoutput (SNAPSHOT '${exportSnapshot ? 'export' : 'nothing'}')`,
    );
    const row = res.rows[0]!;
    const slot: CreatedSlot = { slotName: row.slot_name, consistentPoint: parseLsn(row.consistent_point) };
    if (row.snapshot_name) slot.snapshotName = row.snapshot_name;
    return slot;
  }

  /** Starts streaming; messages are then taken with `read()`. */
  start(slotName: string, startLsn: Lsn, publication: string): void {
    // From here on the socket's bytes go through the framer: CopyData to our queue, the rest to
    // pg's parser (idle now, so it holds no partial message), which still runs the query.
    const socket = this.raw.stream;
    const pgListeners = socket.listeners('data') as ((chunk: Buffer) => void)[];
    socket.removeAllListeners('data');
    const framer = new CopyDataFramer(
      (run) => this.onRun(run),
      (message) => {
        for (const l of pgListeners) l(message);
      },
    );
    socket.on('data', (chunk: Buffer) => {
      try {
        framer.push(chunk);
      } catch (err) {
        // A corrupt stream fails this session (and is retried), never the process.
        this.fail(err as Error);
        socket.destroy();
      }
    });
    this.streaming = true;
    const sql =
      `START_REPLICATION SLOT ${quoteIdent(slotName)} LOGICAL ${formatLsn(startLsn)} ` +
      `(proto_version '1', publication_names '${publication.replace(/'/g, "''")}')`;
    // The query settles only when the stream ends (CopyDone) or fails (slot missing, slot in use).
    this.client.query(sql).then(
      () => {
        this.ended = true;
        this.notify();
      },
      (err: Error) => this.fail(err),
    );
  }

  /**
   * Waits for messages and returns everything queued: runs of framed CopyData messages (decode each
   * message with `decodeStreamMessage`, step with `streamMessageEnd`); [] once the stream ended. Throws the
   * stream's error.
   */
  async read(): Promise<Buffer[]> {
    if (this.queue.length === 0 && !this.ended && !this.failure) {
      // One wait: an interrupt() (timer, stop) returns [] so the caller can do its housekeeping.
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    if (this.queue.length === 0 && this.failure) throw this.failure;
    const runs = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    this.setPaused(false);
    return runs;
  }

  /** True if events are queued right now (the consumer uses this to decide whether to commit). */
  get hasPending(): boolean {
    return this.queue.length > 0;
  }

  /** Bytes queued now, and whether the socket is paused for them (flow control, for tests). */
  get queued(): { bytes: number; paused: boolean } {
    return { bytes: this.queuedBytes, paused: this.paused };
  }

  /** True once the stream ended (server closed it, or close() was called). */
  get finished(): boolean {
    return this.ended && this.queue.length === 0;
  }

  /** Interrupts a pending `read()` (which then returns []), e.g. on stop or a timer. */
  interrupt(): void {
    this.notify();
  }

  /**
   * Standby status update. `flushed` is what PostgreSQL may release: only positions committed
   * on the target may ever be reported here.
   */
  sendStatus(written: Lsn, flushed: Lsn, replyRequested = false): void {
    if (!this.streaming || this.ended || this.failure) return;
    const buf = Buffer.alloc(34);
    buf.write('r', 0);
    buf.writeBigUInt64BE(written, 1);
    buf.writeBigUInt64BE(flushed, 9);
    buf.writeBigUInt64BE(flushed, 17);
    buf.writeBigInt64BE(dateToPgTimestamp(new Date()), 25);
    buf.writeUInt8(replyRequested ? 1 : 0, 33);
    this.raw.sendCopyFromChunk(buf);
  }

  /**
   * Closes the connection; the walsender exits and the slot becomes free for another process.
   * The socket is half-closed (FIN after the last status update is written) rather than going
   * through pg's end(), which waits for a Terminate round trip a streaming walsender may not give.
   */
  async close(): Promise<void> {
    this.ended = true;
    this.notify();
    // A paused socket would never read the server's FIN, and close would wait for its timer.
    this.setPaused(false);
    const socket = this.raw.stream;
    if (socket.destroyed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        socket.destroy();
        resolve();
      }, 2_000);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.end();
    });
  }

  private onRun(run: Buffer): void {
    this.queue.push(run);
    this.queuedBytes += run.length;
    if (this.queuedBytes >= HIGH_WATER_BYTES && !this.ended) this.setPaused(true);
    this.notify();
  }

  private setPaused(paused: boolean): void {
    if (paused === this.paused) return;
    this.paused = paused;
    if (paused) this.raw.stream.pause();
    else this.raw.stream.resume();
  }

  private fail(err: Error): void {
    if (!this.failure) this.failure = err;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
