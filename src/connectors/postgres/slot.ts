/**
 * Logical replication slots on the source, through an ordinary SQL connection.
 *
 * The slot belongs to the TASK, not to the instance running it: resume-processing on any instance
 * reuses it (that is what makes a move lossless), while start-replication / reload-target drop and
 * recreate it. A slot can only be dropped or streamed from while no walsender holds it, and a
 * walsender of a task just stopped elsewhere may take a moment to exit, hence the waits below.
 */
import type pg from 'pg';
import { formatLsn, parseLsn } from '../../model/lsn.js';
import type { Lsn } from '../../model/lsn.js';

/** `opendms_<task resource id>`, lowercased and reduced to what a slot name allows. */
export function taskSlotName(taskResourceId: string): string {
  return `opendms_${taskResourceId.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 63);
}

export interface SlotInfo {
  slotName: string;
  plugin: string | null;
  active: boolean;
  activePid: number | null;
  confirmedFlushLsn: Lsn | null;
  restartLsn: Lsn | null;
}

export async function findSlot(db: pg.ClientBase, slotName: string): Promise<SlotInfo | undefined> {
  const res = await db.query<{ slot_name: string; plugin: string | null; active: boolean; active_pid: number | null; confirmed_flush_lsn: string | null; restart_lsn: string | null }>(
    `SELECT slot_name, plugin, active, active_pid, confirmed_flush_lsn::text, restart_lsn::text
       FROM pg_replication_slots WHERE slot_name = $1 AND database = current_database()`,
    [slotName],
  );
  const row = res.rows[0];
  if (!row) return undefined;
  return {
    slotName: row.slot_name,
    plugin: row.plugin,
    active: row.active,
    activePid: row.active_pid,
    confirmedFlushLsn: row.confirmed_flush_lsn ? parseLsn(row.confirmed_flush_lsn) : null,
    restartLsn: row.restart_lsn ? parseLsn(row.restart_lsn) : null,
  };
}

/** Waits (up to `timeoutMs`) until no walsender holds the slot. Returns false on timeout. */
export async function waitSlotInactive(db: pg.ClientBase, slotName: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
    const slot = await findSlot(db, slotName);
    if (!slot || !slot.active) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, delay));
  }
}

/** Drops the slot if it exists (waiting for a previous holder to let go). */
export async function dropSlotIfExists(db: pg.ClientBase, slotName: string): Promise<void> {
  if (!(await findSlot(db, slotName))) return;
  if (!(await waitSlotInactive(db, slotName, 15_000))) {
    throw new Error(`replication slot ${slotName} is still in use by another process; stop the task using it first`);
  }
  await db.query('SELECT pg_drop_replication_slot($1)', [slotName]);
}

/** The source's current WAL position and the slot's restart_lsn (what it holds back is the difference) and confirmed position. */
export interface SlotWalPositions {
  current: Lsn;
  restart: Lsn;
  confirmed: Lsn;
}

/** Undefined if the slot is missing or has no restart_lsn yet. */
export async function slotWalPositions(db: pg.ClientBase, slotName: string): Promise<SlotWalPositions | undefined> {
  const res = await db.query<{ current: string; restart: string | null; confirmed: string | null }>(
    `SELECT pg_current_wal_lsn()::text AS current, restart_lsn::text AS restart, confirmed_flush_lsn::text AS confirmed
       FROM pg_replication_slots WHERE slot_name = $1`,
    [slotName],
  );
  const row = res.rows[0];
  if (row?.restart == null || row.confirmed == null) return undefined;
  return { current: parseLsn(row.current), restart: parseLsn(row.restart), confirmed: parseLsn(row.confirmed) };
}

/**
 * Bytes of WAL a consumer starting at `from` (or at the slot's confirmed position, if later: the
 * slot starts there anyway) has ahead of it: how far behind CDC is.
 */
export async function walBacklogBytes(db: pg.ClientBase, slotName: string, from: Lsn): Promise<number> {
  const res = await db.query<{ bytes: string | null }>(
    `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), greatest(confirmed_flush_lsn, $2::pg_lsn))::text AS bytes
       FROM pg_replication_slots WHERE slot_name = $1`,
    [slotName, formatLsn(from)],
  );
  const bytes = res.rows[0]?.bytes;
  return bytes == null ? 0 : Math.max(0, Number(bytes));
}
