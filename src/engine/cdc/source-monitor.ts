/**
 * Source-side housekeeping while CDC runs, on its own connection so it never waits for apply:
 *  - heartbeats: a tiny WAL write (`pg_logical_emit_message`, non-transactional, decoded by nobody)
 *    every HeartbeatFrequency, so a slot whose tables are idle still sees its confirmed position
 *    move (the walsender sends a keepalive past it, the session confirms it) and WAL is released;
 *  - the WAL the slot holds back (current WAL position - restart_lsn), reported with the task's
 *    statistics and raised as an event when it passes OpendmsSettings.RetainedWalAlarmBytes;
 *  - the source's current WAL position, with which the runner sees a streaming session fall behind.
 */
import type pg from 'pg';
import { slotWalPositions } from '../../connectors/postgres/slot.js';
import type { SlotWalPositions } from '../../connectors/postgres/slot.js';

export interface SourceMonitorOptions {
  slotName: string;
  heartbeatMs: number | null;
  alarmBytes: number;
  onAlarm(bytes: number): void;
}

export class SourceMonitor {
  retainedBytes: number | undefined;
  /** The last reading (every second), and when it was taken. */
  positions: (SlotWalPositions & { at: number }) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private lastHeartbeat = Date.now();
  private alarmed = false;

  constructor(
    private readonly db: pg.Client,
    private readonly o: SourceMonitorOptions,
  ) {}

  /** Starts the timer (again calls are no-ops). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), 1_000);
    void this.tick();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      if (this.o.heartbeatMs !== null && Date.now() - this.lastHeartbeat >= this.o.heartbeatMs) {
        this.lastHeartbeat = Date.now();
        await this.db.query("SELECT pg_logical_emit_message(false, 'opendms_heartbeat', '')");
      }
      const positions = await slotWalPositions(this.db, this.o.slotName);
      this.positions = positions && { ...positions, at: Date.now() };
      this.retainedBytes = positions && Math.max(0, Number(positions.current - positions.restart));
      const over = this.o.alarmBytes > 0 && (this.retainedBytes ?? 0) > this.o.alarmBytes;
      if (over && !this.alarmed) this.o.onAlarm(this.retainedBytes ?? 0);
      this.alarmed = over;
    } catch {
      // The source went away: the replication stream notices and the runner retries.
    } finally {
      this.busy = false;
    }
  }
}
