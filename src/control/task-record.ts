/**
 * A replication task as the control plane keeps it: the AWS-shaped document plus a few private
 * members (prefixed `_`) that the output shape never carries. Every change of status goes through
 * `updateTask`, which checks the event against the state machine and persists in one transaction
 * before anyone acts on it.
 */
import type { CdcStats, MigrationType, StartType } from '../engine/contracts.js';
import { notFound } from '../model/faults.js';
import { isTaskStatus, nextStatus, type TaskEvent, type TaskFacts, type TaskStatus } from '../model/task-state-machine.js';
import type { ReplicationTaskRecord } from '../store/index.js';
import type { App } from './app.js';

export interface TaskDoc extends ReplicationTaskRecord {
  /** The resting status a modify, move or assessment returns to. */
  _resting?: TaskStatus;
  /** Set on the first StartReplicationTask: resume-processing and reload-target need a history. */
  _hasRun?: boolean;
  /** The StartReplicationTaskType of the last start. */
  _startType?: StartType;
  /** A start-task not yet handed to the instance (it is away, or the control plane restarted). */
  _pendingStart?: StartType;
  /** A stop-task not yet handed to the instance (the control plane restarted while stopping). */
  _pendingStop?: boolean;
  /** CdcStartTime of the last Create/Modify/Start (the output shape has no member for it). */
  _cdcStartTime?: string;
  /** The latest live CDC figures (latency, WAL retained by the slot) for metrics and health gates. */
  _cdc?: CdcStats & { updatedAt: string };
}

/** Members of the ReplicationTask output shape, in model order. */
const OUTPUT_MEMBERS = [
  'ReplicationTaskIdentifier',
  'SourceEndpointArn',
  'TargetEndpointArn',
  'ReplicationInstanceArn',
  'MigrationType',
  'TableMappings',
  'ReplicationTaskSettings',
  'Status',
  'LastFailureMessage',
  'StopReason',
  'ReplicationTaskCreationDate',
  'ReplicationTaskStartDate',
  'CdcStartPosition',
  'CdcStopPosition',
  'RecoveryCheckpoint',
  'ReplicationTaskArn',
  'ReplicationTaskStats',
  'TaskData',
  'TargetReplicationInstanceArn',
] as const;

/** The ReplicationTask as the API returns it; WithoutSettings leaves out the two big documents. */
export function taskOutput(doc: TaskDoc, options: { withoutSettings?: boolean } = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const member of OUTPUT_MEMBERS) {
    if (options.withoutSettings && (member === 'ReplicationTaskSettings' || member === 'TableMappings')) continue;
    if (doc[member] !== undefined && doc[member] !== null) out[member] = doc[member];
  }
  return out;
}

export function taskFacts(doc: TaskDoc): TaskFacts {
  const status = doc.Status;
  if (!isTaskStatus(status)) throw new Error(`replication task ${doc.ReplicationTaskArn} has an unknown status ${status}`);
  return {
    identifier: doc.ReplicationTaskIdentifier,
    status,
    migrationType: doc.MigrationType as MigrationType,
    hasRun: doc._hasRun === true,
  };
}

export function getTask(app: App, arn: string): TaskDoc {
  const doc = app.store.tasks.get(arn) as TaskDoc | undefined;
  if (!doc) throw notFound(`Replication task ${arn} not found. Check the ReplicationTaskArn (DescribeReplicationTasks lists the tasks).`);
  return doc;
}

/**
 * Checks `event` against the state machine, lets `mutate` change the document, and persists it:
 * all in one transaction, so two requests cannot both pass the check. Throws the fault when the
 * event is not allowed. Returns the stored document.
 */
export function updateTask(app: App, arn: string, event: TaskEvent, mutate?: (doc: TaskDoc, from: TaskStatus) => void): TaskDoc {
  return app.store.transaction(() => {
    const doc = getTask(app, arn);
    const from = taskFacts(doc).status;
    doc.Status = nextStatus(taskFacts(doc), event);
    mutate?.(doc, from);
    app.store.tasks.update(doc);
    return doc;
  });
}

/** Changes a task's private or statistics members without a change of status. */
export function patchTask(app: App, arn: string, mutate: (doc: TaskDoc) => boolean | void): TaskDoc | undefined {
  return app.store.transaction(() => {
    const doc = app.store.tasks.get(arn) as TaskDoc | undefined;
    if (!doc) return undefined;
    if (mutate(doc) === false) return doc;
    app.store.tasks.update(doc);
    return doc;
  });
}

/** CDC start/stop inputs as Create, Modify and Start take them (the two start inputs exclude each other). */
export interface CdcPositions {
  CdcStartPosition?: string;
  CdcStartTime?: Date;
  CdcStopPosition?: string;
}

/** Stores the CDC positions given; a new start input replaces the other kind. */
export function applyCdcPositions(doc: TaskDoc, input: CdcPositions): void {
  if (input.CdcStartPosition !== undefined) {
    doc.CdcStartPosition = input.CdcStartPosition;
    delete doc._cdcStartTime;
  }
  if (input.CdcStartTime !== undefined) {
    doc._cdcStartTime = input.CdcStartTime.toISOString();
    delete doc.CdcStartPosition;
  }
  if (input.CdcStopPosition !== undefined) doc.CdcStopPosition = input.CdcStopPosition;
}

/** "NORMAL" or "Stop Reason NORMAL" -> "Stop Reason NORMAL", as the API spells it. */
export function stopReason(reason: string | undefined, fallback = 'NORMAL'): string {
  const r = (reason ?? fallback).trim() || fallback;
  return r.startsWith('Stop Reason ') ? r : `Stop Reason ${r}`;
}

/** Records a replication-task event for DescribeEvents. */
export function taskEvent(app: App, doc: TaskDoc, message: string, categories: string[]): void {
  app.event({ sourceIdentifier: doc.ReplicationTaskIdentifier, sourceType: 'replication-task', sourceArn: doc.ReplicationTaskArn, message, categories });
}
