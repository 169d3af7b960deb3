/**
 * Runs replication tasks on their replication instances (`app.tasks`): hands a started task's
 * TaskSpec to the instance process, turns what the instance reports (task-status, task-progress,
 * task-checkpoint, task-event) into task status, statistics, checkpoints and events, and brings
 * tasks back after an instance process or the control plane itself went away.
 *
 * Every change is check -> persist -> act: the state machine is consulted and the new status is
 * stored (task-record.ts) before a message goes to the instance. What is still to be sent is kept
 * in the task document (`_pendingStart`, `_pendingStop`), so a restart in between loses nothing:
 *
 *   instance lost, task starting/running  -> _pendingStart (running: resume-processing)
 *   instance stops a task nobody stopped  -> the same (reboot, in-place upgrade, shutdown)
 *   instance connected                    -> pending starts sent, pending stops sent
 *   heartbeat without a `running` task    -> its runner ended unreported: resumed like a lost one
 *   control plane starts                  -> starting/running get _pendingStart, stopping gets
 *                                            _pendingStop; creating/modifying/deleting finish
 *
 * A running task resumed with resume-processing is safe: the engine reads its checkpoint from the
 * target's control table, so nothing is applied twice.
 */
import { mkdirSync, rmSync } from 'node:fs';
import type { StartType, TaskOutcome, TaskSpec } from '../engine/contracts.js';
import type { ControlRequest, HeartbeatMessage, InstanceMessage, TaskProgressMessage } from '../instance/protocol.js';
import { resourceIdOf } from '../model/arn.js';
import { invalidState } from '../model/faults.js';
import { parseTableMappings } from '../model/table-mappings.js';
import { transition, type TaskEvent, type TaskStatus } from '../model/task-state-machine.js';
import type { TableStatisticsRecord } from '../store/index.js';
import type { App } from './app.js';
import { endpointConnectionSpec } from './endpoint-spec.js';
import { taskWorkDir } from './instance-paths.js';
import { applyCdcPositions, patchTask, stopReason, taskEvent, taskFacts, updateTask, type CdcPositions, type TaskDoc } from './task-record.js';

/** What the scheduler needs from the instance supervisor (InstanceSupervisor satisfies it). */
export interface InstanceChannel {
  request(instanceArn: string, message: ControlRequest, timeoutMs?: number): Promise<unknown>;
  isConnected(instanceArn: string): boolean;
  on(event: 'message', listener: (instanceArn: string, msg: InstanceMessage) => void): unknown;
  on(event: 'instance-connected' | 'instance-lost', listener: (instanceArn: string) => void): unknown;
  on(event: 'heartbeat', listener: (instanceArn: string, msg: HeartbeatMessage) => void): unknown;
  off(event: 'message', listener: (instanceArn: string, msg: InstanceMessage) => void): unknown;
  off(event: 'instance-connected' | 'instance-lost', listener: (instanceArn: string) => void): unknown;
  off(event: 'heartbeat', listener: (instanceArn: string, msg: HeartbeatMessage) => void): unknown;
}

/** A start only needs the instance to open connections and spawn the runner. */
const START_TIMEOUT_MS = 120_000;
/** A stop drains in-flight apply and writes the checkpoint: give a big transaction time. */
const STOP_TIMEOUT_MS = 600_000;
const RELOAD_TIMEOUT_MS = 60_000;

const ACTIVE: readonly TaskStatus[] = ['starting', 'running'];

/** replication-task event categories as DescribeEvents and DescribeEventCategories spell them (spec §13). */
const TASK_EVENT_CATEGORIES = ['State Change', 'Failure', 'Configuration Change', 'Deletion', 'Creation'];

/** An engine may say `failure` or `state-change`; events are filtered by the AWS spelling. */
function canonicalCategory(category: string): string {
  const key = category.toLowerCase().replace(/[-_]/g, ' ');
  return TASK_EVENT_CATEGORIES.find((c) => c.toLowerCase() === key) ?? category;
}

export class TaskScheduler {
  private running = false;
  /** Set by stop(): statuses the instances report while the service shuts down are not the user's stops. */
  private shuttingDown = false;
  /** Start requests on their way, so a stop waits for the start it would otherwise overtake. */
  private readonly inflightStarts = new Map<string, Promise<void>>();
  /** Asynchronous completions (creating -> ready, ...) not yet run; stop() waits for them. */
  private readonly settling = new Set<Promise<void>>();

  private readonly onMessage = (instanceArn: string, msg: InstanceMessage): void => {
    try {
      this.handleMessage(instanceArn, msg);
    } catch (err) {
      this.app.log.error({ err, instanceArn, type: msg.type }, 'cannot process an instance message');
    }
  };
  private readonly onConnected = (instanceArn: string): void => this.instanceConnected(instanceArn);
  private readonly onLost = (instanceArn: string): void => this.instanceLost(instanceArn);
  private readonly onHeartbeat = (instanceArn: string, msg: HeartbeatMessage): void => this.reconcile(instanceArn, msg.runningTasks);

  constructor(
    private readonly app: App,
    private readonly instances: InstanceChannel,
  ) {}

  /** Subscribes to the instances and recovers tasks the previous run left mid-way. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.shuttingDown = false;
    this.instances.on('message', this.onMessage);
    this.instances.on('instance-connected', this.onConnected);
    this.instances.on('instance-lost', this.onLost);
    this.instances.on('heartbeat', this.onHeartbeat);
    this.recover();
  }

  /**
   * Stops acting on task statuses: instance processes are about to be shut down with their tasks,
   * and those tasks must stay `running` in the store so the next start resumes them.
   */
  async stop(): Promise<void> {
    this.shuttingDown = true;
    await Promise.allSettled([...this.settling]);
  }

  /** Detaches from the instances (after they are shut down). */
  detach(): void {
    if (!this.running) return;
    this.running = false;
    this.instances.off('message', this.onMessage);
    this.instances.off('instance-connected', this.onConnected);
    this.instances.off('instance-lost', this.onLost);
    this.instances.off('heartbeat', this.onHeartbeat);
  }

  /** Runs work nobody awaits; a failure is logged, never an unhandled rejection that ends the process. */
  private background(work: Promise<void>): void {
    work.catch((err: unknown) => this.app.log.error({ err }, 'task scheduler work failed'));
  }

  // ---- asynchronous completions of API operations ----

  /** Runs `fn` after the current request has been answered (its response shows the transient status). */
  later(fn: () => void): void {
    const p = new Promise<void>((resolve) => {
      setImmediate(() => {
        try {
          fn();
        } catch (err) {
          this.app.log.error({ err }, 'asynchronous task transition failed');
        }
        resolve();
      });
    });
    this.settling.add(p);
    void p.finally(() => this.settling.delete(p));
  }

  /** creating -> ready. */
  finishCreate(arn: string): void {
    this.settle(arn, { type: 'created' });
  }

  /** modifying -> the resting status it left. */
  finishModify(arn: string): void {
    const doc = this.app.store.tasks.get(arn) as TaskDoc | undefined;
    if (!doc) return;
    const resting = doc._resting ?? 'ready';
    const done = this.settle(arn, { type: 'modify-done', resting }, (d) => {
      delete d._resting;
    });
    if (done) taskEvent(this.app, done, 'Replication task has been modified.', ['Configuration Change']);
  }

  /** deleting -> gone. */
  finishDelete(arn: string): void {
    const doc = this.app.store.tasks.get(arn) as TaskDoc | undefined;
    if (!doc || doc.Status !== 'deleting') return;
    this.app.store.transaction(() => {
      this.app.store.tasks.delete(arn);
      this.app.store.tags.removeAll(arn);
    });
    // Its spill files and task log on the instance go with it (they count against the instance's storage).
    rmSync(taskWorkDir(this.app.config.dataDir, doc.ReplicationInstanceArn, arn), { recursive: true, force: true });
    taskEvent(this.app, doc, 'Replication task has been deleted.', ['Deletion']);
  }

  private settle(arn: string, event: TaskEvent, mutate?: (doc: TaskDoc) => void): TaskDoc | undefined {
    try {
      return updateTask(this.app, arn, event, mutate);
    } catch (err) {
      this.app.log.debug({ err, arn, event: event.type }, 'task transition skipped');
      return undefined;
    }
  }

  // ---- start / stop / reload ----

  /**
   * StartReplicationTask: checks and persists `starting`, then hands the task to its instance
   * (now, or when the instance connects). Returns the stored document.
   */
  startTask(arn: string, startType: StartType, positions: CdcPositions = {}): TaskDoc {
    const now = new Date().toISOString();
    const doc = updateTask(this.app, arn, { type: 'Start', startType }, (d) => {
      const instance = this.app.store.instances.get(d.ReplicationInstanceArn);
      if (!instance || instance.ReplicationInstanceStatus !== 'available') {
        throw invalidState(
          `Replication instance ${d.ReplicationInstanceArn} of replication task ${d.ReplicationTaskIdentifier} is ` +
            `${instance ? `in status ${instance.ReplicationInstanceStatus}` : 'gone'}; the task can start only on an available instance.`,
        );
      }
      const fresh = startType !== 'resume-processing';
      d._hasRun = true;
      d._startType = startType;
      d._pendingStart = startType;
      delete d._pendingStop;
      delete d.LastFailureMessage;
      delete d.StopReason;
      d.ReplicationTaskStartDate = now;
      applyCdcPositions(d, positions);
      const stats = { ...((d.ReplicationTaskStats as Record<string, unknown> | undefined) ?? {}) };
      delete stats.StopDate;
      stats.StartDate = now;
      if (fresh) {
        stats.FreshStartDate = now;
        for (const k of ['FullLoadProgressPercent', 'TablesLoaded', 'TablesLoading', 'TablesQueued', 'TablesErrored', 'FullLoadStartDate', 'FullLoadFinishDate', 'ElapsedTimeMillis']) {
          delete stats[k];
        }
        this.app.store.tableStatistics.clear(arn);
      }
      d.ReplicationTaskStats = stats;
    });
    this.background(this.dispatch(arn));
    return doc;
  }

  /** StopReplicationTask: checks and persists `stopping`; the instance's `stopped` report finishes it. */
  stopTask(arn: string): TaskDoc {
    const doc = updateTask(this.app, arn, { type: 'Stop' }, (d) => {
      d._pendingStop = true;
    });
    this.background(this.sendStop(arn));
    return doc;
  }

  /** ReloadTables on a running task. */
  async reloadTables(arn: string, tables: { SchemaName: string; TableName: string }[]): Promise<void> {
    const doc = updateTask(this.app, arn, { type: 'ReloadTables' });
    if (!this.instances.isConnected(doc.ReplicationInstanceArn)) {
      throw invalidState(`Replication instance ${doc.ReplicationInstanceArn} of replication task ${doc.ReplicationTaskIdentifier} is not reachable right now; retry ReloadTables when it is available.`);
    }
    try {
      await this.instances.request(doc.ReplicationInstanceArn, { type: 'reload-tables', taskArn: arn, tables }, RELOAD_TIMEOUT_MS);
    } catch (err) {
      throw invalidState(`Replication instance ${doc.ReplicationInstanceArn} could not reload tables of replication task ${doc.ReplicationTaskIdentifier}: ${(err as Error).message}`);
    }
    taskEvent(this.app, doc, `Reload of ${tables.length} table(s) requested: ${tables.map((t) => `${t.SchemaName}.${t.TableName}`).join(', ')}.`, ['State Change']);
  }

  /** The spec the instance runs the task from. */
  buildSpec(doc: TaskDoc, startType: StartType): TaskSpec {
    const spec = this.specFor(doc, startType, doc.ReplicationInstanceArn);
    mkdirSync(spec.workDir, { recursive: true });
    return spec;
  }

  /** The spec the task would run from on `instanceArn` (nothing created: prepare-task sends it ahead of a move). */
  specFor(doc: TaskDoc, startType: StartType, instanceArn: string): TaskSpec {
    const workDir = taskWorkDir(this.app.config.dataDir, instanceArn, doc.ReplicationTaskArn);
    return {
      taskArn: doc.ReplicationTaskArn,
      taskIdentifier: doc.ReplicationTaskIdentifier,
      taskResourceId: resourceIdOf(doc.ReplicationTaskArn),
      migrationType: taskFacts(doc).migrationType,
      tableMappings: parseTableMappings(doc.TableMappings),
      settings: JSON.parse(doc.ReplicationTaskSettings) as Record<string, unknown>,
      source: endpointConnectionSpec(this.app, doc.SourceEndpointArn),
      target: endpointConnectionSpec(this.app, doc.TargetEndpointArn),
      startType,
      ...(doc.CdcStartPosition ? { cdcStartPosition: String(doc.CdcStartPosition) } : {}),
      ...(doc._cdcStartTime ? { cdcStartTime: doc._cdcStartTime } : {}),
      ...(doc.CdcStopPosition ? { cdcStopPosition: String(doc.CdcStopPosition) } : {}),
      ...(doc.RecoveryCheckpoint ? { recoveryCheckpoint: String(doc.RecoveryCheckpoint) } : {}),
      workDir,
    };
  }

  /** Sends a pending start-task to the task's instance, if it is connected. */
  private async dispatch(arn: string): Promise<void> {
    const doc = this.app.store.tasks.get(arn) as TaskDoc | undefined;
    if (!doc?._pendingStart || !ACTIVE.includes(doc.Status as TaskStatus) || this.shuttingDown) return;
    const instanceArn = doc.ReplicationInstanceArn;
    if (!this.instances.isConnected(instanceArn)) return; // instance-connected sends it
    const startType = doc._pendingStart;
    let spec: TaskSpec;
    try {
      spec = this.buildSpec(doc, startType);
    } catch (err) {
      this.fail(arn, `cannot prepare the task: ${(err as Error).message}`);
      return;
    }
    // Persist that it is sent before sending: a lost instance sets it pending again.
    patchTask(this.app, arn, (d) => {
      delete d._pendingStart;
    });
    const sent = this.instances
      .request(instanceArn, { type: 'start-task', spec }, START_TIMEOUT_MS)
      .then(
        () => {
          this.settle(arn, { type: 'started' });
        },
        (err: unknown) => {
          const message = err instanceof Error ? err.message : String(err);
          if (/already running/i.test(message)) return; // the instance outlived a control-plane restart
          if (this.shuttingDown) return;
          if (!this.instances.isConnected(instanceArn)) {
            this.markPending(arn, startType);
            return;
          }
          this.fail(arn, `replication instance ${instanceArn} could not start the task: ${message}`);
        },
      )
      .finally(() => this.inflightStarts.delete(arn));
    this.inflightStarts.set(arn, sent);
    await sent;
  }

  private markPending(arn: string, startType: StartType): void {
    patchTask(this.app, arn, (d) => {
      if (!ACTIVE.includes(d.Status as TaskStatus)) return false;
      d._pendingStart = startType;
      return true;
    });
  }

  /** Sends a pending stop-task; a task the instance does not run (or an absent instance) is stopped at once. */
  private async sendStop(arn: string): Promise<void> {
    await this.inflightStarts.get(arn)?.catch(() => undefined);
    const doc = this.app.store.tasks.get(arn) as TaskDoc | undefined;
    if (!doc || doc.Status !== 'stopping' || !doc._pendingStop) return;
    const instanceArn = doc.ReplicationInstanceArn;
    if (doc._pendingStart || !this.instances.isConnected(instanceArn)) {
      // The start never reached the instance, or the instance is away: nothing runs.
      this.finishStopped(arn, stopReason('NORMAL'));
      return;
    }
    patchTask(this.app, arn, (d) => {
      delete d._pendingStop;
    });
    try {
      await this.instances.request(instanceArn, { type: 'stop-task', taskArn: arn }, STOP_TIMEOUT_MS);
      // The engine's task-status `stopped` (with its checkpoint) normally arrived before this
      // reply; a task the instance no longer ran is stopped here.
      this.finishStopped(arn, stopReason('NORMAL'));
    } catch (err) {
      if (this.shuttingDown) return;
      if (!this.instances.isConnected(instanceArn)) {
        this.finishStopped(arn, stopReason('NORMAL'));
        return;
      }
      this.fail(arn, `replication instance ${instanceArn} could not stop the task: ${(err as Error).message}`);
    }
  }

  private finishStopped(arn: string, reason: string, recoveryCheckpoint?: string): void {
    const done = this.settle(arn, { type: 'stopped' }, (d) => {
      d.StopReason = reason;
      if (recoveryCheckpoint) d.RecoveryCheckpoint = recoveryCheckpoint;
      delete d._pendingStart;
      delete d._pendingStop;
      d.ReplicationTaskStats = { ...((d.ReplicationTaskStats as Record<string, unknown> | undefined) ?? {}), StopDate: new Date().toISOString() };
    });
    if (done) taskEvent(this.app, done, `Replication task has stopped. ${reason}.`, ['State Change']);
  }

  private fail(arn: string, message: string, reason?: string, recoveryCheckpoint?: string): void {
    const done = this.settle(arn, { type: 'failed' }, (d) => {
      d.LastFailureMessage = message;
      d.StopReason = stopReason(reason, 'FATAL_ERROR');
      if (recoveryCheckpoint) d.RecoveryCheckpoint = recoveryCheckpoint;
      delete d._pendingStart;
      delete d._pendingStop;
      d.ReplicationTaskStats = { ...((d.ReplicationTaskStats as Record<string, unknown> | undefined) ?? {}), StopDate: new Date().toISOString() };
    });
    if (done) taskEvent(this.app, done, `Replication task has failed. Reason: ${message}`, ['Failure']);
  }

  // ---- what instances report ----

  private handleMessage(instanceArn: string, msg: InstanceMessage): void {
    if (msg.type !== 'task-status' && msg.type !== 'task-progress' && msg.type !== 'task-checkpoint' && msg.type !== 'task-event') return;
    const doc = this.app.store.tasks.get(msg.taskArn) as TaskDoc | undefined;
    // Reports from an instance the task no longer belongs to (after a move) are stale.
    if (!doc || doc.ReplicationInstanceArn !== instanceArn) return;
    switch (msg.type) {
      case 'task-status':
        this.statusReported(doc, msg.outcome);
        break;
      case 'task-progress':
        this.progressReported(msg);
        break;
      case 'task-checkpoint':
        patchTask(this.app, msg.taskArn, (d) => {
          d.RecoveryCheckpoint = msg.recoveryCheckpoint;
        });
        break;
      case 'task-event':
        taskEvent(this.app, doc, msg.message, msg.categories.map(canonicalCategory));
        break;
    }
  }

  private statusReported(doc: TaskDoc, outcome: TaskOutcome): void {
    const arn = doc.ReplicationTaskArn;
    const checkpoint = outcome.status === 'running' ? undefined : outcome.recoveryCheckpoint;
    const keepCheckpoint = (): void => {
      if (checkpoint) patchTask(this.app, arn, (d) => void (d.RecoveryCheckpoint = checkpoint));
    };
    if (this.shuttingDown && outcome.status !== 'running') {
      // Stopped because the service is shutting down: stays starting/running, resumed on the next start.
      keepCheckpoint();
      return;
    }
    switch (outcome.status) {
      case 'running': {
        const wasStarting = doc.Status === 'starting';
        const done = this.settle(arn, { type: 'running' });
        if (done && wasStarting) taskEvent(this.app, done, 'Replication task has started.', ['State Change']);
        break;
      }
      case 'stopped': {
        const reason = stopReason(outcome.stopReason);
        if (reason === stopReason('NORMAL') && ACTIVE.includes(doc.Status as TaskStatus)) {
          // Nobody asked this task to stop: its instance stopped it (reboot, upgrade, shutdown).
          // It stays starting/running and resumes when the instance is back.
          keepCheckpoint();
          this.markPending(arn, doc.Status === 'running' ? 'resume-processing' : (doc._startType ?? 'start-replication'));
          taskEvent(this.app, doc, `Replication task interrupted: replication instance ${doc.ReplicationInstanceArn} stopped it. The task resumes when the instance is back.`, ['State Change']);
        } else if (!transition(taskFacts(doc), { type: 'stopped' }).ok) keepCheckpoint();
        else this.finishStopped(arn, reason, checkpoint);
        break;
      }
      case 'failed':
        if (!transition(taskFacts(doc), { type: 'failed' }).ok) keepCheckpoint();
        else this.fail(arn, outcome.failureMessage, outcome.stopReason, checkpoint);
        break;
    }
  }

  private progressReported(msg: TaskProgressMessage): void {
    this.app.store.transaction(() => {
      const doc = patchTask(this.app, msg.taskArn, (d) => {
        if (!['starting', 'running', 'stopping'].includes(d.Status)) return false;
        d.ReplicationTaskStats = { ...((d.ReplicationTaskStats as Record<string, unknown> | undefined) ?? {}), ...msg.stats };
        if (msg.cdc) d._cdc = { ...msg.cdc, updatedAt: new Date().toISOString() };
        return true;
      });
      if (doc && msg.tables.length && ['starting', 'running', 'stopping'].includes(doc.Status)) {
        this.app.store.tableStatistics.upsert(msg.taskArn, msg.tables as unknown as TableStatisticsRecord[]);
      }
    });
  }

  // ---- instances coming and going ----

  private instanceLost(instanceArn: string): void {
    if (this.shuttingDown) return;
    for (const doc of this.app.store.tasks.listByInstance(instanceArn) as TaskDoc[]) {
      if (ACTIVE.includes(doc.Status as TaskStatus)) {
        if (doc._pendingStart) continue; // already waiting for the instance (it stopped the task first)
        const startType = doc.Status === 'running' ? 'resume-processing' : (doc._startType ?? 'start-replication');
        this.markPending(doc.ReplicationTaskArn, startType);
        taskEvent(this.app, doc, `Replication task interrupted: the process of replication instance ${instanceArn} was lost. The task resumes when the instance is back.`, ['Failure']);
      } else if (doc.Status === 'stopping') {
        // The process that ran it is gone: the task is stopped; its checkpoint is in the target.
        this.finishStopped(doc.ReplicationTaskArn, stopReason('NORMAL'));
      }
    }
  }

  private instanceConnected(instanceArn: string): void {
    if (this.shuttingDown) return;
    for (const doc of this.app.store.tasks.listByInstance(instanceArn) as TaskDoc[]) {
      if (doc._pendingStart && ACTIVE.includes(doc.Status as TaskStatus)) this.background(this.dispatch(doc.ReplicationTaskArn));
      else if (doc._pendingStop && doc.Status === 'stopping') this.background(this.sendStop(doc.ReplicationTaskArn));
    }
  }

  /**
   * A heartbeat lists the tasks the instance runs. A task we hold `running` that is not there
   * ended without a report (the runner died): resume it. Heartbeats and task reports travel on
   * one ordered connection, so a task reported running is already in every later heartbeat;
   * tasks with a start on its way are left alone.
   */
  private reconcile(instanceArn: string, runningTasks: string[]): void {
    if (this.shuttingDown) return;
    const here = new Set(runningTasks);
    for (const arn of this.app.store.tasks.arnsByInstanceAndStatus(instanceArn, 'running')) {
      if (here.has(arn) || this.inflightStarts.has(arn)) continue;
      const doc = this.app.store.tasks.get(arn) as TaskDoc | undefined;
      if (!doc || doc._pendingStart) continue;
      this.markPending(arn, 'resume-processing');
      taskEvent(this.app, doc, `Replication task interrupted: replication instance ${instanceArn} no longer runs it. The task resumes now.`, ['Failure']);
      this.background(this.dispatch(arn));
    }
  }

  /** At control-plane start: finish what the previous run left half-done. */
  private recover(): void {
    const instancesToKick = new Set<string>();
    for (const doc of this.app.store.tasks.list() as TaskDoc[]) {
      const arn = doc.ReplicationTaskArn;
      switch (doc.Status) {
        case 'creating':
          this.finishCreate(arn);
          break;
        case 'modifying':
          this.finishModify(arn);
          break;
        case 'deleting':
          this.finishDelete(arn);
          break;
        case 'starting':
        case 'running':
          if (!doc._pendingStart) this.markPending(arn, doc.Status === 'running' ? 'resume-processing' : (doc._startType ?? 'start-replication'));
          instancesToKick.add(doc.ReplicationInstanceArn);
          break;
        case 'stopping':
          if (!this.app.store.instances.get(doc.ReplicationInstanceArn)) this.finishStopped(arn, stopReason('NORMAL'));
          else {
            patchTask(this.app, arn, (d) => void (d._pendingStop = true));
            instancesToKick.add(doc.ReplicationInstanceArn);
          }
          break;
      }
    }
    for (const instanceArn of instancesToKick) {
      if (this.instances.isConnected(instanceArn)) this.instanceConnected(instanceArn);
    }
  }
}
