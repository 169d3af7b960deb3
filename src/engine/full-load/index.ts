/**
 * Full load, PostgreSQL to PostgreSQL: one consistent snapshot, tables and key ranges loaded in
 * parallel with COPY streamed source -> target (bounded memory: stream backpressure end to end,
 * never an array of rows; binary format where every column has a built-in type, text otherwise,
 * see copy-format.ts), progress recorded per range on the target so a stop or a crash resumes
 * where it left off. Large tables split into key ranges as segments.ts says.
 *
 * ## Consistency
 *
 * Every worker reads inside one snapshot: the caller's exported snapshot (CREATE_REPLICATION_SLOT
 * ... EXPORT_SNAPSHOT, so the load is exactly the slot's consistent point) or, for full-load-only
 * tasks, one the load takes itself. See sessions.ts for how it is held.
 *
 * Each range commits in ONE target transaction together with its progress row (progress-table.ts):
 * COPY rows, mark range `loaded` with its row count, COMMIT. A stop or crash therefore leaves each
 * range either entirely loaded and recorded, or absent and `pending`. On resume, loaded ranges are
 * skipped; pending ranges are first deleted on the target by their key range (defensive: only rows
 * this load put there can be in a table it created or truncated) and reloaded.
 *
 * ## Resume without the original snapshot: the invariant CDC must honour
 *
 * A resumed load (or a worker that lost the held snapshot, `snapshot.shared === false`) reads its
 * remaining ranges from a LATER snapshot S' than the first one S. Rows of S' include changes
 * committed after S. The target converges if and only if CDC:
 *
 *   (I1) replays every change committed after S, i.e. from the slot's consistent point (its
 *        confirmed_flush_lsn must not have moved past S before the full load completed: confirm
 *        nothing for a task until its full load is done), and
 *   (I2) applies changes to loaded tables idempotently by key: INSERT as upsert (insert or overwrite
 *        the whole row), UPDATE as upsert of the new image (an update whose key is missing inserts
 *        it; unchanged-TOAST columns of such a row may be left NULL, since its later DELETE in the
 *        replayed stream removes it), DELETE of a missing key as a no-op, a key-changing UPDATE as
 *        delete old key + upsert new.
 *
 * Then for every key, after replay passes S' the target holds the source's value at S' (the last
 * change before S' sets or deletes it wholesale), and from there on it follows the source.
 * Tables WITHOUT a primary key (or usable unique key) cannot be made idempotent: with
 * `shared === false` for such a table, rows inserted between S and S' would be doubled. The result
 * lists those tables in `unsharedTablesWithoutKey` so the caller can reload them or warn.
 *
 * ## Statistics and errors
 *
 * onTableState receives a table's TableStats at each state change ('Before load' -> 'Full load' ->
 * 'Table completed' | 'Table error' | 'Table cancelled') and about once a second while it loads.
 * Connection errors (classified in connectors/postgres/errors.ts) retry the work item with backoff
 * on fresh connections; when retries run out the whole load rejects with a FullLoadError
 * (`retryable: true`). Data errors (bad value, constraint, missing type) fail that table only.
 */
import copyStreams from 'pg-copy-streams';
import type pg from 'pg';
import { pipeline } from 'node:stream/promises';
import type { EndpointConnectionSpec, TableStats } from '../contracts.js';
import type { PlannedTable } from '../../model/table-mappings.js';
import type { SourceTableInfo } from '../../connectors/postgres/catalog.js';
import { classifyPostgresError } from '../../connectors/postgres/errors.js';
import { qualifiedName, quoteIdent } from '../../connectors/postgres/sql.js';
import {
  addPrimaryKeyIfMissing,
  createTableIfMissing,
  dropAndCreateTable,
  secondaryIndexSql,
  targetCastType,
  targetTableDef,
  truncateTable,
  type TargetTableDef,
} from '../../connectors/postgres/target-ddl.js';
import { BinaryRowCounter, chooseCopyFormat, countTextRows, type CopyFormatSetting } from './copy-format.js';
import { ProgressTable, type ProgressRow } from './progress-table.js';
import { DEFAULT_SPLIT, planSegments, type SplitSettings } from './segments.js';
import { SnapshotHolder, destroyClient, openSourceSession, openTargetSession } from './sessions.js';
import { filtersSql, rangeSql, whereClause, type KeyRange } from './where.js';

export type TargetTablePrepMode = 'DROP_AND_CREATE' | 'TRUNCATE_BEFORE_LOAD' | 'DO_NOTHING';

export interface FullLoadSettings {
  /** FullLoadSettings.TargetTablePrepMode. */
  targetTablePrepMode: TargetTablePrepMode;
  /** FullLoadSettings.MaxFullLoadSubTasks: segments loading at once (each uses one source and one target connection). */
  maxSubTasks: number;
  /**
   * FullLoadSettings.CommitRate. Accepted for compatibility; a range is the unit of commit (its
   * rows and its progress row in one transaction), so large tables are split into ranges instead.
   */
  commitRate: number;
  /** FullLoadSettings.CreatePkAfterFullLoad: add the primary key after the rows are in. */
  createPkAfterFullLoad: boolean;
  /** Automatic splitting of large tables into key ranges (defaults in segments.ts). */
  split?: Partial<SplitSettings>;
  /** Retries of a work item after a connection error (default 5 attempts, 1 s doubling). */
  retry?: { attempts: number; baseDelayMs: number };
  /** How often loading tables report (default 1000 ms). */
  progressIntervalMs?: number;
  /**
   * COPY format: `auto` (default) streams binary when every moved column has a built-in type and
   * both servers run the same major version, text otherwise (see copy-format.ts).
   */
  copyFormat?: CopyFormatSetting;
}

export interface FullLoadOptions {
  source: EndpointConnectionSpec;
  target: EndpointConnectionSpec;
  /** Tables to load, with target names, moved columns, filters, load order and parallel-load ranges. */
  tables: PlannedTable[];
  /** Source catalogue (readSourceCatalog); must contain every table in `tables`. */
  catalog: SourceTableInfo[];
  /**
   * Exported snapshot to load from (CREATE_REPLICATION_SLOT ... EXPORT_SNAPSHOT). The caller keeps
   * its replication connection open until `onSnapshotImported` fires. Without it the load takes its
   * own snapshot: full-load-only tasks, and resumes (an existing slot cannot export its snapshot
   * again; the invariant above then keeps the target consistent).
   */
  snapshotName?: string;
  settings: FullLoadSettings;
  /** ControlTablesSettings.ControlSchema on the target (resolved: '' means 'public'). */
  controlSchema: string;
  /** TASK_NAME in control tables (the task's resource id). */
  taskName: string;
  /** resume-processing: keep recorded progress and load only what is not loaded yet. */
  resume: boolean;
  onTableState(s: TableStats): void;
  /** The snapshot is imported and held by the load: the caller may release its exporting connection. */
  onSnapshotImported?(): void;
  /** Abort = stop: no new ranges start, in-flight ranges are abandoned (rolled back, still pending). */
  signal: AbortSignal;
  log?: { info(msg: string): void; warn(msg: string): void };
}

export interface FullLoadResult {
  /** 'aborted' when the signal fired before every table finished. */
  outcome: 'completed' | 'aborted';
  tables: TableStats[];
  tablesCompleted: number;
  tablesErrored: number;
  errors: { schema: string; table: string; message: string }[];
  /** shared: every range loaded in this run came from the first snapshot it imported (or took). */
  snapshot: { shared: boolean; resumed: boolean };
  /** Keyless tables loaded partly from another snapshot (see the invariant above): reload them. */
  unsharedTablesWithoutKey: { schema: string; table: string }[];
}

/** A failure of the whole load (not of one table). */
export class FullLoadError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'FullLoadError';
  }
}

type Phase = 'queued' | 'planning' | 'loading' | 'finishing' | 'done' | 'error';

interface Segment {
  no: number;
  range: KeyRange;
  /** Delete the range on the target before loading it (a resumed, unfinished range). */
  deleteFirst: boolean;
}

interface TableRun {
  planned: PlannedTable;
  info: SourceTableInfo;
  def: TargetTableDef;
  stats: TableStats;
  phase: Phase;
  pending: Segment[];
  inFlight: number;
  /** Ranges not yet loaded (pending + in flight). */
  remaining: number;
  doneRows: number;
  liveRows: number;
  tableCreated: boolean;
  /** Every row of the target table came from this load, so deleting a range is safe. */
  ownsRows: boolean;
  hasKey: boolean;
  format: 'text' | 'binary';
  /** Some range came from a snapshot other than the first (holder replaced). */
  loadedFromReplacedSnapshot: boolean;
  /** Resumed with some ranges loaded by an earlier run (from an earlier snapshot). */
  resumedWithLoadedRanges: boolean;
}

type Work = { kind: 'plan' | 'finish'; t: TableRun } | { kind: 'segment'; t: TableRun; seg: Segment };

/**
 * Loads `tables` from `source` into `target`; resolves when every table is completed or errored,
 * or the signal aborted the load. Rejects with FullLoadError when the endpoints stay unreachable.
 *
 * @example
 *   // full-load-and-cdc, fresh start: slot created on a replication connection first
 *   const { snapshot_name } = (await repl.query('CREATE_REPLICATION_SLOT s LOGICAL pgoutput EXPORT_SNAPSHOT')).rows[0];
 *   const result = await runFullLoad({
 *     source, target, tables: planTables(mappings, catalog), catalog, snapshotName: snapshot_name,
 *     settings: { targetTablePrepMode: 'DROP_AND_CREATE', maxSubTasks: 8, commitRate: 10000, createPkAfterFullLoad: false },
 *     controlSchema: 'public', taskName: spec.taskResourceId, resume: false,
 *     onTableState: (s) => stats.set(`${s.SchemaName}.${s.TableName}`, s),
 *     onSnapshotImported: () => void repl.end(), // the slot stays; only the exporting session goes
 *     signal: stopController.signal,
 *   });
 *   // result.outcome === 'aborted' after a stop: start again later with resume: true.
 */
export async function runFullLoad(o: FullLoadOptions): Promise<FullLoadResult> {
  const settings = o.settings;
  const split: SplitSettings = { ...DEFAULT_SPLIT, ...settings.split };
  const retry = settings.retry ?? { attempts: 5, baseDelayMs: 1000 };
  const progress = new ProgressTable(o.controlSchema || 'public', o.taskName);
  const catalog = new Map(o.catalog.map((t) => [`${t.schema}\u0000${t.table}`, t]));
  const now = () => new Date().toISOString();

  const runs: TableRun[] = o.tables.map((planned) => {
    const info = catalog.get(`${planned.source.schema}\u0000${planned.source.table}`);
    if (!info) throw new FullLoadError(`table ${planned.source.schema}.${planned.source.table} is not in the source catalog`, false);
    const def = targetTableDef(info, planned.target, planned.columns);
    return {
      planned,
      info,
      def,
      stats: { SchemaName: planned.source.schema, TableName: planned.source.table, TableState: 'Before load', FullLoadRows: 0 },
      phase: 'queued' as Phase,
      pending: [],
      inFlight: 0,
      remaining: 0,
      doneRows: 0,
      liveRows: 0,
      tableCreated: false,
      ownsRows: settings.targetTablePrepMode !== 'DO_NOTHING',
      hasKey: info.primaryKey.length > 0 || info.uniqueKeys.length > 0,
      format: 'text' as const,
      loadedFromReplacedSnapshot: false,
      resumedWithLoadedRanges: false,
    };
  });
  // Higher load-order first; within one load order the largest tables first, so the longest job
  // does not start last and leave the other workers idle at the end.
  runs.sort((a, b) => b.planned.loadOrder - a.planned.loadOrder || b.info.totalBytes - a.info.totalBytes);

  const emit = (t: TableRun) => {
    t.stats.FullLoadRows = t.doneRows + t.liveRows;
    t.stats.LastUpdateTime = now();
    o.onTableState({ ...t.stats });
  };
  const setState = (t: TableRun, state: string) => {
    t.stats.TableState = state;
    emit(t);
  };
  const errors: FullLoadResult['errors'] = [];
  const failTable = (t: TableRun, message: string) => {
    if (t.phase === 'error') return;
    t.phase = 'error';
    t.pending = [];
    t.stats.FullLoadEndTime = now();
    errors.push({ schema: t.planned.source.schema, table: t.planned.source.table, message });
    o.log?.warn(`full load of ${t.planned.source.schema}.${t.planned.source.table} failed: ${message}`);
    setState(t, 'Table error');
  };

  // Control table, and on a fresh start forget these tables' earlier progress; on resume adopt it.
  const admin = await connectOrFail(() => openTargetSession(o.target, `${o.taskName}:load-admin`));
  let targetVersionNum: number;
  try {
    const v = await admin.query<{ version: number }>(`SELECT current_setting('server_version_num')::int AS version`);
    targetVersionNum = v.rows[0]?.version ?? 0;
    await progress.ensure(admin);
    if (o.resume) adoptProgress(runs, await progress.read(admin), settings);
    else await progress.clearTables(admin, o.tables.map((t) => t.source));
  } finally {
    await admin.end().catch(() => {});
  }
  for (const t of runs) {
    if (t.phase === 'done') {
      t.stats.TableState = 'Table completed';
      emit(t);
    } else emit(t);
  }

  const holder = new SnapshotHolder(o.source, o.taskName, o.snapshotName);
  await connectOrFail(() => holder.open());
  o.onSnapshotImported?.();
  const sameMajor = Math.floor(holder.serverVersionNum / 10000) === Math.floor(targetVersionNum / 10000);
  for (const t of runs) t.format = chooseCopyFormat(settings.copyFormat ?? 'auto', t.def.columns.map((c) => c.source), sameMajor);

  let aborted = o.signal.aborted;
  let fatal: FullLoadError | undefined;
  let wake: () => void = () => {};
  let changed = new Promise<void>((r) => (wake = r));
  const notify = () => {
    wake();
    changed = new Promise<void>((r) => (wake = r));
  };
  const workers: Worker[] = [];
  const onAbort = () => {
    aborted = true;
    for (const w of workers) w.drop();
    notify();
  };
  o.signal.addEventListener('abort', onAbort);
  const ticker = setInterval(() => {
    for (const t of runs) if (t.phase === 'loading' || t.phase === 'finishing') emit(t);
  }, settings.progressIntervalMs ?? 1000);

  const next = (): Work | 'wait' | undefined => {
    if (aborted || fatal) return undefined;
    for (const t of runs) {
      if (t.phase === 'loading' && t.pending.length > 0) {
        const seg = t.pending.shift() as Segment;
        return { kind: 'segment', t, seg };
      }
      if (t.phase === 'loading' && t.remaining === 0) {
        t.phase = 'finishing';
        return { kind: 'finish', t };
      }
    }
    for (const t of runs) {
      if (t.phase === 'queued') {
        t.phase = 'planning';
        return { kind: 'plan', t };
      }
    }
    return runs.some((t) => t.phase === 'planning' || (t.phase === 'loading' && t.inFlight > 0)) ? 'wait' : undefined;
  };

  const startLoading = (t: TableRun) => {
    t.stats.FullLoadStartTime ??= now();
    if (t.stats.TableState !== 'Full load') setState(t, 'Full load');
  };

  const plan = async (w: Worker, t: TableRun) => {
    const src = await w.sourceSession();
    const ranges = await planSegments(src, t.planned, t.info, split);
    const tgt = await w.targetSession();
    await tgt.query('BEGIN');
    try {
      const withPk = !settings.createPkAfterFullLoad;
      switch (settings.targetTablePrepMode) {
        case 'DROP_AND_CREATE':
          await dropAndCreateTable(tgt, t.def, withPk);
          t.tableCreated = true;
          break;
        case 'TRUNCATE_BEFORE_LOAD':
          t.tableCreated = await createTableIfMissing(tgt, t.def, withPk);
          if (!t.tableCreated) await truncateTable(tgt, t.def.schema, t.def.table);
          break;
        case 'DO_NOTHING':
          t.tableCreated = await createTableIfMissing(tgt, t.def, withPk);
          break;
      }
      t.ownsRows = t.ownsRows || t.tableCreated;
      await progress.recordPlan(tgt, t.planned.source.schema, t.planned.source.table, ranges, t.tableCreated);
      await tgt.query('COMMIT');
    } catch (err) {
      await tgt.query('ROLLBACK').catch(() => {});
      throw err;
    }
    t.pending = ranges.map((range, i) => ({ no: i + 1, range, deleteFirst: false }));
    t.remaining = ranges.length;
    t.phase = 'loading';
    startLoading(t);
  };

  const loadSegment = async (w: Worker, t: TableRun, seg: Segment) => {
    startLoading(t);
    const src = await w.sourceSession();
    const tgt = await w.targetSession();
    const sourceTypes = (c: string) => t.info.columns.find((col) => col.name === c)?.type ?? 'text';
    const select =
      `SELECT ${t.planned.columns.map((c) => quoteIdent(c.source)).join(', ')} FROM ${qualifiedName(t.info.schema, t.info.table)}` +
      whereClause(filtersSql(t.planned.filters, sourceTypes), rangeSql(seg.range, sourceTypes));
    const targetName = qualifiedName(t.def.schema, t.def.table);
    let counted = 0;
    try {
      // A bounded key range must read only its rows: a sequential scan per range would read the
      // whole table once per range. The planner then picks an index or bitmap scan.
      await w.setSequentialScans(src, seg.range.lower === undefined && seg.range.upper === undefined);
      await tgt.query('BEGIN');
      if (seg.deleteFirst && t.ownsRows) await tgt.query(deleteRangeSql(t, seg.range, targetName));
      // A table the load did not create may declare other types than the source (int8 for int4,
      // text for varchar): text input converts, binary input would be misread, so text it is.
      const format = t.format === 'binary' && t.tableCreated ? ' (FORMAT binary)' : '';
      const out = src.query(copyStreams.to(`COPY (${select}) TO STDOUT${format}`));
      const into = tgt.query(copyStreams.from(`COPY ${targetName} (${t.def.columns.map((c) => quoteIdent(c.name)).join(', ')}) FROM STDIN${format}`));
      // Live row count for the statistics, without materialising rows.
      const binary = format !== '' ? new BinaryRowCounter() : undefined;
      out.on('data', (chunk: Buffer) => {
        let n: number;
        if (binary) {
          const before = binary.rows;
          binary.push(chunk);
          n = binary.rows - before;
        } else n = countTextRows(chunk);
        counted += n;
        t.liveRows += n;
      });
      await pipeline(out, into);
      const rows = into.rowCount;
      await progress.markLoaded(tgt, t.planned.source.schema, t.planned.source.table, seg.no, rows);
      await tgt.query('COMMIT');
      t.liveRows -= counted;
      counted = 0;
      t.doneRows += rows;
      t.remaining--;
      if (!w.sharedSnapshot) t.loadedFromReplacedSnapshot = true;
    } catch (err) {
      t.liveRows -= counted;
      // The source connection may be mid-COPY; the target transaction is dead. Start both afresh.
      w.drop();
      throw err;
    }
  };

  const finish = async (w: Worker, t: TableRun) => {
    const tgt = await w.targetSession();
    if (t.tableCreated) {
      // Index builds sort in maintenance_work_mem; the server default (64 MB) spills large keys to disk.
      await tgt.query(`SET maintenance_work_mem = '256MB'`);
      if (settings.createPkAfterFullLoad) await addPrimaryKeyIfMissing(tgt, t.def);
      for (const sql of secondaryIndexSql(t.info, t.def, t.planned.columns)) await tgt.query(sql);
      await tgt.query('RESET maintenance_work_mem');
    }
    await progress.markCompleted(tgt, t.planned.source.schema, t.planned.source.table, t.doneRows);
    t.phase = 'done';
    t.stats.FullLoadEndTime = now();
    setState(t, 'Table completed');
  };

  const runWork = async (w: Worker, work: Work) => {
    const { t } = work;
    for (let attempt = 1; ; attempt++) {
      if (aborted || fatal || t.phase === 'error') return;
      try {
        if (work.kind === 'plan') await plan(w, t);
        else if (work.kind === 'segment') await loadSegment(w, t, work.seg);
        else await finish(w, t);
        return;
      } catch (err) {
        w.drop();
        if (aborted) return;
        const c = classifyPostgresError(err);
        if (c.retryable && attempt < retry.attempts) {
          o.log?.warn(`full load of ${t.planned.source.schema}.${t.planned.source.table}: ${c.message}; retrying (${attempt}/${retry.attempts})`);
          await sleep(retry.baseDelayMs * 2 ** (attempt - 1), o.signal);
          continue;
        }
        if (c.retryable) {
          fatal ??= new FullLoadError(`full load stopped: ${c.message}`, true);
          return;
        }
        failTable(t, c.message);
        return;
      }
    }
  };

  const workerLoop = async (w: Worker) => {
    for (;;) {
      const work = next();
      if (work === undefined) return;
      if (work === 'wait') {
        await changed;
        continue;
      }
      if (work.kind === 'segment') work.t.inFlight++;
      try {
        await runWork(w, work);
      } finally {
        if (work.kind === 'segment') {
          work.t.inFlight--;
          // A segment that did not load goes back to the queue (abort) or is dropped (table error).
        }
        if (work.kind === 'plan' && work.t.phase === 'planning') work.t.phase = aborted ? 'queued' : 'error';
        if (work.kind === 'finish' && work.t.phase === 'finishing') work.t.phase = 'loading';
        notify();
      }
    }
  };

  try {
    const count = Math.max(1, Math.min(49, settings.maxSubTasks));
    for (let i = 0; i < count; i++) {
      workers.push(new Worker(o, i, holder));
    }
    await Promise.all(workers.map((w) => workerLoop(w).finally(() => w.drop())));
  } finally {
    clearInterval(ticker);
    o.signal.removeEventListener('abort', onAbort);
    await holder.close();
  }
  if (fatal) throw fatal;

  if (aborted) {
    for (const t of runs) if (t.phase !== 'done' && t.phase !== 'error' && t.stats.TableState === 'Full load') setState(t, 'Table cancelled');
  }
  for (const t of runs) if (t.phase === 'done' || t.phase === 'error') emit(t);
  const tables = runs.map((t) => ({ ...t.stats, FullLoadRows: t.doneRows }));
  return {
    outcome: aborted && runs.some((t) => t.phase !== 'done' && t.phase !== 'error') ? 'aborted' : 'completed',
    tables,
    tablesCompleted: runs.filter((t) => t.phase === 'done').length,
    tablesErrored: runs.filter((t) => t.phase === 'error').length,
    errors,
    snapshot: { shared: holder.shared, resumed: o.resume },
    unsharedTablesWithoutKey: runs
      .filter((t) => !t.hasKey && (t.loadedFromReplacedSnapshot || t.resumedWithLoadedRanges))
      .map((t) => ({ schema: t.planned.source.schema, table: t.planned.source.table })),
  };
}

/** Applies recorded progress to the runs (resume-processing). */
function adoptProgress(runs: TableRun[], rows: ProgressRow[], settings: FullLoadSettings): void {
  const byTable = new Map<string, ProgressRow[]>();
  for (const r of rows) {
    const k = `${r.sourceSchema}\u0000${r.sourceTable}`;
    const list = byTable.get(k);
    if (list) list.push(r);
    else byTable.set(k, [r]);
  }
  for (const t of runs) {
    const recorded = byTable.get(`${t.planned.source.schema}\u0000${t.planned.source.table}`);
    const head = recorded?.find((r) => r.segment === 0);
    if (!recorded || !head) continue;
    t.tableCreated = head.tableCreated;
    t.ownsRows = settings.targetTablePrepMode !== 'DO_NOTHING' || head.tableCreated;
    const ranges = recorded.filter((r) => r.segment > 0);
    const loaded = ranges.filter((r) => r.status === 'loaded');
    t.doneRows = head.status === 'completed' ? head.rows : loaded.reduce((n, r) => n + r.rows, 0);
    if (head.status === 'completed') {
      t.phase = 'done';
      continue;
    }
    t.resumedWithLoadedRanges = loaded.length > 0;
    t.pending = ranges.filter((r) => r.status === 'pending').map((r) => ({ no: r.segment, range: r.range, deleteFirst: true }));
    t.remaining = t.pending.length;
    t.phase = 'loading';
  }
}

/** DELETE of one key range on the target, in target column names; the whole table when unranged. */
function deleteRangeSql(t: TableRun, range: KeyRange, targetName: string): string {
  if (range.columns.length === 0) return `DELETE FROM ${targetName}`;
  const names = new Map(t.planned.columns.map((c) => [c.source, c.target]));
  const targetColumns = range.columns.map((c) => names.get(c));
  if (targetColumns.some((c) => c === undefined)) return `DELETE FROM ${targetName} WHERE false`;
  const targetRange: KeyRange = { columns: targetColumns as string[] };
  if (range.lower) targetRange.lower = range.lower;
  if (range.upper) targetRange.upper = range.upper;
  return `DELETE FROM ${targetName}${whereClause(rangeSql(targetRange, (c) => targetCastType(t.def, c)))}`;
}

/** One parallel load slot: a source session in the snapshot and a target session, opened lazily. */
class Worker {
  private source: pg.Client | undefined;
  private target: pg.Client | undefined;
  /** Whether the current source session reads the first snapshot. */
  sharedSnapshot = true;

  constructor(
    private readonly o: FullLoadOptions,
    private readonly index: number,
    private readonly holder: SnapshotHolder,
  ) {}

  async sourceSession(): Promise<pg.Client> {
    if (!this.source) {
      this.source = await openSourceSession(this.o.source, `${this.o.taskName}:load-${this.index}`, this.holder);
      this.sharedSnapshot = this.holder.shared;
    }
    return this.source;
  }

  async targetSession(): Promise<pg.Client> {
    this.target ??= await openTargetSession(this.o.target, `${this.o.taskName}:load-${this.index}`);
    return this.target;
  }

  private seqScans = true;

  async setSequentialScans(source: pg.Client, on: boolean): Promise<void> {
    if (this.seqScans === on) return;
    await source.query(`SET enable_seqscan = ${on ? 'on' : 'off'}`);
    this.seqScans = on;
  }

  /** Abandons both sessions (in-flight COPY and transaction roll back on the servers). */
  drop(): void {
    this.seqScans = true;
    destroyClient(this.source);
    destroyClient(this.target);
    this.source = undefined;
    this.target = undefined;
  }
}

async function connectOrFail<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const c = classifyPostgresError(err);
    throw new FullLoadError(c.message, c.retryable);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
