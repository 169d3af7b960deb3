/**
 * The weekly maintenance window (`ddd:hh24:mi-ddd:hh24:mi`, UTC) and what happens in it:
 * modifications made without ApplyImmediately (PendingModifiedValues) are applied there.
 *
 * `InstanceMaintenance` checks every instance once a minute, and an instance right after a
 * deferred modification (a change requested during the window is applied in that window).
 */
import { invalidParameter } from '../model/faults.js';
import type { App } from './app.js';
import { isAllowed } from './instance-lifecycle.js';
import { withAutomaticUpgrade, type AutomaticUpgrade } from './engine-auto-upgrade.js';
import { applyValues, hasPending, pendingOf } from './instance-modifications.js';

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const WEEK_MINUTES = 7 * 24 * 60;
export const DEFAULT_MAINTENANCE_WINDOW = 'sun:06:00-sun:06:30';
const CHECK_INTERVAL_MS = 60_000;

interface Window {
  start: number;
  end: number;
}

function parse(value: string): Window | string {
  const m = /^([a-z]{3}):(\d{2}):(\d{2})-([a-z]{3}):(\d{2}):(\d{2})$/i.exec(value);
  if (!m) return 'it is not in the expected format';
  const minuteOfWeek = (day: string, hh: string, mi: string): number | string => {
    const d = DAYS.indexOf(day.toLowerCase());
    if (d < 0) return `"${day}" is not a day (use ${DAYS.join(', ')})`;
    if (Number(hh) > 23 || Number(mi) > 59) return `${hh}:${mi} is not a time of day`;
    return d * 1440 + Number(hh) * 60 + Number(mi);
  };
  const start = minuteOfWeek(m[1]!, m[2]!, m[3]!);
  if (typeof start === 'string') return start;
  const end = minuteOfWeek(m[4]!, m[5]!, m[6]!);
  if (typeof end === 'string') return end;
  if ((end - start + WEEK_MINUTES) % WEEK_MINUTES < 30) return 'the window must be at least 30 minutes long';
  return { start, end };
}

/** Validates a PreferredMaintenanceWindow (at least 30 minutes) and returns it lower-case. */
export function parseMaintenanceWindow(value: string): string {
  const parsed = parse(value);
  if (typeof parsed === 'string') {
    throw invalidParameter(
      `Invalid PreferredMaintenanceWindow "${value}": ${parsed}. Use the format ddd:hh24:mi-ddd:hh24:mi in UTC, e.g. sun:06:00-sun:06:30.`,
    );
  }
  return value.toLowerCase();
}

/** True when `now` falls inside the weekly window (which may wrap past Saturday midnight). */
export function inMaintenanceWindow(window: string, now: Date): boolean {
  const parsed = parse(window);
  if (typeof parsed === 'string') return false;
  const minute = now.getUTCDay() * 1440 + now.getUTCHours() * 60 + now.getUTCMinutes();
  const { start, end } = parsed;
  return start <= end ? minute >= start && minute < end : minute >= start || minute < end;
}

/** A window of `minutes` starting now (used to build windows relative to a moment, e.g. in tests). */
export function windowStartingAt(now: Date, minutes: number): string {
  const fmt = (d: Date): string =>
    `${DAYS[d.getUTCDay()]}:${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
  return `${fmt(now)}-${fmt(new Date(now.getTime() + minutes * 60_000))}`;
}

export class InstanceMaintenance {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly app: App,
    private readonly restart: (instanceArn: string, onHello: { message: string; categories: string[] }[]) => void,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.checkAll(), CHECK_INTERVAL_MS);
    this.timer.unref();
    this.checkAll();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Applies an instance's pending modifications if it is in its window now (soon after the caller returns). */
  checkSoon(instanceArn: string): void {
    setImmediate(() => this.check(instanceArn));
  }

  private checkAll(): void {
    for (const r of this.app.store.instances.list()) this.check(r.ReplicationInstanceArn);
  }

  private check(instanceArn: string, now = new Date()): void {
    try {
      let automatic: AutomaticUpgrade | undefined;
      const plan = this.app.store.transaction(() => {
        const stored = this.app.store.instances.get(instanceArn);
        if (!stored || !inMaintenanceWindow(stored.PreferredMaintenanceWindow, now)) return undefined;
        // A deprecated engine version or AutoMinorVersionUpgrade adds an upgrade (engine-auto-upgrade.ts).
        const { record, upgrade } = withAutomaticUpgrade(stored);
        if (!hasPending(record) || !isAllowed('modify', record.ReplicationInstanceStatus)) return undefined;
        automatic = upgrade;
        const p = applyValues(record, pendingOf(record), this.app.config.region);
        this.app.store.instances.update(p.record);
        return p;
      });
      if (!plan) return;
      const source = { sourceIdentifier: plan.record.ReplicationInstanceIdentifier, sourceType: 'replication-instance' as const, sourceArn: instanceArn };
      if (automatic) this.app.event({ ...source, message: `Automatic engine upgrade in the maintenance window: ${automatic.reason}.`, categories: ['Maintenance'] });
      this.app.event({ ...source, message: 'Applying pending modifications in the maintenance window.', categories: ['Maintenance'] });
      for (const e of plan.events) this.app.event({ ...source, ...e });
      if (plan.restart) this.restart(instanceArn, plan.onHello);
    } catch (err) {
      this.app.log.error({ err, instanceArn }, 'cannot apply pending modifications');
    }
  }
}
