/**
 * A `replication=database` connection to a PostgreSQL source: slot commands and the streaming
 * replication protocol (CopyBoth), carrying pgoutput messages.
 *
 * Built on `pg`'s Client: START_REPLICATION is sent as a simple query; the server answers with
 * CopyBothResponse and then CopyData messages, which a CopyDataQueue takes off the socket before
 * pg's parser sees them (everything else still goes to pg, which runs the query's life cycle). We
 * write standby status updates with `sendCopyFromChunk`. Flow control and batching: see
 * copy-data-queue.ts.
 */
import type { Socket } from 'node:net';
import pg from 'pg';
import type { EndpointConnectionSpec } from '../../engine/contracts.js';
import { formatLsn, parseLsn } from '../../model/lsn.js';
import type { Lsn } from '../../model/lsn.js';
import type { ChangeStream, StreamEvent } from './change-stream.js';
import { copyDataEnd, CopyDataQueue } from './copy-data-queue.js';
import { postgresClientConfig } from './pool.js';
import { quoteIdent } from './sql.js';
import { dateToPgTimestamp, decodePgoutput, pgTimestampToDate } from './pgoutput.js';

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
  if (type === 0x77) return decodePgoutput(run, p + 25, copyDataEnd(run, offset));
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

/** The parts of pg's internal Connection we drive directly (not in @types/pg). */
interface RawConnection {
  sendCopyFromChunk(chunk: Buffer): void;
  stream: Socket;
}

export class ReplicationConnection implements ChangeStream {
  private readonly raw: RawConnection;
  private readonly copy: CopyDataQueue;
  private streaming = false;

  private constructor(private readonly client: pg.Client) {
    this.raw = (client as unknown as { connection: RawConnection }).connection;
    this.copy = new CopyDataQueue(this.raw.stream);
    client.on('error', (err) => this.copy.fail(err));
    client.on('end', () => this.copy.end());
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

  /**
   * The connection as an SQL session, with its CopyData queue: the SQL catch-up reader
   * (slot-changes-reader.ts) runs on it before streaming starts. Nothing else may use it then.
   */
  get sqlSession(): { client: pg.Client; queue: CopyDataQueue } {
    return { client: this.client, queue: this.copy };
  }

  /** Starts streaming; messages are then taken with `read()`. */
  start(slotName: string, startLsn: Lsn, publication: string): void {
    // pg's parser is idle now (no query running), so it holds no partial message.
    this.copy.capture();
    this.streaming = true;
    const sql =
      `START_REPLICATION SLOT ${quoteIdent(slotName)} LOGICAL ${formatLsn(startLsn)} ` +
      `(proto_version '1', publication_names '${publication.replace(/'/g, "''")}')`;
    // The query settles only when the stream ends (CopyDone) or fails (slot missing, slot in use).
    this.client.query(sql).then(
      () => this.copy.end(),
      (err: Error) => this.copy.fail(err),
    );
  }

  read(): Promise<Buffer[]> {
    return this.copy.read();
  }

  decode(run: Buffer, offset: number): StreamEvent | undefined {
    return decodeStreamMessage(run, offset);
  }

  get hasPending(): boolean {
    return this.copy.hasPending;
  }

  /** Bytes queued now, and whether the socket is paused for them (flow control, for tests). */
  get queued(): { bytes: number; paused: boolean } {
    return this.copy.queued;
  }

  /** True once the stream ended (server closed it, or close() was called). */
  get finished(): boolean {
    return this.copy.finished;
  }

  interrupt(): void {
    this.copy.interrupt();
  }

  /**
   * Standby status update. `flushed` is what PostgreSQL may release: only positions committed
   * on the target may ever be reported here.
   */
  sendStatus(written: Lsn, flushed: Lsn, replyRequested = false): void {
    if (!this.streaming || this.copy.hasEnded || this.copy.failed) return;
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
    this.copy.end();
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
}
