/**
 * Engine upgrades nobody asked for, applied in an instance's maintenance window (as AWS does):
 *
 * - an instance on a DEPRECATED engine version is upgraded to the default version;
 * - an instance with AutoMinorVersionUpgrade gets the newest non-deprecated version of its major
 *   line (same first two components, spec §3.3) that is newer than what it runs.
 *
 * `withAutomaticUpgrade` only adds the EngineVersion to the record's pending modifications; the
 * maintenance window applies them like any other (InstanceMaintenance), restarting the process on
 * the new bundle, and its running tasks resume by themselves.
 */
import { compareVersions, defaultEngineVersion, findEngineVersion, isMajorVersionChange, listEngineVersions } from '../model/engine-versions.js';
import type { ReplicationInstanceRecord } from '../store/index.js';
import type { PendingValues } from './instance-modifications.js';

export interface AutomaticUpgrade {
  version: string;
  reason: string;
}

/** The upgrade an instance is due for, if any. */
export function automaticUpgradeFor(record: ReplicationInstanceRecord): AutomaticUpgrade | undefined {
  const current = record.EngineVersion;
  const pending = (record.PendingModifiedValues as PendingValues | undefined)?.EngineVersion;
  if (pending !== undefined) return undefined; // the operator already chose one
  const installed = findEngineVersion(current);
  if (installed?.lifecycle === 'DEPRECATED') {
    const target = defaultEngineVersion();
    if (compareVersions(target.version, current) > 0) {
      return { version: target.version, reason: `engine version ${current} is deprecated; upgrading to the default version ${target.version}` };
    }
  }
  if (record.AutoMinorVersionUpgrade === true) {
    const newest = listEngineVersions()
      .filter((v) => v.lifecycle !== 'DEPRECATED' && !isMajorVersionChange(current, v.version) && compareVersions(v.version, current) > 0)
      .at(-1);
    if (newest) return { version: newest.version, reason: `AutoMinorVersionUpgrade: upgrading from ${current} to ${newest.version}` };
  }
  return undefined;
}

/** The record with its due automatic upgrade added to PendingModifiedValues (a copy), and why. */
export function withAutomaticUpgrade(record: ReplicationInstanceRecord): { record: ReplicationInstanceRecord; upgrade?: AutomaticUpgrade } {
  const upgrade = automaticUpgradeFor(record);
  if (!upgrade) return { record };
  return {
    record: { ...record, PendingModifiedValues: { ...((record.PendingModifiedValues as PendingValues | undefined) ?? {}), EngineVersion: upgrade.version } },
    upgrade,
  };
}
