/**
 * MoveReplicationTask, the part after the response (`app.moves`): the target replication
 * instance "takes" a task that rests in `moving`.
 *
 *   moving --(target connected, storage room, both endpoints reachable from the target,
 *             task work dir copied)--> the resting status it left, ReplicationInstanceArn = target
 *   moving --(any of those fails)----> failed-move, still on the old instance, LastFailureMessage
 *   moving --DeleteReplicationTask---> deleting: the move notices and undoes what it copied
 *
 * Every transition is persisted (task-record.ts `updateTask`) before anything acts on it, and a
 * move is identified by `_moveId` so a move that was cancelled (deleted) or superseded (the
 * control plane restarted and began it again) never commits. Nothing here sleeps: the target's
 * readiness is its `instance-connected` event, the checks are single requests.
 *
 * Storage reservation: a task holds `taskStorageReservationGb` GB of its instance's
 * AllocatedStorage — 1 GB for its logs and control files plus what its changes may spill to disk
 * when memory is full (ChangeProcessingTuning.MemoryLimitTotal, rounded up to whole GB; default
 * 1024 MB, so 2 GB by default). A target takes a task only if AllocatedStorage minus what is
 * already used there (the larger of the instance's measured usage and the reservations of the
 * tasks it hosts) leaves room for it. docs/upgrades.md explains this to operators.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { cp } from 'node:fs/promises';
import type { App } from './app.js';
import { endpointConnectionSpec } from './endpoint-spec.js';
import { taskWorkDir } from './instance-paths.js';
import { getTask, taskEvent, taskFacts, updateTask, type TaskDoc } from './task-record.js';
import { READABLE_CHECKPOINT_VERSIONS } from '../engine/checkpoint.js';
import { readManifest } from '../engine-bundles/manifest.js';
import { compareVersions, findEngineVersion, type EngineVersionInfo } from '../model/engine-versions.js';
import { invalidState, notFound, quotaExceeded, type DmsFault } from '../model/faults.js';
import { transition, type TaskStatus } from '../model/task-state-machine.js';
import type { ReplicationInstanceRecord } from '../store/index.js';

const GiB = 1024 ** 3;
/** Logs, control files and the task's own state on its instance. */
export const BASE_TASK_RESERVATION_GB = 1;
/** How long a move waits for a target instance process that is (re)starting. */
const CONNECT_TIMEOUT_MS = 60_000;
/** Instance statuses that end in `available` by themselves once the process says hello. */
const COMING_BACK = ['creating', 'rebooting', 'modifying', 'upgrading'];
/** Each endpoint check from the target instance. */
const TEST_TIMEOUT_MS = 30_000;

/** What the move keeps in the task document besides AWS members. */
export interface MovingTaskDoc extends TaskDoc {
  /** Identifies the move in progress; only that move may finish it. */
  _moveId?: string;
  /** The resting status a successful move returns to (kept across failed-move, so a retry knows it). */
  _moveResting?: TaskStatus;
}

/** GB of AllocatedStorage a task holds on its instance (see the module comment). */
export function taskStorageReservationGb(settingsJson: string | undefined): number {
  let memoryMb = 1024;
  try {
    const settings = JSON.parse(settingsJson ?? '{}') as { ChangeProcessingTuning?: { MemoryLimitTotal?: unknown } };
    const v = settings.ChangeProcessingTuning?.MemoryLimitTotal;
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0) memoryMb = v;
  } catch {
    // settings are validated on create/modify; keep the default for a document we cannot read
  }
  return BASE_TASK_RESERVATION_GB + Math.ceil(memoryMb / 1024);
}

/** `checkpoint:V1#...` -> 'V1'; undefined for anything that is not a checkpoint string. */
export function checkpointVersionOf(text: unknown): string | undefined {
  if (typeof text !== 'string') return undefined;
  return /^\s*checkpoint:([^#]*)#/.exec(text)?.[1];
}

/** Checkpoint formats an engine version reads: its bundle's manifest, or this build's own list. */
export function checkpointReadsOf(engine: EngineVersionInfo): string[] {
  return engine.bundleDir ? readManifest(engine.bundleDir).checkpointVersions.reads : [...READABLE_CHECKPOINT_VERSIONS];
}

/**
 * Why the target's engine cannot continue the task, or undefined when it can. A newer (or the
 * same) engine reads every older checkpoint. An older engine — a rollback, which AWS refuses
 * outright — is allowed when its checkpoint reader knows the format of the task's checkpoints.
 */
export function engineCompatibilityFault(task: TaskDoc, from: ReplicationInstanceRecord | undefined, to: ReplicationInstanceRecord): DmsFault | undefined {
  const engine = findEngineVersion(to.EngineVersion);
  if (!engine) {
    return invalidState(
      `Replication instance ${to.ReplicationInstanceIdentifier} runs engine version ${to.EngineVersion}, which is not installed; ` +
        'install it (opendms engine install) or choose another TargetReplicationInstanceArn.',
    );
  }
  if (!from || compareVersions(to.EngineVersion, from.EngineVersion) >= 0) return undefined;
  let reads: string[];
  try {
    reads = checkpointReadsOf(engine);
  } catch (err) {
    return invalidState(`Cannot tell which checkpoints engine version ${engine.version} reads: ${(err as Error).message}.`);
  }
  for (const [member, value] of [['RecoveryCheckpoint', task.RecoveryCheckpoint], ['CdcStartPosition', task.CdcStartPosition]] as const) {
    const version = checkpointVersionOf(value);
    if (version !== undefined && !reads.includes(version)) {
      return invalidState(
        `Replication task ${task.ReplicationTaskIdentifier} cannot move back from engine version ${from.EngineVersion} to ${to.EngineVersion}: ` +
          `its ${member} is in checkpoint format ${version}, and engine version ${to.EngineVersion} reads only ${reads.join(', ') || 'no checkpoint format'}. ` +
          'Move it to an instance on the same or a newer engine version, or start a new CDC task from the native position in the checkpoint.',
      );
    }
  }
  return undefined;
}

/** GB of the target's AllocatedStorage already taken: the larger of measured usage and hosted reservations. */
export function storageTakenGb(app: App, target: ReplicationInstanceRecord, exceptTaskArn?: string): { takenGb: number; hosted: number } {
  const hosted = (app.store.tasks.listByInstance(target.ReplicationInstanceArn) as TaskDoc[]).filter((t) => t.ReplicationTaskArn !== exceptTaskArn);
  const reservedGb = hosted.reduce((sum, t) => sum + taskStorageReservationGb(t.ReplicationTaskSettings), 0);
  const usedGb = (app.instances.processInfo(target.ReplicationInstanceArn).heartbeat?.storageUsedBytes ?? 0) / GiB;
  return { takenGb: Math.max(reservedGb, usedGb), hosted: hosted.length };
}

function checkStorage(app: App, doc: TaskDoc, target: ReplicationInstanceRecord): void {
  const needGb = taskStorageReservationGb(doc.ReplicationTaskSettings);
  const { takenGb, hosted } = storageTakenGb(app, target, doc.ReplicationTaskArn);
  if (takenGb + needGb > target.AllocatedStorage) {
    throw new Error(
      `not enough storage on replication instance ${target.ReplicationInstanceIdentifier}: the task needs ${needGb} GB ` +
        `(${BASE_TASK_RESERVATION_GB} GB for logs plus ChangeProcessingTuning.MemoryLimitTotal rounded up to GB), ` +
        `${takenGb.toFixed(takenGb % 1 ? 2 : 0)} GB of its ${target.AllocatedStorage} GB AllocatedStorage are taken by the ${hosted} task(s) it hosts. ` +
        'Increase AllocatedStorage with ModifyReplicationInstance, or move the task to another instance',
    );
  }
}

/** Resolves once the instance's process is connected; no polling, no sleep. */
function connected(app: App, instanceArn: string, name: string): Promise<void> {
  if (app.instances.isConnected(instanceArn)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onConnected = (arn: string): void => {
      if (arn !== instanceArn) return;
      clearTimeout(timer);
      app.instances.off('instance-connected', onConnected);
      resolve();
    };
    const timer = setTimeout(() => {
      app.instances.off('instance-connected', onConnected);
      reject(new Error(`replication instance ${name} did not come up within ${CONNECT_TIMEOUT_MS / 1000} s`));
    }, CONNECT_TIMEOUT_MS);
    app.instances.on('instance-connected', onConnected);
  });
}

/**
 * Whether instance `toArn` can take the task: available, room for its storage reservation, its
 * process up, and both endpoints reachable from it. Throws an Error saying what is missing. Used by
 * a move, and by the cascading upgrade to prepare a task on the target while it still runs.
 * `recheck` is called after each wait (a move uses it to notice it was cancelled).
 */
export async function checkTargetCanTake(app: App, doc: TaskDoc, toArn: string, recheck: () => TaskDoc = () => doc): Promise<void> {
  let target = app.store.instances.get(toArn);
  if (!target) throw new Error(`replication instance ${toArn} no longer exists`);
  if (COMING_BACK.includes(target.ReplicationInstanceStatus)) {
    // Its process is (re)starting, e.g. the control plane restarted mid-move: wait for its hello.
    await connected(app, toArn, target.ReplicationInstanceIdentifier);
    target = app.store.instances.get(toArn);
    if (!target) throw new Error(`replication instance ${toArn} no longer exists`);
  }
  if (target.ReplicationInstanceStatus !== 'available') {
    throw new Error(`replication instance ${target.ReplicationInstanceIdentifier} is in status ${target.ReplicationInstanceStatus}, not available`);
  }
  checkStorage(app, doc, target);
  await connected(app, toArn, target.ReplicationInstanceIdentifier);
  const current = recheck();
  const name = target.ReplicationInstanceIdentifier;
  const tests = [current.SourceEndpointArn, current.TargetEndpointArn].map(async (endpointArn) => {
    const spec = endpointConnectionSpec(app, endpointArn);
    try {
      await app.instances.request(toArn, { type: 'test-connection', endpoint: spec }, TEST_TIMEOUT_MS);
    } catch (err) {
      throw new Error(
        `replication instance ${name} cannot connect to ${spec.endpointType} endpoint ${spec.endpointIdentifier}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  });
  await Promise.all(tests);
}

/**
 * MoveReplicationTask's synchronous part: every check that can be answered now (the faults of
 * spec §3.3), then `moving` persisted with TargetReplicationInstanceArn, then the move begun in
 * the background. Returns the stored document (status `moving`).
 */
export function requestMove(app: App, taskArn: string, targetArn: string): TaskDoc {
  const task = getTask(app, taskArn);
  const target = app.store.instances.get(targetArn);
  if (!target) {
    throw notFound(`Replication instance ${targetArn} (TargetReplicationInstanceArn) not found. Check the ARN with DescribeReplicationInstances.`);
  }
  // The status check first: a moving or running task is refused whatever the target.
  const allowed = transition(taskFacts(task), { type: 'Move' });
  if (!allowed.ok) throw allowed.fault;
  if (task.ReplicationInstanceArn === target.ReplicationInstanceArn) {
    throw invalidState(
      `Replication task ${task.ReplicationTaskIdentifier} already runs on replication instance ${target.ReplicationInstanceIdentifier}; ` +
        'give another instance as TargetReplicationInstanceArn.',
    );
  }
  if (target.ReplicationInstanceStatus !== 'available') {
    throw invalidState(
      `Replication instance ${target.ReplicationInstanceIdentifier} is in status ${target.ReplicationInstanceStatus}; ` +
        'a task can move only to an available instance. Wait until it is available (aws dms wait replication-instance-available).',
    );
  }
  const compatibility = engineCompatibilityFault(task, app.store.instances.get(task.ReplicationInstanceArn), target);
  if (compatibility) throw compatibility;

  const doc = app.store.transaction(() => {
    // Counted inside the transaction, with the moves already heading there, so two moves cannot both squeeze in.
    const hosted = app.store.tasks.listByInstance(targetArn).length;
    const incoming = (app.store.tasks.list() as MovingTaskDoc[]).filter((t) => t.Status === 'moving' && t.TargetReplicationInstanceArn === targetArn).length;
    if (hosted + incoming >= app.config.quotas.TasksPerInstance) {
      throw quotaExceeded(
        `Replication instance ${target.ReplicationInstanceIdentifier} already has ${hosted + incoming} replication tasks (including moves under way), ` +
          `the most allowed per instance is ${app.config.quotas.TasksPerInstance}. Move the task to another instance.`,
      );
    }
    return updateTask(app, task.ReplicationTaskArn, { type: 'Move' }, (d, from) => {
      const m = d as MovingTaskDoc;
      // From failed-move, a retry returns to the status the first attempt left.
      m._moveResting = from === 'failed-move' ? (m._moveResting ?? (m._hasRun ? 'stopped' : 'ready')) : from;
      m.TargetReplicationInstanceArn = targetArn;
    });
  });
  taskEvent(app, doc, `Replication task is moving to replication instance ${target.ReplicationInstanceIdentifier}.`, ['State Change']);
  app.moves.begin(doc.ReplicationTaskArn);
  return doc;
}

class MoveAborted extends Error {}

export class TaskMover {
  private readonly inflight = new Map<string, Promise<void>>();
  /** Set by stop(): a move interrupted by shutdown stays `moving` and starts over on the next start. */
  private stopping = false;

  constructor(private readonly app: App) {}

  /** At control-plane start: moves the previous run left in `moving` start over (each step is repeatable). */
  start(): void {
    this.stopping = false;
    for (const doc of this.app.store.tasks.list() as MovingTaskDoc[]) {
      if (doc.Status === 'moving') this.begin(doc.ReplicationTaskArn);
    }
  }

  /** At shutdown: lets moves under way end without recording a failure the shutdown caused. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.allSettled([...this.inflight.values()]);
  }

  /** Settles (for tests and shutdown): resolves when the task's move, if any, has finished. */
  async settled(taskArn: string): Promise<void> {
    await this.inflight.get(taskArn);
  }

  /** Runs the move of a task already persisted as `moving`, in the background. */
  begin(taskArn: string): void {
    if (this.inflight.has(taskArn)) return;
    const run = this.run(taskArn)
      .catch((err: unknown) => this.app.log.error({ err, taskArn }, 'task move crashed'))
      .finally(() => this.inflight.delete(taskArn));
    this.inflight.set(taskArn, run);
  }

  private current(taskArn: string, moveId: string): MovingTaskDoc {
    const doc = this.app.store.tasks.get(taskArn) as MovingTaskDoc | undefined;
    if (!doc || doc.Status !== 'moving' || doc._moveId !== moveId) throw new MoveAborted();
    return doc;
  }

  private async run(taskArn: string): Promise<void> {
    // A fresh id per run: after a restart the new run owns the move.
    const moveId = randomUUID();
    const started = this.app.store.transaction(() => {
      const doc = this.app.store.tasks.get(taskArn) as MovingTaskDoc | undefined;
      if (!doc || doc.Status !== 'moving' || !doc.TargetReplicationInstanceArn) return undefined;
      doc._moveId = moveId;
      this.app.store.tasks.update(doc);
      return doc;
    });
    if (!started) return;
    const fromArn = started.ReplicationInstanceArn;
    const toArn = String(started.TargetReplicationInstanceArn);
    const fromDir = taskWorkDir(this.app.config.dataDir, fromArn, taskArn);
    const toDir = taskWorkDir(this.app.config.dataDir, toArn, taskArn);
    let copied = false;
    try {
      await this.prepare(taskArn, moveId, toArn);
      if (existsSync(fromDir)) {
        // Asynchronous: spill files can be large, and the control plane keeps answering meanwhile.
        await cp(fromDir, toDir, { recursive: true, force: true });
        copied = true;
      }
      this.current(taskArn, moveId);
      const done = updateTask(this.app, taskArn, { type: 'move-succeeded', resting: started._moveResting ?? 'stopped' }, (d) => {
        const m = d as MovingTaskDoc;
        if (m._moveId !== moveId) throw new MoveAborted();
        // The failure of an earlier attempt no longer describes the task.
        if (typeof m.LastFailureMessage === 'string' && m.LastFailureMessage.startsWith('Move to ')) delete m.LastFailureMessage;
        m.ReplicationInstanceArn = toArn;
        delete m.TargetReplicationInstanceArn;
        delete m._moveId;
        delete m._moveResting;
      });
      if (fromDir !== toDir) rmSync(fromDir, { recursive: true, force: true });
      taskEvent(this.app, done, `Replication task moved from replication instance ${this.name(fromArn)} to ${this.name(toArn)}.`, ['State Change']);
    } catch (err) {
      if (copied) rmSync(toDir, { recursive: true, force: true });
      if (err instanceof MoveAborted) {
        this.app.log.info({ taskArn }, 'task move cancelled (the task was deleted or the move restarted)');
        return;
      }
      this.fail(taskArn, moveId, toArn, err instanceof Error ? err.message : String(err));
    }
  }

  /** The target takes the task: it is up, has storage room, and reaches both endpoints. */
  private async prepare(taskArn: string, moveId: string, toArn: string): Promise<void> {
    await checkTargetCanTake(this.app, this.current(taskArn, moveId), toArn, () => this.current(taskArn, moveId));
  }

  private fail(taskArn: string, moveId: string, toArn: string, reason: string): void {
    if (this.stopping) return;
    const message = `Move to replication instance ${this.name(toArn)} failed: ${reason}.`;
    let done: TaskDoc;
    try {
      getTask(this.app, taskArn);
      done = updateTask(this.app, taskArn, { type: 'move-failed' }, (d) => {
        const m = d as MovingTaskDoc;
        if (m._moveId !== moveId) throw new MoveAborted();
        m.LastFailureMessage = message;
        delete m.TargetReplicationInstanceArn;
        delete m._moveId;
      });
    } catch {
      return; // deleted meanwhile, or another run owns the move
    }
    taskEvent(this.app, done, `Replication task move failed; it stays on replication instance ${this.name(done.ReplicationInstanceArn)}. ${message}`, ['Failure']);
  }

  private name(instanceArn: string): string {
    return this.app.store.instances.get(instanceArn)?.ReplicationInstanceIdentifier ?? instanceArn;
  }
}
