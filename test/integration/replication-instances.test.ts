/**
 * Replication instances through the real service: every operation and fault of spec §1.2/§3,
 * real instance processes (their PIDs, limits and environment), filters and pagination, the AWS
 * CLI waiters, the storage quota, and a service restart bringing instances back.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateEndpointCommand,
  CreateReplicationInstanceCommand,
  CreateReplicationTaskCommand,
  DeleteReplicationInstanceCommand,
  DeleteReplicationTaskCommand,
  DescribeEngineVersionsCommand,
  DescribeEventsCommand,
  DescribeOrderableReplicationInstancesCommand,
  DescribeReplicationInstanceTaskLogsCommand,
  DescribeReplicationInstancesCommand,
  DescribeReplicationTasksCommand,
  ListTagsForResourceCommand,
  ModifyReplicationInstanceCommand,
  RebootReplicationInstanceCommand,
  StartReplicationTaskCommand,
  StopReplicationTaskCommand,
  type CreateReplicationInstanceMessage,
  type DatabaseMigrationServiceClient,
  type ReplicationInstance,
} from '@aws-sdk/client-database-migration-service';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { windowStartingAt } from '../../src/control/instance-maintenance.js';
import { instancePid, instanceWorkDir, isAlive, steadyClient } from '../helpers/instances.js';
import { freePort, waitFor } from '../helpers/ports.js';
import { OPENDMS_BIN, REPO_ROOT, TEST_KEYS, startService, type RunningService } from '../helpers/service.js';

let svc: RunningService;
let client: DatabaseMigrationServiceClient;
const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

beforeAll(async () => {
  svc = await startService();
  client = steadyClient(svc);
});
afterAll(async () => {
  await svc?.destroy();
});

// ---- helpers ----

async function create(id: string, extra: Partial<CreateReplicationInstanceMessage> = {}): Promise<ReplicationInstance> {
  const out = await client.send(new CreateReplicationInstanceCommand({ ReplicationInstanceIdentifier: id, ReplicationInstanceClass: 'dms.t3.micro', ...extra }));
  return out.ReplicationInstance!;
}

async function describe1(arn: string): Promise<ReplicationInstance> {
  const out = await client.send(new DescribeReplicationInstancesCommand({ Filters: [{ Name: 'replication-instance-arn', Values: [arn] }] }));
  return out.ReplicationInstances![0]!;
}

async function waitStatus(arn: string, status: string, timeoutMs = 20_000): Promise<ReplicationInstance> {
  return waitFor(`${arn} to be ${status}`, async () => {
    const r = await describe1(arn);
    return r.ReplicationInstanceStatus === status ? r : undefined;
  }, timeoutMs, 20);
}

async function createAvailable(id: string, extra: Partial<CreateReplicationInstanceMessage> = {}): Promise<ReplicationInstance> {
  const r = await create(id, extra);
  return waitStatus(r.ReplicationInstanceArn!, 'available');
}

const workDir = (arn: string): string => instanceWorkDir(svc.dataDir, arn);

const pidOf = (arn: string): number | undefined => instancePid(svc.dataDir, arn);
const alive = isAlive;

const cmdline = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');

/** Waits for the instance's pid file to name a live process other than `not`. */
async function waitNewPid(arn: string, not?: number): Promise<number> {
  return waitFor(`a new process for ${arn}`, async () => {
    const pid = pidOf(arn);
    return pid && pid !== not && alive(pid) ? pid : undefined;
  }, 20_000, 20);
}

async function eventsOf(identifier: string): Promise<{ message: string; categories: string[] }[]> {
  const out = await client.send(new DescribeEventsCommand({ SourceType: 'replication-instance', SourceIdentifier: identifier }));
  return (out.Events ?? []).map((e) => ({ message: e.Message!, categories: e.EventCategories ?? [] }));
}

async function fault(p: Promise<unknown>): Promise<{ name: string; message: string; resourceArn?: string }> {
  try {
    await p;
  } catch (err) {
    return err as { name: string; message: string; resourceArn?: string };
  }
  throw new Error('expected the call to fail');
}

async function deleteAndWait(arn: string): Promise<void> {
  await client.send(new DeleteReplicationInstanceCommand({ ReplicationInstanceArn: arn }));
  await waitFor(`${arn} to be deleted`, async () => (await fault(describe1(arn)).catch(() => undefined))?.name === 'ResourceNotFoundFault', 20_000, 20);
}

// ---- tests ----

describe('CreateReplicationInstance', () => {
  it('an unfiltered Describe on an empty account answers an empty list', async () => {
    const out = await client.send(new DescribeReplicationInstancesCommand({}));
    expect(out.ReplicationInstances).toEqual([]);
    expect(out.Marker).toBeUndefined();
  });

  it('launches an instance process: creating, then available once it says hello', async () => {
    const r = await create('Create-Basic', { Tags: [{ Key: 'team', Value: 'data' }] });
    expect(r.ReplicationInstanceStatus).toBe('creating');
    expect(r.ReplicationInstanceIdentifier).toBe('create-basic');
    expect(r.ReplicationInstanceArn).toMatch(/^arn:aws:dms:us-east-1:\d{12}:rep:[A-Z2-7]{26}$/);
    expect(r).toMatchObject({
      ReplicationInstanceClass: 'dms.t3.micro',
      AllocatedStorage: 50,
      EngineVersion: VERSION,
      MultiAZ: false,
      AutoMinorVersionUpgrade: true,
      PubliclyAccessible: true,
      PreferredMaintenanceWindow: 'sun:06:00-sun:06:30',
      PendingModifiedValues: {},
    });
    expect(r.InstanceCreateTime).toBeInstanceOf(Date);
    const available = await waitStatus(r.ReplicationInstanceArn!, 'available');
    expect(available.InstanceCreateTime!.getTime()).toBe(r.InstanceCreateTime!.getTime());

    const pid = await waitNewPid(r.ReplicationInstanceArn!);
    const argv = cmdline(pid);
    expect(argv).toContain('--max-old-space-size=1024');
    expect(argv.some((a) => a.endsWith('instance.js'))).toBe(true);
    // The instance gets its own token, never the API keys.
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
    expect(environ).not.toContain(TEST_KEYS.secretAccessKey);
    expect(environ).not.toContain(TEST_KEYS.accessKeyId);
    const instanceId = r.ReplicationInstanceArn!.split(':').pop()!;
    await waitFor('the instance log', async () => readFileSync(join(workDir(r.ReplicationInstanceArn!), 'instance.log'), 'utf8').includes('connected to the control plane'), 5000, 20);
    const logLines = readFileSync(join(workDir(r.ReplicationInstanceArn!), 'instance.log'), 'utf8').trim().split('\n');
    for (const line of logLines) expect(JSON.parse(line)).toMatchObject({ instanceId });

    const tags = await client.send(new ListTagsForResourceCommand({ ResourceArn: r.ReplicationInstanceArn }));
    expect(tags.TagList).toEqual([expect.objectContaining({ Key: 'team', Value: 'data' })]);
    const events = await eventsOf('create-basic');
    expect(events).toEqual(
      expect.arrayContaining([
        { message: 'Creating replication instance.', categories: ['Creation'] },
        { message: 'Replication instance created.', categories: ['Creation'] },
      ]),
    );
  });

  it('uses ResourceIdentifier as the ARN suffix and refuses it twice', async () => {
    const r = await create('with-resource-id', { ResourceIdentifier: 'my-rep-1', AllocatedStorage: 20, MultiAZ: true, PreferredMaintenanceWindow: 'Mon:01:00-Mon:02:00' });
    expect(r.ReplicationInstanceArn).toMatch(/:rep:my-rep-1$/);
    expect(r.AllocatedStorage).toBe(20);
    expect(r.MultiAZ).toBe(true);
    expect(r.PreferredMaintenanceWindow).toBe('mon:01:00-mon:02:00');
    const f = await fault(create('another-one', { ResourceIdentifier: 'my-rep-1' }));
    expect(f.name).toBe('ResourceAlreadyExistsFault');
    expect(f.resourceArn).toBe(r.ReplicationInstanceArn);
    const available = await waitStatus(r.ReplicationInstanceArn!, 'available');
    expect(available).toMatchObject({ AvailabilityZone: 'us-east-1a', SecondaryAvailabilityZone: 'us-east-1b' });
    // A failover reboot swaps the zones.
    const rebooted = await client.send(new RebootReplicationInstanceCommand({ ReplicationInstanceArn: r.ReplicationInstanceArn, ForceFailover: true }));
    expect(rebooted.ReplicationInstance).toMatchObject({ ReplicationInstanceStatus: 'rebooting', AvailabilityZone: 'us-east-1b', SecondaryAvailabilityZone: 'us-east-1a' });
    await waitStatus(r.ReplicationInstanceArn!, 'available');
    expect(await eventsOf('with-resource-id')).toContainEqual({ message: 'Multi-AZ failover to us-east-1b completed.', categories: ['Failover'] });
  });

  it('refuses a duplicate identifier (case-insensitively) with the existing ARN', async () => {
    const r = await create('dup-check');
    const f = await fault(create('DUP-Check'));
    expect(f.name).toBe('ResourceAlreadyExistsFault');
    expect(f.resourceArn).toBe(r.ReplicationInstanceArn);
    expect(f.message).toContain('dup-check');
  });

  const bad: [string, Partial<CreateReplicationInstanceMessage>, string, RegExp][] = [
    ['an identifier starting with a digit', { ReplicationInstanceIdentifier: '1abc' }, 'InvalidParameterValueException', /ReplicationInstanceIdentifier.*start with a letter/],
    ['a 64-character identifier', { ReplicationInstanceIdentifier: `a${'b'.repeat(63)}` }, 'InvalidParameterValueException', /1 to 63 characters/],
    ['two hyphens', { ReplicationInstanceIdentifier: 'a--b' }, 'InvalidParameterValueException', /consecutive hyphens/],
    ['a trailing hyphen', { ReplicationInstanceIdentifier: 'ab-' }, 'InvalidParameterValueException', /end with a hyphen/],
    ['an unknown class', { ReplicationInstanceClass: 'dms.z9.huge' }, 'InvalidParameterValueException', /ReplicationInstanceClass "dms.z9.huge".*dms.t3.micro/],
    ['an unknown engine version', { EngineVersion: '1.2.3' }, 'InvalidParameterValueException', new RegExp(`EngineVersion "1.2.3".*${VERSION.replace(/\./g, '\\.')}`)],
    ['a malformed maintenance window', { PreferredMaintenanceWindow: 'sunday 06:00' }, 'InvalidParameterValueException', /PreferredMaintenanceWindow.*ddd:hh24:mi-ddd:hh24:mi/],
    ['a maintenance window under 30 minutes', { PreferredMaintenanceWindow: 'sun:06:00-sun:06:29' }, 'InvalidParameterValueException', /at least 30 minutes/],
    ['a maintenance window with a bad day', { PreferredMaintenanceWindow: 'xyz:06:00-sun:07:00' }, 'InvalidParameterValueException', /"xyz" is not a day/],
    ['MultiAZ with an AvailabilityZone', { MultiAZ: true, AvailabilityZone: 'us-east-1a' }, 'InvalidParameterCombinationException', /MultiAZ and AvailabilityZone/],
    ['storage below the minimum', { AllocatedStorage: 4 }, 'InvalidParameterValueException', /AllocatedStorage 4.*between 5 and 6144/],
    ['storage above the maximum', { AllocatedStorage: 7000 }, 'InvalidParameterValueException', /AllocatedStorage 7000/],
    ['a bad ResourceIdentifier', { ResourceIdentifier: 'x'.repeat(32) }, 'InvalidParameterValueException', /ResourceIdentifier/],
    ['an unknown subnet group', { ReplicationSubnetGroupIdentifier: 'nope' }, 'ResourceNotFoundFault', /subnet group "nope"/],
    ['a reserved tag key', { Tags: [{ Key: 'aws:owner', Value: 'x' }] }, 'InvalidParameterValueException', /reserved prefix/],
  ];
  it.each(bad)('refuses %s', async (_what, extra, name, message) => {
    const f = await fault(create('faulty', extra));
    expect(f.name).toBe(name);
    expect(f.message).toMatch(message);
  });

  it('refuses a missing required member', async () => {
    const f = await fault(client.send(new CreateReplicationInstanceCommand({ ReplicationInstanceIdentifier: 'x' } as CreateReplicationInstanceMessage)));
    expect(f.name).toBe('InvalidParameterValueException');
    expect(f.message).toContain('ReplicationInstanceClass');
  });
});

describe('DescribeReplicationInstances', () => {
  it('filters by arn, id (any case), class and engine version; no match is ResourceNotFoundFault', async () => {
    const a = await create('filter-a', { ReplicationInstanceClass: 'dms.t3.small' });
    const b = await create('filter-b', { ReplicationInstanceClass: 'dms.t3.small' });
    const ids = async (filters: { Name: string; Values: string[] }[]): Promise<string[]> =>
      ((await client.send(new DescribeReplicationInstancesCommand({ Filters: filters }))).ReplicationInstances ?? []).map((r) => r.ReplicationInstanceIdentifier!).sort();
    expect(await ids([{ Name: 'replication-instance-arn', Values: [a.ReplicationInstanceArn!] }])).toEqual(['filter-a']);
    expect(await ids([{ Name: 'replication-instance-id', Values: ['FILTER-A', 'filter-b'] }])).toEqual(['filter-a', 'filter-b']);
    expect(await ids([{ Name: 'replication-instance-class', Values: ['dms.t3.small'] }])).toEqual(['filter-a', 'filter-b']);
    expect(
      await ids([
        { Name: 'engine-version', Values: [VERSION] },
        { Name: 'replication-instance-id', Values: ['filter-b'] },
      ]),
    ).toEqual(['filter-b']);
    const none = await fault(client.send(new DescribeReplicationInstancesCommand({ Filters: [{ Name: 'replication-instance-id', Values: ['nobody-here'] }] })));
    expect(none.name).toBe('ResourceNotFoundFault');
    const badName = await fault(client.send(new DescribeReplicationInstancesCommand({ Filters: [{ Name: 'color', Values: ['red'] }] })));
    expect(badName.name).toBe('InvalidParameterValueException');
    expect(badName.message).toContain('replication-instance-class');
    const badValue = await fault(client.send(new DescribeReplicationInstancesCommand({ Filters: [{ Name: 'replication-instance-id', Values: ['bad_id'] }] })));
    expect(badValue.name).toBe('InvalidParameterValueException');
    await Promise.all([waitStatus(a.ReplicationInstanceArn!, 'available'), waitStatus(b.ReplicationInstanceArn!, 'available')]);
  });

  it('pages with Marker/MaxRecords, and the AWS CLI pages through all of them', async () => {
    const made = await Promise.all(Array.from({ length: 21 }, (_, i) => create(`page-${i}`)));
    await Promise.all(made.map((r) => waitStatus(r.ReplicationInstanceArn!, 'available', 60_000)));
    const total = (await client.send(new DescribeReplicationInstancesCommand({}))).ReplicationInstances!.length;
    expect(total).toBeGreaterThanOrEqual(21);
    const first = await client.send(new DescribeReplicationInstancesCommand({ MaxRecords: 20 }));
    expect(first.ReplicationInstances).toHaveLength(20);
    expect(first.Marker).toBeTruthy();
    const second = await client.send(new DescribeReplicationInstancesCommand({ MaxRecords: 20, Marker: first.Marker }));
    expect(second.ReplicationInstances!.length).toBe(Math.min(20, total - 20));
    const seen = new Set([...first.ReplicationInstances!, ...second.ReplicationInstances!].map((r) => r.ReplicationInstanceArn));
    expect(seen.size).toBe(first.ReplicationInstances!.length + second.ReplicationInstances!.length);
    const tooSmall = await fault(client.send(new DescribeReplicationInstancesCommand({ MaxRecords: 10 })));
    expect(tooSmall.name).toBe('InvalidParameterValueException');

    const cli = await svc.aws(['describe-replication-instances', '--page-size', '20', '--query', 'ReplicationInstances[].ReplicationInstanceIdentifier']);
    expect(cli.code, cli.stderr).toBe(0);
    const listed = JSON.parse(cli.stdout) as string[];
    expect(listed).toHaveLength(total);
    for (let i = 0; i < 21; i++) expect(listed).toContain(`page-${i}`);
  });

  it('enforces the quotas: 60 instances (ResourceQuotaExceededFault), 30000 GB in total (StorageQuotaExceededFault)', async () => {
    const existing = (await client.send(new DescribeReplicationInstancesCommand({}))).ReplicationInstances!;
    const usedGB = existing.reduce((s, r) => s + r.AllocatedStorage!, 0);
    // Storage first, while there is room in the count: big instances until the next one would pass 30000 GB.
    const room = 30_000 - usedGB;
    const big = Math.floor(room / 6144);
    const bigOnes = await Promise.all(Array.from({ length: big }, (_, i) => create(`big-${i}`, { AllocatedStorage: 6144 })));
    const sqe = await fault(create('one-too-big', { AllocatedStorage: 6144 }));
    expect(sqe.name).toBe('StorageQuotaExceededFault');
    expect(sqe.message).toMatch(/30000 GB/);
    await Promise.all(bigOnes.map((r) => waitStatus(r.ReplicationInstanceArn!, 'available', 60_000)));
    await Promise.all(bigOnes.map((r) => deleteAndWait(r.ReplicationInstanceArn!)));

    const count = (await client.send(new DescribeReplicationInstancesCommand({}))).ReplicationInstances!.length;
    const fill = await Promise.all(Array.from({ length: 60 - count }, (_, i) => create(`fill-${i}`, { AllocatedStorage: 5 })));
    const rqe = await fault(create('instance-61'));
    expect(rqe.name).toBe('ResourceQuotaExceededFault');
    expect(rqe.message).toMatch(/60 replication instances/);
    await Promise.all(fill.map((r) => waitStatus(r.ReplicationInstanceArn!, 'available', 90_000)));
    await Promise.all(fill.map((r) => deleteAndWait(r.ReplicationInstanceArn!)));
    // Clean up the pagination instances too, so later tests run on a light machine.
    const pages = (await client.send(new DescribeReplicationInstancesCommand({ Filters: [{ Name: 'replication-instance-id', Values: Array.from({ length: 21 }, (_, i) => `page-${i}`) }] })))
      .ReplicationInstances!;
    await Promise.all(pages.map((r) => deleteAndWait(r.ReplicationInstanceArn!)));
  });
});

describe('Reboot, Modify and Delete', () => {
  let arn: string;
  beforeAll(async () => {
    // A maintenance window half a week away, so deferred changes stay pending whatever the day.
    const window = windowStartingAt(new Date(Date.now() + 3.5 * 24 * 3600_000), 60);
    arn = (await createAvailable('lifecycle', { PreferredMaintenanceWindow: window })).ReplicationInstanceArn!;
  });

  it('reboots the process: rebooting, then available with a new PID, with events', async () => {
    const before = await waitNewPid(arn);
    const out = await client.send(new RebootReplicationInstanceCommand({ ReplicationInstanceArn: arn }));
    expect(out.ReplicationInstance!.ReplicationInstanceStatus).toBe('rebooting');
    const busy = await fault(client.send(new RebootReplicationInstanceCommand({ ReplicationInstanceArn: arn })));
    expect(busy.name).toBe('InvalidResourceStateFault');
    expect(busy.message).toContain('rebooting');
    const modifyBusy = await fault(client.send(new ModifyReplicationInstanceCommand({ ReplicationInstanceArn: arn, AllocatedStorage: 60, ApplyImmediately: true })));
    expect(modifyBusy.name).toBe('InvalidResourceStateFault');
    await waitStatus(arn, 'available');
    const after = await waitNewPid(arn, before);
    expect(after).not.toBe(before);
    expect(alive(before)).toBe(false);
    const events = await eventsOf('lifecycle');
    expect(events).toEqual(
      expect.arrayContaining([
        { message: 'Rebooting replication instance.', categories: ['Maintenance'] },
        { message: 'Replication instance rebooted.', categories: ['Maintenance'] },
      ]),
    );
  });

  it('refuses a failover reboot of a single-AZ instance and both failover flags', async () => {
    const f = await fault(client.send(new RebootReplicationInstanceCommand({ ReplicationInstanceArn: arn, ForceFailover: true })));
    expect(f.name).toBe('InvalidParameterCombinationException');
    const both = await fault(client.send(new RebootReplicationInstanceCommand({ ReplicationInstanceArn: arn, ForceFailover: true, ForcePlannedFailover: true })));
    expect(both.name).toBe('InvalidParameterCombinationException');
    const missing = await fault(client.send(new RebootReplicationInstanceCommand({ ReplicationInstanceArn: `${arn}X` })));
    expect(missing.name).toBe('ResourceNotFoundFault');
  });

  it('changes the class immediately: modifying, then a new process with the new memory limit', async () => {
    const before = await waitNewPid(arn);
    const out = await client.send(new ModifyReplicationInstanceCommand({ ReplicationInstanceArn: arn, ReplicationInstanceClass: 'dms.c5.large', ApplyImmediately: true }));
    expect(out.ReplicationInstance).toMatchObject({ ReplicationInstanceStatus: 'modifying', ReplicationInstanceClass: 'dms.c5.large', PendingModifiedValues: {} });
    const r = await waitStatus(arn, 'available');
    expect(r.ReplicationInstanceClass).toBe('dms.c5.large');
    const pid = await waitNewPid(arn, before);
    expect(cmdline(pid)).toContain('--max-old-space-size=4096');
    expect(await eventsOf('lifecycle')).toEqual(
      expect.arrayContaining([{ message: 'Replication instance class changed to dms.c5.large.', categories: ['Configuration Change'] }]),
    );
  });

  it('keeps changes pending without ApplyImmediately, and applies them with the next ApplyImmediately', async () => {
    const pid = await waitNewPid(arn);
    const out = await client.send(new ModifyReplicationInstanceCommand({ ReplicationInstanceArn: arn, ReplicationInstanceClass: 'dms.t3.small', AllocatedStorage: 60 }));
    expect(out.ReplicationInstance).toMatchObject({
      ReplicationInstanceStatus: 'available',
      ReplicationInstanceClass: 'dms.c5.large',
      AllocatedStorage: 50,
      PendingModifiedValues: { ReplicationInstanceClass: 'dms.t3.small', AllocatedStorage: 60 },
    });
    expect(pidOf(arn)).toBe(pid);
    const applied = await client.send(new ModifyReplicationInstanceCommand({ ReplicationInstanceArn: arn, ApplyImmediately: true, AutoMinorVersionUpgrade: false }));
    expect(applied.ReplicationInstance).toMatchObject({
      ReplicationInstanceStatus: 'modifying',
      ReplicationInstanceClass: 'dms.t3.small',
      AllocatedStorage: 60,
      AutoMinorVersionUpgrade: false,
      PendingModifiedValues: {},
    });
    await waitStatus(arn, 'available');
    expect(cmdline(await waitNewPid(arn, pid))).toContain('--max-old-space-size=2048');
  });

  it('applies deferred changes in the maintenance window', async () => {
    const inWindow = windowStartingAt(new Date(Date.now() - 60_000), 60);
    const r = await createAvailable('in-window', { PreferredMaintenanceWindow: inWindow });
    const out = await client.send(new ModifyReplicationInstanceCommand({ ReplicationInstanceArn: r.ReplicationInstanceArn, ReplicationInstanceClass: 'dms.t3.medium' }));
    expect(out.ReplicationInstance).toMatchObject({ ReplicationInstanceStatus: 'available', PendingModifiedValues: { ReplicationInstanceClass: 'dms.t3.medium' } });
    await waitFor('the window to apply the change', async () => {
      const d = await describe1(r.ReplicationInstanceArn!);
      return d.ReplicationInstanceStatus === 'available' && d.ReplicationInstanceClass === 'dms.t3.medium' && !d.PendingModifiedValues?.ReplicationInstanceClass;
    }, 20_000, 20);
    expect(cmdline(await waitNewPid(r.ReplicationInstanceArn!))).toContain('--max-old-space-size=4096');
    expect((await eventsOf('in-window')).map((e) => e.message)).toEqual(
      expect.arrayContaining(['Applying pending modifications in the maintenance window.', 'Replication instance class changed to dms.t3.medium.']),
    );
    await deleteAndWait(r.ReplicationInstanceArn!);
  });

  it('renames, changes the maintenance window, and refuses bad modifications', async () => {
    const other = await create('lifecycle-other');
    const clash = await fault(client.send(new ModifyReplicationInstanceCommand({ ReplicationInstanceArn: arn, ReplicationInstanceIdentifier: 'Lifecycle-Other' })));
    expect(clash.name).toBe('ResourceAlreadyExistsFault');
    expect(clash.resourceArn).toBe(other.ReplicationInstanceArn);
    const cases: [Record<string, unknown>, string][] = [
      [{ PreferredMaintenanceWindow: 'sun:23:50-mon:00:10' }, 'InvalidParameterValueException'],
      [{ ReplicationInstanceClass: 'dms.t1.nano' }, 'InvalidParameterValueException'],
      [{ EngineVersion: '0.0.1' }, 'InvalidParameterValueException'],
      [{ AllocatedStorage: 2 }, 'InvalidParameterValueException'],
      [{ ReplicationInstanceIdentifier: '-x' }, 'InvalidParameterValueException'],
    ];
    for (const [extra, name] of cases) {
      const f = await fault(client.send(new ModifyReplicationInstanceCommand({ ReplicationInstanceArn: arn, ...extra })));
      expect(f.name, JSON.stringify(extra)).toBe(name);
    }
    const missing = await fault(client.send(new ModifyReplicationInstanceCommand({ ReplicationInstanceArn: 'arn:aws:dms:us-east-1:123456789012:rep:NOPE' })));
    expect(missing.name).toBe('ResourceNotFoundFault');
    const out = await client.send(
      new ModifyReplicationInstanceCommand({ ReplicationInstanceArn: arn, ReplicationInstanceIdentifier: 'Lifecycle-Renamed', PreferredMaintenanceWindow: 'Sat:22:00-Sun:01:00' }),
    );
    expect(out.ReplicationInstance).toMatchObject({
      ReplicationInstanceIdentifier: 'lifecycle-renamed',
      PreferredMaintenanceWindow: 'sat:22:00-sun:01:00',
      ReplicationInstanceStatus: 'available',
    });
    expect((await describe1(arn)).ReplicationInstanceIdentifier).toBe('lifecycle-renamed');
    await waitStatus(other.ReplicationInstanceArn!, 'available');
    await deleteAndWait(other.ReplicationInstanceArn!);
  });

  it('deletes: deleting, the process stops, the work dir goes, then ResourceNotFoundFault', async () => {
    const pid = await waitNewPid(arn);
    const dir = workDir(arn);
    const out = await client.send(new DeleteReplicationInstanceCommand({ ReplicationInstanceArn: arn }));
    expect(out.ReplicationInstance!.ReplicationInstanceStatus).toBe('deleting');
    const again = await fault(client.send(new DeleteReplicationInstanceCommand({ ReplicationInstanceArn: arn })));
    expect(['InvalidResourceStateFault', 'ResourceNotFoundFault']).toContain(again.name);
    await waitFor('the instance to be gone', async () => (await fault(describe1(arn)).catch(() => undefined))?.name === 'ResourceNotFoundFault', 20_000, 20);
    expect(alive(pid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
    const gone = await fault(client.send(new DeleteReplicationInstanceCommand({ ReplicationInstanceArn: arn })));
    expect(gone.name).toBe('ResourceNotFoundFault');
    expect(await eventsOf('lifecycle-renamed')).toEqual(
      expect.arrayContaining([
        { message: 'Deleting replication instance.', categories: ['Deletion'] },
        { message: 'Replication instance deleted.', categories: ['Deletion'] },
      ]),
    );
  });

  it('refuses to delete an instance while a task is assigned to it; the task log of a task that ran is listed', async () => {
    const inst = await createAvailable('with-task');
    const deadPort = await freePort();
    const endpoint = async (id: string, type: 'source' | 'target'): Promise<string> =>
      (
        await client.send(
          new CreateEndpointCommand({ EndpointIdentifier: id, EndpointType: type, EngineName: 'postgres', ServerName: '127.0.0.1', Port: deadPort, DatabaseName: 'db', Username: 'u', Password: 'p' }),
        )
      ).Endpoint!.EndpointArn!;
    const source = await endpoint('inst-src', 'source');
    const target = await endpoint('inst-tgt', 'target');
    const task = await client.send(
      new CreateReplicationTaskCommand({
        ReplicationTaskIdentifier: 'assigned-task',
        SourceEndpointArn: source,
        TargetEndpointArn: target,
        ReplicationInstanceArn: inst.ReplicationInstanceArn,
        MigrationType: 'full-load',
        TableMappings: JSON.stringify({ rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': '1', 'object-locator': { 'schema-name': 'public', 'table-name': '%' }, 'rule-action': 'include' }] }),
      }),
    );
    const taskArn = task.ReplicationTask!.ReplicationTaskArn!;
    const refused = await fault(client.send(new DeleteReplicationInstanceCommand({ ReplicationInstanceArn: inst.ReplicationInstanceArn })));
    expect(refused.name).toBe('InvalidResourceStateFault');
    expect(refused.message).toContain('assigned-task');
    expect((await describe1(inst.ReplicationInstanceArn!)).ReplicationInstanceStatus).toBe('available');

    await waitFor('the task to be ready', async () => {
      const t = await client.send(new DescribeReplicationTasksCommand({ Filters: [{ Name: 'replication-task-arn', Values: [taskArn] }] }));
      return t.ReplicationTasks![0]!.Status === 'ready';
    }, 20_000, 50);
    // Run it: the instance hosts it (nothing listens on the endpoints' port) and keeps its log
    // where DescribeReplicationInstanceTaskLogs looks.
    await client.send(new StartReplicationTaskCommand({ ReplicationTaskArn: taskArn, StartReplicationTaskType: 'start-replication' }));
    const logs = await waitFor('the task log', async () => {
      const out = await client.send(new DescribeReplicationInstanceTaskLogsCommand({ ReplicationInstanceArn: inst.ReplicationInstanceArn }));
      return (out.ReplicationInstanceTaskLogs?.[0]?.ReplicationInstanceTaskLogSize ?? 0) > 0 ? out.ReplicationInstanceTaskLogs : undefined;
    }, 20_000, 50);
    expect(logs).toEqual([{ ReplicationTaskName: 'assigned-task', ReplicationTaskArn: taskArn, ReplicationInstanceTaskLogSize: expect.any(Number) }]);
    await client.send(new StopReplicationTaskCommand({ ReplicationTaskArn: taskArn })).catch((err: { name?: string }) => {
      if (err.name !== 'InvalidResourceStateFault') throw err; // it failed by itself already: nothing to stop
    });
    await waitFor('the task to stop', async () => {
      const t = await client.send(new DescribeReplicationTasksCommand({ Filters: [{ Name: 'replication-task-arn', Values: [taskArn] }] }));
      return ['stopped', 'failed'].includes(t.ReplicationTasks![0]!.Status!);
    }, 30_000, 50);

    await client.send(new DeleteReplicationTaskCommand({ ReplicationTaskArn: taskArn }));
    await waitFor('the task to be deleted', async () => {
      const f = await fault(client.send(new DescribeReplicationTasksCommand({ Filters: [{ Name: 'replication-task-arn', Values: [taskArn] }] }))).catch(() => undefined);
      return f?.name === 'ResourceNotFoundFault';
    }, 20_000, 50);
    await deleteAndWait(inst.ReplicationInstanceArn!);
  });
});

describe('catalog operations', () => {
  it('DescribeOrderableReplicationInstances lists one row per class and engine version, paged', async () => {
    const all = await client.send(new DescribeOrderableReplicationInstancesCommand({}));
    const rows = all.OrderableReplicationInstances!;
    const classes = rows.map((r) => r.ReplicationInstanceClass);
    for (const c of ['dms.t3.micro', 'dms.t3.medium', 'dms.c5.xlarge', 'dms.r5.large', 'dms.r5.4xlarge']) expect(classes).toContain(c);
    expect(new Set(rows.map((r) => `${r.ReplicationInstanceClass}/${r.EngineVersion}`)).size).toBe(rows.length);
    expect(rows.find((r) => r.ReplicationInstanceClass === 'dms.r5.large')).toMatchObject({
      EngineVersion: VERSION,
      StorageType: 'gp2',
      MinAllocatedStorage: 5,
      MaxAllocatedStorage: 6144,
      DefaultAllocatedStorage: 50,
      IncludedAllocatedStorage: 100,
      ReleaseStatus: 'prod',
    });
    expect(rows.find((r) => r.ReplicationInstanceClass === 'dms.t3.micro')!.IncludedAllocatedStorage).toBe(50);
    const page = await client.send(new DescribeOrderableReplicationInstancesCommand({ MaxRecords: 20 }));
    expect(page.OrderableReplicationInstances).toHaveLength(20);
    expect(page.Marker).toBeTruthy();
    const cli = await svc.aws(['describe-orderable-replication-instances', '--query', 'OrderableReplicationInstances[*].[ReplicationInstanceClass,EngineVersion]']);
    expect(cli.code, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout)).toContainEqual(['dms.t3.micro', VERSION]);
  });

  it('DescribeEngineVersions lists the running build as the default version', async () => {
    const out = await client.send(new DescribeEngineVersionsCommand({}));
    expect(out.EngineVersions).toEqual([expect.objectContaining({ Version: VERSION, Lifecycle: 'DEFAULT_VERSION', ReleaseStatus: 'prod', AvailableUpgrades: [] })]);
  });

  it('DescribeReplicationInstanceTaskLogs answers for an instance and refuses an unknown one', async () => {
    const r = await create('task-logs');
    const out = await client.send(new DescribeReplicationInstanceTaskLogsCommand({ ReplicationInstanceArn: r.ReplicationInstanceArn }));
    expect(out.ReplicationInstanceArn).toBe(r.ReplicationInstanceArn);
    expect(out.ReplicationInstanceTaskLogs).toEqual([]);
    const f = await fault(client.send(new DescribeReplicationInstanceTaskLogsCommand({ ReplicationInstanceArn: `${r.ReplicationInstanceArn}X` })));
    expect(f.name).toBe('ResourceNotFoundFault');
    await waitStatus(r.ReplicationInstanceArn!, 'available');
    await deleteAndWait(r.ReplicationInstanceArn!);
  });
});

describe('AWS CLI', () => {
  it('create, wait replication-instance-available, delete, wait replication-instance-deleted', async () => {
    const created = await svc.aws([
      'create-replication-instance',
      '--replication-instance-identifier',
      'cli-instance',
      '--replication-instance-class',
      'dms.t3.micro',
      '--allocated-storage',
      '10',
    ]);
    expect(created.code, created.stderr).toBe(0);
    const arn = (JSON.parse(created.stdout) as { ReplicationInstance: ReplicationInstance }).ReplicationInstance.ReplicationInstanceArn!;
    // The waiter polls every 60 s; on a loaded machine its first poll could come before the hello.
    await waitStatus(arn, 'available');
    const waited = await svc.aws(['wait', 'replication-instance-available', '--filters', `Name=replication-instance-arn,Values=${arn}`]);
    expect(waited.code, waited.stderr).toBe(0);
    expect((await describe1(arn)).ReplicationInstanceStatus).toBe('available');
    const deleted = await svc.aws(['delete-replication-instance', '--replication-instance-arn', arn, '--query', 'ReplicationInstance.ReplicationInstanceStatus', '--output', 'text']);
    expect(deleted.stdout.trim()).toBe('deleting');
    const gone = await svc.aws(['wait', 'replication-instance-deleted', '--filters', `Name=replication-instance-arn,Values=${arn}`]);
    expect(gone.code, gone.stderr).toBe(0);
    const described = await svc.aws(['describe-replication-instances', '--filters', `Name=replication-instance-arn,Values=${arn}`]);
    expect(described.code).not.toBe(0);
    expect(described.stderr).toContain('ResourceNotFoundFault');
  });
});

describe('storage quota', () => {
  it('goes storage-full when the work dir passes AllocatedStorage, and back when it shrinks', async () => {
    const r = await createAvailable('small-disk', { AllocatedStorage: 5 });
    const arn = r.ReplicationInstanceArn!;
    // A sparse file: counts in full against the quota without using the disk.
    const big = join(workDir(arn), 'spill.bin');
    writeFileSync(big, '');
    truncateSync(big, 6 * 1024 ** 3);
    await waitStatus(arn, 'storage-full', 10_000);
    const modify = await fault(client.send(new ModifyReplicationInstanceCommand({ ReplicationInstanceArn: arn, AutoMinorVersionUpgrade: false, ApplyImmediately: true })));
    expect(modify.name).toBe('InvalidResourceStateFault');
    rmSync(big);
    await waitStatus(arn, 'available', 10_000);
    const messages = (await eventsOf('small-disk')).map((e) => e.message);
    expect(messages.some((m) => /storage is full: 6\.00 GB used of 5 GB/.test(m))).toBe(true);
    expect(messages.some((m) => /no longer full/.test(m))).toBe(true);

    // A full instance can still grow its storage.
    truncateSync(join(workDir(arn), 'instance.log'), 0);
    writeFileSync(big, '');
    truncateSync(big, 6 * 1024 ** 3);
    await waitStatus(arn, 'storage-full', 10_000);
    const grown = await client.send(new ModifyReplicationInstanceCommand({ ReplicationInstanceArn: arn, AllocatedStorage: 10, ApplyImmediately: true }));
    expect(grown.ReplicationInstance!.ReplicationInstanceStatus).toBe('modifying');
    const after = await waitStatus(arn, 'available', 10_000);
    expect(after.AllocatedStorage).toBe(10);
    await deleteAndWait(arn);
  });
});

describe('restart persistence', () => {
  it('a restarted service brings its instances back, available, with new processes', async () => {
    const r = await createAvailable('survivor', { ReplicationInstanceClass: 'dms.t3.medium' });
    const arn = r.ReplicationInstanceArn!;
    const before = await waitNewPid(arn);
    await svc.restart();
    expect(alive(before)).toBe(false);
    client = steadyClient(svc);
    const back = await waitStatus(arn, 'available');
    expect(back).toMatchObject({ ReplicationInstanceIdentifier: 'survivor', ReplicationInstanceClass: 'dms.t3.medium' });
    const after = await waitNewPid(arn, before);
    expect(cmdline(after)).toContain('--max-old-space-size=4096');
  });

  it('refuses a second control plane on the same data dir, leaving the first one and its instances alone', async () => {
    const all = (await client.send(new DescribeReplicationInstancesCommand({}))).ReplicationInstances!;
    const pids = await Promise.all(all.map(async (r) => (await waitStatus(r.ReplicationInstanceArn!, 'available'), waitNewPid(r.ReplicationInstanceArn!))));
    const second = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [OPENDMS_BIN, 'serve', '--port', '0', '--data-dir', svc.dataDir, '--log-level', 'silent'],
        { env: { ...process.env, OPENDMS_ACCESS_KEY_ID: TEST_KEYS.accessKeyId, OPENDMS_SECRET_ACCESS_KEY: TEST_KEYS.secretAccessKey }, timeout: 30_000 },
        (err, _stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr: String(stderr) }),
      );
    });
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/another opendms control plane is running on data dir/);
    for (const pid of pids) expect(alive(pid)).toBe(true);
    expect((await client.send(new DescribeReplicationInstancesCommand({}))).ReplicationInstances!.every((r) => r.ReplicationInstanceStatus === 'available')).toBe(true);
  });
});
