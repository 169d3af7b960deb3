/**
 * Tags, events and account attributes through the real service, with the AWS SDK v3 and the
 * AWS CLI: tag round-trips on endpoints and instances, ResourceNotFoundFault for unknown ARNs,
 * tag validation faults, the DescribeEvents time window, categories, filters and pagination, and
 * DescribeAccountAttributes quotas with usage.
 */
import {
  AddTagsToResourceCommand,
  CreateEndpointCommand,
  CreateReplicationInstanceCommand,
  DeleteEndpointCommand,
  DeleteReplicationInstanceCommand,
  DescribeAccountAttributesCommand,
  DescribeEventCategoriesCommand,
  DescribeEventsCommand,
  ListTagsForResourceCommand,
  RemoveTagsFromResourceCommand,
  type DatabaseMigrationServiceClient,
} from '@aws-sdk/client-database-migration-service';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/ports.js';
import { startService, type RunningService } from '../helpers/service.js';

let svc: RunningService;
let dms: DatabaseMigrationServiceClient;
const ACCOUNT = '123456789012';

beforeAll(async () => {
  svc = await startService();
  dms = svc.client();
});
afterAll(async () => {
  await svc?.destroy();
});

async function createEndpoint(id: string, tags?: { Key: string; Value: string }[]): Promise<string> {
  const r = await dms.send(
    new CreateEndpointCommand({
      EndpointIdentifier: id,
      EndpointType: 'source',
      EngineName: 'postgres',
      ServerName: '127.0.0.1',
      Port: 5432,
      DatabaseName: 'app',
      Username: 'u',
      Password: 'secret-password',
      ...(tags ? { Tags: tags } : {}),
    }),
  );
  return r.Endpoint!.EndpointArn!;
}

describe('tags', () => {
  it('round-trips on an endpoint: add, overwrite, list, remove (SDK)', async () => {
    const arn = await createEndpoint('tagged-ep', [{ Key: 'created', Value: 'on-create' }]);
    await dms.send(new AddTagsToResourceCommand({ ResourceArn: arn, Tags: [{ Key: 'team', Value: 'data' }, { Key: 'env', Value: 'dev' }] }));
    await dms.send(new AddTagsToResourceCommand({ ResourceArn: arn, Tags: [{ Key: 'env', Value: 'prod' }] }));
    const listed = await dms.send(new ListTagsForResourceCommand({ ResourceArn: arn }));
    expect(listed.TagList).toEqual([
      { Key: 'created', Value: 'on-create', ResourceArn: arn },
      { Key: 'env', Value: 'prod', ResourceArn: arn },
      { Key: 'team', Value: 'data', ResourceArn: arn },
    ]);
    await dms.send(new RemoveTagsFromResourceCommand({ ResourceArn: arn, TagKeys: ['env', 'not-there'] }));
    const after = await dms.send(new ListTagsForResourceCommand({ ResourceArn: arn }));
    expect(after.TagList!.map((t) => t.Key)).toEqual(['created', 'team']);
  });

  it('lists several resources at once with ResourceArnList, each tag naming its resource', async () => {
    const a = await createEndpoint('list-a', [{ Key: 'k', Value: 'a' }]);
    const b = await createEndpoint('list-b', [{ Key: 'k', Value: 'b' }]);
    const r = await dms.send(new ListTagsForResourceCommand({ ResourceArnList: [a, b] }));
    expect(r.TagList).toEqual([
      { Key: 'k', Value: 'a', ResourceArn: a },
      { Key: 'k', Value: 'b', ResourceArn: b },
    ]);
  });

  it('round-trips through the AWS CLI', async () => {
    const arn = await createEndpoint('cli-tagged');
    const add = await svc.aws(['add-tags-to-resource', '--resource-arn', arn, '--tags', 'Key=owner,Value=ops team', 'Key=cost-center,Value=42']);
    expect(add.code, add.stderr).toBe(0);
    const list = await svc.aws(['list-tags-for-resource', '--resource-arn', arn]);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual({
      TagList: [
        { Key: 'cost-center', Value: '42', ResourceArn: arn },
        { Key: 'owner', Value: 'ops team', ResourceArn: arn },
      ],
    });
    const rm = await svc.aws(['remove-tags-from-resource', '--resource-arn', arn, '--tag-keys', 'owner']);
    expect(rm.code, rm.stderr).toBe(0);
    const again = JSON.parse((await svc.aws(['list-tags-for-resource', '--resource-arn', arn])).stdout) as { TagList: { Key: string }[] };
    expect(again.TagList.map((t) => t.Key)).toEqual(['cost-center']);
  });

  it('answers ResourceNotFoundFault for ARNs that name nothing, whatever their type', async () => {
    for (const type of ['rep', 'endpoint', 'task', 'cert']) {
      const arn = `arn:aws:dms:us-east-1:${ACCOUNT}:${type}:NOSUCHRESOURCE`;
      await expect(dms.send(new AddTagsToResourceCommand({ ResourceArn: arn, Tags: [{ Key: 'a', Value: 'b' }] }))).rejects.toMatchObject({
        name: 'ResourceNotFoundFault',
        message: expect.stringContaining(`${arn} (ResourceArn) not found`) as unknown,
      });
      await expect(dms.send(new ListTagsForResourceCommand({ ResourceArn: arn }))).rejects.toMatchObject({ name: 'ResourceNotFoundFault' });
      await expect(dms.send(new RemoveTagsFromResourceCommand({ ResourceArn: arn, TagKeys: ['a'] }))).rejects.toMatchObject({ name: 'ResourceNotFoundFault' });
    }
    // An existing endpoint's id under another account or region is still not found.
    const arn = await createEndpoint('other-account');
    await expect(dms.send(new ListTagsForResourceCommand({ ResourceArn: arn.replace(ACCOUNT, '999999999999') }))).rejects.toMatchObject({ name: 'ResourceNotFoundFault' });
    await expect(dms.send(new ListTagsForResourceCommand({ ResourceArnList: [arn, arn.replace(':endpoint:', ':task:')] }))).rejects.toMatchObject({
      name: 'ResourceNotFoundFault',
      message: expect.stringContaining('(ResourceArnList) not found') as unknown,
    });
    const cli = await svc.aws(['list-tags-for-resource', '--resource-arn', `arn:aws:dms:us-east-1:${ACCOUNT}:task:NOPE`]);
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toContain('ResourceNotFoundFault');
  });

  it('drops the tags of a deleted endpoint with it', async () => {
    const arn = await createEndpoint('short-lived', [{ Key: 'k', Value: 'v' }]);
    await dms.send(new DeleteEndpointCommand({ EndpointArn: arn }));
    await expect(dms.send(new ListTagsForResourceCommand({ ResourceArn: arn }))).rejects.toMatchObject({ name: 'ResourceNotFoundFault' });
  });

  it('refuses malformed ARNs, a missing ARN and invalid tags with InvalidParameterValueException', async () => {
    const arn = await createEndpoint('validated');
    const bad: [() => Promise<unknown>, RegExp][] = [
      [() => dms.send(new ListTagsForResourceCommand({ ResourceArn: 'not-an-arn' })), /ResourceArn "not-an-arn" is not a DMS ARN/],
      [() => dms.send(new ListTagsForResourceCommand({})), /ResourceArn or ResourceArnList is required/],
      [() => dms.send(new AddTagsToResourceCommand({ ResourceArn: arn, Tags: [{ Key: 'aws:owner', Value: 'x' }] })), /"aws:owner" starts with a reserved prefix/],
      [() => dms.send(new AddTagsToResourceCommand({ ResourceArn: arn, Tags: [{ Key: 'DMS:thing', Value: 'x' }] })), /reserved prefix/],
      [() => dms.send(new AddTagsToResourceCommand({ ResourceArn: arn, Tags: [{ Key: 'k'.repeat(129), Value: 'x' }] })), /at most 128 characters/],
      [() => dms.send(new AddTagsToResourceCommand({ ResourceArn: arn, Tags: [{ Key: 'k', Value: 'v'.repeat(257) }] })), /Value for key "k" is too long/],
      [() => dms.send(new AddTagsToResourceCommand({ ResourceArn: arn, Tags: [{ Key: 'semi;colon', Value: 'x' }] })), /"semi;colon" has characters a tag cannot hold/],
      [() => dms.send(new AddTagsToResourceCommand({ ResourceArn: arn, Tags: [{ Key: 'a', Value: '1' }, { Key: 'a', Value: '2' }] })), /lists the key "a" twice/],
      [() => dms.send(new AddTagsToResourceCommand({ ResourceArn: arn, Tags: Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })) })), /at most 50/],
    ];
    for (const [send, message] of bad) {
      await expect(send()).rejects.toMatchObject({ name: 'InvalidParameterValueException', message: expect.stringMatching(message) as unknown });
    }
    // 50 in total is the limit across calls, too.
    await dms.send(new AddTagsToResourceCommand({ ResourceArn: arn, Tags: Array.from({ length: 30 }, (_, i) => ({ Key: `a${i}`, Value: 'v' })) }));
    await expect(
      dms.send(new AddTagsToResourceCommand({ ResourceArn: arn, Tags: Array.from({ length: 21 }, (_, i) => ({ Key: `b${i}`, Value: 'v' })) })),
    ).rejects.toMatchObject({ name: 'InvalidParameterValueException', message: expect.stringContaining('would have 51 tags') as unknown });
    const creating = dms.send(
      new CreateEndpointCommand({ EndpointIdentifier: 'bad-tags', EndpointType: 'target', EngineName: 'postgres', ServerName: 'h', DatabaseName: 'd', Username: 'u', Tags: [{ Key: 'dms:x', Value: 'y' }] }),
    );
    await expect(creating).rejects.toMatchObject({ name: 'InvalidParameterValueException' });
  });
});

interface SeedEvent {
  id: string;
  type: string;
  message: string;
  categories: string[];
  minutesAgo: number;
}

/** Writes events with chosen dates straight into the service's store: the only way to test the time window. */
function seedEvents(events: SeedEvent[]): void {
  const db = new Database(join(svc.dataDir, 'metadata.sqlite3'));
  try {
    const stmt = db.prepare('INSERT INTO events (source_identifier, source_type, source_arn, message, categories, date) VALUES (?, ?, NULL, ?, ?, ?)');
    for (const e of events) stmt.run(e.id, e.type, e.message, JSON.stringify(e.categories), new Date(Date.now() - e.minutesAgo * 60_000).toISOString());
  } finally {
    db.close();
  }
}

describe('events', () => {
  beforeAll(() => {
    seedEvents([
      { id: 'seed-inst', type: 'replication-instance', message: 'seed: old creation', categories: ['Creation'], minutesAgo: 180 },
      { id: 'seed-inst', type: 'replication-instance', message: 'seed: storage low', categories: ['LowStorage'], minutesAgo: 30 },
      { id: 'seed-task', type: 'replication-task', message: 'seed: task started', categories: ['State Change'], minutesAgo: 20 },
      { id: 'seed-task', type: 'replication-task', message: 'seed: task failed', categories: ['Failure'], minutesAgo: 10 },
      // Stored after a newer event but dated before it: listed by date, not by insertion.
      { id: 'seed-task', type: 'replication-task', message: 'seed: task created', categories: ['Creation'], minutesAgo: 25 },
      ...Array.from({ length: 25 }, (_, i) => ({ id: 'seed-many', type: 'replication-task', message: `seed: many ${i}`, categories: ['Configuration Change'], minutesAgo: 50 - i })),
    ]);
  });

  const seeded = (events: { Message?: string }[] | undefined): string[] => (events ?? []).map((e) => e.Message!).filter((m) => m.startsWith('seed: '));

  it('covers the last hour by default, oldest first', async () => {
    const r = await dms.send(new DescribeEventsCommand({ SourceIdentifier: 'seed-inst' }));
    expect(seeded(r.Events)).toEqual(['seed: storage low']);
    expect(r.Events![0]).toMatchObject({ SourceIdentifier: 'seed-inst', SourceType: 'replication-instance', EventCategories: ['LowStorage'] });
    expect(r.Events![0]!.Date).toBeInstanceOf(Date);
    expect(Math.abs(r.Events![0]!.Date!.getTime() - (Date.now() - 30 * 60_000))).toBeLessThan(60_000);
  });

  it('honours Duration, StartTime and EndTime', async () => {
    expect(seeded((await dms.send(new DescribeEventsCommand({ SourceIdentifier: 'seed-inst', Duration: 240 }))).Events)).toEqual([
      'seed: old creation',
      'seed: storage low',
    ]);
    expect(seeded((await dms.send(new DescribeEventsCommand({ SourceIdentifier: 'seed-task', Duration: 15 }))).Events)).toEqual(['seed: task failed']);
    expect(seeded((await dms.send(new DescribeEventsCommand({ SourceIdentifier: 'seed-task' }))).Events)).toEqual(['seed: task created', 'seed: task started', 'seed: task failed']);
    const start = new Date(Date.now() - 200 * 60_000);
    const end = new Date(Date.now() - 100 * 60_000);
    expect(seeded((await dms.send(new DescribeEventsCommand({ SourceIdentifier: 'seed-inst', StartTime: start, EndTime: end }))).Events)).toEqual(['seed: old creation']);
    expect(seeded((await dms.send(new DescribeEventsCommand({ SourceIdentifier: 'seed-inst', StartTime: start }))).Events)).toHaveLength(2);
    expect(seeded((await dms.send(new DescribeEventsCommand({ SourceIdentifier: 'seed-inst', StartTime: start, Duration: 60 }))).Events)).toEqual(['seed: old creation']);
    await expect(dms.send(new DescribeEventsCommand({ StartTime: end, EndTime: start }))).rejects.toMatchObject({
      name: 'InvalidParameterValueException',
      message: expect.stringContaining('StartTime') as unknown,
    });
    await expect(dms.send(new DescribeEventsCommand({ Duration: -1 }))).rejects.toMatchObject({ name: 'InvalidParameterValueException' });
    // A Duration reaching past the dates a timestamp can hold is a bad parameter, not a server error.
    for (const input of [{ Duration: 1e15 }, { StartTime: start, Duration: 1e15 }]) {
      await expect(dms.send(new DescribeEventsCommand(input))).rejects.toMatchObject({
        name: 'InvalidParameterValueException',
        message: expect.stringContaining('Duration') as unknown,
      });
    }
  });

  it('filters by categories (case-insensitively), source type and replication-instance-id', async () => {
    const failures = await dms.send(new DescribeEventsCommand({ EventCategories: ['failure'] }));
    expect(seeded(failures.Events)).toEqual(['seed: task failed']);
    const instances = await dms.send(new DescribeEventsCommand({ SourceType: 'replication-instance', Duration: 240 }));
    expect(seeded(instances.Events)).toEqual(['seed: old creation', 'seed: storage low']);
    const byFilter = await dms.send(new DescribeEventsCommand({ Filters: [{ Name: 'replication-instance-id', Values: ['SEED-INST'] }] }));
    expect(seeded(byFilter.Events)).toEqual(['seed: storage low']);
    await expect(dms.send(new DescribeEventsCommand({ Filters: [{ Name: 'task-id', Values: ['x'] }] }))).rejects.toMatchObject({
      name: 'InvalidParameterValueException',
      message: expect.stringContaining('replication-instance-id') as unknown,
    });
  });

  it('paginates with MaxRecords and Marker, and the AWS CLI follows the markers', async () => {
    const first = await dms.send(new DescribeEventsCommand({ SourceIdentifier: 'seed-many', MaxRecords: 20 }));
    expect(first.Events).toHaveLength(20);
    expect(first.Marker).toBeTruthy();
    const second = await dms.send(new DescribeEventsCommand({ SourceIdentifier: 'seed-many', MaxRecords: 20, Marker: first.Marker }));
    expect(second.Events).toHaveLength(5);
    expect(second.Marker).toBeUndefined();
    expect([...first.Events!, ...second.Events!].map((e) => e.Message)).toEqual(Array.from({ length: 25 }, (_, i) => `seed: many ${i}`));
    const cli = await svc.aws(['describe-events', '--source-identifier', 'seed-many', '--page-size', '20']);
    expect(cli.code, cli.stderr).toBe(0);
    expect((JSON.parse(cli.stdout) as { Events: unknown[] }).Events).toHaveLength(25);
  });

  it('records a real instance creation event, visible by id filter and source type (CLI too)', async () => {
    const created = await dms.send(new CreateReplicationInstanceCommand({ ReplicationInstanceIdentifier: 'evt-inst', ReplicationInstanceClass: 'dms.t3.micro', AllocatedStorage: 5 }));
    const arn = created.ReplicationInstance!.ReplicationInstanceArn!;
    try {
      await waitFor('an instance creation event', async () => {
        const r = await dms.send(new DescribeEventsCommand({ SourceType: 'replication-instance', Filters: [{ Name: 'replication-instance-id', Values: ['evt-inst'] }] }));
        return (r.Events ?? []).some((e) => e.EventCategories?.some((c) => c.toLowerCase() === 'creation'));
      }, 60_000, 250);
      const cli = await svc.aws(['describe-events', '--source-identifier', 'evt-inst', '--event-categories', 'Creation']);
      expect(cli.code, cli.stderr).toBe(0);
      expect((JSON.parse(cli.stdout) as { Events: { SourceIdentifier: string }[] }).Events[0]!.SourceIdentifier).toBe('evt-inst');
      // The instance is taggable by its `rep` ARN.
      await dms.send(new AddTagsToResourceCommand({ ResourceArn: arn, Tags: [{ Key: 'tier', Value: 'gold' }] }));
      expect((await dms.send(new ListTagsForResourceCommand({ ResourceArn: arn }))).TagList).toEqual([{ Key: 'tier', Value: 'gold', ResourceArn: arn }]);
    } finally {
      await dms.send(new DeleteReplicationInstanceCommand({ ReplicationInstanceArn: arn })).catch(() => undefined);
    }
  });

  it('describes event categories per source type', async () => {
    const all = await dms.send(new DescribeEventCategoriesCommand({}));
    expect(all.EventCategoryGroupList!.map((g) => g.SourceType)).toEqual(['replication-instance', 'replication-task']);
    expect(all.EventCategoryGroupList![0]!.EventCategories).toEqual(expect.arrayContaining(['Creation', 'Deletion', 'Failover', 'Failure', 'LowStorage', 'Maintenance', 'Configuration Change']));
    const tasks = await dms.send(new DescribeEventCategoriesCommand({ SourceType: 'replication-task' }));
    expect(tasks.EventCategoryGroupList).toEqual([{ SourceType: 'replication-task', EventCategories: ['State Change', 'Failure', 'Configuration Change', 'Deletion', 'Creation'] }]);
    await expect(dms.send(new DescribeEventCategoriesCommand({ SourceType: 'bucket' }))).rejects.toMatchObject({ name: 'InvalidParameterValueException' });
    const cli = await svc.aws(['describe-event-categories', '--source-type', 'replication-instance']);
    expect(cli.code, cli.stderr).toBe(0);
    expect((JSON.parse(cli.stdout) as { EventCategoryGroupList: unknown[] }).EventCategoryGroupList).toHaveLength(1);
  });
});

describe('account attributes', () => {
  it('lists the quotas with current usage and a stable c+11-digit identifier', async () => {
    const before = await dms.send(new DescribeAccountAttributesCommand({}));
    const quota = (r: typeof before, name: string) => r.AccountQuotas!.find((q) => q.AccountQuotaName === name);
    expect(quota(before, 'ReplicationInstances')!.Max).toBe(60);
    expect(quota(before, 'AllocatedStorage')!.Max).toBe(30000);
    expect(quota(before, 'Endpoints')!.Max).toBe(1000);
    expect(quota(before, 'ReplicationTasks')!.Max).toBe(600);
    expect(before.UniqueAccountIdentifier).toMatch(/^c\d{11}$/);
    const endpointsBefore = quota(before, 'Endpoints')!.Used!;
    await createEndpoint('counted-endpoint');
    const after = await dms.send(new DescribeAccountAttributesCommand({}));
    expect(quota(after, 'Endpoints')!.Used).toBe(endpointsBefore + 1);
    expect(after.UniqueAccountIdentifier).toBe(before.UniqueAccountIdentifier);

    const cli = await svc.aws(['describe-account-attributes']);
    expect(cli.code, cli.stderr).toBe(0);
    const parsed = JSON.parse(cli.stdout) as { AccountQuotas: { AccountQuotaName: string; Used: number; Max: number }[]; UniqueAccountIdentifier: string };
    expect(parsed.UniqueAccountIdentifier).toBe(before.UniqueAccountIdentifier);
    expect(parsed.AccountQuotas.find((q) => q.AccountQuotaName === 'Endpoints')).toEqual({ AccountQuotaName: 'Endpoints', Used: endpointsBefore + 1, Max: 1000 });
  });

  it('reports and enforces quotas raised or lowered with --quotas', async () => {
    const other = await startService({ args: ['--quotas', 'Endpoints=1,ReplicationTasks=2000'] });
    try {
      const client = other.client();
      const r = await client.send(new DescribeAccountAttributesCommand({}));
      expect(r.AccountQuotas!.find((q) => q.AccountQuotaName === 'ReplicationTasks')!.Max).toBe(2000);
      expect(r.AccountQuotas!.find((q) => q.AccountQuotaName === 'Endpoints')!.Max).toBe(1);
      const endpoint = (id: string) =>
        client.send(
          new CreateEndpointCommand({ EndpointIdentifier: id, EndpointType: 'source', EngineName: 'postgres', ServerName: 'localhost', DatabaseName: 'd', Username: 'u' }),
        );
      await endpoint('first');
      await expect(endpoint('second')).rejects.toMatchObject({ name: 'ResourceQuotaExceededFault' });
    } finally {
      await other.destroy();
    }
  });

  it('refuses to start with an unknown quota name', async () => {
    await expect(startService({ args: ['--quotas', 'Tasks=5'] })).rejects.toThrow(/unknown quota "Tasks"/);
  });

  it('derives a different identifier for another account id', async () => {
    const other = await startService({ args: ['--account-id', '210987654321'] });
    try {
      const a = await dms.send(new DescribeAccountAttributesCommand({}));
      const b = await other.client().send(new DescribeAccountAttributesCommand({}));
      expect(b.UniqueAccountIdentifier).toMatch(/^c\d{11}$/);
      expect(b.UniqueAccountIdentifier).not.toBe(a.UniqueAccountIdentifier);
    } finally {
      await other.destroy();
    }
  });
});
