/**
 * Runs one replication task (PostgreSQL -> PostgreSQL) inside a replication instance: full load,
 * CDC, or both, per its migration type and start type, with retries and reporting.
 *
 *   start ──▶ connect, control tables, plan tables ──▶ [full load] ──▶ [CDC session] ──▶ stopped
 *                 ▲                                                        │
 *                 └──── retry (RecoverableErrorInterval, doubling) ◀──────┘ connection errors
 *
 * Where a task resumes from is read from the TARGET (awsdms_txn_state), never from this process:
 * whatever instance runs the task next (a move, a crash, an upgrade) resumes from the target's
 * checkpoint and the task's slot, and skips what the target already has.
 *
 * Slot and publication belong to the task (`opendms_<task resource id>` unless the source endpoint
 * names a SlotName): resume-processing reuses them; start-replication and reload-target recreate
 * the slot. Phase bookkeeping in awsdms_txn_state: `full-load` (slot created, load not finished;
 * its LSN is the slot's consistent point) then `cdc`.
 */
import { hostname } from 'node:os';
import type pg from 'pg';
import { readSourceCatalog } from '../connectors/postgres/catalog.js';
import type { SourceTableInfo } from '../connectors/postgres/catalog.js';
import { classifyPostgresError, isConnectionLoss } from '../connectors/postgres/errors.js';
import { connectPostgres } from '../connectors/postgres/pool.js';
import { ensurePublication, taskPublicationName } from '../connectors/postgres/publication.js';
import type { ChangeStream } from '../connectors/postgres/change-stream.js';
import { ReplicationConnection } from '../connectors/postgres/replication-connection.js';
import { SlotChangesReader } from '../connectors/postgres/slot-changes-reader.js';
import { dropSlotIfExists, findSlot, taskSlotName, waitSlotInactive, walBacklogBytes } from '../connectors/postgres/slot.js';
import { qualifiedName } from '../connectors/postgres/sql.js';
import { targetColumnDeclaration } from '../connectors/postgres/type-map.js';
import { formatLsn, parseLsn } from '../model/lsn.js';
import type { Lsn } from '../model/lsn.js';
import { planTables } from '../model/table-mappings.js';
import type { PlannedTable, TableMappings } from '../model/table-mappings.js';
import { readTaskSettings } from '../model/task-settings.js';
import type { TaskSettings } from '../model/task-settings.js';
import { Applier, FatalApplyError } from './apply/applier.js';
import type { TableCounts } from './apply/applier.js';
import { CdcSession } from './cdc/cdc-session.js';
import { Relations } from './cdc/relations.js';
import type { TablePlanner } from './cdc/relations.js';
import { SourceMonitor } from './cdc/source-monitor.js';
import { FallBehindWatch } from './cdc/fall-behind-watch.js';
import { formatCheckpoint, parseCdcStartPosition, parseCdcStopPosition, parseCheckpoint } from './checkpoint.js';
import type { CdcStop } from './checkpoint.js';
import type { RunningTask, TableStats, TaskOutcome, TaskReporter, TaskSpec, TaskStats } from './contracts.js';
import {
  addSuspendedTable,
  clearSuspendedTables,
  controlTables,
  deleteSuspendedTableRows,
  deleteTxnState,
  ensureControlTables,
  insertHistory,
  insertSuspendedTable,
  readSuspendedTables,
  readTxnState,
  upsertStatus,
  writeTxnState,
} from './control-tables.js';
import type { CatchUp, ControlTables, HistoryRow, TxnState } from './control-tables.js';
import { applyPolicies, ErrorPolicy } from './apply/error-policy.js';
import { HistoryTimeslots } from './history.js';
import { runFullLoad } from './full-load/index.js';
import type { FullLoadResult } from './full-load/index.js';
import { PreparedTargets, sourceCatalog, takePrepared } from './prepared-catalog.js';
import type { PreparedCatalog } from './prepared-catalog.js';

const STOP = {
  normal: 'Stop Reason NORMAL',
  fullLoadOnly: 'Stop Reason FULL_LOAD_ONLY_FINISHED',
  serverTime: 'Stop Reason STOPPED_AT_SERVER_TIME',
  commitTime: 'Stop Reason STOPPED_AT_COMMIT_TIME',
  afterFullLoad: 'Stop Reason STOPPED_AFTER_FULL_LOAD',
  afterCachedEvents: 'Stop Reason STOPPED_AFTER_CACHED_EVENTS',
  recoverable: 'Stop Reason RECOVERABLE_ERROR',
  fatal: 'Stop Reason FATAL_ERROR',
} as const;

/** cdc() result: paused for ReloadTables. */
const RELOAD = 'reload';
/** cdc() result: streaming fell behind; catch up through the SQL interface (FallBehindWatch). */
const CATCH_UP = 'catch-up';

/** How a CDC session ended: a stop reason, RELOAD, CATCH_UP, or its stream ended ('caught_up' for the SQL catch-up). */
type CdcEnd = string;

/** An error no retry can fix (bad position, missing slot, STOP_TASK policy, ...). */
class FatalTaskError extends Error {}

/** Reading through the SQL interface failed on the source's side: retried, streaming (not a fatal error). */
class SqlCatchUpFailed extends Error {}

interface TableStat extends TableStats {
  Inserts: number;
  Updates: number;
  Deletes: number;
  Ddls: number;
}

export class TaskRunner implements RunningTask {
  private readonly settings: TaskSettings;
  private readonly ct: ControlTables;
  private readonly slotName: string;
  private readonly publication: string;
  private readonly abort = new AbortController();
  private stopRequested = false;
  private session: CdcSession | undefined;
  private wakeRetry: (() => void) | undefined;
  private reportedRunning = false;
  private startType: TaskSpec['startType'];
  private readonly tables = new Map<string, TableStat>();
  private readonly taskStats: TaskStats;
  private readonly startedAt = Date.now();
  private checkpoint: string | undefined;
  private lastCheckpointReport = 0;
  private lastCheckpointReported: string | undefined;
  private progressTimer: NodeJS.Timeout | undefined;
  private cdcLive: { latencySeconds: number; pendingChanges: number } = { latencySeconds: 0, pendingChanges: 0 };
  private monitor: SourceMonitor | undefined;
  private fullLoadPercent: number | undefined;
  private stopAtLsn: Lsn | undefined;
  /** Something was committed since the last recoverable error (resets the retry count). */
  private progressed = false;
  private statusDb: pg.Client | undefined;
  private statusBusy = false;
  private lastStatusWrite = 0;
  private phase: 'FULL LOAD' | 'CHANGE PROCESSING (CDC)' | 'NOT RUNNING' = 'NOT RUNNING';
  private readonly reloadQueue: { SchemaName: string; TableName: string }[] = [];
  private pausedAt: { lsn: Lsn; seq: number } | undefined;
  /** Streaming fell behind by this many bytes: the session was asked to stop for a catch-up through SQL. */
  private catchUpRequested: number | undefined;
  private fallBehind: FallBehindWatch | undefined;
  /** The source refused the SQL catch-up once in this run: streaming that falls behind stays streaming. */
  private sqlCatchUpRefused = false;
  /** Reading through the SQL interface failed in this run (not a lost connection): every attempt streams. */
  private sqlCatchUpFailed: string | undefined;
  private retainedWalBytes: number | undefined;
  /** The catalog prepared on this instance for this start (prepare-task), until the first attempt uses it. */
  private prepared: PreparedCatalog | undefined;
  private preparedTargets: PreparedTargets | undefined;
  /** ErrorBehavior with its escalation counts: one for the task's whole run (across retries). */
  private readonly errorPolicy: ErrorPolicy;
  /** Source tables (`schema\u0000table`) suspended by ErrorBehavior: their changes are not mapped. */
  private readonly suspendedSources = new Set<string>();
  private readonly history: HistoryTimeslots | undefined;
  private historyRows: HistoryRow[] = [];
  private historyWrite: Promise<void> | undefined;
  /** Commit LSN the last history count started from (CDC volume). */
  private historyLsn: Lsn | undefined;
  private readonly fullLoadRowsSeen = new Map<string, number>();
  readonly done: Promise<void>;

  constructor(
    private readonly spec: TaskSpec,
    private readonly reporter: TaskReporter,
  ) {
    this.settings = readTaskSettings(spec.settings);
    this.ct = controlTables(this.settings.ControlTablesSettings.ControlSchema);
    const slot = sourceSetting(spec, 'SlotName', 'slotName');
    this.slotName = typeof slot === 'string' && slot !== '' ? slot : taskSlotName(spec.taskResourceId);
    // A slot decodes through the publication as it existed when each change was written, so a
    // task on a named slot (e.g. a CDC-only task continuing another task's slot) must use the
    // publication that slot was used with: it is named after the slot.
    this.publication = typeof slot === 'string' && slot !== '' ? slot : taskPublicationName(spec.taskResourceId);
    this.startType = spec.startType;
    this.checkpoint = spec.recoveryCheckpoint;
    this.prepared = takePrepared(spec);
    const now = new Date().toISOString();
    this.taskStats = { StartDate: now, ...(spec.startType === 'resume-processing' ? {} : { FreshStartDate: now }) };
    this.errorPolicy = new ErrorPolicy(applyPolicies(this.settings.ErrorBehavior));
    const cts = this.settings.ControlTablesSettings;
    // The live API echoes the slot length twice (also as historyTimeslotInMinutes): whichever was changed from the default counts.
    const slotMinutes = cts.HistoryTimeslotInMinutes !== 5 ? cts.HistoryTimeslotInMinutes : cts.historyTimeslotInMinutes;
    if (cts.HistoryTableEnabled && spec.migrationType !== 'full-load') this.history = new HistoryTimeslots(slotMinutes * 60_000, Date.now());
    this.done = this.main();
  }

  async stop(): Promise<void> {
    this.stopRequested = true;
    this.abort.abort();
    this.session?.requestStop();
    this.wakeRetry?.();
    await this.done;
  }

  async reloadTables(tables: { SchemaName: string; TableName: string }[]): Promise<void> {
    if (this.spec.migrationType !== 'full-load-and-cdc') {
      this.reporter.event('ReloadTables applies to full-load-and-cdc tasks while they run CDC', ['failure']);
      return;
    }
    this.reloadQueue.push(...tables);
    // CDC pauses at the next transaction boundary; runOnce then reloads (see reloadNow).
    this.session?.requestStop();
  }

  // ---- lifecycle ----

  private async main(): Promise<void> {
    const eb = this.settings.ErrorBehavior;
    let attempt = 0;
    let outcome: Exclude<TaskOutcome, { status: 'running' }>;
    this.progressTimer = setInterval(() => this.reportProgress(), 1_000);
    try {
      for (;;) {
        try {
          const reason = await this.runOnce();
          outcome = { status: 'stopped', stopReason: reason };
          break;
        } catch (err) {
          const fatal = err instanceof FatalTaskError || err instanceof FatalApplyError || !isRetryable(err);
          const message = describeError(err);
          if (this.stopRequested) {
            outcome = { status: 'stopped', stopReason: STOP.normal };
            break;
          }
          // A task that made progress since the last error starts counting again.
          if (this.progressed) attempt = 0;
          this.progressed = false;
          attempt++;
          const base = Math.max(0, eb.RecoverableErrorInterval) * 1000;
          const max = Math.max(base, eb.RecoverableErrorThrottlingMax * 1000);
          const delay = eb.RecoverableErrorThrottling ? Math.min(max, base * 2 ** (attempt - 1)) : base;
          const throttledOut =
            eb.RecoverableErrorThrottling && eb.RecoverableErrorStopRetryAfterThrottlingMax && base > 0 && base * 2 ** (attempt - 2) >= max;
          const exhausted = (eb.RecoverableErrorCount >= 0 && attempt > eb.RecoverableErrorCount) || throttledOut;
          if (fatal || exhausted) {
            outcome = { status: 'failed', failureMessage: message, stopReason: fatal ? STOP.fatal : STOP.recoverable };
            break;
          }
          // After the first attempt set things up, retries continue where the target says.
          if (this.startType !== 'resume-processing' && (await this.setupDone())) this.startType = 'resume-processing';
          this.reporter.event(`recoverable error (attempt ${attempt}), retrying in ${Math.round(delay / 1000)} s: ${message}`, ['failure']);
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, delay);
            this.wakeRetry = () => {
              clearTimeout(t);
              resolve();
            };
          });
          if (this.stopRequested) {
            outcome = { status: 'stopped', stopReason: STOP.normal };
            break;
          }
        }
      }
    } finally {
      clearInterval(this.progressTimer);
    }
    this.taskStats.StopDate = new Date().toISOString();
    this.reportProgress();
    if (this.checkpoint && this.checkpoint !== this.lastCheckpointReported) this.reporter.checkpoint(this.checkpoint);
    if (this.checkpoint) outcome.recoveryCheckpoint = this.checkpoint;
    this.reporter.status(outcome);
  }

  /** Whether the first attempt got far enough that a retry must resume instead of starting over. */
  private async setupDone(): Promise<boolean> {
    let target: pg.Client | undefined;
    try {
      target = await connectPostgres(this.spec.target, { applicationNameSuffix: `${this.spec.taskResourceId}:probe` });
      return (await readTxnState(target, this.ct, this.spec.taskResourceId)) !== undefined;
    } catch {
      return false;
    } finally {
      await target?.end().catch(() => {});
    }
  }

  private async runOnce(): Promise<string> {
    const spec = this.spec;
    const clients: pg.Client[] = [];
    const open = async (endpoint: TaskSpec['source'], name: string) => {
      const c = await connectPostgres(endpoint, { statementTimeoutMs: 0, applicationNameSuffix: `${spec.taskResourceId}:${name}` });
      clients.push(c);
      return c;
    };
    /**
     * Opens side by side; if one fails, waits for the others to settle (each connected one is in
     * `clients`, closed with the attempt) before throwing, so none connects after the cleanup.
     */
    const openAll = async <T extends unknown[]>(opening: { [K in keyof T]: Promise<T[K]> }): Promise<T> => {
      const settled = await Promise.allSettled(opening);
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as T;
    };
    let repl: ReplicationConnection | undefined;
    // CDC comes next (no full load first, or most likely a resume past it): its replication and
    // monitor connections open with the others. Otherwise they open when the load is over,
    // rather than sit idle through it.
    const cdcSoon = spec.migrationType === 'cdc' || (spec.migrationType === 'full-load-and-cdc' && this.startType === 'resume-processing');
    let replOpening = this.startType === 'resume-processing' && cdcSoon ? ReplicationConnection.open(spec.source, `${spec.taskResourceId}:cdc`) : undefined;
    replOpening?.catch(() => undefined);
    try {
      // Connections are opened side by side (each costs a TCP and SCRAM handshake): a resumed
      // task's start is part of every move's handover time.
      const wantStatus = this.settings.ControlTablesSettings.StatusTableEnabled || this.history !== undefined;
      const [target, source, statusDb, monitorOpened] = await openAll<[pg.Client, pg.Client, pg.Client | undefined, pg.Client | undefined]>([
        open(spec.target, 'apply'),
        open(spec.source, 'catalog'),
        // awsdms_status and awsdms_history get their own connection: the apply connection is inside transactions.
        wantStatus ? open(spec.target, 'status') : Promise.resolve(undefined),
        // Heartbeats and the WAL a slot holds back (SourceMonitor).
        cdcSoon ? open(spec.source, 'monitor') : Promise.resolve(undefined),
      ]);
      this.statusDb = statusDb;
      const [, catalog] = await Promise.all([
        ensureControlTables(target, this.ct, {
          statusTable: this.settings.ControlTablesSettings.StatusTableEnabled,
          suspendedTablesTable: this.settings.ControlTablesSettings.SuspendedTablesTableEnabled,
          historyTable: this.history !== undefined,
        }),
        this.sourceCatalog(source),
      ]);
      const planned = planTables(spec.tableMappings as TableMappings, catalog).map((t) => this.withTargetSchema(t));
      for (const t of planned) this.tableStat(t.source.schema, t.source.table);
      if (planned.length === 0 && this.settings.ErrorBehavior.FailOnNoTablesCaptured) {
        throw new FatalTaskError('the table mappings select no source table (ErrorBehavior.FailOnNoTablesCaptured is true)');
      }
      // CDC-only tasks are running once capture has started (a change made after `running` is
      // never missed); tasks with a full load once the load starts.
      if (spec.migrationType !== 'cdc') this.running();

      if (spec.migrationType === 'full-load') {
        const result = await this.fullLoad(planned, catalog, this.startType === 'resume-processing', undefined);
        if (result.outcome === 'aborted') return STOP.normal;
        return STOP.fullLoadOnly;
      }

      const cdcOnly = spec.migrationType === 'cdc';
      let state: TxnState | undefined;
      let catchUp: CatchUp = { lenientUntil: 0n, tableSkipBefore: new Map() };
      if (this.startType === 'resume-processing') {
        const [txnState, slot] = await Promise.all([readTxnState(target, this.ct, spec.taskResourceId), findSlot(source, this.slotName)]);
        state = txnState;
        let fromSpec = false;
        if (!state && spec.recoveryCheckpoint) {
          const cp = parseCheckpoint(spec.recoveryCheckpoint);
          state = { checkpoint: spec.recoveryCheckpoint, lsn: cp.lsn, seq: cp.seq, phase: 'cdc' };
          fromSpec = true;
        }
        if (!state) throw new FatalTaskError('there is no recovery checkpoint to resume from (none on the target and none saved); start the task with start-replication');
        if (!slot) {
          throw new FatalTaskError(
            `replication slot ${this.slotName} no longer exists on the source, so changes since checkpoint ${state.checkpoint} are lost; restart the task with start-replication (or reload-target)`,
          );
        }
        // The target had no row: written now, so what the run records with the checkpoint before
        // its first commit (a suspended table) has a row to go to.
        if (fromSpec) await writeTxnState(target, this.ct, spec.taskResourceId, state);
        if (state.phase === 'full-load') {
          // The load takes a while: the replication connection opened ahead is opened again after it.
          await replOpening!.then((r) => r.close(), () => undefined);
          replOpening = undefined;
          await ensurePublication(source, this.publication, planned.map((t) => t.source));
          const resumed = await this.resumeFullLoad(planned, catalog);
          if (!resumed) return STOP.normal;
          state = { ...state, phase: 'cdc', catchUp: resumed };
          await writeTxnState(target, this.ct, spec.taskResourceId, state);
          repl = await ReplicationConnection.open(spec.source, `${spec.taskResourceId}:cdc`);
        } else {
          repl = await replOpening!;
          await ensurePublication(source, this.publication, planned.map((t) => t.source));
        }
        if (state.catchUp) catchUp = state.catchUp;
      } else {
        // start-replication / reload-target: a fresh position (and no table suspended any more).
        await deleteTxnState(target, this.ct, spec.taskResourceId);
        await deleteSuspendedTableRows(target, this.ct, spec.taskResourceId);
        await ensurePublication(source, this.publication, planned.map((t) => t.source));
        const userSlot = this.slotName !== taskSlotName(spec.taskResourceId);
        repl = await ReplicationConnection.open(spec.source, `${spec.taskResourceId}:cdc`);
        if (cdcOnly) {
          state = await this.cdcStartPosition(source, repl, userSlot);
          // Recorded at once, so a resume before the first commit starts from here too.
          await writeTxnState(target, this.ct, spec.taskResourceId, state);
        } else {
          await dropSlotIfExists(source, this.slotName);
          const created = await repl.createSlot(this.slotName, true);
          state = { checkpoint: formatCheckpoint({ seq: 0, lsn: created.consistentPoint }), lsn: created.consistentPoint, seq: 0, phase: 'full-load' };
          await writeTxnState(target, this.ct, spec.taskResourceId, state);
          this.checkpoint = state.checkpoint;
          const result = await this.fullLoad(planned, catalog, false, created.snapshotName);
          if (result.outcome === 'aborted') return STOP.normal;
          state = { ...state, phase: 'cdc' };
          await writeTxnState(target, this.ct, spec.taskResourceId, state);
          const fl = this.settings.FullLoadSettings;
          if (fl.StopTaskCachedChangesNotApplied) return STOP.afterFullLoad;
          // "Cached changes" = what was committed while the load ran: apply up to the load's end.
          if (fl.StopTaskCachedChangesApplied) this.stopAtLsn = await currentWalLsn(source);
        }
        // From here on a retry must resume, never start over (it would drop the slot).
        this.startType = 'resume-processing';
      }
      if (this.stopRequested) return STOP.normal;
      this.checkpoint = state.checkpoint;
      const monitorDb = monitorOpened ?? (await open(spec.source, 'monitor'));
      for (;;) {
        const end = await this.cdc(repl, target, source, planned, state, catchUp, monitorDb);
        if (end !== CATCH_UP && end !== RELOAD) return end;
        // CDC paused at a transaction boundary with everything committed; it goes on from there on a
        // new connection (the old one is in streaming mode).
        await repl.close();
        const position: TxnState = { checkpoint: this.checkpoint ?? state.checkpoint, lsn: this.pausedAt!.lsn, seq: this.pausedAt!.seq, phase: 'cdc' };
        if (end === CATCH_UP) {
          // Streaming fell behind: the next cdc() catches up through SQL.
          if (this.stopRequested) return STOP.normal;
          state = { ...position, catchUp };
          repl = await ReplicationConnection.open(spec.source, `${spec.taskResourceId}:cdc`);
          continue;
        }
        // ReloadTables: reload, then continue.
        const reloaded = await this.reloadNow(planned, catalog, target);
        if (reloaded === undefined) return STOP.normal;
        const tableSkipBefore = new Map(catchUp.tableSkipBefore);
        for (const [k, lsn] of reloaded) tableSkipBefore.set(k, lsn);
        catchUp = { lenientUntil: catchUp.lenientUntil, tableSkipBefore };
        state = { ...position, catchUp };
        await writeTxnState(target, this.ct, spec.taskResourceId, state);
        repl = await ReplicationConnection.open(spec.source, `${spec.taskResourceId}:cdc`);
      }
    } finally {
      this.phase = 'NOT RUNNING';
      await this.writeStatus(true);
      await this.writeHistory(true);
      this.statusDb = undefined;
      this.monitor?.stop();
      this.monitor = undefined;
      await repl?.close();
      // Opened ahead, not taken (an error before the resume read its position).
      if (replOpening && !repl) await replOpening.then((r) => r.close(), () => undefined);
      await Promise.all(clients.map((c) => c.end().catch(() => {})));
    }
  }

  /** CDC-only start-replication: CdcStartPosition on the (user's or our) slot, or "now". */
  private async cdcStartPosition(source: pg.Client, repl: ReplicationConnection, userSlot: boolean): Promise<TxnState> {
    const spec = this.spec;
    if (spec.cdcStartTime) throw new FatalTaskError('CdcStartTime is not supported for PostgreSQL sources (there is no time to LSN mapping); use CdcStartPosition with a checkpoint or an LSN');
    let lsn: Lsn;
    if (spec.cdcStartPosition) {
      try {
        lsn = parseCdcStartPosition(spec.cdcStartPosition);
      } catch (err) {
        throw new FatalTaskError((err as Error).message);
      }
      const slot = await findSlot(source, this.slotName);
      if (!slot) {
        if (userSlot) throw new FatalTaskError(`the replication slot ${this.slotName} named by the source endpoint's SlotName does not exist on the source`);
        const created = await repl.createSlot(this.slotName, false);
        if (created.consistentPoint > lsn) {
          this.reporter.event(`CdcStartPosition ${formatLsn(lsn)} is older than the new slot's start ${formatLsn(created.consistentPoint)}: changes in between are not available`, ['failure']);
        }
      } else if (slot.confirmedFlushLsn !== null && lsn < slot.confirmedFlushLsn) {
        // The slot confirmed past the position: its consumer either committed those changes on the
        // target (it confirms nothing else) or they touched no replicated table (heartbeats,
        // filtered WAL). PostgreSQL streams from confirmed_flush_lsn anyway, so start there and say so.
        this.reporter.event(
          `CdcStartPosition ${formatLsn(lsn)} is older than replication slot ${this.slotName}'s confirmed_flush_lsn ${formatLsn(slot.confirmedFlushLsn)}; ` +
            'the slot already confirmed what lies between (applied on the target, or WAL of tables this task does not replicate), so capture starts there',
          ['State Change'],
        );
        lsn = slot.confirmedFlushLsn;
      }
    } else if (userSlot) {
      const slot = await findSlot(source, this.slotName);
      if (!slot) throw new FatalTaskError(`the replication slot ${this.slotName} named by the source endpoint's SlotName does not exist on the source`);
      lsn = slot.confirmedFlushLsn ?? 0n;
    } else {
      await dropSlotIfExists(source, this.slotName);
      lsn = (await repl.createSlot(this.slotName, false)).consistentPoint;
    }
    const state: TxnState = { checkpoint: formatCheckpoint({ seq: 0, lsn }), lsn, seq: 0, phase: 'cdc' };
    return state;
  }

  private async cdc(
    repl: ReplicationConnection,
    target: pg.Client,
    source: pg.Client,
    planned: PlannedTable[],
    state: TxnState,
    resumedLoad: CatchUp,
    monitorDb: pg.Client,
  ): Promise<string> {
    const spec = this.spec;
    let stopAt: CdcStop | undefined;
    if (spec.cdcStopPosition) {
      try {
        stopAt = parseCdcStopPosition(spec.cdcStopPosition);
      } catch (err) {
        throw new FatalTaskError((err as Error).message);
      }
    }
    this.catchUpRequested = undefined;
    // Errors counted by an earlier attempt after its last commit were rolled back with it; this
    // attempt replays those changes and counts them again.
    this.errorPolicy.revert();
    const applier = new Applier(target, {
      taskName: spec.taskResourceId,
      controlTables: this.ct,
      errors: this.errorPolicy,
      chunkRows: 5_000,
      onTableSuspended: async (t, reason) => {
        this.suspendedSources.add(`${t.source.schema}\u0000${t.source.table}`);
        const stat = this.tables.get(`${t.source.schema}\u0000${t.source.table}`);
        if (stat) stat.TableState = 'Table error';
        this.reporter.event(`table ${t.schema}.${t.table} suspended: ${reason}`, ['failure']);
        // Kept with the checkpoint (same transaction): a resumed task keeps the table suspended.
        await addSuspendedTable(target, this.ct, spec.taskResourceId, { schema: t.schema, table: t.table, sourceSchema: t.source.schema, sourceTable: t.source.table, reason });
        if (!this.settings.ControlTablesSettings.SuspendedTablesTableEnabled) return;
        await insertSuspendedTable(target, this.ct, { serverName: hostname(), taskName: spec.taskResourceId, tableOwner: t.schema, tableName: t.table, reason });
      },
    });
    // The source side (the slot free, the catch-up reader opened) gets ready while the target's does.
    const sourceReady = (async () => {
      // The slot may still be held by the walsender of a task instance that just stopped. If it
      // still is, no catch-up: START_REPLICATION then fails on the busy slot (and is retried), so
      // two runs of a task never apply at once (copying a busy slot would succeed).
      if (!(await waitSlotInactive(source, this.slotName, 15_000))) return undefined;
      return this.openCatchUp(source, repl, state.lsn);
    })();
    sourceReady.catch(() => undefined);
    let reader: SlotChangesReader | undefined;
    try {
      await this.prepareApply(applier, target);
      reader = await sourceReady;
    } catch (err) {
      await sourceReady.then((r) => r?.close(), () => undefined).catch(() => undefined);
      throw err;
    }
    this.historyLsn = state.lsn;
    const relations = new Relations(target, this.planner(planned, source), this.preparedTargets);
    this.phase = 'CHANGE PROCESSING (CDC)';
    this.running();

    const heartbeatOn = sourceSetting(spec, 'HeartbeatEnable', 'heartbeatEnable') !== false && sourceSetting(spec, 'HeartbeatEnable', 'heartbeatEnable') !== 'false';
    const minutes = Number(sourceSetting(spec, 'HeartbeatFrequency', 'heartbeatFrequency') ?? 5);
    this.monitor ??= new SourceMonitor(monitorDb, {
      slotName: this.slotName,
      heartbeatMs: heartbeatOn ? Math.max(1, minutes) * 60_000 : null,
      alarmBytes: this.settings.OpendmsSettings.RetainedWalAlarmBytes,
      onAlarm: (bytes) => this.reporter.event(`replication slot ${this.slotName} holds back ${bytes} bytes of WAL on the source`, ['state change']),
    });
    this.monitor.start();

    const tuning = this.settings.ChangeProcessingTuning;
    const batchApply = this.settings.TargetMetadata.BatchApplyEnabled;
    const batchRows = tuning.BatchSplitSize > 0 ? Math.min(tuning.BatchSplitSize, 5_000) : 5_000;
    const minTransactionSize = Math.min(tuning.MinTransactionSize, 5_000);
    // A batch may outgrow its size while the previous one commits (see CdcSession), but never a
    // BatchSplitSize the user set, and never past what the applier sends in one round trip.
    const maxRowsWhileCommitting = batchApply
      ? tuning.BatchSplitSize > 0
        ? batchRows
        : 7_500
      : Math.min(7_500, Math.ceil(minTransactionSize * 1.5));
    const session = (stream: ChangeStream, from: { lsn: Lsn; seq: number }) =>
      new CdcSession({
        stream,
        applier,
        relations,
        skipBefore: from.lsn,
        lenientBefore: resumedLoad.lenientUntil,
        tableSkipBefore: resumedLoad.tableSkipBefore,
        startSeq: from.seq,
        batchApply,
        batchRows,
        batchTimeoutMs: Math.max(1, tuning.BatchApplyTimeoutMin) * 1000,
        minTransactionSize,
        commitTimeoutMs: tuning.CommitTimeout * 1000,
        maxRowsWhileCommitting,
        ...(stopAt ? { stopAt } : {}),
        ...(this.stopAtLsn !== undefined ? { stopAtLsn: this.stopAtLsn } : {}),
        onCommit: (c) => {
          this.errorPolicy.durable();
          this.committed(c.counts, c.checkpoint);
          this.historyCommitted(c.counts, c.lsn);
        },
        onTick: (live) => {
          this.cdcLive = { latencySeconds: live.latencySeconds, pendingChanges: live.pendingChanges };
        },
      });

    let from = { lsn: state.lsn, seq: state.seq };
    if (reader) {
      const t0 = Date.now();
      const caughtUp = session(reader, from);
      let end: CdcEnd;
      try {
        end = await this.runSession(caughtUp);
      } catch (err) {
        // The attempt ends; closing the connection drops the temporary slot anyway.
        await reader.close().catch(() => undefined);
        // The source refused a decoding call (a statement or temp-file limit, a full disk, a decoding
        // error): the retry streams, which needs none of that. A lost connection is retried as it was.
        if (reader.failure !== undefined && !isConnectionLoss(reader.failure)) {
          this.sqlCatchUpFailed = describeError(reader.failure);
          throw new SqlCatchUpFailed(`reading the backlog through the SQL interface failed (${this.sqlCatchUpFailed}); the task streams instead`);
        }
        throw err;
      }
      await reader.close();
      if (end !== 'caught_up') return end;
      from = { lsn: caughtUp.lastCommitted, seq: caughtUp.checkpointSeq };
      const done = `${reader.progress.changes} changes in ${reader.progress.calls} calls, ${Date.now() - t0} ms; streaming from ${formatLsn(from.lsn)}`;
      this.reporter.event(
        reader.progress.stoppedEarly
          ? `CDC stopped reading through the SQL interface before catching up, since ${reader.progress.stoppedEarly}: ${done}`
          : `CDC caught up through the SQL interface: ${done}`,
        ['state change'],
      );
    }
    repl.start(this.slotName, from.lsn, this.publication);
    const streaming = session(repl, from);
    const watch = this.watchFallingBehind(streaming);
    let end: CdcEnd;
    try {
      end = await this.runSession(streaming);
    } finally {
      clearInterval(watch);
    }
    if (end === 'caught_up') {
      if (this.stopRequested) return STOP.normal;
      throw new Error('the source closed the replication stream');
    }
    return end;
  }

  /** The apply session's settings, and the tables still suspended by ErrorBehavior (from the target). */
  private async prepareApply(applier: Applier, target: pg.Client): Promise<void> {
    await applier.init();
    // Tables suspended before a stop, crash or move stay suspended until reloaded. What the target
    // says is the truth: a suspension whose transaction was rolled back (a retry) is not kept, the
    // replayed change decides again.
    this.suspendedSources.clear();
    for (const s of await readSuspendedTables(target, this.ct, this.spec.taskResourceId)) {
      const key = `${s.sourceSchema}\u0000${s.sourceTable}`;
      this.suspendedSources.add(key);
      applier.suspended.add(qualifiedName(s.schema, s.table));
      const stat = this.tables.get(key);
      if (stat) stat.TableState = 'Table error';
      this.reporter.event(`table ${s.schema}.${s.table} stays suspended (${s.reason}); reload it (ReloadTables or reload-target) to replicate it again`, ['failure']);
    }
  }

  /**
   * A backlog of at least OpendmsSettings.SqlCatchUpThresholdBytes of WAL is read through the SQL
   * decoding functions (slot-changes-reader.ts) before streaming, at a fraction of the source's
   * CPU. Undefined when the backlog is smaller or the source refuses (the session then streams).
   */
  private async openCatchUp(source: pg.Client, repl: ReplicationConnection, from: Lsn): Promise<SlotChangesReader | undefined> {
    const threshold = this.settings.OpendmsSettings.SqlCatchUpThresholdBytes;
    if (threshold <= 0 || this.stopRequested) return undefined;
    const backlog = await walBacklogBytes(source, this.slotName, from);
    if (backlog < threshold) return undefined;
    if (this.sqlCatchUpFailed !== undefined) {
      this.reporter.event(`CDC is ${Math.round(backlog / 1048576)} MB of WAL behind; streaming it, since reading through the SQL interface failed earlier in this run (${this.sqlCatchUpFailed})`, ['state change']);
      return undefined;
    }
    try {
      const reader = await SlotChangesReader.open(repl, source, { slotName: this.slotName, publication: this.publication, startLsn: from });
      this.reporter.event(`CDC is ${Math.round(backlog / 1048576)} MB of WAL behind: catching up through the SQL interface, then streaming`, ['state change']);
      return reader;
    } catch (err) {
      this.sqlCatchUpRefused = true;
      this.reporter.event(`CDC is ${Math.round(backlog / 1048576)} MB of WAL behind, but the catch-up through the SQL interface is unavailable (${describeError(err)}): streaming`, ['state change']);
      return undefined;
    }
  }

  /**
   * Every second while streaming: a session that stays OpendmsSettings.SqlCatchUpWhileStreamingBytes
   * behind the source is asked to stop at its next transaction boundary, and cdc() then returns
   * CATCH_UP (FallBehindWatch says when, and when not).
   */
  private watchFallingBehind(session: CdcSession): NodeJS.Timeout | undefined {
    const o = this.settings.OpendmsSettings;
    if (o.SqlCatchUpWhileStreamingBytes <= 0 || o.SqlCatchUpThresholdBytes <= 0 || this.sqlCatchUpRefused || this.sqlCatchUpFailed !== undefined) return undefined;
    // Never behind by less than a (re)start would catch up through SQL: the switch would only reconnect.
    const watch = (this.fallBehind ??= new FallBehindWatch({ behindBytes: Math.max(o.SqlCatchUpWhileStreamingBytes, o.SqlCatchUpThresholdBytes) }));
    watch.reset();
    return setInterval(() => {
      if (this.stopRequested || this.catchUpRequested !== undefined || this.reloadQueue.length > 0) return;
      const source = this.monitor?.positions;
      // A reading older than a few seconds (the monitor waits on a slow source) is no evidence:
      // the lag must be seen for the whole sustain time again.
      if (!source || Date.now() - source.at > 5_000) {
        watch.reset();
        return;
      }
      const lag = watch.observe(Date.now(), source, session.receivedLsn);
      if (lag === undefined) return;
      watch.switched(Date.now());
      this.catchUpRequested = lag;
      // Said now: reaching the boundary may take a while (a commit the target holds up).
      this.reporter.event(
        `CDC streaming stayed ${Math.round(lag / 1048576)} MB of WAL behind the source for ${watch.sustainMs / 1000} s: catching up through the SQL interface from the next transaction boundary`,
        ['state change'],
      );
      session.requestStop();
    }, 1_000);
  }

  /** Runs a CDC session to its end; the task's stop reason, RELOAD, CATCH_UP, or 'caught_up' when its stream ended. */
  private async runSession(session: CdcSession): Promise<CdcEnd> {
    this.session = session;
    // A stop or ReloadTables that arrived while the session was being set up.
    if (this.stopRequested || this.reloadQueue.length > 0) session.requestStop();
    try {
      const end = await session.run();
      switch (end.reason) {
        case 'server_time':
          return STOP.serverTime;
        case 'commit_time':
          return STOP.commitTime;
        case 'reached_lsn':
          return STOP.afterCachedEvents;
        case 'stream_ended':
          return this.stopRequested ? STOP.normal : 'caught_up';
        default:
          if (this.stopRequested) return STOP.normal;
          this.pausedAt = { lsn: session.lastCommitted, seq: session.checkpointSeq };
          if (this.reloadQueue.length > 0) return RELOAD;
          if (this.catchUpRequested !== undefined) return CATCH_UP;
          return STOP.normal;
      }
    } finally {
      this.session = undefined;
    }
  }

  /**
   * ReloadTables while CDC is paused at a transaction boundary: the tables are loaded again
   * (TargetTablePrepMode) from a fresh exported snapshot at LSN L; CDC then skips their changes
   * from transactions before L (already in the snapshot) and applies the rest. The skip bounds are
   * stored with the checkpoint on the target, so a restart keeps them. Returns undefined on stop.
   */
  private async reloadNow(planned: PlannedTable[], catalog: SourceTableInfo[], target: pg.Client): Promise<Map<string, Lsn> | undefined> {
    const wanted = this.reloadQueue.splice(0);
    const tables = planned.filter((t) => wanted.some((w) => w.SchemaName === t.source.schema && w.TableName === t.source.table));
    const unknown = wanted.filter((w) => !tables.some((t) => t.source.schema === w.SchemaName && t.source.table === w.TableName));
    if (unknown.length > 0) this.reporter.event(`ReloadTables: ${unknown.map((w) => `${w.SchemaName}.${w.TableName}`).join(', ')} not part of the task`, ['failure']);
    if (tables.length === 0) return new Map();
    for (const t of tables) {
      const stat = this.tableStat(t.source.schema, t.source.table);
      stat.TableState = 'Table is being reloaded';
      stat.FullLoadReloaded = true;
    }
    this.reporter.event(`reloading ${tables.map((t) => `${t.source.schema}.${t.source.table}`).join(', ')}`, ['state change']);
    // A reload lifts a suspension (ErrorBehavior): the table is loaded again and replicated.
    for (const t of tables) this.suspendedSources.delete(`${t.source.schema}\u0000${t.source.table}`);
    await clearSuspendedTables(target, this.ct, this.spec.taskResourceId, tables.map((t) => t.target));
    const loaded = await this.loadFromFreshSnapshot(tables, catalog, false);
    if (!loaded) return undefined;
    return new Map(tables.map((t) => [`${t.source.schema}\u0000${t.source.table}`, loaded.snapshotLsn]));
  }

  /**
   * resume-processing of a task whose full load did not finish. The original exported snapshot is
   * gone, so the remaining tables/ranges load from a NEW exported snapshot taken by a temporary slot,
   * whose consistent point L2 is exact. CDC then replays from the task slot's consistent point
   * (the first snapshot) and the target converges:
   *  - keyed tables: changes before L2 are applied leniently (an UPDATE of a missing row inserts
   *    it), which is idempotent by key (see the invariant in full-load/index.ts);
   *  - key-less tables loaded in this run hold every change committed before L2 already: their
   *    changes before L2 are skipped (replaying them would duplicate rows).
   * Returns undefined when the load was stopped.
   */
  private async resumeFullLoad(planned: PlannedTable[], catalog: SourceTableInfo[]): Promise<CatchUp | undefined> {
    const loaded = await this.loadFromFreshSnapshot(planned, catalog, true);
    if (!loaded) return undefined;
    const tableSkipBefore = new Map<string, Lsn>();
    for (const info of catalog) {
      const key = `${info.schema}\u0000${info.table}`;
      if (loaded.loadedNow.has(key) && info.primaryKey.length === 0 && info.uniqueKeys.length === 0) tableSkipBefore.set(key, loaded.snapshotLsn);
    }
    return { lenientUntil: loaded.snapshotLsn, tableSkipBefore };
  }

  /**
   * Runs the full loader from a snapshot exported by a temporary slot, whose consistent point is
   * the exact LSN of that snapshot (every transaction committed before it is in the snapshot, none
   * after). Returns that LSN and the tables this run loaded; undefined when stopped.
   */
  private async loadFromFreshSnapshot(
    tables: PlannedTable[],
    catalog: SourceTableInfo[],
    resume: boolean,
  ): Promise<{ snapshotLsn: Lsn; loadedNow: Set<string> } | undefined> {
    const tmpSlot = `${this.slotName.slice(0, 55)}_snap`;
    const source = await connectPostgres(this.spec.source, { applicationNameSuffix: `${this.spec.taskResourceId}:snapshot` });
    const snapshotRepl = await ReplicationConnection.open(this.spec.source, `${this.spec.taskResourceId}:snapshot`);
    try {
      await dropSlotIfExists(source, tmpSlot);
      const created = await snapshotRepl.createSlot(tmpSlot, true);
      const loadedNow = new Set<string>();
      const seen = new Set<string>();
      const result = await this.fullLoad(tables, catalog, resume, created.snapshotName, (s) => {
        const key = `${s.SchemaName}\u0000${s.TableName}`;
        if (!seen.has(key)) {
          seen.add(key);
          if (s.TableState !== 'Table completed') loadedNow.add(key);
        }
      });
      if (result.outcome === 'aborted') return undefined;
      return { snapshotLsn: created.consistentPoint, loadedNow };
    } finally {
      await snapshotRepl.close();
      await dropSlotIfExists(source, tmpSlot).catch(() => {});
      await source.end().catch(() => {});
    }
  }

  private async fullLoad(
    planned: PlannedTable[],
    catalog: SourceTableInfo[],
    resume: boolean,
    snapshotName: string | undefined,
    onState?: (s: TableStats) => void,
  ): Promise<FullLoadResult> {
    const fl = this.settings.FullLoadSettings;
    this.taskStats.FullLoadStartDate ??= new Date().toISOString();
    this.phase = 'FULL LOAD';
    const result = await runFullLoad({
      source: this.spec.source,
      target: this.spec.target,
      tables: planned,
      catalog,
      ...(snapshotName ? { snapshotName } : {}),
      settings: {
        targetTablePrepMode: fl.TargetTablePrepMode,
        maxSubTasks: fl.MaxFullLoadSubTasks,
        commitRate: fl.CommitRate,
        createPkAfterFullLoad: fl.CreatePkAfterFullLoad,
      },
      controlSchema: this.ct.schema,
      taskName: this.spec.taskResourceId,
      resume,
      signal: this.abort.signal,
      onTableState: (s) => {
        onState?.(s);
        const stat = this.tableStat(s.SchemaName, s.TableName);
        this.historyLoaded(s);
        Object.assign(stat, s, { Inserts: stat.Inserts, Updates: stat.Updates, Deletes: stat.Deletes, Ddls: stat.Ddls });
        this.updateFullLoadCounts();
      },
    });
    if (result.outcome === 'completed') {
      this.taskStats.FullLoadFinishDate = new Date().toISOString();
      this.fullLoadPercent = 100;
      for (const t of result.unsharedTablesWithoutKey) {
        this.reporter.event(`table ${t.schema}.${t.table} has no key and was partly loaded from a later snapshot after a resume: reload it to avoid duplicate rows`, ['failure']);
      }
    }
    this.updateFullLoadCounts();
    return result;
  }

  // ---- mapping helpers ----

  /**
   * The source catalog: the one prepared on this instance (first attempt only) when the source's
   * catalog stamp still matches it, otherwise read now. Its target tables are then offered to
   * Relations, which checks each one's stamp again when the table's first change arrives.
   */
  private async sourceCatalog(source: pg.Client): Promise<SourceTableInfo[]> {
    const p = this.prepared;
    this.prepared = undefined;
    const { catalog, used } = await sourceCatalog(source, this.spec, p);
    if (!p) return catalog;
    this.preparedTargets = new PreparedTargets(p.targets, (name) =>
      this.reporter.event(`target table ${name} changed since the catalog was prepared on this replication instance: read again`, ['state change']),
    );
    const ago = ((Date.now() - p.preparedAt) / 1000).toFixed(1);
    this.reporter.event(
      used
        ? `used the catalog prepared on this replication instance ${ago} s ago: source catalog unchanged (${catalog.length} table(s)); ${p.targets.size} target table(s) checked again as their first change arrives`
        : `the catalog prepared on this replication instance ${ago} s ago is stale (the source catalog changed since): read again; ${p.targets.size} target table(s) checked again as their first change arrives`,
      ['state change'],
    );
    return catalog;
  }

  private withTargetSchema(t: PlannedTable): PlannedTable {
    const schema = this.settings.TargetMetadata.TargetSchema;
    return schema ? { ...t, target: { schema, table: t.target.table } } : t;
  }

  private planner(planned: PlannedTable[], source: pg.Client): TablePlanner {
    const byName = new Map(planned.map((t) => [`${t.source.schema}\u0000${t.source.table}`, t]));
    return {
      // A suspended table's changes are skipped (its target table may be gone).
      plan: (schema, table) => (this.suspendedSources.has(`${schema}\u0000${table}`) ? undefined : byName.get(`${schema}\u0000${table}`)),
      replan: async (schema, table) => {
        const info = (await readSourceCatalog(source, { tables: [{ schema, table }] }))[0];
        if (!info) return undefined;
        const re = planTables(this.spec.tableMappings as TableMappings, [info]).map((t) => this.withTargetSchema(t))[0];
        if (!re) return undefined;
        byName.set(`${schema}\u0000${table}`, re);
        const declarations = new Map(info.columns.map((c) => [c.name, targetColumnDeclaration(c, re.target.schema)]));
        return { planned: re, declarations };
      },
    };
  }

  // ---- reporting ----

  private running(): void {
    if (this.reportedRunning) return;
    this.reportedRunning = true;
    this.reporter.status({ status: 'running' });
  }

  private tableStat(schema: string, table: string): TableStat {
    const key = `${schema}\u0000${table}`;
    let s = this.tables.get(key);
    if (!s) {
      const initial = this.spec.migrationType === 'cdc' ? 'Table completed' : 'Before load';
      s = { SchemaName: schema, TableName: table, TableState: initial, Inserts: 0, Updates: 0, Deletes: 0, Ddls: 0 };
      this.tables.set(key, s);
    }
    return s;
  }

  private committed(counts: TableCounts[], checkpoint: string): void {
    const now = new Date().toISOString();
    for (const c of counts) {
      const stat = [...this.tables.values()].find((s) => s.SchemaName === c.table.source.schema && s.TableName === c.table.source.table);
      if (!stat) continue;
      stat.Inserts += c.inserts;
      stat.Updates += c.updates;
      stat.Deletes += c.deletes;
      stat.Ddls += c.ddls;
      stat.AppliedInserts = stat.Inserts;
      stat.AppliedUpdates = stat.Updates;
      stat.AppliedDeletes = stat.Deletes;
      stat.AppliedDdls = stat.Ddls;
      stat.LastUpdateTime = now;
    }
    this.checkpoint = checkpoint;
    this.progressed = true;
    // Rate-limited: the control plane only needs the latest one (the final one is always sent).
    if (Date.now() - this.lastCheckpointReport >= 1_000) {
      this.lastCheckpointReport = Date.now();
      this.lastCheckpointReported = checkpoint;
      this.reporter.checkpoint(checkpoint);
    }
  }

  private updateFullLoadCounts(): void {
    const all = [...this.tables.values()];
    this.taskStats.TablesLoaded = all.filter((t) => t.TableState === 'Table completed').length;
    this.taskStats.TablesLoading = all.filter((t) => t.TableState === 'Full load').length;
    this.taskStats.TablesQueued = all.filter((t) => t.TableState === 'Before load').length;
    this.taskStats.TablesErrored = all.filter((t) => t.TableState === 'Table error').length;
    if (this.fullLoadPercent !== 100 && all.length > 0) this.fullLoadPercent = Math.floor((100 * (this.taskStats.TablesLoaded ?? 0)) / all.length);
  }

  private reportProgress(): void {
    if (this.spec.migrationType !== 'cdc') this.updateFullLoadCounts();
    const stats: TaskStats = { ...this.taskStats, ElapsedTimeMillis: Date.now() - this.startedAt };
    if (this.fullLoadPercent !== undefined) stats.FullLoadProgressPercent = this.fullLoadPercent;
    const p: Parameters<TaskReporter['progress']>[0] = { stats, tables: [...this.tables.values()].map((t) => ({ ...t })) };
    if (this.spec.migrationType !== 'full-load') {
      p.cdc = { ...this.cdcLive };
      if (this.monitor?.retainedBytes !== undefined) this.retainedWalBytes = this.monitor.retainedBytes;
      if (this.retainedWalBytes !== undefined) p.cdc.retainedWalBytes = this.retainedWalBytes;
    }
    this.reporter.progress(p);
    void this.writeStatus(false);
    if (this.phase !== 'NOT RUNNING') this.history?.active(this.phase);
    void this.writeHistory(false);
  }

  // ---- awsdms_history ----

  private historyLoaded(s: TableStats): void {
    if (!this.history || s.FullLoadRows === undefined) return;
    const key = `${s.SchemaName}\u0000${s.TableName}`;
    const delta = s.FullLoadRows - (this.fullLoadRowsSeen.get(key) ?? 0);
    this.fullLoadRowsSeen.set(key, s.FullLoadRows);
    if (delta > 0) this.history.add('FULL LOAD', delta);
  }

  private historyCommitted(counts: TableCounts[], lsn: Lsn): void {
    if (!this.history) return;
    const records = counts.reduce((n, c) => n + c.inserts + c.updates + c.deletes + c.ddls, 0);
    const bytes = this.historyLsn !== undefined && lsn > this.historyLsn ? Number(lsn - this.historyLsn) : 0;
    if (this.historyLsn === undefined || lsn > this.historyLsn) this.historyLsn = lsn;
    this.history.add('CHANGE PROCESSING (CDC)', records, bytes);
  }

  /**
   * awsdms_history (ControlTablesSettings.HistoryTableEnabled): the rows of each finished timeslot,
   * and with `final` (the task stops) of the slot in progress. Rows that could not be written are
   * kept for the next attempt.
   */
  private async writeHistory(final: boolean): Promise<void> {
    const h = this.history;
    if (!h) return;
    if (this.historyWrite) {
      if (!final) return;
      await this.historyWrite;
    }
    const now = Date.now();
    if (final || h.due(now)) {
      for (const r of h.close(now, this.cdcLive.latencySeconds)) {
        this.historyRows.push({ serverName: hostname(), taskName: this.spec.taskResourceId, ...r });
      }
    }
    const db = this.statusDb;
    if (!db || this.historyRows.length === 0) return;
    const rows = this.historyRows;
    this.historyRows = [];
    this.historyWrite = insertHistory(db, this.ct, rows)
      .catch(() => {
        this.historyRows.unshift(...rows);
      })
      .finally(() => {
        this.historyWrite = undefined;
      });
    await this.historyWrite;
  }

  /** awsdms_status (ControlTablesSettings.StatusTableEnabled), about every 5 s; best effort. */
  private async writeStatus(force: boolean): Promise<void> {
    const db = this.settings.ControlTablesSettings.StatusTableEnabled ? this.statusDb : undefined;
    if (!db || this.statusBusy || (!force && Date.now() - this.lastStatusWrite < 5_000)) return;
    this.statusBusy = true;
    this.lastStatusWrite = Date.now();
    try {
      const row: Parameters<typeof upsertStatus>[2] = {
        serverName: hostname(),
        taskName: this.spec.taskResourceId,
        taskStatus: this.phase,
        pendingChanges: this.cdcLive.pendingChanges,
        memoryMb: Math.round(process.memoryUsage().rss / 1024 / 1024),
      };
      if (this.checkpoint) row.currentPosition = this.checkpoint.split('#')[2] ?? this.checkpoint;
      await upsertStatus(db, this.ct, row);
    } catch {
      // status rows are informational; the task goes on
    } finally {
      this.statusBusy = false;
    }
  }
}

async function currentWalLsn(db: pg.Client): Promise<Lsn> {
  const r = await db.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
  return parseLsn(r.rows[0]!.lsn);
}

function sourceSetting(spec: TaskSpec, key: string, eca: string): unknown {
  return spec.source.settings[key] ?? spec.source.settings[eca];
}

function isRetryable(err: unknown): boolean {
  if (err instanceof SqlCatchUpFailed) return true;
  if (err instanceof Error && err.name === 'FullLoadError') return (err as { retryable?: boolean }).retryable === true;
  return classifyPostgresError(err).retryable;
}

function describeError(err: unknown): string {
  const c = classifyPostgresError(err);
  return c.code && !c.message.includes(c.code) ? `${c.message} (${c.code})` : c.message;
}
