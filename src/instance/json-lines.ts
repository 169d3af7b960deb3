/**
 * Newline-delimited JSON over a stream socket: the framing of the instance protocol, used by both
 * ends (the control plane's InstanceSupervisor and the instance process).
 *
 * A peer that sends a line longer than MAX_LINE_BYTES or a line that is not a JSON object is
 * disconnected: the protocol has no way to resynchronise after garbage, and an unbounded line
 * would let one broken process exhaust the control plane's memory.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';

export const MAX_LINE_BYTES = 64 * 1024 * 1024;

export interface JsonLineChannelEvents {
  message: [msg: Record<string, unknown> & { type: string }];
  close: [reason: string];
}

export class JsonLineChannel extends EventEmitter<JsonLineChannelEvents> {
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private closed = false;

  constructor(readonly socket: Socket) {
    super();
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.close(`socket error: ${err.message}`));
    socket.on('close', () => this.close('connection closed'));
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Writes one message; false when the channel is closed (the message is dropped). */
  send(msg: object): boolean {
    if (this.closed) return false;
    this.socket.write(`${JSON.stringify(msg)}\n`);
    return true;
  }

  /** Closes the channel after flushing what was written; resolves once flushed (or after timeoutMs). */
  end(timeoutMs = 1000): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.socket.end(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.emit('close', reason);
  }

  private onData(chunk: Buffer): void {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1 && !this.closed; nl = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, nl);
      start = nl + 1;
      const line = this.bufferedBytes ? Buffer.concat([...this.buffered, piece]) : piece;
      this.buffered = [];
      this.bufferedBytes = 0;
      if (line.length) this.onLine(line);
    }
    if (start < chunk.length && !this.closed) {
      this.buffered.push(chunk.subarray(start));
      this.bufferedBytes += chunk.length - start;
      if (this.bufferedBytes > MAX_LINE_BYTES) this.close(`line longer than ${MAX_LINE_BYTES} bytes`);
    }
  }

  private onLine(line: Buffer): void {
    let msg: unknown;
    try {
      msg = JSON.parse(line.toString('utf8'));
    } catch {
      this.close('a line is not valid JSON');
      return;
    }
    if (typeof msg !== 'object' || msg === null || typeof (msg as { type?: unknown }).type !== 'string') {
      this.close('a message is not an object with a string "type"');
      return;
    }
    this.emit('message', msg as Record<string, unknown> & { type: string });
  }
}
