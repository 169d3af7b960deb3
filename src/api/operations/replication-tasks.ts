/**
 * Replication tasks: CreateReplicationTask, DescribeReplicationTasks, ModifyReplicationTask,
 * DeleteReplicationTask, StartReplicationTask, StopReplicationTask, DescribeTableStatistics and
 * ReloadTables (spec §1.3, §1.4, §2, §4).
 *
 * Status changes are checked by the task state machine and persisted before anything acts on
 * them (control/task-record.ts); running tasks on instances is the scheduler's job (`app.tasks`).
 * The transient statuses of Create/Modify/Delete (`creating`, `modifying`, `deleting`) are what the
 * response shows; the scheduler completes them right after the response.
 */
import { rmSync } from 'node:fs';
import type {
  CreateReplicationTaskMessage,
  DeleteReplicationTaskMessage,
  DescribeReplicationTasksMessage,
  DescribeTableStatisticsMessage,
  ModifyReplicationTaskMessage,
  ReloadTablesMessage,
  StartReplicationTaskMessage,
  StopReplicationTaskMessage,
} from '@aws-sdk/client-database-migration-service';
import { taskLogPath } from '../../control/instance-paths.js';
import { applyCdcPositions, getTask, taskFacts, taskOutput, updateTask, type TaskDoc } from '../../control/task-record.js';
import { nextStatus } from '../../model/task-state-machine.js';
import type { StartType } from '../../engine/contracts.js';
import { alreadyExists, invalidCombination, invalidParameter, invalidState, notFound, quotaExceeded } from '../../model/faults.js';
import { checkIdentifier, checkResourceIdentifier } from '../../model/identifiers.js';
import { parseTableMappings } from '../../model/table-mappings.js';
import { checkTags } from '../../model/tags.js';
import { resolveTaskSettings } from '../../model/task-settings.js';
import type { EndpointRecord } from '../../store/index.js';
import { applyFilters, type Filter } from '../filters.js';
import type { OperationTable, RequestContext } from '../handler.js';
import { paginate } from '../pagination.js';

/** ReloadTables takes at most this many tables per call [UG]. */
export const MAX_TABLES_TO_RELOAD = 10;

const POSTGRES_ENGINES = ['postgres', 'aurora-postgresql'];
const STOP_POSITION = /^(server_time|commit_time):\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/;

type App = RequestContext['app'];

function checkCdcInputs(input: { CdcStartTime?: Date; CdcStartPosition?: string; CdcStopPosition?: string }): void {
  if (input.CdcStartTime !== undefined && input.CdcStartPosition !== undefined) {
    throw invalidCombination('CdcStartTime and CdcStartPosition are mutually exclusive: give one of them, not both.');
  }
  if (input.CdcStopPosition !== undefined && !STOP_POSITION.test(input.CdcStopPosition)) {
    throw invalidParameter(
      `Invalid CdcStopPosition "${input.CdcStopPosition}": use server_time:YYYY-MM-DDTHH:MM:SS or commit_time:YYYY-MM-DDTHH:MM:SS (UTC).`,
    );
  }
}

/** PostgreSQL has no mapping from a time to a WAL position, so CdcStartTime cannot work there (spec §2.4). */
function checkCdcStartTimeSource(app: App, sourceEndpointArn: string, cdcStartTime: Date | undefined): void {
  if (cdcStartTime === undefined) return;
  const source = app.store.endpoints.get(sourceEndpointArn);
  if (source && POSTGRES_ENGINES.includes(source.EngineName.toLowerCase())) {
    throw invalidParameter(
      `CdcStartTime is not supported for PostgreSQL source endpoint ${source.EndpointIdentifier}: PostgreSQL cannot map a time to a WAL position. ` +
        'Use CdcStartPosition with an LSN (e.g. 4AF/B00000D0) or a RecoveryCheckpoint instead.',
    );
  }
}

function endpointOf(app: App, arn: string, member: 'SourceEndpointArn' | 'TargetEndpointArn'): EndpointRecord {
  const endpoint = app.store.endpoints.get(arn);
  const role = member === 'SourceEndpointArn' ? 'Source' : 'Target';
  if (!endpoint) throw notFound(`${role} endpoint ${arn} (${member}) not found. Check the ARN with DescribeEndpoints.`);
  const wanted = role.toLowerCase();
  if (endpoint.EndpointType.toLowerCase() !== wanted) {
    throw invalidState(
      `Endpoint ${endpoint.EndpointIdentifier} given as ${member} is a ${endpoint.EndpointType.toLowerCase()} endpoint; ${member} needs a ${wanted} endpoint.`,
    );
  }
  return endpoint;
}

/** The task identifier must not be taken by another task (identifiers are unique case-insensitively). */
function checkIdentifierFree(app: App, identifier: string, selfArn?: string): void {
  const other = app.store.tasks.findByIdentifier(identifier);
  if (other && other.ReplicationTaskArn !== selfArn) {
    throw alreadyExists(`Replication task with identifier ${identifier} already exists: ${other.ReplicationTaskArn}. Choose another ReplicationTaskIdentifier.`, other.ReplicationTaskArn);
  }
}

function mappingsJson(json: string): string {
  parseTableMappings(json); // throws InvalidParameterValueException naming the rule
  return json;
}

function output(doc: TaskDoc): { ReplicationTask: Record<string, unknown> } {
  return { ReplicationTask: taskOutput(doc) };
}

const createReplicationTask = (input: CreateReplicationTaskMessage, { app }: RequestContext) => {
  const identifier = input.ReplicationTaskIdentifier!;
  checkIdentifier('ReplicationTaskIdentifier', identifier, 255);
  if (input.ResourceIdentifier !== undefined) checkResourceIdentifier(input.ResourceIdentifier);
  checkCdcInputs(input);
  const tags = checkTags(input.Tags);
  checkIdentifierFree(app, identifier);
  const arn = app.newArn('task', input.ResourceIdentifier);
  if (app.store.tasks.get(arn)) {
    throw alreadyExists(`A replication task with ResourceIdentifier ${input.ResourceIdentifier} already exists: ${arn}.`, arn);
  }
  endpointOf(app, input.SourceEndpointArn!, 'SourceEndpointArn');
  endpointOf(app, input.TargetEndpointArn!, 'TargetEndpointArn');
  const instance = app.store.instances.get(input.ReplicationInstanceArn!);
  if (!instance) {
    throw notFound(`Replication instance ${input.ReplicationInstanceArn} (ReplicationInstanceArn) not found. Check the ARN with DescribeReplicationInstances.`);
  }
  if (instance.ReplicationInstanceStatus !== 'available') {
    throw invalidState(
      `Replication instance ${instance.ReplicationInstanceIdentifier} is in status ${instance.ReplicationInstanceStatus}; tasks can be created only on an available instance.`,
    );
  }
  checkCdcStartTimeSource(app, input.SourceEndpointArn!, input.CdcStartTime);
  const tableMappings = mappingsJson(input.TableMappings!);
  const settings = resolveTaskSettings(input.ReplicationTaskSettings).json;

  const now = new Date().toISOString();
  const doc: TaskDoc = {
    ReplicationTaskIdentifier: identifier,
    SourceEndpointArn: input.SourceEndpointArn!,
    TargetEndpointArn: input.TargetEndpointArn!,
    ReplicationInstanceArn: input.ReplicationInstanceArn!,
    MigrationType: input.MigrationType!,
    TableMappings: tableMappings,
    ReplicationTaskSettings: settings,
    Status: 'creating',
    ReplicationTaskCreationDate: now,
    ReplicationTaskArn: arn,
    ...(input.CdcStartPosition !== undefined ? { CdcStartPosition: input.CdcStartPosition } : {}),
    ...(input.CdcStopPosition !== undefined ? { CdcStopPosition: input.CdcStopPosition } : {}),
    ...(input.CdcStartTime !== undefined ? { _cdcStartTime: input.CdcStartTime.toISOString() } : {}),
    ...(input.TaskData !== undefined ? { TaskData: input.TaskData } : {}),
  };
  app.store.transaction(() => {
    // Quotas are counted inside the transaction so concurrent creates cannot both squeeze in.
    if (app.store.tasks.count() >= app.config.quotas.ReplicationTasks) {
      throw quotaExceeded(`The account already has ${app.config.quotas.ReplicationTasks} replication tasks, the most allowed. Delete tasks you no longer need.`);
    }
    if (app.store.tasks.countByInstance(instance.ReplicationInstanceArn) >= app.config.quotas.TasksPerInstance) {
      throw quotaExceeded(
        `Replication instance ${instance.ReplicationInstanceIdentifier} already has ${app.config.quotas.TasksPerInstance} replication tasks, the most allowed per instance. Use another instance.`,
      );
    }
    app.store.tasks.insert(doc);
    if (tags.length) app.store.tags.put(arn, tags);
  });
  app.event({ sourceIdentifier: identifier, sourceType: 'replication-task', sourceArn: arn, message: 'Replication task has been created.', categories: ['Creation'] });
  app.tasks.later(() => app.tasks.finishCreate(arn));
  return output(doc);
};

const describeReplicationTasks = (input: DescribeReplicationTasksMessage, { app }: RequestContext) => {
  const filters = (input.Filters ?? []) as Filter[];
  for (const f of filters) {
    if (f.Name === 'replication-task-id') for (const v of f.Values) checkIdentifier('replication-task-id filter value', v, 255);
  }
  // Filter and page on the indexed keys; parse only the documents of the page.
  const matching = applyFilters(app.store.tasks.listKeys(), filters, {
    'replication-task-arn': (t) => t.arn,
    'replication-task-id': (t) => t.identifier,
    'migration-type': (t) => t.migrationType,
    'endpoint-arn': (t) => [t.source, t.target],
    'replication-instance-arn': (t) => t.instance,
  }, ['replication-task-id']);
  if (input.Filters?.length && matching.length === 0) throw notFound('No Tasks found matching provided filters');
  const page = paginate(matching, input, 'DescribeReplicationTasks');
  const docs = app.store.tasks.getMany(page.items.map((k) => k.arn)) as TaskDoc[];
  return {
    ReplicationTasks: docs.map((t) => taskOutput(t, { withoutSettings: input.WithoutSettings === true })),
    ...(page.marker ? { Marker: page.marker } : {}),
  };
};

const modifyReplicationTask = (input: ModifyReplicationTaskMessage, { app }: RequestContext) => {
  const current = getTask(app, input.ReplicationTaskArn!);
  nextStatus(taskFacts(current), { type: 'Modify' }); // a task that cannot be modified now says so first
  checkCdcInputs(input);
  if (input.MigrationType !== undefined && input.MigrationType !== current.MigrationType) {
    throw invalidParameter(
      `MigrationType of replication task ${current.ReplicationTaskIdentifier} cannot change from ${current.MigrationType} to ${input.MigrationType}. Create a new task for another migration type.`,
    );
  }
  const identifier = input.ReplicationTaskIdentifier;
  if (identifier !== undefined) {
    checkIdentifier('ReplicationTaskIdentifier', identifier, 255);
    checkIdentifierFree(app, identifier, current.ReplicationTaskArn);
  }
  checkCdcStartTimeSource(app, current.SourceEndpointArn, input.CdcStartTime);
  const tableMappings = input.TableMappings !== undefined ? mappingsJson(input.TableMappings) : undefined;
  const settings = input.ReplicationTaskSettings !== undefined ? resolveTaskSettings(input.ReplicationTaskSettings, current.ReplicationTaskSettings) : undefined;

  const doc = updateTask(app, current.ReplicationTaskArn, { type: 'Modify' }, (d, from) => {
    d._resting = from;
    if (identifier !== undefined) d.ReplicationTaskIdentifier = identifier;
    if (tableMappings !== undefined) d.TableMappings = tableMappings;
    if (settings !== undefined) d.ReplicationTaskSettings = settings.json;
    applyCdcPositions(d, input);
    if (input.TaskData !== undefined) d.TaskData = input.TaskData;
  });
  if (settings?.deleteTaskLogs) {
    // Logging.DeleteTaskLogs is an action, not a setting: drop the task's log on its instance.
    rmSync(taskLogPath(app.config.dataDir, doc.ReplicationInstanceArn, doc.ReplicationTaskArn), { force: true });
  }
  app.tasks.later(() => app.tasks.finishModify(doc.ReplicationTaskArn));
  return output(doc);
};

const deleteReplicationTask = (input: DeleteReplicationTaskMessage, { app }: RequestContext) => {
  const doc = updateTask(app, input.ReplicationTaskArn!, { type: 'Delete' });
  app.tasks.later(() => app.tasks.finishDelete(doc.ReplicationTaskArn));
  return output(doc);
};

const startReplicationTask = (input: StartReplicationTaskMessage, { app }: RequestContext) => {
  const current = getTask(app, input.ReplicationTaskArn!);
  checkCdcInputs(input);
  checkCdcStartTimeSource(app, current.SourceEndpointArn, input.CdcStartTime);
  const doc = app.tasks.startTask(current.ReplicationTaskArn, input.StartReplicationTaskType as StartType, input);
  return output(doc);
};

const stopReplicationTask = (input: StopReplicationTaskMessage, { app }: RequestContext) => output(app.tasks.stopTask(input.ReplicationTaskArn!));

const describeTableStatistics = (input: DescribeTableStatisticsMessage, { app }: RequestContext) => {
  const task = getTask(app, input.ReplicationTaskArn!);
  const stats = applyFilters(app.store.tableStatistics.list(task.ReplicationTaskArn), input.Filters as Filter[] | undefined, {
    'schema-name': (s) => s.SchemaName,
    'table-name': (s) => s.TableName,
    'table-state': (s) => s.TableState,
  });
  const page = paginate(stats, input, `DescribeTableStatistics:${task.ReplicationTaskArn}`, { max: 500 });
  return { ReplicationTaskArn: task.ReplicationTaskArn, TableStatistics: page.items, ...(page.marker ? { Marker: page.marker } : {}) };
};

const reloadTables = async (input: ReloadTablesMessage, { app }: RequestContext) => {
  const task = getTask(app, input.ReplicationTaskArn!);
  const tables = input.TablesToReload ?? [];
  if (tables.length === 0 || tables.length > MAX_TABLES_TO_RELOAD) {
    throw invalidParameter(`TablesToReload must list 1 to ${MAX_TABLES_TO_RELOAD} tables; got ${tables.length}. Split larger reloads into several calls.`);
  }
  if (input.ReloadOption === 'validate-only') {
    throw invalidParameter('ReloadOption validate-only needs data validation, which opendms does not run yet; use data-reload.');
  }
  await app.tasks.reloadTables(
    task.ReplicationTaskArn,
    tables.map((t) => ({ SchemaName: t.SchemaName!, TableName: t.TableName! })),
  );
  return { ReplicationTaskArn: task.ReplicationTaskArn };
};

export const replicationTaskOperations: OperationTable = {
  CreateReplicationTask: createReplicationTask,
  DescribeReplicationTasks: describeReplicationTasks,
  ModifyReplicationTask: modifyReplicationTask,
  DeleteReplicationTask: deleteReplicationTask,
  StartReplicationTask: startReplicationTask,
  StopReplicationTask: stopReplicationTask,
  DescribeTableStatistics: describeTableStatistics,
  ReloadTables: reloadTables,
};
