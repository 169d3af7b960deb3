/**
 * What a CDC session reads source changes from: pgoutput messages, in commit order, delivered in
 * runs of raw CopyData (see copy-data-queue.ts). Two sources implement it:
 *
 *   ReplicationConnection  the streaming replication protocol on the task's slot (the normal case:
 *                          low latency, keepalives, standby status updates);
 *   SlotChangesReader      the SQL decoding functions on a temporary copy of the slot, read in
 *                          large chunks: for catching up a backlog at a fraction of the source's
 *                          CPU (see docs/cdc.md "Catching up a backlog").
 */
import type { Lsn } from '../../model/lsn.js';
import type { PgoutputMessage } from './pgoutput.js';

/** The server's primary keepalive: how far its WAL goes, and whether it wants a status update now. */
export interface Keepalive {
  tag: 'keepalive';
  walEnd: Lsn;
  serverTime: Date;
  replyRequested: boolean;
}

/** One message of the stream: a pgoutput message or a keepalive. */
export type StreamEvent = PgoutputMessage | Keepalive;

export interface ChangeStream {
  /**
   * Waits for messages and returns everything queued: runs of framed CopyData messages (decode
   * each with `decode`, step with `copyDataEnd`); [] when interrupted or once the stream ended.
   * Throws the stream's error.
   */
  read(): Promise<Buffer[]>;
  /** The message at `offset` of a run; undefined for anything that carries no change or position. */
  decode(run: Buffer, offset: number): StreamEvent | undefined;
  /** True if messages are queued right now (the consumer uses this to decide whether to commit). */
  readonly hasPending: boolean;
  /** True once the stream ended and everything was read. */
  readonly finished: boolean;
  /** Interrupts a pending `read()` (which then returns []), e.g. on stop or a timer. */
  interrupt(): void;
  /**
   * What the consumer has received and what the target has committed. `flushed` is what the
   * source may release: only positions committed on the target may ever be reported here.
   */
  sendStatus(written: Lsn, flushed: Lsn, replyRequested?: boolean): void;
}
