/**
 * Replication instances: Create, Describe, Modify, Delete, Reboot, plus the catalog operations
 * (DescribeOrderableReplicationInstances, DescribeEngineVersions) and
 * DescribeReplicationInstanceTaskLogs.
 *
 * Handlers check input and the status transition, persist it, and hand the process work to
 * `app.instances` (src/control/instance-supervisor.ts), which moves the status on when the
 * instance process says hello.
 */
import { statSync } from 'node:fs';
import type {
  CreateReplicationInstanceMessage,
  DeleteReplicationInstanceMessage,
  DescribeEngineVersionsMessage,
  DescribeOrderableReplicationInstancesMessage,
  DescribeReplicationInstanceTaskLogsMessage,
  DescribeReplicationInstancesMessage,
  ModifyReplicationInstanceMessage,
  RebootReplicationInstanceMessage,
} from '@aws-sdk/client-database-migration-service';
import type { App } from '../../control/app.js';
import { checkAllowed } from '../../control/instance-lifecycle.js';
import { DEFAULT_MAINTENANCE_WINDOW, parseMaintenanceWindow } from '../../control/instance-maintenance.js';
import { addPending, applyValues, pendingOf, type ModificationPlan, type PendingValues } from '../../control/instance-modifications.js';
import { taskLogPath } from '../../control/instance-paths.js';
import {
  compareVersions,
  defaultEngineVersion,
  findEngineVersion,
  isMajorVersionChange,
  listEngineVersions,
  type EngineVersionInfo,
} from '../../model/engine-versions.js';
import {
  DmsFault,
  alreadyExists,
  invalidCombination,
  invalidParameter,
  invalidState,
  notFound,
  quotaExceeded,
} from '../../model/faults.js';
import { checkIdentifier, checkResourceIdentifier } from '../../model/identifiers.js';
import { checkTags } from '../../model/tags.js';
import {
  DEFAULT_ALLOCATED_STORAGE_GB,
  INSTANCE_CLASSES,
  MAX_ALLOCATED_STORAGE_GB,
  MIN_ALLOCATED_STORAGE_GB,
  STORAGE_TYPE,
  findInstanceClass,
  type InstanceClass,
} from '../../model/instance-classes.js';
import type { ReplicationInstanceRecord } from '../../store/index.js';
import { applyFilters, type Filter } from '../filters.js';
import type { OperationTable, RequestContext } from '../handler.js';
import { paginate } from '../pagination.js';
import { requireInstance } from './lookups.js';

const IDENTIFIER_MAX = 63;

// ---- input checks ----

function requireClass(name: string): InstanceClass {
  const cls = findInstanceClass(name);
  if (!cls) {
    throw invalidParameter(
      `Invalid ReplicationInstanceClass "${name}". Use one of: ${INSTANCE_CLASSES.map((c) => c.name).join(', ')} (see DescribeOrderableReplicationInstances).`,
    );
  }
  return cls;
}

function requireEngineVersion(version: string): EngineVersionInfo {
  const engine = findEngineVersion(version);
  if (!engine) {
    throw invalidParameter(
      `Invalid EngineVersion "${version}". Available engine versions: ${listEngineVersions().map((v) => v.version).join(', ')} (see DescribeEngineVersions).`,
    );
  }
  return engine;
}

function checkStorage(gb: number): void {
  if (!Number.isInteger(gb) || gb < MIN_ALLOCATED_STORAGE_GB || gb > MAX_ALLOCATED_STORAGE_GB) {
    throw invalidParameter(
      `Invalid AllocatedStorage ${gb}: it must be a whole number of GB between ${MIN_ALLOCATED_STORAGE_GB} and ${MAX_ALLOCATED_STORAGE_GB}.`,
    );
  }
}

function checkStorageQuota(app: App, gb: number, exceptArn?: string): void {
  const used = app.store.instances.totalAllocatedStorage(exceptArn);
  if (used + gb > app.config.quotas.AllocatedStorage) {
    throw new DmsFault(
      'StorageQuotaExceededFault',
      `AllocatedStorage ${gb} GB would bring the total storage of all replication instances to ${used + gb} GB; the quota is ${app.config.quotas.AllocatedStorage} GB. Use less storage or delete instances.`,
    );
  }
}

function event(app: App, record: ReplicationInstanceRecord, message: string, categories: string[]): void {
  app.event({
    sourceIdentifier: record.ReplicationInstanceIdentifier,
    sourceType: 'replication-instance',
    sourceArn: record.ReplicationInstanceArn,
    message,
    categories,
  });
}

// ---- operations ----

function createReplicationInstance(input: CreateReplicationInstanceMessage, { app }: RequestContext): unknown {
  const rawIdentifier = input.ReplicationInstanceIdentifier!;
  checkIdentifier('ReplicationInstanceIdentifier', rawIdentifier, IDENTIFIER_MAX);
  const identifier = rawIdentifier.toLowerCase();
  if (input.ResourceIdentifier !== undefined) checkResourceIdentifier(input.ResourceIdentifier);
  const cls = requireClass(input.ReplicationInstanceClass!);
  const engine = input.EngineVersion !== undefined ? requireEngineVersion(input.EngineVersion) : defaultEngineVersion();
  if (input.MultiAZ && input.AvailabilityZone !== undefined) {
    throw invalidCombination('MultiAZ and AvailabilityZone cannot be given together: a Multi-AZ instance chooses its zones. Omit AvailabilityZone or set MultiAZ to false.');
  }
  const region = app.config.region;
  if (input.AvailabilityZone !== undefined && !new RegExp(`^${region}[a-z]$`).test(input.AvailabilityZone)) {
    throw invalidParameter(`Invalid AvailabilityZone "${input.AvailabilityZone}": use a zone of region ${region}, e.g. ${region}a.`);
  }
  const window = input.PreferredMaintenanceWindow !== undefined ? parseMaintenanceWindow(input.PreferredMaintenanceWindow) : DEFAULT_MAINTENANCE_WINDOW;
  const storage = input.AllocatedStorage ?? DEFAULT_ALLOCATED_STORAGE_GB;
  checkStorage(storage);
  if (input.ReplicationSubnetGroupIdentifier !== undefined && input.ReplicationSubnetGroupIdentifier.toLowerCase() !== 'default') {
    throw notFound(`Replication subnet group "${input.ReplicationSubnetGroupIdentifier}" not found. Omit ReplicationSubnetGroupIdentifier to use the default group.`);
  }
  const tags = checkTags(input.Tags);
  const arn = app.newArn('rep', input.ResourceIdentifier);
  const multiAZ = input.MultiAZ ?? false;
  const publiclyAccessible = input.PubliclyAccessible ?? true;
  const record: ReplicationInstanceRecord = {
    ReplicationInstanceIdentifier: identifier,
    ReplicationInstanceClass: cls.name,
    ReplicationInstanceStatus: 'creating',
    AllocatedStorage: storage,
    InstanceCreateTime: new Date().toISOString(),
    VpcSecurityGroups: (input.VpcSecurityGroupIds ?? []).map((id) => ({ VpcSecurityGroupId: id, Status: 'active' })),
    AvailabilityZone: input.AvailabilityZone ?? `${region}a`,
    ReplicationSubnetGroup: {
      ReplicationSubnetGroupIdentifier: 'default',
      ReplicationSubnetGroupDescription: 'default',
      SubnetGroupStatus: 'Complete',
      Subnets: [],
      SupportedNetworkTypes: ['IPV4'],
    },
    PreferredMaintenanceWindow: window,
    PendingModifiedValues: {},
    MultiAZ: multiAZ,
    ...(multiAZ ? { SecondaryAvailabilityZone: `${region}b` } : {}),
    EngineVersion: engine.version,
    AutoMinorVersionUpgrade: input.AutoMinorVersionUpgrade ?? true,
    ...(input.KmsKeyId !== undefined ? { KmsKeyId: input.KmsKeyId } : {}),
    ReplicationInstanceArn: arn,
    // The instance is a process on this host: it reaches databases from here.
    ReplicationInstancePrivateIpAddress: '127.0.0.1',
    ReplicationInstancePrivateIpAddresses: ['127.0.0.1'],
    ...(publiclyAccessible ? { ReplicationInstancePublicIpAddress: '127.0.0.1', ReplicationInstancePublicIpAddresses: ['127.0.0.1'] } : {}),
    PubliclyAccessible: publiclyAccessible,
    ...(input.DnsNameServers !== undefined ? { DnsNameServers: input.DnsNameServers } : {}),
    NetworkType: input.NetworkType ?? 'IPV4',
  };
  app.store.transaction(() => {
    const taken = app.store.instances.findByIdentifier(identifier);
    if (taken) {
      throw alreadyExists(`Replication instance "${identifier}" already exists. Choose another ReplicationInstanceIdentifier.`, taken.ReplicationInstanceArn);
    }
    if (app.store.instances.get(arn)) {
      throw alreadyExists(`A replication instance with ResourceIdentifier "${input.ResourceIdentifier}" already exists. Choose another ResourceIdentifier.`, arn);
    }
    if (app.store.instances.count() >= app.config.quotas.ReplicationInstances) {
      throw quotaExceeded(`The account already has ${app.config.quotas.ReplicationInstances} replication instances, the quota. Delete one before creating another.`);
    }
    checkStorageQuota(app, storage);
    app.store.instances.insert(record);
    if (tags.length) app.store.tags.put(arn, tags);
  });
  event(app, record, 'Creating replication instance.', ['Creation']);
  app.instances.launch(arn);
  return { ReplicationInstance: record };
}

function describeReplicationInstances(input: DescribeReplicationInstancesMessage, { app }: RequestContext): unknown {
  const filters = (input.Filters ?? []) as Filter[];
  for (const f of filters) {
    if (f.Name === 'replication-instance-id') for (const v of f.Values) checkIdentifier('replication-instance-id filter value', v, IDENTIFIER_MAX);
  }
  const matching = applyFilters(
    app.store.instances.list(),
    filters,
    {
      'replication-instance-arn': (r) => r.ReplicationInstanceArn,
      'replication-instance-id': (r) => r.ReplicationInstanceIdentifier,
      'replication-instance-class': (r) => r.ReplicationInstanceClass,
      'engine-version': (r) => r.EngineVersion,
    },
    ['replication-instance-id'],
  );
  if (filters.length && !matching.length) throw notFound('No replication instances found matching provided filters.');
  const page = paginate(matching, input, 'DescribeReplicationInstances');
  return { ReplicationInstances: page.items, ...(page.marker ? { Marker: page.marker } : {}) };
}

function modifyReplicationInstance(input: ModifyReplicationInstanceMessage, { app }: RequestContext): unknown {
  const record = requireInstance(app, input.ReplicationInstanceArn!);
  const status = record.ReplicationInstanceStatus;
  const requested: PendingValues = {};
  if (input.ReplicationInstanceClass !== undefined) requested.ReplicationInstanceClass = requireClass(input.ReplicationInstanceClass).name;
  if (input.AllocatedStorage !== undefined) {
    checkStorage(input.AllocatedStorage);
    requested.AllocatedStorage = input.AllocatedStorage;
  }
  if (input.MultiAZ !== undefined) requested.MultiAZ = input.MultiAZ;
  if (input.NetworkType !== undefined) requested.NetworkType = input.NetworkType;
  if (input.EngineVersion !== undefined) {
    const engine = requireEngineVersion(input.EngineVersion);
    if (compareVersions(engine.version, record.EngineVersion) < 0) {
      throw new DmsFault('UpgradeDependencyFailureFault', `Cannot downgrade replication instance ${record.ReplicationInstanceIdentifier} from engine version ${record.EngineVersion} to ${engine.version}; give an EngineVersion of ${record.EngineVersion} or later (see DescribeEngineVersions).`);
    }
    if (isMajorVersionChange(record.EngineVersion, engine.version) && !input.AllowMajorVersionUpgrade) {
      throw new DmsFault(
        'UpgradeDependencyFailureFault',
        `Engine version ${engine.version} is a major version upgrade from ${record.EngineVersion}; set AllowMajorVersionUpgrade to true to apply it.`,
      );
    }
    requested.EngineVersion = engine.version;
  }
  const window = input.PreferredMaintenanceWindow !== undefined ? parseMaintenanceWindow(input.PreferredMaintenanceWindow) : undefined;
  let newIdentifier: string | undefined;
  if (input.ReplicationInstanceIdentifier !== undefined) {
    checkIdentifier('ReplicationInstanceIdentifier', input.ReplicationInstanceIdentifier, IDENTIFIER_MAX);
    newIdentifier = input.ReplicationInstanceIdentifier.toLowerCase();
  }
  // A storage-full instance accepts exactly what gets it out of there: more storage, now.
  const growsNow = input.ApplyImmediately === true && requested.AllocatedStorage !== undefined && requested.AllocatedStorage > record.AllocatedStorage;
  checkAllowed(growsNow ? 'grow-storage' : 'modify', status, record.ReplicationInstanceIdentifier);

  let plan: ModificationPlan | undefined;
  const updated = app.store.transaction(() => {
    if (newIdentifier !== undefined && newIdentifier !== record.ReplicationInstanceIdentifier) {
      const taken = app.store.instances.findByIdentifier(newIdentifier);
      if (taken) throw alreadyExists(`Replication instance "${newIdentifier}" already exists. Choose another ReplicationInstanceIdentifier.`, taken.ReplicationInstanceArn);
    }
    let next: ReplicationInstanceRecord = { ...record };
    if (newIdentifier !== undefined) next.ReplicationInstanceIdentifier = newIdentifier;
    if (window !== undefined) next.PreferredMaintenanceWindow = window;
    if (input.AutoMinorVersionUpgrade !== undefined) next.AutoMinorVersionUpgrade = input.AutoMinorVersionUpgrade;
    if (input.VpcSecurityGroupIds !== undefined) {
      next.VpcSecurityGroups = input.VpcSecurityGroupIds.map((id) => ({ VpcSecurityGroupId: id, Status: 'active' }));
    }
    if (input.ApplyImmediately) {
      // ApplyImmediately applies this request and flushes what was pending.
      plan = applyValues(next, { ...pendingOf(next), ...requested }, app.config.region);
      next = plan.record;
    } else {
      next = addPending(next, requested);
    }
    const storageAfter = Math.max(next.AllocatedStorage, pendingOf(next).AllocatedStorage ?? 0);
    if (storageAfter > record.AllocatedStorage) checkStorageQuota(app, storageAfter, record.ReplicationInstanceArn);
    app.store.instances.update(next);
    return next;
  });
  for (const e of plan?.events ?? []) event(app, updated, e.message, e.categories);
  if (plan?.restart) app.instances.restart(updated.ReplicationInstanceArn, plan.onHello);
  else if (!input.ApplyImmediately) app.instances.maintenance.checkSoon(updated.ReplicationInstanceArn);
  return { ReplicationInstance: updated };
}

function rebootReplicationInstance(input: RebootReplicationInstanceMessage, { app }: RequestContext): unknown {
  if (input.ForceFailover && input.ForcePlannedFailover) {
    throw invalidCombination('ForceFailover and ForcePlannedFailover cannot both be true; choose one.');
  }
  const record = requireInstance(app, input.ReplicationInstanceArn!);
  if ((input.ForceFailover || input.ForcePlannedFailover) && !record.MultiAZ) {
    throw invalidCombination(`Replication instance ${record.ReplicationInstanceIdentifier} is not Multi-AZ; a failover reboot needs MultiAZ. Reboot without ForceFailover/ForcePlannedFailover.`);
  }
  checkAllowed('reboot', record.ReplicationInstanceStatus, record.ReplicationInstanceIdentifier);
  const failover = Boolean(input.ForceFailover || input.ForcePlannedFailover);
  const onHello = [{ message: 'Replication instance rebooted.', categories: ['Maintenance'] }];
  record.ReplicationInstanceStatus = 'rebooting';
  if (failover && record.SecondaryAvailabilityZone) {
    // One process stands for both zones: a failover reboot swaps which zone is primary.
    const primary = record.AvailabilityZone;
    record.AvailabilityZone = record.SecondaryAvailabilityZone;
    record.SecondaryAvailabilityZone = primary;
    onHello.push({ message: `Multi-AZ failover to ${String(record.AvailabilityZone)} completed.`, categories: ['Failover'] });
  }
  app.store.instances.update(record);
  event(app, record, failover ? 'Rebooting replication instance with a Multi-AZ failover.' : 'Rebooting replication instance.', ['Maintenance']);
  app.instances.restart(record.ReplicationInstanceArn, onHello);
  return { ReplicationInstance: record };
}

function deleteReplicationInstance(input: DeleteReplicationInstanceMessage, { app }: RequestContext): unknown {
  const record = app.store.transaction(() => {
    const current = requireInstance(app, input.ReplicationInstanceArn!);
    checkAllowed('delete', current.ReplicationInstanceStatus, current.ReplicationInstanceIdentifier);
    // Tasks moving here count too: deleting the instance under them would strand their move.
    const incoming = app.store.tasks.list().filter((t) => t.Status === 'moving' && t.TargetReplicationInstanceArn === current.ReplicationInstanceArn);
    const tasks = [...app.store.tasks.listByInstance(current.ReplicationInstanceArn), ...incoming];
    if (tasks.length) {
      const names = tasks.slice(0, 5).map((t) => t.ReplicationTaskIdentifier).join(', ');
      throw invalidState(
        `Replication instance ${current.ReplicationInstanceIdentifier} still has ${tasks.length} replication task(s) assigned or moving to it (${names}${tasks.length > 5 ? ', ...' : ''}). Delete or move them first.`,
      );
    }
    current.ReplicationInstanceStatus = 'deleting';
    app.store.instances.update(current);
    return current;
  });
  event(app, record, 'Deleting replication instance.', ['Deletion']);
  app.instances.delete(record.ReplicationInstanceArn);
  return { ReplicationInstance: record };
}

function describeOrderableReplicationInstances(input: DescribeOrderableReplicationInstancesMessage, { app }: RequestContext): unknown {
  const region = app.config.region;
  const rows = listEngineVersions().flatMap((engine) =>
    INSTANCE_CLASSES.map((cls) => ({
      EngineVersion: engine.version,
      ReplicationInstanceClass: cls.name,
      StorageType: STORAGE_TYPE,
      MinAllocatedStorage: MIN_ALLOCATED_STORAGE_GB,
      MaxAllocatedStorage: MAX_ALLOCATED_STORAGE_GB,
      DefaultAllocatedStorage: DEFAULT_ALLOCATED_STORAGE_GB,
      IncludedAllocatedStorage: cls.includedStorageGB,
      AvailabilityZones: [`${region}a`, `${region}b`, `${region}c`],
      ReleaseStatus: engine.releaseStatus,
    })),
  );
  const page = paginate(rows, input, 'DescribeOrderableReplicationInstances');
  return { OrderableReplicationInstances: page.items, ...(page.marker ? { Marker: page.marker } : {}) };
}

function describeEngineVersions(input: DescribeEngineVersionsMessage): unknown {
  const all = listEngineVersions();
  const rows = all.map((engine) => ({
    Version: engine.version,
    Lifecycle: engine.lifecycle,
    ReleaseStatus: engine.releaseStatus,
    AvailableUpgrades: all.filter((v) => compareVersions(v.version, engine.version) > 0).map((v) => v.version),
  }));
  const page = paginate(rows, input, 'DescribeEngineVersions');
  return { EngineVersions: page.items, ...(page.marker ? { Marker: page.marker } : {}) };
}

function describeReplicationInstanceTaskLogs(input: DescribeReplicationInstanceTaskLogsMessage, { app }: RequestContext): unknown {
  const record = requireInstance(app, input.ReplicationInstanceArn!);
  const logs = app.store.tasks.listByInstance(record.ReplicationInstanceArn).map((t) => {
    let size = 0;
    try {
      size = statSync(taskLogPath(app.config.dataDir, record.ReplicationInstanceArn, t.ReplicationTaskArn)).size;
    } catch {
      // the task has not run on this instance yet: no log
    }
    return { ReplicationTaskName: t.ReplicationTaskIdentifier, ReplicationTaskArn: t.ReplicationTaskArn, ReplicationInstanceTaskLogSize: size };
  });
  const page = paginate(logs, input, 'DescribeReplicationInstanceTaskLogs');
  return {
    ReplicationInstanceArn: record.ReplicationInstanceArn,
    ReplicationInstanceTaskLogs: page.items,
    ...(page.marker ? { Marker: page.marker } : {}),
  };
}

export const replicationInstanceOperations: OperationTable = {
  CreateReplicationInstance: createReplicationInstance,
  DescribeReplicationInstances: describeReplicationInstances,
  ModifyReplicationInstance: modifyReplicationInstance,
  RebootReplicationInstance: rebootReplicationInstance,
  DeleteReplicationInstance: deleteReplicationInstance,
  DescribeOrderableReplicationInstances: describeOrderableReplicationInstances,
  DescribeEngineVersions: describeEngineVersions,
  DescribeReplicationInstanceTaskLogs: describeReplicationInstanceTaskLogs,
};
