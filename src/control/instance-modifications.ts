/**
 * ModifyReplicationInstance's changes as pure functions over the stored record: the members that
 * can wait for the maintenance window (PendingModifiedValues), and applying them, which tells
 * whether the instance process must restart (`modifying` for a new class or storage quota,
 * `upgrading` for a new engine version) and which events to record now and once it is back.
 *
 * Used by the API (ApplyImmediately) and by the maintenance window (InstanceMaintenance).
 */
import type { ReplicationInstanceRecord } from '../store/index.js';
import type { InstanceEventNote } from './instance-lifecycle.js';

/** The members of ReplicationPendingModifiedValues. */
export interface PendingValues {
  ReplicationInstanceClass?: string;
  AllocatedStorage?: number;
  MultiAZ?: boolean;
  EngineVersion?: string;
  NetworkType?: string;
}

export interface ModificationPlan {
  /** The record after the change (a copy; the caller persists it). */
  record: ReplicationInstanceRecord;
  /** Set when the process must restart, with the status it has meanwhile. */
  restart?: 'modifying' | 'upgrading';
  /** Events to record now. */
  events: InstanceEventNote[];
  /** Events to record once the restarted process said hello. */
  onHello: InstanceEventNote[];
}

export function pendingOf(record: ReplicationInstanceRecord): PendingValues {
  return { ...((record.PendingModifiedValues ?? {}) as PendingValues) };
}

export function hasPending(record: ReplicationInstanceRecord): boolean {
  return Object.values(pendingOf(record)).some((v) => v !== undefined);
}

const differs = (record: ReplicationInstanceRecord, key: keyof PendingValues, value: unknown): boolean =>
  value !== undefined && value !== record[key];

/** Records requested values as pending (those equal to the current ones are dropped). */
export function addPending(record: ReplicationInstanceRecord, requested: PendingValues): ReplicationInstanceRecord {
  const pending = pendingOf(record);
  for (const [key, value] of Object.entries(requested) as [keyof PendingValues, never][]) {
    if (differs(record, key, value)) pending[key] = value;
  }
  return { ...record, PendingModifiedValues: pending };
}

/** Applies values now and clears PendingModifiedValues. */
export function applyValues(record: ReplicationInstanceRecord, values: PendingValues, region: string): ModificationPlan {
  const next: ReplicationInstanceRecord = structuredClone(record);
  const plan: ModificationPlan = { record: next, events: [], onHello: [] };
  if (differs(record, 'ReplicationInstanceClass', values.ReplicationInstanceClass)) {
    next.ReplicationInstanceClass = values.ReplicationInstanceClass!;
    plan.events.push({ message: `Changing replication instance class to ${next.ReplicationInstanceClass}.`, categories: ['Configuration Change'] });
    plan.onHello.push({ message: `Replication instance class changed to ${next.ReplicationInstanceClass}.`, categories: ['Configuration Change'] });
    plan.restart = 'modifying';
  }
  if (differs(record, 'AllocatedStorage', values.AllocatedStorage)) {
    next.AllocatedStorage = values.AllocatedStorage!;
    plan.events.push({ message: `Changing replication instance storage to ${next.AllocatedStorage} GB.`, categories: ['Configuration Change'] });
    plan.onHello.push({ message: `Replication instance storage changed to ${next.AllocatedStorage} GB.`, categories: ['Configuration Change'] });
    plan.restart = 'modifying';
  }
  if (differs(record, 'EngineVersion', values.EngineVersion)) {
    next.EngineVersion = values.EngineVersion!;
    plan.events.push({ message: `Upgrading replication instance engine to version ${next.EngineVersion}.`, categories: ['Maintenance'] });
    plan.onHello.push({ message: `Replication instance engine upgraded to version ${next.EngineVersion}.`, categories: ['Maintenance'] });
    plan.restart = 'upgrading';
  }
  if (differs(record, 'NetworkType', values.NetworkType)) next.NetworkType = values.NetworkType;
  if (differs(record, 'MultiAZ', values.MultiAZ)) {
    next.MultiAZ = values.MultiAZ!;
    if (next.MultiAZ) next.SecondaryAvailabilityZone = `${region}b`;
    else delete next.SecondaryAvailabilityZone;
    plan.events.push({ message: `Replication instance Multi-AZ ${next.MultiAZ ? 'enabled' : 'disabled'}.`, categories: ['Configuration Change'] });
  }
  next.PendingModifiedValues = {};
  if (plan.restart) next.ReplicationInstanceStatus = plan.restart;
  return plan;
}
