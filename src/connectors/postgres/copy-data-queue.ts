/**
 * CopyData taken off a `pg` connection's socket and queued, raw, for a consumer that reads it in
 * batches. Two streams use it: the streaming replication protocol (START_REPLICATION, CopyBoth;
 * see replication-connection.ts) and `COPY (...) TO STDOUT` of the SQL decoding functions (CopyOut;
 * see slot-changes-reader.ts). Either way the socket's bytes go through a CopyDataFramer: CopyData
 * messages come here, every other message (CopyBothResponse, CopyOutResponse, CopyDone,
 * CommandComplete, ErrorResponse, ReadyForQuery, ...) still goes to pg's parser, which runs the
 * query's life cycle as usual.
 *
 * Flow control: the consumer takes everything queued at once with `read()` and decodes it message
 * by message. Reading in batches is deliberate (one wake-up per 60-byte message costs both sides a
 * lot of CPU); past `highWaterBytes` the socket is paused, so a slow target holds WAL on the source
 * instead of memory in this process.
 */
import type { Socket } from 'node:net';
import { CopyDataFramer } from './copy-data-framer.js';

/**
 * Bytes of queued CopyData past which the socket is paused: the rest waits in the kernel and on
 * the server, so a slow target holds WAL on the source, not memory here.
 */
export const HIGH_WATER_BYTES = 4 * 1024 * 1024;

/** Where the CopyData message at `offset` of a run ends (and the next one starts). */
export function copyDataEnd(run: Buffer, offset: number): number {
  return offset + 1 + run.readInt32BE(offset + 1);
}

export class CopyDataQueue {
  /** Runs of framed CopyData messages (see CopyDataFramer), oldest first. */
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  /** The socket is paused because highWaterBytes are queued (until the consumer takes them). */
  private paused = false;
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private captured = false;

  constructor(
    private readonly socket: Socket,
    /** Past this many queued bytes the socket is paused (the bound can change between streams). */
    public highWaterBytes = HIGH_WATER_BYTES,
  ) {}

  /**
   * From now on the socket's CopyData messages are queued here. Call it while pg's parser is idle
   * (between queries: it then holds no partial message); it stays in place for later queries.
   */
  capture(): void {
    if (this.captured) return;
    this.captured = true;
    const pgListeners = this.socket.listeners('data') as ((chunk: Buffer) => void)[];
    this.socket.removeAllListeners('data');
    const framer = new CopyDataFramer(
      (run) => this.onRun(run),
      (message) => {
        for (const l of pgListeners) l(message);
      },
    );
    this.socket.on('data', (chunk: Buffer) => {
      try {
        framer.push(chunk);
      } catch (err) {
        // A corrupt stream fails this session (and is retried), never the process.
        this.fail(err as Error);
        this.socket.destroy();
      }
    });
  }

  /**
   * Waits for messages and returns everything queued: runs of framed CopyData messages (step
   * through a run with `copyDataEnd`); [] when interrupted or once the stream ended. Throws the
   * stream's error once nothing is left before it.
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

  /** True if messages are queued right now. */
  get hasPending(): boolean {
    return this.queue.length > 0;
  }

  /** Bytes queued now, and whether the socket is paused for them. */
  get queued(): { bytes: number; paused: boolean } {
    return { bytes: this.queuedBytes, paused: this.paused };
  }

  /** True once the stream ended and everything queued was read. */
  get finished(): boolean {
    return this.ended && this.queue.length === 0;
  }

  /** True once `end()` was called (messages may still be queued). */
  get hasEnded(): boolean {
    return this.ended;
  }

  get failed(): Error | undefined {
    return this.failure;
  }

  /** Interrupts a pending `read()`, which then returns []. */
  interrupt(): void {
    this.notify();
  }

  /** No more messages will come: `read()` returns what is left, then []. */
  end(): void {
    this.ended = true;
    this.notify();
    // A paused socket would never read the server's FIN.
    this.setPaused(false);
  }

  /**
   * Takes CopyData again after `end()`, for the connection's next COPY (the replication
   * connection streams after the SQL catch-up ended on it).
   */
  reopen(): void {
    this.queue = [];
    this.queuedBytes = 0;
    this.ended = false;
    // The last COPY's error (a cancelled call) is over; a dead connection fails the next one.
    this.failure = undefined;
  }

  fail(err: Error): void {
    if (!this.failure) this.failure = err;
    this.notify();
  }

  private onRun(run: Buffer): void {
    // After end() nobody reads: what still arrives (a closing connection) is dropped.
    if (this.ended) return;
    this.queue.push(run);
    this.queuedBytes += run.length;
    if (this.queuedBytes >= this.highWaterBytes && !this.ended) this.setPaused(true);
    this.notify();
  }

  private setPaused(paused: boolean): void {
    if (paused === this.paused) return;
    this.paused = paused;
    if (paused) this.socket.pause();
    else this.socket.resume();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
