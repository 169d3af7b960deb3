/**
 * The replication task lifecycle (spec §2) as a pure function: `transition(task, event)` gives the
 * next status or the fault the API must answer with. No clocks, no store, no processes: the
 * operations and the scheduler check here, persist the result, and only then act on it.
 *
 * ```
 *                  Create
 *                    |
 *                    v
 *               +----------+  created   +-------+
 *               | creating |----------->| ready |----------------------------------+
 *               +----------+            +-------+                                  |
 *                                           | Start (start-replication only)       |
 *                                           v                                      |
 *   Start (stopped/failed/failed-move) +----------+  running   +---------+        |
 *  ----------------------------------->| starting |----------->| running |<--+    |
 *                                      +----------+            +---------+   |    |
 *                                        |  |  Stop               |  | ReloadTables (stays)
 *                                        |  +------------+  Stop  |  +-------+
 *                                        |               v        v
 *                            failed      |            +----------+
 *          +-------------------<---------+---<--------| stopping |
 *          |                 (also from running)      +----------+
 *          v                                               | stopped
 *     +--------+                                           v
 *     | failed |                                      +---------+
 *     +--------+                                      | stopped |   (also running -> stopped:
 *                                                     +---------+    full load finished, stop point)
 *
 *   resting = ready | stopped | failed | failed-move
 *
 *   resting --Modify--------> modifying --modify-done----------> the same resting status
 *   resting --Move----------> moving ----move-succeeded-------> the same resting status (new instance)
 *                                    \---move-failed----------> failed-move
 *   resting --AssessmentRun-> testing ---assessment-done------> the same resting status
 *   resting | moving --Delete--> deleting --(row removed)--> gone
 * ```
 *
 * While `moving`, only DeleteReplicationTask is accepted (AWS documents this); every other
 * operation outside the §2.2 matrix is an InvalidResourceStateFault that names the operation,
 * the current status and what would be allowed.
 */
import type { MigrationType, StartType } from '../engine/contracts.js';
import { invalidParameter, invalidState, type DmsFault } from './faults.js';

export const TASK_STATUSES = [
  'creating',
  'ready',
  'starting',
  'running',
  'stopping',
  'stopped',
  'failed',
  'modifying',
  'moving',
  'failed-move',
  'deleting',
  'testing',
] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** Statuses a task rests in; Modify, Move and assessments come back to the one they left. */
export const RESTING_STATUSES: readonly TaskStatus[] = ['ready', 'stopped', 'failed', 'failed-move'];

export const TASK_OPERATIONS = ['Start', 'Stop', 'Modify', 'Move', 'Delete', 'ReloadTables', 'AssessmentRun'] as const;
export type TaskOperation = (typeof TASK_OPERATIONS)[number];

/** The API operation a user called, for fault messages. */
export const OPERATION_API_NAME: Record<TaskOperation, string> = {
  Start: 'StartReplicationTask',
  Stop: 'StopReplicationTask',
  Modify: 'ModifyReplicationTask',
  Move: 'MoveReplicationTask',
  Delete: 'DeleteReplicationTask',
  ReloadTables: 'ReloadTables',
  AssessmentRun: 'StartReplicationTaskAssessmentRun',
};

/** Spec §2.2: which operations each status accepts. Everything else is InvalidResourceStateFault. */
export const OPERATION_MATRIX: Record<TaskStatus, readonly TaskOperation[]> = {
  creating: [],
  ready: ['Start', 'Modify', 'Move', 'Delete', 'AssessmentRun'],
  starting: ['Stop'],
  running: ['Stop', 'ReloadTables'],
  stopping: [],
  stopped: ['Start', 'Modify', 'Move', 'Delete', 'AssessmentRun'],
  failed: ['Start', 'Modify', 'Move', 'Delete', 'AssessmentRun'],
  modifying: [],
  moving: ['Delete'],
  'failed-move': ['Start', 'Modify', 'Move', 'Delete', 'AssessmentRun'],
  deleting: [],
  testing: [],
};

/** Where an accepted operation takes the task (ReloadTables leaves a running task running). */
const OPERATION_TARGET: Record<TaskOperation, TaskStatus | 'unchanged'> = {
  Start: 'starting',
  Stop: 'stopping',
  Modify: 'modifying',
  Move: 'moving',
  Delete: 'deleting',
  ReloadTables: 'unchanged',
  AssessmentRun: 'testing',
};

/** What the state machine needs to know about a task besides its status. */
export interface TaskFacts {
  /** ReplicationTaskIdentifier, for messages. */
  identifier: string;
  status: TaskStatus;
  migrationType: MigrationType;
  /** True once the task has been started at least once (resume/reload need a history). */
  hasRun: boolean;
}

/** A user's call (capitalised, as in the §2.2 matrix) or something that happened (lower case). */
export type TaskEvent =
  | { type: 'Start'; startType: StartType }
  | { type: 'Stop' | 'Modify' | 'Move' | 'Delete' | 'ReloadTables' | 'AssessmentRun' }
  /** The asynchronous part of CreateReplicationTask finished. */
  | { type: 'created' }
  /** The instance accepted a start-task request (first start, or a resume after it came back). */
  | { type: 'started' }
  /** The engine reports the task running. */
  | { type: 'running' }
  /** The engine reports the task stopped (user stop, full load finished, stop point reached). */
  | { type: 'stopped' }
  /** The engine reports a fatal error, or the start request was refused. */
  | { type: 'failed' }
  | { type: 'move-succeeded'; resting: TaskStatus }
  | { type: 'move-failed' }
  | { type: 'modify-done'; resting: TaskStatus }
  | { type: 'assessment-done'; resting: TaskStatus };

export type TransitionResult = { ok: true; status: TaskStatus } | { ok: false; fault: DmsFault };

/** Internal events: which statuses each one may happen in, and where it leads. */
const EVENT_RULES: Record<Exclude<TaskEvent['type'], TaskOperation>, { from: readonly TaskStatus[]; to: TaskStatus | 'resting' | 'unchanged' }> = {
  created: { from: ['creating'], to: 'ready' },
  started: { from: ['starting', 'running'], to: 'unchanged' },
  running: { from: ['starting', 'running'], to: 'running' },
  // A task asked to start or stop may still end on its own (full load finished) or fail.
  stopped: { from: ['starting', 'running', 'stopping'], to: 'stopped' },
  failed: { from: ['starting', 'running', 'stopping'], to: 'failed' },
  'move-succeeded': { from: ['moving'], to: 'resting' },
  'move-failed': { from: ['moving'], to: 'failed-move' },
  'modify-done': { from: ['modifying'], to: 'resting' },
  'assessment-done': { from: ['testing'], to: 'resting' },
};

export function isTaskStatus(value: string): value is TaskStatus {
  return (TASK_STATUSES as readonly string[]).includes(value);
}

export function isOperation(type: TaskEvent['type']): type is TaskOperation {
  return (TASK_OPERATIONS as readonly string[]).includes(type);
}

function list(items: readonly string[], conjunction = 'or'): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} ${conjunction} ${items[items.length - 1]}`;
}

/** Statuses in which an operation is accepted, in matrix order. */
export function statusesAllowing(op: TaskOperation): TaskStatus[] {
  return TASK_STATUSES.filter((s) => OPERATION_MATRIX[s].includes(op));
}

function refuseOperation(task: TaskFacts, op: TaskOperation): DmsFault {
  const allowedHere = OPERATION_MATRIX[task.status].map((o) => OPERATION_API_NAME[o]);
  const here =
    allowedHere.length === 0
      ? `no operation is allowed while ${task.status}; wait until the task leaves ${task.status}`
      : `only ${list(allowedHere, 'and')} ${allowedHere.length === 1 ? 'is' : 'are'} allowed while ${task.status}`;
  return invalidState(
    `Replication task ${task.identifier} is in status ${task.status}; ${here}. ` +
      `${OPERATION_API_NAME[op]} needs status ${list(statusesAllowing(op))}.`,
  );
}

function startTypeFault(task: TaskFacts, startType: StartType): DmsFault | undefined {
  if (startType === 'reload-target' && task.migrationType === 'cdc') {
    return invalidParameter(
      `StartReplicationTaskType reload-target is not valid for replication task ${task.identifier}: its MigrationType is cdc, ` +
        'which has no full load to redo. Use start-replication (optionally with CdcStartPosition) or resume-processing.',
    );
  }
  if (startType !== 'start-replication' && (!task.hasRun || task.status === 'ready')) {
    return invalidState(
      `Replication task ${task.identifier} has never run (status ${task.status}); StartReplicationTask with ` +
        `StartReplicationTaskType ${startType} needs a previous run. Use start-replication for the first start.`,
    );
  }
  return undefined;
}

/**
 * The next status after `event`, or the fault to answer with. Operations are checked against the
 * §2.2 matrix; internal events against the statuses they can happen in.
 */
export function transition(task: TaskFacts, event: TaskEvent): TransitionResult {
  if (isOperation(event.type)) {
    const op = event.type;
    if (!OPERATION_MATRIX[task.status].includes(op)) return { ok: false, fault: refuseOperation(task, op) };
    if (op === 'ReloadTables' && task.migrationType === 'cdc') {
      return {
        ok: false,
        fault: invalidState(`ReloadTables is not supported for replication task ${task.identifier}: its MigrationType is cdc, which has no full load.`),
      };
    }
    if (event.type === 'Start') {
      const fault = startTypeFault(task, event.startType);
      if (fault) return { ok: false, fault };
    }
    const to = OPERATION_TARGET[op];
    return { ok: true, status: to === 'unchanged' ? task.status : to };
  }
  const rule = EVENT_RULES[event.type as keyof typeof EVENT_RULES];
  if (!rule.from.includes(task.status)) {
    return {
      ok: false,
      fault: invalidState(`Replication task ${task.identifier} is in status ${task.status}; the event "${event.type}" cannot happen in that status.`),
    };
  }
  if (rule.to === 'unchanged') return { ok: true, status: task.status };
  if (rule.to === 'resting') {
    const resting = (event as { resting: TaskStatus }).resting;
    if (!RESTING_STATUSES.includes(resting)) {
      return { ok: false, fault: invalidState(`Replication task ${task.identifier} cannot return to status ${resting}: it is not a resting status.`) };
    }
    return { ok: true, status: resting };
  }
  return { ok: true, status: rule.to };
}

/** `transition` for callers that answer a fault by throwing it. */
export function nextStatus(task: TaskFacts, event: TaskEvent): TaskStatus {
  const result = transition(task, event);
  if (!result.ok) throw result.fault;
  return result.status;
}
