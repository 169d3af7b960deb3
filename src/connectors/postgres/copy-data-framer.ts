/**
 * Splits the bytes of a streaming replication connection into backend protocol messages and
 * takes the CopyData ones ('d') for itself, in runs: each run is one Buffer of consecutive,
 * complete CopyData messages, still framed (type byte, int32 length, payload), sliced from the
 * socket's own chunks without copying. Every other message (CopyBothResponse, CopyDone,
 * CommandComplete, ErrorResponse, ReadyForQuery, ...) is handed, whole, to `other` (pg's own
 * parser), so pg still runs the query's life cycle.
 *
 * Why not pg's `copyData` events: pg's parser makes one Buffer slice and one message object per
 * CopyData, emits an event for each, and its slices point into a buffer it reuses, so they must
 * be decoded (or copied) at once. At ~300k messages per catch-up that cost the engine ~10 % of its
 * CPU, and decoding on arrival filled the queue with decoded objects that the garbage collector
 * then copied and promoted. Socket chunks are never reused, so runs can wait in a queue as they are.
 *
 * A run's message at offset `o` has its payload at `[o + 5, o + 1 + run.readInt32BE(o + 1))`.
 */
export class CopyDataFramer {
  /** A message split across socket chunks: its bytes so far (allocated once at its full size). */
  private partial: Buffer | undefined;
  private partialFilled = 0;
  /** Fewer than 5 bytes of the next message's header, left at the end of a chunk. */
  private header: Buffer | undefined;

  constructor(
    private readonly onRun: (run: Buffer) => void,
    private readonly other: (message: Buffer) => void,
  ) {}

  push(chunk: Buffer): void {
    // A message or header split across chunks is rare: finished apart, so the loop below is
    // compiled from the common case's type feedback only (V8 recompiled it at each rare case).
    const start = this.partial || this.header ? this.finishSplit(chunk) : { buf: chunk, o: 0 };
    if (start) this.scan(start.buf, start.o);
  }

  /** Completes a message or header left from the last chunk; where scanning resumes, or undefined if the chunk was all used. */
  private finishSplit(chunk: Buffer): { buf: Buffer; o: number } | undefined {
    let buf = chunk;
    if (this.header) {
      buf = Buffer.concat([this.header, chunk]);
      this.header = undefined;
    }
    if (!this.partial) return { buf, o: 0 };
    const need = this.partial.length - this.partialFilled;
    const n = Math.min(need, buf.length);
    buf.copy(this.partial, this.partialFilled, 0, n);
    this.partialFilled += n;
    if (n < need) return undefined;
    const whole = this.partial;
    this.partial = undefined;
    if (whole[0] === 0x64) this.onRun(whole);
    else this.other(whole);
    return { buf, o: n };
  }

  /** Frames whole messages from `o` on, and keeps what is left of `buf` for the next chunk. */
  private scan(buf: Buffer, o: number): void {
    let runStart = -1;
    while (buf.length - o >= 5) {
      const type = buf[o]!;
      const length = buf.readInt32BE(o + 1);
      if (length < 4) throw new Error(`replication stream: a backend message of length ${length} (the stream is corrupt)`);
      const end = o + 1 + length;
      if (end > buf.length) break;
      if (type === 0x64) {
        if (runStart < 0) runStart = o;
      } else {
        if (runStart >= 0) this.onRun(buf.subarray(runStart, o));
        runStart = -1;
        this.other(buf.subarray(o, end));
      }
      o = end;
    }
    if (runStart >= 0) this.onRun(buf.subarray(runStart, o));
    if (o === buf.length) return;
    if (buf.length - o < 5) {
      this.header = Buffer.from(buf.subarray(o));
      return;
    }
    // A message longer than what arrived (a large row): gather it in one buffer of its size.
    this.partial = Buffer.allocUnsafe(1 + buf.readInt32BE(o + 1));
    this.partialFilled = buf.copy(this.partial, 0, o);
  }
}
