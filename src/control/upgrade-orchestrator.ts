/**
 * The cascading upgrade (beyond AWS): every task of replication instance A moves to instance B in
 * a controlled order, each passing a health gate before the next one starts.
 *
 * Per task that was running:
 *
 *   preparing     B checks it can take the task (storage, endpoints reachable from B) and what
 *                 the resume needs holds (source catalog of the mapped tables, slot, publication,
 *                 target tables: handover-checks.ts) while the task still runs on A, so a problem
 *                 is a refusal before the handover; then B reads the task's catalog ahead of the
 *                 resume (prepare-task, src/engine/prepared-catalog.ts), so the resume on B only
 *                 checks it is still current instead of reading it. B on an engine bundle older
 *                 than prepare-task (protocol 1) is logged and skipped: its resume reads the catalog.
 *   stopping      StopReplicationTask; the engine drains and writes its checkpoint   -+
 *   moving        MoveReplicationTask to B                                            | handover
 *   resuming      StartReplicationTask resume-processing on B, until `running`       -+
 *   health-check  running, and a fresh CDC report with latency under the threshold
 *   done
 *
 * Tasks that rest (stopped, ready, failed, failed-move) are only moved. At the first failure the
 * upgrade halts: no further task starts; the failed task is rolled back (moved back to A if it
 * got to B — opendms allows that rollback — and resumed there if it was running), and the record
 * says what moved, what did not, and why. Each step goes through the same persisted task
 * transitions as the API calls, so the tasks are always in a state an operator can act on.
 *
 * Progress is kept in `<data-dir>/upgrades/<id>.json`, written before each step acts. A control
 * plane restarted during an upgrade resumes it (`start`): each task continues from where its
 * stored status and instance say it is — a task caught mid-handover is finished forward (stopped
 * -> moved -> resumed on B), a rollback cut short is finished — and the remaining tasks follow in
 * order with the same options and health gates.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { App } from './app.js';
import { checkHandover } from './handover-checks.js';
import { UnsupportedRequestError } from './instance-supervisor.js';
import { checkTargetCanTake, engineCompatibilityFault, requestMove, storageTakenGb, taskStorageReservationGb } from './task-move.js';
import { getTask, taskEvent, type TaskDoc } from './task-record.js';
import type { PrepareTaskResult } from '../instance/protocol.js';
import { invalidCombination, invalidParameter, invalidState, notFound, quotaExceeded } from '../model/faults.js';

export type UpgradeStatus = 'planned' | 'running' | 'succeeded' | 'failed' | 'interrupted';
export type UpgradeStep = 'pending' | 'preparing' | 'stopping' | 'moving' | 'resuming' | 'health-check' | 'done' | 'failed' | 'rolled-back' | 'not-started';

export interface UpgradeTaskEntry {
  ReplicationTaskArn: string;
  ReplicationTaskIdentifier: string;
  /** Status when the upgrade began. */
  InitialStatus: string;
  /** move-and-resume for running tasks, move for resting ones. */
  Action: 'move-and-resume' | 'move';
  Step: UpgradeStep;
  Message?: string;
  /** Stop request to `running` again on B (the downtime of the task). */
  HandoverMillis?: number;
  /** When the stop was requested: persisted, so a handover resumed after a restart still measures from it. */
  StopRequestedAt?: string;
  /** What the preparation on B found (catalog, slot, publication), while the task still ran on A. */
  Preparation?: string;
  /** Dry runs only: why this task would halt the upgrade (the check that failed); absent when every check passed. */
  WouldBlock?: string;
  StartedAt?: string;
  FinishedAt?: string;
}

export interface UpgradeRecord {
  UpgradeId: string;
  SourceReplicationInstanceArn: string;
  TargetReplicationInstanceArn: string;
  Status: UpgradeStatus;
  MaxConcurrent: number;
  MaxCdcLatencySeconds: number;
  HealthCheckTimeoutSeconds: number;
  Tasks: UpgradeTaskEntry[];
  CreatedAt: string;
  FinishedAt?: string;
  Message?: string;
  /** How many times a restarted control plane resumed this upgrade. */
  Resumed?: number;
}

export interface UpgradeRequest {
  sourceArn: string;
  targetArn: string;
  maxConcurrent?: number;
  maxCdcLatencySeconds?: number;
  healthCheckTimeoutSeconds?: number;
  dryRun?: boolean;
}

const RUNNING_STATUSES = ['running'];
const RESTING_STATUSES = ['ready', 'stopped', 'failed', 'failed-move'];
/** The store is in-process SQLite: reading a task's status is microseconds, so a short poll costs nothing. */
const POLL_MS = 10;
const STOP_TIMEOUT_MS = 600_000;
const MOVE_TIMEOUT_MS = 120_000;
const START_TIMEOUT_MS = 120_000;
/** How long B keeps a task's prepared catalog: past the longest stop (drain) and move of the task. */
const PREPARE_TTL_SECONDS = 900;
const PREPARE_TIMEOUT_MS = 60_000;
/** Tasks a dry run checks at once when no MaxConcurrent is given. */
const DRY_RUN_CONCURRENCY = 4;
const POSTGRES_ENGINES = ['postgres', 'aurora-postgresql'];

/** After a control-plane restart, how long the upgrade waits for both instance processes to reconnect. */
const RECONNECT_TIMEOUT_MS = 60_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Thrown through a run when the control plane shuts down: the record stays `running` for the next start. */
class UpgradeStopped extends Error {}

export class UpgradeOrchestrator {
  private readonly active = new Map<string, UpgradeRecord>();
  private readonly runs = new Set<Promise<void>>();
  /** Set by stop(): runs end without recording anything the shutdown caused. */
  private stopping = false;

  constructor(private readonly app: App) {}

  private get dir(): string {
    return join(this.app.config.dataDir, 'upgrades');
  }

  /** Checks the request and builds the plan; throws the fault an API caller gets. */
  plan(req: UpgradeRequest): UpgradeRecord {
    const { app } = this;
    const maxConcurrent = req.maxConcurrent ?? 1;
    if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1 || maxConcurrent > 20) throw invalidParameter(`MaxConcurrent must be a whole number from 1 to 20; got ${maxConcurrent}.`);
    const maxLatency = req.maxCdcLatencySeconds ?? 30;
    if (!(maxLatency > 0)) throw invalidParameter(`MaxCdcLatencySeconds must be above 0; got ${maxLatency}.`);
    const healthTimeout = req.healthCheckTimeoutSeconds ?? 120;
    if (!(healthTimeout > 0)) throw invalidParameter(`HealthCheckTimeoutSeconds must be above 0; got ${healthTimeout}.`);
    const source = app.store.instances.get(req.sourceArn);
    if (!source) throw notFound(`Replication instance ${req.sourceArn} (SourceReplicationInstanceArn) not found.`);
    const target = app.store.instances.get(req.targetArn);
    if (!target) throw notFound(`Replication instance ${req.targetArn} (TargetReplicationInstanceArn) not found.`);
    if (source.ReplicationInstanceArn === target.ReplicationInstanceArn) {
      throw invalidCombination('SourceReplicationInstanceArn and TargetReplicationInstanceArn are the same instance; give the instance to upgrade and the one to move its tasks to.');
    }
    if (target.ReplicationInstanceStatus !== 'available') {
      throw invalidState(`Replication instance ${target.ReplicationInstanceIdentifier} is in status ${target.ReplicationInstanceStatus}; the upgrade target must be available.`);
    }
    for (const u of this.active.values()) {
      if (u.Status === 'running' && [u.SourceReplicationInstanceArn, u.TargetReplicationInstanceArn].some((a) => a === source.ReplicationInstanceArn || a === target.ReplicationInstanceArn)) {
        throw invalidState(`Upgrade ${u.UpgradeId} is already running between these instances; wait for it to finish (DescribeReplicationInstanceUpgrades).`);
      }
    }
    const tasks = (app.store.tasks.listByInstance(source.ReplicationInstanceArn) as TaskDoc[]).sort((a, b) => {
      // Resting tasks first (nothing to interrupt), then the running ones by identifier.
      const rank = (t: TaskDoc): number => (RUNNING_STATUSES.includes(t.Status) ? 1 : 0);
      return rank(a) - rank(b) || a.ReplicationTaskIdentifier.localeCompare(b.ReplicationTaskIdentifier);
    });
    const busy = tasks.filter((t) => !RUNNING_STATUSES.includes(t.Status) && !RESTING_STATUSES.includes(t.Status));
    if (busy.length) {
      throw invalidState(
        `Replication task(s) ${busy.map((t) => `${t.ReplicationTaskIdentifier} (${t.Status})`).join(', ')} on ${source.ReplicationInstanceIdentifier} are changing status; ` +
          'run the upgrade when every task is running, stopped, ready, failed or failed-move.',
      );
    }
    for (const t of tasks) {
      const fault = engineCompatibilityFault(t, source, target);
      if (fault) throw fault;
    }
    if (app.store.tasks.listByInstance(target.ReplicationInstanceArn).length + tasks.length > app.config.quotas.TasksPerInstance) {
      throw quotaExceeded(`Replication instance ${target.ReplicationInstanceIdentifier} cannot host ${tasks.length} more tasks: the most per instance is ${app.config.quotas.TasksPerInstance}.`);
    }
    const needGb = tasks.reduce((sum, t) => sum + taskStorageReservationGb(t.ReplicationTaskSettings), 0);
    const { takenGb } = storageTakenGb(app, target);
    if (takenGb + needGb > target.AllocatedStorage) {
      throw invalidState(
        `Replication instance ${target.ReplicationInstanceIdentifier} has ${target.AllocatedStorage} GB AllocatedStorage, ${Math.ceil(takenGb)} GB taken; ` +
          `the ${tasks.length} tasks of ${source.ReplicationInstanceIdentifier} reserve ${needGb} GB. Increase its AllocatedStorage first (docs/upgrades.md).`,
      );
    }
    return {
      UpgradeId: randomUUID(),
      SourceReplicationInstanceArn: source.ReplicationInstanceArn,
      TargetReplicationInstanceArn: target.ReplicationInstanceArn,
      Status: 'planned',
      MaxConcurrent: maxConcurrent,
      MaxCdcLatencySeconds: maxLatency,
      HealthCheckTimeoutSeconds: healthTimeout,
      Tasks: tasks.map((t) => ({
        ReplicationTaskArn: t.ReplicationTaskArn,
        ReplicationTaskIdentifier: t.ReplicationTaskIdentifier,
        InitialStatus: t.Status,
        Action: RUNNING_STATUSES.includes(t.Status) ? 'move-and-resume' : 'move',
        Step: 'pending',
      })),
      CreatedAt: new Date().toISOString(),
    };
  }

  /** Plans, and unless it is a dry run, starts the upgrade in the background. */
  async begin(req: UpgradeRequest): Promise<UpgradeRecord> {
    const record = this.plan(req);
    if (req.dryRun) return this.checkPlan(record, req.maxConcurrent ?? DRY_RUN_CONCURRENCY);
    record.Status = 'running';
    this.active.set(record.UpgradeId, record);
    this.save(record);
    this.instanceEvent(record.SourceReplicationInstanceArn, `Cascading upgrade ${record.UpgradeId} started: ${record.Tasks.length} task(s) to ${this.name(record.TargetReplicationInstanceArn)}.`);
    this.launch(record, false);
    return structuredClone(record);
  }

  /**
   * The dry run: every check the upgrade would make before each handover (B can take the task;
   * for running tasks also what the resume needs, handover-checks.ts), nothing stopped or moved.
   * Each task gets its `Preparation` or the `WouldBlock` reason; nothing is persisted (and B
   * prepares nothing). Up to `concurrency` tasks are checked at once; the report keeps the plan's
   * order whatever order the checks end in.
   */
  private async checkPlan(record: UpgradeRecord, concurrency: number): Promise<UpgradeRecord> {
    const check = async (entry: UpgradeTaskEntry): Promise<void> => {
      const doc = getTask(this.app, entry.ReplicationTaskArn);
      try {
        if (entry.Action === 'move-and-resume') entry.Preparation = await this.prepare(doc, record.TargetReplicationInstanceArn, false);
        else {
          // Resting tasks are only moved: the move's own checks are all that applies.
          await checkTargetCanTake(this.app, doc, record.TargetReplicationInstanceArn);
          entry.Preparation = `${this.name(record.TargetReplicationInstanceArn)} can take it`;
        }
      } catch (err) {
        entry.WouldBlock = err instanceof Error ? err.message : String(err);
      }
    };
    const queue = [...record.Tasks];
    const worker = async (): Promise<void> => {
      for (let entry = queue.shift(); entry; entry = queue.shift()) await check(entry);
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, queue.length)) }, worker));
    const blocked = record.Tasks.filter((e) => e.WouldBlock !== undefined);
    record.Message = blocked.length
      ? `Dry run: ${blocked.length} of ${record.Tasks.length} task(s) would halt the upgrade: ${blocked.map((e) => `${e.ReplicationTaskIdentifier}: ${e.WouldBlock}`).join('; ')}.`
      : `Dry run: every check passed for the ${record.Tasks.length} task(s); nothing changed.`;
    return record;
  }

  /** Upgrades, newest first; one by id when given. */
  describe(upgradeId?: string): UpgradeRecord[] {
    const all = new Map<string, UpgradeRecord>();
    for (const r of this.readAll()) {
      // Running on disk but not here: its control plane stopped and this one has not resumed it (yet).
      if (r.Status === 'running' && !this.active.has(r.UpgradeId)) {
        r.Status = 'interrupted';
        r.Message = 'The control plane stopped during the upgrade; it is resumed when the control plane starts again.';
      }
      all.set(r.UpgradeId, r);
    }
    for (const r of this.active.values()) all.set(r.UpgradeId, structuredClone(r));
    const list = [...all.values()].sort((a, b) => b.CreatedAt.localeCompare(a.CreatedAt));
    if (upgradeId === undefined) return list;
    const one = list.filter((r) => r.UpgradeId === upgradeId);
    if (!one.length) throw notFound(`Upgrade ${upgradeId} not found.`);
    return one;
  }

  private readAll(): UpgradeRecord[] {
    if (!existsSync(this.dir)) return [];
    const records: UpgradeRecord[] = [];
    for (const f of readdirSync(this.dir).filter((n) => n.endsWith('.json'))) {
      try {
        records.push(JSON.parse(readFileSync(join(this.dir, f), 'utf8')) as UpgradeRecord);
      } catch {
        // a half-written file cannot happen (rename), but a hand-edited one can: skip it
      }
    }
    return records;
  }

  // ---- running an upgrade ----

  /**
   * At control-plane start: upgrades the previous run left `running` are resumed. Each task is
   * taken from where its stored status and instance say it is (see `advance`), so a step that was
   * persisted but not yet acted on, or acted on but not yet persisted, is finished either way.
   */
  start(): void {
    this.stopping = false;
    for (const record of this.readAll()) {
      if (record.Status !== 'running' || this.active.has(record.UpgradeId)) continue;
      record.Resumed = (record.Resumed ?? 0) + 1;
      record.Message = `Resumed after a control-plane restart (${new Date().toISOString()}).`;
      this.active.set(record.UpgradeId, record);
      this.save(record);
      this.instanceEvent(record.SourceReplicationInstanceArn, `Cascading upgrade ${record.UpgradeId} resumed after a control-plane restart.`);
      this.launch(record, true);
    }
  }

  /** At shutdown: upgrades under way stop acting and stay `running` on disk; the next start resumes them. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.allSettled([...this.runs]);
  }

  private launch(record: UpgradeRecord, resumed: boolean): void {
    const run = this.run(record, resumed)
      .catch((err: unknown) => {
        if (err instanceof UpgradeStopped) return;
        this.app.log.error({ err, upgradeId: record.UpgradeId }, 'cascading upgrade crashed');
        this.finish(record, 'failed', `internal error: ${(err as Error).message}`);
      })
      .finally(() => this.runs.delete(run));
    this.runs.add(run);
  }

  private async run(record: UpgradeRecord, resumed = false): Promise<void> {
    if (resumed) {
      // The instance processes reconnect after a control-plane restart; act once both are back.
      await this.instancesConnected(record);
      // A rollback cut short by the restart is finished first: that task must not stay half-way.
      for (const e of record.Tasks) if (e.Step === 'failed' && !e.FinishedAt) await this.finishRollback(record, e, e.Message ?? 'failed');
    }
    const failedBefore = record.Tasks.some((e) => e.Step === 'failed' || e.Step === 'rolled-back');
    const queue = record.Tasks.filter((e) => !['done', 'failed', 'rolled-back', 'not-started'].includes(e.Step));
    let halted = failedBefore;
    const worker = async (): Promise<void> => {
      for (let entry = queue.shift(); entry && !halted; entry = queue.shift()) {
        const ok = await this.upgradeTask(record, entry);
        if (!ok) halted = true;
      }
    };
    await Promise.all(Array.from({ length: Math.min(record.MaxConcurrent, Math.max(1, queue.length)) }, worker));
    if (this.stopping) throw new UpgradeStopped();
    for (const e of record.Tasks) if (e.Step === 'pending') this.step(record, e, 'not-started', 'Not started: the upgrade halted at an earlier failure.');
    const failed = record.Tasks.filter((e) => e.Step === 'failed' || e.Step === 'rolled-back');
    if (failed.length) {
      const moved = record.Tasks.filter((e) => e.Step === 'done').length;
      this.finish(record, 'failed', `Halted: ${failed.map((e) => `${e.ReplicationTaskIdentifier}: ${e.Message}`).join('; ')}. ${moved} of ${record.Tasks.length} task(s) moved.`);
    } else {
      this.finish(record, 'succeeded', `All ${record.Tasks.length} task(s) moved to ${this.name(record.TargetReplicationInstanceArn)}.`);
    }
  }

  private async instancesConnected(record: UpgradeRecord): Promise<void> {
    const deadline = Date.now() + RECONNECT_TIMEOUT_MS;
    const arns = [record.SourceReplicationInstanceArn, record.TargetReplicationInstanceArn];
    while (!arns.every((a) => this.app.instances.isConnected(a)) && Date.now() < deadline) {
      if (this.stopping) throw new UpgradeStopped();
      await sleep(POLL_MS * 5);
    }
  }

  /** One task through the steps; false when it failed (after its rollback). */
  private async upgradeTask(record: UpgradeRecord, entry: UpgradeTaskEntry): Promise<boolean> {
    const to = record.TargetReplicationInstanceArn;
    entry.StartedAt ??= new Date().toISOString();
    try {
      await this.advance(record, entry);
      entry.FinishedAt = new Date().toISOString();
      this.step(record, entry, 'done', entry.HandoverMillis !== undefined ? `Running on ${this.name(to)}; handover took ${entry.HandoverMillis} ms.` : `Moved to ${this.name(to)}.`);
      return true;
    } catch (err) {
      if (err instanceof UpgradeStopped) throw err;
      const reason = err instanceof Error ? err.message : String(err);
      const message = `Failed while ${entry.Step}: ${reason}`;
      this.step(record, entry, 'failed', message);
      await this.finishRollback(record, entry, message);
      return false;
    }
  }

  /** Rolls a failed task back and records the outcome (also after a restart cut a rollback short). */
  private async finishRollback(record: UpgradeRecord, entry: UpgradeTaskEntry, message: string): Promise<void> {
    const rollback = await this.rollback(record, entry).catch((e: unknown) => {
      if (e instanceof UpgradeStopped) throw e;
      return `rollback failed: ${(e as Error).message}`;
    });
    entry.FinishedAt = new Date().toISOString();
    if (rollback === undefined) this.step(record, entry, 'rolled-back', `${message}. Rolled back: the task is ${entry.Action === 'move-and-resume' ? 'running' : 'back'} on ${this.name(record.SourceReplicationInstanceArn)}.`);
    else this.step(record, entry, 'failed', `${message}. ${rollback}`);
  }

  /**
   * Drives the task to its goal (moved to B, and running there past the health gate if it was
   * running) from whatever its stored status and instance are: a fresh upgrade starts from
   * `running` (or resting) on A; an upgrade resumed after a restart starts wherever the task is.
   * Each branch either waits for a status that ends (throwing on a bad one), acts once, or throws.
   */
  private async advance(record: UpgradeRecord, entry: UpgradeTaskEntry): Promise<void> {
    const arn = entry.ReplicationTaskArn;
    const to = record.TargetReplicationInstanceArn;
    const resume = entry.Action === 'move-and-resume';
    for (;;) {
      if (this.stopping) throw new UpgradeStopped();
      const doc = getTask(this.app, arn);
      if (doc._pendingStart && ['starting', 'running'].includes(doc.Status)) {
        // Restarted control plane: the scheduler is handing the task back to its instance.
        await this.waitFor(arn, ['starting', 'running', 'stopped', 'failed'], [], START_TIMEOUT_MS, (d) => !d._pendingStart);
        continue;
      }
      if (doc.ReplicationInstanceArn !== to) {
        switch (doc.Status) {
          case 'starting':
            await this.waitFor(arn, ['running'], ['failed', 'stopped'], START_TIMEOUT_MS);
            continue;
          case 'running':
            if (!resume) throw new Error('the task started running after the upgrade began; run the upgrade again');
            this.step(record, entry, 'preparing');
            entry.Preparation = await this.prepare(doc, to, true);
            entry.StopRequestedAt = new Date().toISOString();
            this.step(record, entry, 'stopping');
            this.app.tasks.stopTask(arn);
            await this.waitFor(arn, ['stopped'], ['failed'], STOP_TIMEOUT_MS);
            continue;
          case 'stopping':
            if (entry.Step !== 'stopping') this.step(record, entry, 'stopping');
            await this.waitFor(arn, ['stopped'], ['failed'], STOP_TIMEOUT_MS);
            continue;
          case 'moving':
            if (entry.Step !== 'moving') this.step(record, entry, 'moving');
            await this.waitFor(arn, ['stopped', 'ready', 'failed'], ['failed-move'], MOVE_TIMEOUT_MS, (d) => d.ReplicationInstanceArn === to);
            continue;
          case 'failed-move':
            // Our own move failed (this run or the one before the restart): that is the failure.
            if (entry.Step === 'moving') throw new Error(`task is failed-move: ${String(doc.LastFailureMessage ?? 'move failed')}`);
            break;
          case 'failed':
            if (resume) throw new Error(`task is failed${doc.LastFailureMessage ? `: ${String(doc.LastFailureMessage)}` : ''}`);
            break;
          case 'stopped':
          case 'ready':
            break;
          default:
            throw new Error(`task is ${doc.Status}`);
        }
        this.step(record, entry, 'moving');
        requestMove(this.app, arn, to);
        await this.waitFor(arn, ['stopped', 'ready', 'failed'], ['failed-move'], MOVE_TIMEOUT_MS, (d) => d.ReplicationInstanceArn === to);
        continue;
      }
      if (!resume) return;
      switch (doc.Status) {
        case 'stopped':
        case 'ready':
          this.step(record, entry, 'resuming');
          this.app.tasks.startTask(arn, 'resume-processing');
          await this.waitFor(arn, ['running'], ['failed', 'stopped'], START_TIMEOUT_MS);
          continue;
        case 'starting':
          if (entry.Step !== 'resuming') this.step(record, entry, 'resuming');
          await this.waitFor(arn, ['running'], ['failed', 'stopped'], START_TIMEOUT_MS);
          continue;
        case 'stopping':
          await this.waitFor(arn, ['stopped'], ['failed'], STOP_TIMEOUT_MS);
          continue;
        case 'running':
          if (entry.StopRequestedAt && entry.HandoverMillis === undefined) entry.HandoverMillis = Date.now() - Date.parse(entry.StopRequestedAt);
          this.step(record, entry, 'health-check');
          await this.healthy(arn, record);
          return;
        default:
          throw new Error(`task is ${doc.Status} on ${this.name(to)}${doc.LastFailureMessage ? `: ${String(doc.LastFailureMessage)}` : ''}`);
      }
    }
  }

  /**
   * B takes the task (storage, endpoints from B) and the resume's catalog needs hold; with `warm`,
   * B then reads the task's catalog ahead of the resume. A summary for the record.
   */
  private async prepare(doc: TaskDoc, to: string, warm: boolean): Promise<string> {
    await checkTargetCanTake(this.app, doc, to);
    const checks = await checkHandover(this.app, doc);
    const warmed = warm ? await this.warm(doc, to) : undefined;
    return warmed ? `${checks}; ${warmed}` : checks;
  }

  /**
   * prepare-task on B: B opens both endpoints and reads the catalog the resume needs, kept there
   * for PREPARE_TTL_SECONDS. Never fails the upgrade (without it the resume reads the catalog
   * itself, as before): an engine bundle on B that predates the request is logged and skipped.
   */
  private async warm(doc: TaskDoc, to: string): Promise<string | undefined> {
    const name = this.name(to);
    const spec = this.app.tasks.specFor(doc, 'resume-processing', to);
    if (!POSTGRES_ENGINES.includes(spec.source.engineName) || !POSTGRES_ENGINES.includes(spec.target.engineName)) return undefined;
    const log = { taskArn: doc.ReplicationTaskArn, instanceArn: to };
    try {
      const r = (await this.app.instances.request(to, { type: 'prepare-task', spec, ttlSeconds: PREPARE_TTL_SECONDS }, PREPARE_TIMEOUT_MS)) as PrepareTaskResult;
      return `catalog prepared on ${name} (${r.plannedTables} mapped table(s), ${r.targetTables} on the target)`;
    } catch (err) {
      if (err instanceof UnsupportedRequestError) {
        this.app.log.info(
          { ...log, protocol: err.protocol },
          `cascading upgrade: ${name} runs an engine speaking internal protocol ${err.protocol}, which has no prepare-task; falling back: the resume on ${name} reads the catalog itself`,
        );
        return `catalog not prepared on ${name}: its engine (protocol ${err.protocol}) predates prepare-task, so the resume reads it`;
      }
      const reason = err instanceof Error ? err.message : String(err);
      this.app.log.warn({ ...log, err }, `cascading upgrade: ${name} could not prepare the task's catalog; the resume reads it itself`);
      return `catalog not prepared on ${name} (${reason}), so the resume reads it`;
    }
  }

  /** Puts a failed task back as it was on A. Returns undefined when done, or why it could not. */
  private async rollback(record: UpgradeRecord, entry: UpgradeTaskEntry): Promise<string | undefined> {
    const arn = entry.ReplicationTaskArn;
    const from = record.SourceReplicationInstanceArn;
    let doc = getTask(this.app, arn);
    if (doc.Status === 'moving') doc = await this.waitFor(arn, ['stopped', 'ready', 'failed', 'failed-move'], [], MOVE_TIMEOUT_MS);
    if (doc.Status === 'stopping') doc = await this.waitFor(arn, ['stopped', 'failed'], [], STOP_TIMEOUT_MS);
    if (doc.ReplicationInstanceArn !== from) {
      if (['starting', 'running'].includes(doc.Status)) {
        this.app.tasks.stopTask(arn);
        await this.waitFor(arn, ['stopped', 'failed'], [], STOP_TIMEOUT_MS);
      }
      // Back to the older engine: refused (and reported) only if it cannot read B's checkpoint.
      requestMove(this.app, arn, from);
      doc = await this.waitFor(arn, ['stopped', 'ready', 'failed'], ['failed-move'], MOVE_TIMEOUT_MS, (d) => d.ReplicationInstanceArn === from);
    }
    if (entry.Action === 'move-and-resume' && doc.Status !== 'running') {
      if (doc.Status === 'starting') await this.waitFor(arn, ['running'], ['failed', 'stopped'], START_TIMEOUT_MS);
      else {
        this.app.tasks.startTask(arn, 'resume-processing');
        await this.waitFor(arn, ['running'], ['failed', 'stopped'], START_TIMEOUT_MS);
      }
    }
    return undefined;
  }

  /** Running, with a CDC report newer than the resume whose latency is under the threshold. */
  private async healthy(arn: string, record: UpgradeRecord): Promise<void> {
    const since = new Date().toISOString();
    const deadline = Date.now() + record.HealthCheckTimeoutSeconds * 1000;
    // Only reports made within the allowed time count, however late we look at them.
    const deadlineIso = new Date(deadline).toISOString();
    let last = 'no CDC report yet';
    for (;;) {
      if (this.stopping) throw new UpgradeStopped();
      const doc = getTask(this.app, arn);
      if (doc.Status !== 'running') throw new Error(`the task left running (status ${doc.Status}${doc.LastFailureMessage ? `: ${String(doc.LastFailureMessage)}` : ''})`);
      const fullLoadOnly = doc.MigrationType === 'full-load';
      const cdc = doc._cdc;
      if (fullLoadOnly) return;
      if (cdc && cdc.updatedAt > since && cdc.updatedAt <= deadlineIso) {
        const latency = cdc.latencySeconds ?? 0;
        if (latency <= record.MaxCdcLatencySeconds) return;
        last = `CDC latency ${latency} s above ${record.MaxCdcLatencySeconds} s`;
      }
      if (Date.now() > deadline) throw new Error(`health check did not pass within ${record.HealthCheckTimeoutSeconds} s: ${last}`);
      await sleep(POLL_MS * 5);
    }
  }

  /** Waits until the task's status is one of `want` (and `also` holds), throws on one of `bad`. */
  private async waitFor(arn: string, want: string[], bad: string[], timeoutMs: number, also: (d: TaskDoc) => boolean = () => true): Promise<TaskDoc> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.stopping) throw new UpgradeStopped();
      const doc = getTask(this.app, arn);
      if (bad.includes(doc.Status)) throw new Error(`task is ${doc.Status}${doc.LastFailureMessage ? `: ${String(doc.LastFailureMessage)}` : ''}`);
      if (want.includes(doc.Status) && also(doc)) return doc;
      if (Date.now() > deadline) throw new Error(`task still ${doc.Status} after ${Math.round(timeoutMs / 1000)} s (waiting for ${want.join(' or ')})`);
      await sleep(POLL_MS);
    }
  }

  private step(record: UpgradeRecord, entry: UpgradeTaskEntry, step: UpgradeStep, message?: string): void {
    entry.Step = step;
    if (message !== undefined) entry.Message = message;
    this.save(record);
    if (message !== undefined && ['done', 'failed', 'rolled-back'].includes(step)) {
      const doc = this.app.store.tasks.get(entry.ReplicationTaskArn) as TaskDoc | undefined;
      if (doc) taskEvent(this.app, doc, `Cascading upgrade ${record.UpgradeId}: ${message}`, step === 'done' ? ['State Change'] : ['Failure']);
    }
  }

  private finish(record: UpgradeRecord, status: UpgradeStatus, message: string): void {
    record.Status = status;
    record.Message = message;
    record.FinishedAt = new Date().toISOString();
    this.save(record);
    this.active.delete(record.UpgradeId);
    this.instanceEvent(record.SourceReplicationInstanceArn, `Cascading upgrade ${record.UpgradeId} ${status}. ${message}`);
  }

  /** Written whole and renamed into place: a reader never sees half a record. */
  private save(record: UpgradeRecord): void {
    mkdirSync(this.dir, { recursive: true });
    const path = join(this.dir, `${record.UpgradeId}.json`);
    writeFileSync(`${path}.tmp`, JSON.stringify(record, null, 2));
    renameSync(`${path}.tmp`, path);
  }

  private name(instanceArn: string): string {
    return this.app.store.instances.get(instanceArn)?.ReplicationInstanceIdentifier ?? instanceArn;
  }

  private instanceEvent(instanceArn: string, message: string): void {
    this.app.event({ sourceIdentifier: this.name(instanceArn), sourceType: 'replication-instance', sourceArn: instanceArn, message, categories: ['Maintenance'] });
  }
}
