/**
 * Decides when a streaming CDC session has fallen so far behind the source that the task is better
 * off catching up through the SQL interface (docs/cdc.md, "Falling behind while streaming").
 *
 * Why: a walsender sends every pgoutput message with its own socket flush, which makes streaming a
 * backlog cost the source more CPU than decoding it; the SQL catch-up reads the same messages at a
 * fraction of that (slot-changes-reader.ts). A task that (re)starts behind catches up that way; this
 * watch does the same for one that falls behind while it streams (a burst, a target stalled by a
 * lock): a stream that stays at least `behindBytes` of WAL behind the source's current position for
 * `sustainMs` is stopped at a transaction boundary, caught up through SQL, and streamed again.
 *
 * It does not switch:
 *  - while the SQL catch-up would decode more than `maxRedecodeBytes` again before its first change
 *    (the slot's confirmed position minus its restart_lsn: a transaction left open on the source
 *    holds restart_lsn back), since streaming decodes that WAL once; such a reading only defers
 *    the switch (restart_lsn moves in steps, at the source's running-transactions records);
 *  - within `minIntervalMs` of its last switch: when the target is the limit, the SQL catch-up
 *    gains nothing, and the task must not go back and forth.
 *
 * @example
 *   const watch = new FallBehindWatch({ behindBytes: 64 * 1024 * 1024 });
 *   // every second, with the source's positions and what the stream received:
 *   const lag = watch.observe(Date.now(), { current, restart, confirmed }, session.receivedLsn);
 *   if (lag !== undefined) { watch.switched(Date.now()); session.requestStop(); }
 */
import type { Lsn } from '../../model/lsn.js';

export interface FallBehindOptions {
  /** The lag (source's current WAL position minus what the stream received) that counts as behind. */
  behindBytes: number;
  /** How long the lag must last before the switch. */
  sustainMs?: number;
  /** The least time between two switches. */
  minIntervalMs?: number;
  /** No switch while each SQL call would decode more than this again first (see above). */
  maxRedecodeBytes?: number;
}

export class FallBehindWatch {
  private readonly o: Required<FallBehindOptions>;
  private behindSince: number | undefined;
  private lastSwitch = Number.NEGATIVE_INFINITY;

  constructor(options: FallBehindOptions) {
    this.o = { sustainMs: 10_000, minIntervalMs: 60_000, maxRedecodeBytes: 256 * 1024 * 1024, ...options };
  }

  /** How long the lag must last before a switch (for the caller's report). */
  get sustainMs(): number {
    return this.o.sustainMs;
  }

  /** A new streaming session starts: a lag counts from within it. */
  reset(): void {
    this.behindSince = undefined;
  }

  /** The caller switched to the SQL catch-up at `now`. */
  switched(now: number): void {
    this.lastSwitch = now;
    this.behindSince = undefined;
  }

  /**
   * One reading: the source's current WAL position and the slot's restart_lsn and confirmed
   * position, and how far the stream got (`received`). Returns the lag in bytes when the session
   * should switch now.
   */
  observe(now: number, source: { current: Lsn; restart: Lsn; confirmed: Lsn }, received: Lsn): number | undefined {
    const lag = Number(source.current - received);
    if (lag < this.o.behindBytes) {
      this.behindSince = undefined;
      return undefined;
    }
    this.behindSince ??= now;
    if (Number(source.confirmed - source.restart) > this.o.maxRedecodeBytes) return undefined;
    if (now - this.behindSince < this.o.sustainMs || now - this.lastSwitch < this.o.minIntervalMs) return undefined;
    return lag;
  }
}
