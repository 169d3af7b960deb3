/** The replication-instance lifecycle rules, maintenance windows and modification plans (no processes). */
import { describe, expect, it } from 'vitest';
import { checkAllowed, notesAfterServiceRestart, statusAfterCrash, statusAfterHello, statusForStorage, type InstanceOperation, type InstanceStatus } from '../../src/control/instance-lifecycle.js';
import { inMaintenanceWindow, parseMaintenanceWindow, windowStartingAt } from '../../src/control/instance-maintenance.js';
import { addPending, applyValues } from '../../src/control/instance-modifications.js';
import type { ReplicationInstanceRecord } from '../../src/store/index.js';

const STATUSES: InstanceStatus[] = ['creating', 'available', 'modifying', 'upgrading', 'rebooting', 'deleting', 'failed', 'storage-full'];

describe('operation x status', () => {
  const expected: Record<string, InstanceStatus[]> = {
    modify: ['available'],
    'grow-storage': ['available', 'storage-full'],
    reboot: ['available'],
    use: ['available'],
    delete: STATUSES.filter((s) => s !== 'deleting'),
  };
  for (const [op, allowed] of Object.entries(expected)) {
    for (const status of STATUSES) {
      it(`${op} when ${status}: ${allowed.includes(status) ? 'allowed' : 'InvalidResourceStateFault'}`, () => {
        const call = (): void => checkAllowed(op as InstanceOperation, status, 'ri');
        if (allowed.includes(status)) expect(call).not.toThrow();
        else expect(call).toThrow(expect.objectContaining({ code: 'InvalidResourceStateFault', message: expect.stringContaining(op === 'delete' ? 'already being deleted' : status) }));
      });
    }
  }
});

describe('process events', () => {
  it.each([
    ['available', 1, 'rebooting'],
    ['storage-full', 1, 'rebooting'],
    ['creating', 1, undefined],
    ['modifying', 2, undefined],
    ['rebooting', 5, 'failed'],
    ['creating', 5, 'failed'],
    ['failed', 6, undefined],
    ['deleting', 5, undefined],
  ] as const)('a crash while %s (crash #%d) -> %s', (status, crashes, next) => {
    expect(statusAfterCrash(status, crashes)).toBe(next);
  });

  it('a hello makes any instance available except one being deleted', () => {
    for (const s of STATUSES) expect(statusAfterHello(s)).toBe(s === 'deleting' ? undefined : 'available');
  });

  it('storage over the quota is storage-full, back under is available', () => {
    expect(statusForStorage('available', 11, 10)).toBe('storage-full');
    expect(statusForStorage('available', 10, 10)).toBeUndefined();
    expect(statusForStorage('storage-full', 10, 10)).toBe('available');
    expect(statusForStorage('modifying', 11, 10)).toBeUndefined();
  });
});

describe('after a control-plane restart', () => {
  const found = (status: string) => ({ ReplicationInstanceStatus: status, ReplicationInstanceClass: 'dms.c5.large', AllocatedStorage: 80, EngineVersion: '3.6.0' });
  it('owes the event of a create, reboot or modification the previous control plane started', () => {
    expect(notesAfterServiceRestart(found('creating'))).toEqual([{ message: 'Replication instance created.', categories: ['Creation'] }]);
    expect(notesAfterServiceRestart(found('rebooting'))).toEqual([{ message: 'Replication instance rebooted.', categories: ['Maintenance'] }]);
    expect(notesAfterServiceRestart(found('modifying'))[0]).toMatchObject({ message: expect.stringContaining('dms.c5.large, 80 GB'), categories: ['Configuration Change'] });
    expect(notesAfterServiceRestart(found('upgrading'))[0]).toMatchObject({ message: expect.stringContaining('version 3.6.0'), categories: ['Maintenance'] });
  });
  it('owes nothing for an instance that was simply up (or failed, or full)', () => {
    for (const status of ['available', 'storage-full', 'failed', 'deleting']) expect(notesAfterServiceRestart(found(status))).toEqual([]);
  });
});

describe('maintenance window', () => {
  it('accepts ddd:hh24:mi-ddd:hh24:mi of 30 minutes or more, lower-cased', () => {
    expect(parseMaintenanceWindow('Sun:06:00-Sun:06:30')).toBe('sun:06:00-sun:06:30');
    expect(parseMaintenanceWindow('sat:23:45-sun:00:15')).toBe('sat:23:45-sun:00:15');
  });
  it.each(['sun:06:00-sun:06:29', 'sun:6:00-sun:07:00', 'fun:06:00-sun:07:00', 'sun:24:00-mon:01:00', 'sun:06:60-sun:08:00', ''])('refuses %j', (w) => {
    expect(() => parseMaintenanceWindow(w)).toThrow(expect.objectContaining({ code: 'InvalidParameterValueException', message: expect.stringContaining('PreferredMaintenanceWindow') }));
  });
  it('knows whether a moment is inside, including windows that wrap past Saturday midnight', () => {
    const sunday0610 = new Date('2026-11-29T06:10:00Z');
    expect(inMaintenanceWindow('sun:06:00-sun:06:30', sunday0610)).toBe(true);
    expect(inMaintenanceWindow('sun:06:30-sun:07:00', sunday0610)).toBe(false);
    expect(inMaintenanceWindow('sat:23:00-sun:07:00', sunday0610)).toBe(true);
    expect(inMaintenanceWindow('sat:23:00-sat:23:59', sunday0610)).toBe(false);
    expect(inMaintenanceWindow(windowStartingAt(sunday0610, 30), sunday0610)).toBe(true);
  });
});

describe('modifications', () => {
  const base: ReplicationInstanceRecord = {
    ReplicationInstanceArn: 'arn:aws:dms:us-east-1:123456789012:rep:X',
    ReplicationInstanceIdentifier: 'ri',
    ReplicationInstanceClass: 'dms.t3.micro',
    ReplicationInstanceStatus: 'available',
    AllocatedStorage: 50,
    EngineVersion: '1.0.0',
    InstanceCreateTime: '2026-01-01T00:00:00Z',
    MultiAZ: false,
    AutoMinorVersionUpgrade: true,
    PreferredMaintenanceWindow: 'sun:06:00-sun:06:30',
    PubliclyAccessible: true,
    PendingModifiedValues: {},
  };

  it('keeps only real changes pending', () => {
    const r = addPending(base, { ReplicationInstanceClass: 'dms.t3.micro', AllocatedStorage: 60 });
    expect(r.PendingModifiedValues).toEqual({ AllocatedStorage: 60 });
    expect(base.PendingModifiedValues).toEqual({});
  });

  it('a class or storage change restarts the process (modifying); an engine version upgrades it', () => {
    const plan = applyValues(base, { ReplicationInstanceClass: 'dms.c5.large', AllocatedStorage: 60 }, 'us-east-1');
    expect(plan.restart).toBe('modifying');
    expect(plan.record).toMatchObject({ ReplicationInstanceClass: 'dms.c5.large', AllocatedStorage: 60, ReplicationInstanceStatus: 'modifying', PendingModifiedValues: {} });
    expect(plan.onHello.map((n) => n.message)).toEqual(['Replication instance class changed to dms.c5.large.', 'Replication instance storage changed to 60 GB.']);
    expect(applyValues(base, { EngineVersion: '1.1.0' }, 'us-east-1').restart).toBe('upgrading');
  });

  it('Multi-AZ changes need no restart', () => {
    const plan = applyValues(base, { MultiAZ: true }, 'us-east-1');
    expect(plan.restart).toBeUndefined();
    expect(plan.record).toMatchObject({ MultiAZ: true, SecondaryAvailabilityZone: 'us-east-1b', ReplicationInstanceStatus: 'available' });
    expect(plan.events).toEqual([{ message: 'Replication instance Multi-AZ enabled.', categories: ['Configuration Change'] }]);
  });
});
