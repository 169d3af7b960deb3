/**
 * Control tables on the target (spec §7), in ControlTablesSettings.ControlSchema (`public` when "").
 *
 * `awsdms_txn_state` is what makes apply exactly-once: the applier upserts the task's row in the
 * SAME target transaction as the changes it covers, so after any crash the row says precisely
 * which source transactions the target has. AWS only writes it with TaskRecoveryTableEnabled; we
 * always do (exactly-once depends on it); the setting is accepted and changes nothing.
 * Columns (ours, AWS leaves them undocumented): task_name (task resource id), checkpoint (the
 * RecoveryCheckpoint string), commit_lsn (commit end-LSN of the last applied source transaction),
 * seq, phase (`full-load` until the load finished, then `cdc`), commit_time (source commit time
 * of that transaction), updated_at, and catch_up (JSON, set only after a full load resumed from
 * a second snapshot: the LSN bounds CDC needs to replay over it correctly, kept here so they
 * survive any number of later restarts until the checkpoint passes them), and suspended (JSON: the
 * tables ErrorBehavior suspended, written in the apply transaction that skips their first change,
 * so a stopped, crashed or moved task keeps them suspended; cleared by a fresh start, reload-target
 * or ReloadTables of the table).
 *
 * `awsdms_history` (HistoryTableEnabled): one row per timeslot and phase, see history.ts.
 */
import type pg from 'pg';
import { formatLsn, parseLsn } from '../model/lsn.js';
import type { Lsn } from '../model/lsn.js';
import { quoteIdent, quoteLiteral } from '../connectors/postgres/sql.js';

export type TxnPhase = 'full-load' | 'cdc';

/** Replay bounds after a full load resumed from a second snapshot (see TaskRunner.resumeFullLoad). */
export interface CatchUp {
  lenientUntil: Lsn;
  /** Source table (`schema\u0000table`) -> changes before this LSN are already in the target. */
  tableSkipBefore: Map<string, Lsn>;
}

export interface TxnState {
  checkpoint: string;
  lsn: Lsn;
  seq: number;
  phase: TxnPhase;
  catchUp?: CatchUp;
}

function encodeCatchUp(c: CatchUp | undefined): string | null {
  if (!c) return null;
  return JSON.stringify({ lenientUntil: formatLsn(c.lenientUntil), tables: [...c.tableSkipBefore].map(([k, v]) => [k, formatLsn(v)]) });
}

function decodeCatchUp(text: string | null): CatchUp | undefined {
  if (!text) return undefined;
  const o = JSON.parse(text) as { lenientUntil: string; tables: [string, string][] };
  return { lenientUntil: parseLsn(o.lenientUntil), tableSkipBefore: new Map(o.tables.map(([k, v]) => [k, parseLsn(v)])) };
}

export interface ControlTables {
  schema: string;
  txnState: string;
  applyExceptions: string;
  status: string;
  suspendedTables: string;
  history: string;
}

export function controlTables(controlSchema: string | undefined): ControlTables {
  const schema = controlSchema && controlSchema.length > 0 ? controlSchema : 'public';
  const q = (t: string) => `${quoteIdent(schema)}.${quoteIdent(t)}`;
  return { schema, txnState: q('awsdms_txn_state'), applyExceptions: q('awsdms_apply_exceptions'), status: q('awsdms_status'), suspendedTables: q('awsdms_suspended_tables'), history: q('awsdms_history') };
}

/** Creates the control tables that are missing. Safe to run concurrently from several tasks. */
export async function ensureControlTables(db: pg.ClientBase, ct: ControlTables, opts: { statusTable: boolean; suspendedTablesTable?: boolean; historyTable?: boolean }): Promise<void> {
  const ddl = [
    `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(ct.schema)}`,
    `CREATE TABLE IF NOT EXISTS ${ct.txnState} (
       task_name varchar(128) PRIMARY KEY,
       checkpoint text NOT NULL,
       commit_lsn pg_lsn NOT NULL,
       seq bigint NOT NULL,
       phase varchar(16) NOT NULL,
       commit_time timestamptz,
       updated_at timestamptz NOT NULL DEFAULT now(),
       catch_up text)`,
    // Tables created by an earlier version lack the column.
    `ALTER TABLE ${ct.txnState} ADD COLUMN IF NOT EXISTS catch_up text`,
    `ALTER TABLE ${ct.txnState} ADD COLUMN IF NOT EXISTS suspended text`,
    `CREATE TABLE IF NOT EXISTS ${ct.applyExceptions} (
       task_name varchar(128) NOT NULL,
       table_owner varchar(128),
       table_name varchar(128),
       error_time timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
       statement text,
       error text)`,
  ];
  if (opts.statusTable) {
    ddl.push(`CREATE TABLE IF NOT EXISTS ${ct.status} (
       server_name varchar(128) NOT NULL,
       task_name varchar(128) PRIMARY KEY,
       task_status varchar(32),
       status_time timestamp,
       pending_changes bigint,
       disk_swap_size bigint,
       task_memory bigint,
       source_current_position varchar(128),
       source_current_timestamp timestamp,
       source_tail_position varchar(128),
       source_tail_timestamp timestamp,
       source_timestamp_applied timestamp)`);
  }
  if (opts.suspendedTablesTable) {
    ddl.push(`CREATE TABLE IF NOT EXISTS ${ct.suspendedTables} (
       server_name varchar(128) NOT NULL,
       task_name varchar(128) NOT NULL,
       table_owner varchar(128) NOT NULL,
       table_name varchar(128) NOT NULL,
       suspend_reason text,
       suspend_timestamp timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'utc'))`);
  }
  if (opts.historyTable) {
    ddl.push(`CREATE TABLE IF NOT EXISTS ${ct.history} (
       server_name varchar(128) NOT NULL,
       task_name varchar(128) NOT NULL,
       timeslot_type varchar(32) NOT NULL,
       timeslot timestamp NOT NULL,
       timeslot_duration integer,
       timeslot_latency integer,
       timeslot_records bigint,
       timeslot_volume bigint)`);
  }
  // Tasks sharing a target create these tables at their first start, possibly at the same moment:
  // CREATE ... IF NOT EXISTS is not safe against a concurrent create (the loser fails on the catalog,
  // e.g. 'type "awsdms_apply_exceptions" already exists'), so creation is serialised per schema.
  await db.query('BEGIN');
  try {
    await db.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`opendms:control-tables:${ct.schema}`]);
    for (const sql of ddl) await db.query(sql);
    await db.query('COMMIT');
  } catch (err) {
    await db.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

export async function readTxnState(db: pg.ClientBase, ct: ControlTables, taskName: string): Promise<TxnState | undefined> {
  const res = await db.query<{ checkpoint: string; commit_lsn: string; seq: string; phase: string; catch_up: string | null }>(
    `SELECT checkpoint, commit_lsn::text, seq::text, phase, catch_up FROM ${ct.txnState} WHERE task_name = $1`,
    [taskName],
  );
  const row = res.rows[0];
  if (!row) return undefined;
  const state: TxnState = { checkpoint: row.checkpoint, lsn: parseLsn(row.commit_lsn), seq: Number(row.seq), phase: row.phase as TxnPhase };
  const catchUp = decodeCatchUp(row.catch_up);
  if (catchUp) state.catchUp = catchUp;
  return state;
}

/**
 * The upsert the applier runs inside its transaction, with values inlined so it can travel in the
 * same simple-query batch as the COMMIT (one round trip per target transaction saved).
 */
export function txnStateUpsertLiteralSql(
  ct: ControlTables,
  taskName: string,
  s: { checkpoint: string; lsn: Lsn; seq: number; phase: TxnPhase; commitTime: Date | null },
): string {
  const time = s.commitTime ? `${quoteLiteral(s.commitTime.toISOString())}::timestamptz` : 'NULL';
  return `INSERT INTO ${ct.txnState} (task_name, checkpoint, commit_lsn, seq, phase, commit_time, updated_at)
          VALUES (${quoteLiteral(taskName)}, ${quoteLiteral(s.checkpoint)}, '${formatLsn(s.lsn)}'::pg_lsn, ${Math.trunc(s.seq)}, ${quoteLiteral(s.phase)}, ${time}, now())
          ON CONFLICT (task_name) DO UPDATE SET checkpoint = EXCLUDED.checkpoint, commit_lsn = EXCLUDED.commit_lsn,
            seq = EXCLUDED.seq, phase = EXCLUDED.phase, commit_time = EXCLUDED.commit_time, updated_at = now()`;
}

export async function writeTxnState(
  db: pg.ClientBase,
  ct: ControlTables,
  taskName: string,
  state: { checkpoint: string; lsn: Lsn; seq: number; phase: TxnPhase; catchUp?: CatchUp },
): Promise<void> {
  await db.query(
    `INSERT INTO ${ct.txnState} (task_name, checkpoint, commit_lsn, seq, phase, catch_up, updated_at)
     VALUES ($1, $2, $3::pg_lsn, $4, $5, $6, now())
     ON CONFLICT (task_name) DO UPDATE SET checkpoint = EXCLUDED.checkpoint, commit_lsn = EXCLUDED.commit_lsn,
       seq = EXCLUDED.seq, phase = EXCLUDED.phase, catch_up = EXCLUDED.catch_up, updated_at = now()`,
    [taskName, state.checkpoint, formatLsn(state.lsn), state.seq, state.phase, encodeCatchUp(state.catchUp)],
  );
}

export async function deleteTxnState(db: pg.ClientBase, ct: ControlTables, taskName: string): Promise<void> {
  await db.query(`DELETE FROM ${ct.txnState} WHERE task_name = $1`, [taskName]);
}

export interface ApplyException {
  taskName: string;
  tableOwner: string;
  tableName: string;
  statement: string;
  error: string;
}

export async function insertApplyException(db: pg.ClientBase, ct: ControlTables, e: ApplyException): Promise<void> {
  await db.query(`INSERT INTO ${ct.applyExceptions} (task_name, table_owner, table_name, statement, error) VALUES ($1, $2, $3, $4, $5)`, [
    e.taskName,
    e.tableOwner,
    e.tableName,
    e.statement,
    e.error,
  ]);
}

/** A table suspended by ErrorBehavior (SuspendedTablesTableEnabled), written in the applier's open transaction. */
export async function insertSuspendedTable(
  db: pg.ClientBase,
  ct: ControlTables,
  row: { serverName: string; taskName: string; tableOwner: string; tableName: string; reason: string },
): Promise<void> {
  await db.query(`INSERT INTO ${ct.suspendedTables} (server_name, task_name, table_owner, table_name, suspend_reason) VALUES ($1, $2, $3, $4, $5)`, [
    row.serverName,
    row.taskName,
    row.tableOwner,
    row.tableName,
    row.reason,
  ]);
}

export async function upsertStatus(
  db: pg.ClientBase,
  ct: ControlTables,
  row: { serverName: string; taskName: string; taskStatus: string; pendingChanges: number; memoryMb: number; currentPosition?: string; appliedTime?: Date },
): Promise<void> {
  await db.query(
    `INSERT INTO ${ct.status} (server_name, task_name, task_status, status_time, pending_changes, disk_swap_size, task_memory, source_current_position, source_timestamp_applied)
     VALUES ($1, $2, $3, now() AT TIME ZONE 'utc', $4, 0, $5, $6, $7 AT TIME ZONE 'utc')
     ON CONFLICT (task_name) DO UPDATE SET server_name = EXCLUDED.server_name, task_status = EXCLUDED.task_status,
       status_time = EXCLUDED.status_time, pending_changes = EXCLUDED.pending_changes, task_memory = EXCLUDED.task_memory,
       source_current_position = EXCLUDED.source_current_position, source_timestamp_applied = EXCLUDED.source_timestamp_applied`,
    [row.serverName, row.taskName, row.taskStatus, row.pendingChanges, row.memoryMb, row.currentPosition ?? null, row.appliedTime ?? null],
  );
}

/** A table ErrorBehavior suspended (target and source names), kept in awsdms_txn_state.suspended. */
export interface SuspendedTable {
  schema: string;
  table: string;
  sourceSchema: string;
  sourceTable: string;
  reason: string;
}

export async function readSuspendedTables(db: pg.ClientBase, ct: ControlTables, taskName: string): Promise<SuspendedTable[]> {
  const res = await db.query<{ suspended: string | null }>(`SELECT suspended FROM ${ct.txnState} WHERE task_name = $1`, [taskName]);
  const text = res.rows[0]?.suspended;
  return text ? (JSON.parse(text) as SuspendedTable[]) : [];
}

/** Adds a suspended table to the task's row; run on the apply connection, it joins the open transaction. */
export async function addSuspendedTable(db: pg.ClientBase, ct: ControlTables, taskName: string, s: SuspendedTable): Promise<void> {
  const list = (await readSuspendedTables(db, ct, taskName)).filter((x) => x.schema !== s.schema || x.table !== s.table);
  list.push(s);
  await db.query(`UPDATE ${ct.txnState} SET suspended = $2 WHERE task_name = $1`, [taskName, JSON.stringify(list)]);
}

/**
 * Lifts the suspension of the given target tables (ReloadTables): removes them from the task's
 * row and, when that table exists, their rows in awsdms_suspended_tables.
 */
export async function clearSuspendedTables(db: pg.ClientBase, ct: ControlTables, taskName: string, tables: { schema: string; table: string }[]): Promise<void> {
  const list = await readSuspendedTables(db, ct, taskName);
  const keep = list.filter((x) => !tables.some((t) => t.schema === x.schema && t.table === x.table));
  if (keep.length !== list.length) await db.query(`UPDATE ${ct.txnState} SET suspended = $2 WHERE task_name = $1`, [taskName, keep.length > 0 ? JSON.stringify(keep) : null]);
  await deleteSuspendedTableRows(db, ct, taskName, tables);
}

/** Deletes the task's rows from awsdms_suspended_tables (all of them without `tables`), when it exists. */
export async function deleteSuspendedTableRows(db: pg.ClientBase, ct: ControlTables, taskName: string, tables?: { schema: string; table: string }[]): Promise<void> {
  const exists = (await db.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [ct.suspendedTables])).rows[0]?.ok;
  if (!exists) return;
  if (!tables) {
    await db.query(`DELETE FROM ${ct.suspendedTables} WHERE task_name = $1`, [taskName]);
    return;
  }
  for (const t of tables) await db.query(`DELETE FROM ${ct.suspendedTables} WHERE task_name = $1 AND table_owner = $2 AND table_name = $3`, [taskName, t.schema, t.table]);
}

export interface HistoryRow {
  serverName: string;
  taskName: string;
  type: 'FULL LOAD' | 'CHANGE PROCESSING (CDC)';
  /** End of the timeslot. */
  end: Date;
  durationMinutes: number;
  latencySeconds: number | null;
  records: number;
  volumeMb: number | null;
}

export async function insertHistory(db: pg.ClientBase, ct: ControlTables, rows: HistoryRow[]): Promise<void> {
  for (const r of rows) {
    await db.query(
      `INSERT INTO ${ct.history} (server_name, task_name, timeslot_type, timeslot, timeslot_duration, timeslot_latency, timeslot_records, timeslot_volume)
       VALUES ($1, $2, $3, $4::timestamptz AT TIME ZONE 'utc', $5, $6, $7, $8)`,
      [r.serverName, r.taskName, r.type, r.end.toISOString(), r.durationMinutes, r.latencySeconds, r.records, r.volumeMb],
    );
  }
}
