/**
 * The pure rules behind moves and engine upgrades: the storage reservation, checkpoint formats
 * across engine versions (rollback), engine manifests, and which automatic upgrade an instance is
 * due in its maintenance window.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { automaticUpgradeFor } from '../../src/control/engine-auto-upgrade.js';
import { checkpointVersionOf, engineCompatibilityFault, taskStorageReservationGb } from '../../src/control/task-move.js';
import type { TaskDoc } from '../../src/control/task-record.js';
import { checkManifest } from '../../src/engine-bundles/manifest.js';
import { RUNNING_ENGINE_VERSION, setInstalledEngineVersions } from '../../src/model/engine-versions.js';
import type { ReplicationInstanceRecord } from '../../src/store/index.js';

const dirs: string[] = [];
afterAll(() => {
  setInstalledEngineVersions([]);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function bundle(version: string, reads: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'bundle-unit-'));
  dirs.push(dir);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'engine.json'), JSON.stringify({ version, protocolVersion: 1, checkpointVersions: { reads, writes: reads.at(-1) }, createdAt: '2026-01-01T00:00:00Z' }));
  return dir;
}

function instance(id: string, engineVersion: string, extra: Partial<ReplicationInstanceRecord> = {}): ReplicationInstanceRecord {
  return {
    ReplicationInstanceArn: `arn:aws:dms:us-east-1:123456789012:rep:${id.toUpperCase()}`,
    ReplicationInstanceIdentifier: id,
    ReplicationInstanceClass: 'dms.t3.medium',
    ReplicationInstanceStatus: 'available',
    AllocatedStorage: 50,
    EngineVersion: engineVersion,
    InstanceCreateTime: '2026-01-01T00:00:00Z',
    MultiAZ: false,
    AutoMinorVersionUpgrade: false,
    PreferredMaintenanceWindow: 'sun:06:00-sun:06:30',
    PubliclyAccessible: true,
    ...extra,
  };
}

const task = (members: Partial<TaskDoc>): TaskDoc => ({ ReplicationTaskIdentifier: 't', ReplicationTaskArn: 'arn:task', Status: 'stopped', ...members }) as TaskDoc;

describe('storage reservation', () => {
  it('is 1 GB plus MemoryLimitTotal rounded up to GB', () => {
    expect(taskStorageReservationGb(undefined)).toBe(2);
    expect(taskStorageReservationGb(JSON.stringify({ ChangeProcessingTuning: { MemoryLimitTotal: 8192 } }))).toBe(9);
    expect(taskStorageReservationGb(JSON.stringify({ ChangeProcessingTuning: { MemoryLimitTotal: 1025 } }))).toBe(3);
    expect(taskStorageReservationGb(JSON.stringify({ ChangeProcessingTuning: { MemoryLimitTotal: 0 } }))).toBe(1);
    expect(taskStorageReservationGb('not json')).toBe(2);
  });
});

describe('engine compatibility of a move', () => {
  it('reads the checkpoint format from the string', () => {
    expect(checkpointVersionOf('checkpoint:V1#3#00000000/01539A80#0#0#*#0#0')).toBe('V1');
    expect(checkpointVersionOf('4AF/B00000D0')).toBeUndefined();
    expect(checkpointVersionOf(undefined)).toBeUndefined();
  });

  it('always allows the same or a newer engine, and an older one only if it reads the checkpoint', () => {
    setInstalledEngineVersions([
      { version: RUNNING_ENGINE_VERSION, lifecycle: 'DEFAULT_VERSION', releaseStatus: 'prod' },
      { version: '0.0.2', lifecycle: 'AVAILABLE', releaseStatus: 'prod', bundleDir: bundle('0.0.2', ['V0', 'V1']) },
      { version: '0.0.1', lifecycle: 'AVAILABLE', releaseStatus: 'prod', bundleDir: bundle('0.0.1', ['V0']) },
    ]);
    const withCheckpoint = task({ RecoveryCheckpoint: 'checkpoint:V1#3#00000000/01539A80#0#0#*#0#0' });
    const current = instance('cur', RUNNING_ENGINE_VERSION);
    expect(engineCompatibilityFault(withCheckpoint, instance('old', '0.0.1'), current)).toBeUndefined();
    expect(engineCompatibilityFault(withCheckpoint, current, instance('v2', '0.0.2'))).toBeUndefined();
    expect(engineCompatibilityFault(withCheckpoint, current, instance('v1', '0.0.1'))).toMatchObject({
      code: 'InvalidResourceStateFault',
      message: expect.stringContaining('its RecoveryCheckpoint is in checkpoint format V1, and engine version 0.0.1 reads only V0'),
    });
    // A never-run task has no checkpoint: any installed engine can take it.
    expect(engineCompatibilityFault(task({}), current, instance('v1', '0.0.1'))).toBeUndefined();
    // A checkpoint given as CdcStartPosition counts too.
    expect(engineCompatibilityFault(task({ CdcStartPosition: 'checkpoint:V1#1#00000000/01000000#0#0#*#0#0' }), current, instance('v1', '0.0.1'))).toMatchObject({
      message: expect.stringContaining('its CdcStartPosition is in checkpoint format V1'),
    });
    expect(engineCompatibilityFault(task({}), current, instance('gone', '7.7.7'))).toMatchObject({ message: expect.stringContaining('7.7.7, which is not installed') });
  });
});

describe('engine manifest', () => {
  it('accepts a complete manifest and names what is wrong otherwise', () => {
    const good = { version: '1.2.3', protocolVersion: 1, checkpointVersions: { reads: ['V1'], writes: 'V1' }, createdAt: 'x' };
    expect(checkManifest(good, 'm')).toEqual(good);
    expect(() => checkManifest({ ...good, version: 'one' }, 'm')).toThrow(/"version" must be a dotted version/);
    expect(() => checkManifest({ ...good, checkpointVersions: { reads: 'V1' } }, 'm')).toThrow(/"checkpointVersions" must be/);
    expect(() => checkManifest({ ...good, lifecycle: 'old' }, 'm')).toThrow(/"lifecycle" must be default, available or deprecated/);
    expect(() => checkManifest(null, 'm')).toThrow(/not a JSON object/);
  });
});

describe('automatic upgrades in the maintenance window', () => {
  it('moves a deprecated version to the default, and AutoMinorVersionUpgrade to the newest minor of the line', () => {
    setInstalledEngineVersions([
      { version: '3.4.0', lifecycle: 'DEPRECATED', releaseStatus: 'prod', bundleDir: '/x' },
      { version: '3.5.0', lifecycle: 'DEFAULT_VERSION', releaseStatus: 'prod', bundleDir: '/x' },
      { version: '3.5.2', lifecycle: 'AVAILABLE', releaseStatus: 'prod', bundleDir: '/x' },
      { version: '3.5.9', lifecycle: 'DEPRECATED', releaseStatus: 'prod', bundleDir: '/x' },
      { version: '3.6.0', lifecycle: 'AVAILABLE', releaseStatus: 'prod', bundleDir: '/x' },
    ]);
    expect(automaticUpgradeFor(instance('a', '3.4.0'))).toEqual({ version: '3.5.0', reason: expect.stringContaining('3.4.0 is deprecated') });
    expect(automaticUpgradeFor(instance('b', '3.5.0'))).toBeUndefined();
    expect(automaticUpgradeFor(instance('c', '3.5.0', { AutoMinorVersionUpgrade: true }))).toEqual({ version: '3.5.2', reason: expect.stringContaining('AutoMinorVersionUpgrade') });
    expect(automaticUpgradeFor(instance('d', '3.6.0', { AutoMinorVersionUpgrade: true }))).toBeUndefined();
    // What the operator asked for waits in PendingModifiedValues and wins.
    expect(automaticUpgradeFor(instance('e', '3.4.0', { PendingModifiedValues: { EngineVersion: '3.6.0' } }))).toBeUndefined();
  });
});
