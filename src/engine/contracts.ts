/**
 * What the control plane hands a replication instance to run a task, and what a running task
 * reports back. These types cross the instance protocol (src/instance/protocol.ts), so they are
 * plain JSON: no Dates (ISO strings), no class instances.
 */

/** Everything needed to open a connection to one endpoint (password included: internal only). */
export interface EndpointConnectionSpec {
  endpointArn: string;
  endpointIdentifier: string;
  endpointType: 'source' | 'target';
  engineName: string; // postgres | aurora-postgresql | mysql | mariadb | aurora
  serverName: string;
  port: number;
  databaseName?: string;
  username?: string;
  password?: string;
  sslMode: 'none' | 'require' | 'verify-ca' | 'verify-full';
  extraConnectionAttributes?: string;
  /** PostgreSQLSettings / MySQLSettings as the API holds them (merged with extra connection attributes). */
  settings: Record<string, unknown>;
}

export type MigrationType = 'full-load' | 'cdc' | 'full-load-and-cdc';
export type StartType = 'start-replication' | 'resume-processing' | 'reload-target';

export interface TaskSpec {
  taskArn: string;
  taskIdentifier: string;
  /** ARN suffix: TASK_NAME in control tables, and the base of slot/publication names. */
  taskResourceId: string;
  migrationType: MigrationType;
  /** The TableMappings document, parsed. */
  tableMappings: unknown;
  /** The complete ReplicationTaskSettings document (defaults filled in), parsed. */
  settings: Record<string, unknown>;
  source: EndpointConnectionSpec;
  target: EndpointConnectionSpec;
  startType: StartType;
  /** CdcStartPosition (checkpoint string or native position), when given. */
  cdcStartPosition?: string;
  /** CdcStartTime as an ISO string, when given. */
  cdcStartTime?: string;
  /** CdcStopPosition (`server_time:...` / `commit_time:...`), when given. */
  cdcStopPosition?: string;
  /** The last RecoveryCheckpoint the control plane knows (the target's control table is authoritative). */
  recoveryCheckpoint?: string;
  /** Directory on the instance's storage this task may use for spill files. */
  workDir: string;
}

/** Task-level statistics, as ReplicationTaskStats (dates as ISO strings). */
export interface TaskStats {
  FullLoadProgressPercent?: number;
  ElapsedTimeMillis?: number;
  TablesLoaded?: number;
  TablesLoading?: number;
  TablesQueued?: number;
  TablesErrored?: number;
  FreshStartDate?: string;
  StartDate?: string;
  StopDate?: string;
  FullLoadStartDate?: string;
  FullLoadFinishDate?: string;
}

/** Per-table statistics, as TableStatistics (dates as ISO strings). */
export interface TableStats {
  SchemaName: string;
  TableName: string;
  TableState: string; // 'Before load' | 'Full load' | 'Table completed' | 'Table cancelled' | 'Table error' | 'Table is being reloaded' | 'Table does not exist'
  Inserts?: number;
  Deletes?: number;
  Updates?: number;
  Ddls?: number;
  AppliedInserts?: number;
  AppliedDeletes?: number;
  AppliedUpdates?: number;
  AppliedDdls?: number;
  FullLoadRows?: number;
  FullLoadCondtnlChkFailedRows?: number;
  FullLoadErrorRows?: number;
  FullLoadStartTime?: string;
  FullLoadEndTime?: string;
  FullLoadReloaded?: boolean;
  LastUpdateTime?: string;
}

/** Live CDC figures (our additions, also used for metrics and the upgrade health gate). */
export interface CdcStats {
  /** Seconds between now and the source commit time of the last change applied (0 when caught up). */
  latencySeconds?: number;
  /** Bytes of WAL the task's slot holds back on the source. */
  retainedWalBytes?: number;
  /** Changes received but not yet committed on the target. */
  pendingChanges?: number;
}

export type TaskOutcome =
  | { status: 'running' }
  | { status: 'stopped'; stopReason: string; recoveryCheckpoint?: string }
  | { status: 'failed'; failureMessage: string; stopReason?: string; recoveryCheckpoint?: string };

/** How a running task talks back; the instance process forwards each call to the control plane. */
export interface TaskReporter {
  /** The task reached running (connections open, load or capture started), or stopped/failed. */
  status(outcome: TaskOutcome): void;
  /** Periodic statistics (about once a second while things change). */
  progress(p: { stats: TaskStats; tables: TableStats[]; cdc?: CdcStats }): void;
  /** A new recovery checkpoint, committed on the target. */
  checkpoint(recoveryCheckpoint: string): void;
  /** Something an operator should see in DescribeEvents. */
  event(message: string, categories: string[]): void;
}

/** What an instance answers to prepare-task (src/engine/prepared-catalog.ts). */
export interface PrepareTaskResult {
  taskArn: string;
  /** Tables and views in the source catalog, and how many of them the task's mappings select. */
  sourceTables: number;
  plannedTables: number;
  /** Mapped tables whose target catalog was read (the ones that exist on the target). */
  targetTables: number;
  tookMs: number;
  expiresAt: string;
}

/** A task running inside a replication instance. */
export interface RunningTask {
  /** Drains in-flight apply, writes the checkpoint, releases the slot; resolves when stopped. */
  stop(): Promise<void>;
  /** ReloadTables: reloads the given tables while CDC goes on. */
  reloadTables(tables: { SchemaName: string; TableName: string }[]): Promise<void>;
}

export type StartTask = (spec: TaskSpec, reporter: TaskReporter) => RunningTask;
