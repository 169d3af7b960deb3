/**
 * Timeslots for `awsdms_history` (ControlTablesSettings.HistoryTableEnabled). Pure: the task
 * runner feeds it what it applied and asks for rows when a slot is over; it writes them.
 *
 * A slot lasts HistoryTimeslotInMinutes; it yields one row per phase seen during it (`FULL LOAD`,
 * `CHANGE PROCESSING (CDC)`; both when the load ended inside the slot), even with 0 records. When
 * the task stops, the slot in progress is closed early (its duration says how long it was).
 *   records   full load: rows loaded; CDC: changes committed on the target (inserts, updates,
 *             deletes, DDL).
 *   volume    CDC: MB of source WAL the committed changes span (rounded up); full load: NULL
 *             (the loader does not count bytes).
 *   latency   CDC: the apply latency in seconds at the end of the slot; full load: NULL.
 */

export type TimeslotType = 'FULL LOAD' | 'CHANGE PROCESSING (CDC)';

export interface Timeslot {
  type: TimeslotType;
  end: Date;
  durationMinutes: number;
  latencySeconds: number | null;
  records: number;
  volumeMb: number | null;
}

const MB = 1024 * 1024;

export class HistoryTimeslots {
  private start: number;
  private readonly seen = new Map<TimeslotType, { records: number; bytes: number }>();

  constructor(
    private readonly slotMs: number,
    now: number,
  ) {
    this.start = now;
  }

  /** The phase ran during the current slot. */
  active(type: TimeslotType): void {
    if (!this.seen.has(type)) this.seen.set(type, { records: 0, bytes: 0 });
  }

  add(type: TimeslotType, records: number, bytes = 0): void {
    this.active(type);
    const s = this.seen.get(type)!;
    s.records += records;
    s.bytes += bytes;
  }

  /** The current slot is over. */
  due(now: number): boolean {
    return now - this.start >= this.slotMs;
  }

  /** Ends the current slot at `now` (a new one starts) and returns its rows. */
  close(now: number, latencySeconds: number): Timeslot[] {
    const minutes = Math.max(1, Math.round((now - this.start) / 60_000));
    const rows = [...this.seen].map(([type, s]) => ({
      type,
      end: new Date(now),
      durationMinutes: minutes,
      latencySeconds: type === 'FULL LOAD' ? null : Math.round(latencySeconds),
      records: s.records,
      volumeMb: type === 'FULL LOAD' ? null : Math.ceil(s.bytes / MB),
    }));
    this.start = now;
    this.seen.clear();
    return rows;
  }
}
