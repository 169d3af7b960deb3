/**
 * The internal protocol between the control plane and replication-instance processes.
 *
 * Transport: a Unix domain socket in the data directory (mode 0600), newline-delimited JSON.
 * The instance connects and sends `hello` with its instance ARN, engine version, protocol version
 * and the per-instance token the control plane generated when it launched it; the control plane
 * answers `welcome` (or `refused` and closes). Public API keys are never used here.
 *
 * Versioning: PROTOCOL_VERSION is bumped on any change an older peer would not understand: a
 * new request type, or a changed message. The control plane accepts every version in
 * SUPPORTED_PROTOCOL_VERSIONS, so it can drive older engine bundles, and sends a request only to
 * an instance whose hello names a version that has it (REQUEST_SINCE; `requestSupported`).
 *
 *   1  start-task, stop-task, reload-tables, test-connection
 *   2  prepare-task (the instance reads a task's catalog ahead of its start, see
 *      src/engine/prepared-catalog.ts)
 */
import type { CdcStats, EndpointConnectionSpec, PrepareTaskResult, TableStats, TaskOutcome, TaskSpec, TaskStats } from '../engine/contracts.js';

export const PROTOCOL_VERSION = 2;
export const SUPPORTED_PROTOCOL_VERSIONS = [1, 2];

// ---- instance -> control plane ----

export interface HelloMessage {
  type: 'hello';
  protocol: number;
  instanceArn: string;
  engineVersion: string;
  pid: number;
  token: string;
}

export interface HeartbeatMessage {
  type: 'heartbeat';
  rssBytes: number;
  storageUsedBytes: number;
  runningTasks: string[];
}

export interface TaskStatusMessage {
  type: 'task-status';
  taskArn: string;
  outcome: TaskOutcome;
}

export interface TaskProgressMessage {
  type: 'task-progress';
  taskArn: string;
  stats: TaskStats;
  tables: TableStats[];
  cdc?: CdcStats;
}

export interface TaskCheckpointMessage {
  type: 'task-checkpoint';
  taskArn: string;
  recoveryCheckpoint: string;
}

export interface TaskEventMessage {
  type: 'task-event';
  taskArn: string;
  message: string;
  categories: string[];
}

/** Answer to a control-plane request that carries a requestId. */
export interface ReplyMessage {
  type: 'reply';
  requestId: string;
  ok: boolean;
  error?: string;
  result?: unknown;
}

export type InstanceMessage =
  | HelloMessage
  | HeartbeatMessage
  | TaskStatusMessage
  | TaskProgressMessage
  | TaskCheckpointMessage
  | TaskEventMessage
  | ReplyMessage;

// ---- control plane -> instance ----

export interface WelcomeMessage {
  type: 'welcome';
  protocol: number;
}

export interface RefusedMessage {
  type: 'refused';
  reason: string;
}

export interface StartTaskMessage {
  type: 'start-task';
  requestId: string;
  spec: TaskSpec;
}

export interface StopTaskMessage {
  type: 'stop-task';
  requestId: string;
  taskArn: string;
}

export interface ReloadTablesMessage {
  type: 'reload-tables';
  requestId: string;
  taskArn: string;
  tables: { SchemaName: string; TableName: string }[];
}

/** Opens a connection to an endpoint from the instance (TestConnection, move pre-checks). */
export interface TestConnectionMessage {
  type: 'test-connection';
  requestId: string;
  endpoint: EndpointConnectionSpec;
}

/**
 * Protocol 2. Reads ahead, while the task still runs elsewhere, what the task's runner needs at its
 * next start on this instance: opens the source and target connections and reads the source
 * catalog and the mapped target tables, each with a catalog stamp. Kept for `ttlSeconds`; the
 * runner uses it only if the stamps still match (src/engine/prepared-catalog.ts). Answers
 * PrepareTaskResult.
 */
export interface PrepareTaskMessage {
  type: 'prepare-task';
  requestId: string;
  spec: TaskSpec;
  ttlSeconds: number;
}

/** The reply's result to prepare-task. */
export type { PrepareTaskResult };

export interface ShutdownMessage {
  type: 'shutdown';
  /** Stop running tasks first (they resume on the next start). */
  stopTasks: boolean;
}

export type ControlMessage =
  | WelcomeMessage
  | RefusedMessage
  | StartTaskMessage
  | StopTaskMessage
  | ReloadTablesMessage
  | TestConnectionMessage
  | PrepareTaskMessage
  | ShutdownMessage;

/** Control-plane messages that the instance answers with a `reply` carrying the same requestId. */
export type ControlRequestMessage = StartTaskMessage | StopTaskMessage | ReloadTablesMessage | TestConnectionMessage | PrepareTaskMessage;

/** The protocol version that introduced each request; absent = version 1. */
export const REQUEST_SINCE: Partial<Record<ControlRequestMessage['type'], number>> = { 'prepare-task': 2 };

/** Whether an instance that said hello with protocol `protocol` understands request `type`. */
export function requestSupported(protocol: number, type: ControlRequestMessage['type']): boolean {
  return protocol >= (REQUEST_SINCE[type] ?? 1);
}

type WithoutRequestId<M> = M extends unknown ? Omit<M, 'requestId'> : never;

/** A request as callers hand it to InstanceSupervisor.request, which adds a fresh requestId. */
export type ControlRequest = WithoutRequestId<ControlRequestMessage>;

/**
 * How the control plane tells a launched instance process who it is. Passed in the environment
 * (not argv, which every local user can read with `ps`); the process gets no other secrets.
 */
export const INSTANCE_ENV = {
  instanceArn: 'OPENDMS_INSTANCE_ARN',
  controlSocket: 'OPENDMS_CONTROL_SOCKET',
  token: 'OPENDMS_INSTANCE_TOKEN',
  workDir: 'OPENDMS_INSTANCE_DIR',
  engineVersion: 'OPENDMS_ENGINE_VERSION',
  /** How many tasks the instance's class lets it run at once. */
  taskSlots: 'OPENDMS_TASK_SLOTS',
  logLevel: 'OPENDMS_LOG_LEVEL',
} as const;

/** File in the instance's work dir holding its process id (operators and tests read it). */
export const INSTANCE_PID_FILE = 'instance.pid';
/** File in the instance's work dir the instance process logs to (JSON lines). */
export const INSTANCE_LOG_FILE = 'instance.log';
/** File in a task's work dir (TaskSpec.workDir) the instance writes the task's log lines to. */
export const TASK_LOG_FILE = 'task.log';
