/**
 * Replication tasks through the real service, with the AWS SDK v3 and the AWS CLI: create,
 * describe (filters, WithoutSettings, pagination), modify, delete, start/stop and the state
 * machine's faults, table statistics, reload, quotas, waiters and restart persistence.
 *
 * The endpoints here point at no database, so a started task ends in `failed` with the engine's
 * message (settings forbid retries): that is the Start/failed path. Running tasks, stops and
 * resumes against real PostgreSQL are in test/scenarios/ and the engine's tests.
 */
import {
  CreateEndpointCommand,
  CreateReplicationInstanceCommand,
  CreateReplicationTaskCommand,
  DescribeAccountAttributesCommand,
  DeleteReplicationTaskCommand,
  DescribeEventsCommand,
  DescribeReplicationInstancesCommand,
  DescribeReplicationTasksCommand,
  DescribeTableStatisticsCommand,
  ListTagsForResourceCommand,
  ModifyReplicationTaskCommand,
  ReloadTablesCommand,
  StartReplicationTaskCommand,
  StopReplicationTaskCommand,
  paginateDescribeReplicationTasks,
  type CreateReplicationTaskCommandInput,
  type DatabaseMigrationServiceClient,
  type ReplicationTask,
} from '@aws-sdk/client-database-migration-service';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/ports.js';
import { startService, type RunningService } from '../helpers/service.js';

let svc: RunningService;
let client: DatabaseMigrationServiceClient;
let instanceA: string;
let instanceB: string;
let pgSource: string;
let pgTarget: string;
let mysqlSource: string;

/** Endpoints here point at a closed port: a started task must fail at its first attempt, not retry forever. */
const FAIL_FAST = '{"ErrorBehavior":{"RecoverableErrorCount":0}}';

const MAPPINGS = JSON.stringify({
  rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 'all', 'object-locator': { 'schema-name': 'public', 'table-name': '%' }, 'rule-action': 'include' }],
});

async function createInstance(id: string): Promise<string> {
  const r = await client.send(new CreateReplicationInstanceCommand({ ReplicationInstanceIdentifier: id, ReplicationInstanceClass: 'dms.t3.medium' }));
  return r.ReplicationInstance!.ReplicationInstanceArn!;
}

async function createEndpoint(id: string, type: 'source' | 'target', engine: string): Promise<string> {
  const r = await client.send(
    new CreateEndpointCommand({
      EndpointIdentifier: id,
      EndpointType: type,
      EngineName: engine,
      ServerName: '127.0.0.1',
      Port: 1,
      DatabaseName: 'db',
      Username: 'u',
      Password: 'secret-password',
    }),
  );
  return r.Endpoint!.EndpointArn!;
}

function taskInput(id: string, over: Partial<CreateReplicationTaskCommandInput> = {}): CreateReplicationTaskCommandInput {
  return {
    ReplicationTaskIdentifier: id,
    SourceEndpointArn: pgSource,
    TargetEndpointArn: pgTarget,
    ReplicationInstanceArn: instanceA,
    MigrationType: 'full-load-and-cdc',
    TableMappings: MAPPINGS,
    ...over,
  };
}

async function createTask(id: string, over: Partial<CreateReplicationTaskCommandInput> = {}): Promise<ReplicationTask> {
  return (await client.send(new CreateReplicationTaskCommand(taskInput(id, over)))).ReplicationTask!;
}

async function describeTask(arn: string): Promise<ReplicationTask> {
  const r = await client.send(new DescribeReplicationTasksCommand({ Filters: [{ Name: 'replication-task-arn', Values: [arn] }] }));
  return r.ReplicationTasks![0]!;
}

async function waitStatus(arn: string, status: string): Promise<ReplicationTask> {
  return waitFor(`task ${arn} to be ${status}`, async () => {
    const t = await describeTask(arn);
    return t.Status === status ? t : undefined;
  }, 30_000, 20);
}

async function readyTask(id: string, over: Partial<CreateReplicationTaskCommandInput> = {}): Promise<string> {
  const t = await createTask(id, over);
  await waitStatus(t.ReplicationTaskArn!, 'ready');
  return t.ReplicationTaskArn!;
}

function fault(name: string, message?: RegExp): Record<string, unknown> {
  return message ? { name, message: expect.stringMatching(message) } : { name };
}

beforeAll(async () => {
  svc = await startService();
  client = svc.client();
  // The account starts empty: an unfiltered Describe is an empty list, not a fault.
  const empty = await client.send(new DescribeReplicationTasksCommand({}));
  expect(empty.ReplicationTasks).toEqual([]);
  instanceA = await createInstance('tasks-ri-a');
  instanceB = await createInstance('tasks-ri-b');
  pgSource = await createEndpoint('pg-src', 'source', 'postgres');
  pgTarget = await createEndpoint('pg-tgt', 'target', 'postgres');
  mysqlSource = await createEndpoint('my-src', 'source', 'mysql');
  await waitFor('instances to be available', async () => {
    const r = await client.send(new DescribeReplicationInstancesCommand({}));
    return r.ReplicationInstances!.every((i) => i.ReplicationInstanceStatus === 'available');
  }, 60_000, 50);
}, 90_000);

afterAll(async () => {
  await svc?.destroy();
});

describe('CreateReplicationTask', () => {
  it('answers creating, becomes ready by itself, and the CLI ready waiter sees it', async () => {
    const t = await createTask('create-basic', { Tags: [{ Key: 'team', Value: 'data' }], TaskData: '{"owner":"x"}' });
    expect(t.Status).toBe('creating');
    expect(t.ReplicationTaskArn).toMatch(/^arn:aws:dms:us-east-1:\d{12}:task:[A-Z2-7]{26}$/);
    expect(t.ReplicationTaskCreationDate).toBeInstanceOf(Date);
    expect(t.TableMappings).toBe(MAPPINGS);
    expect(t.TaskData).toBe('{"owner":"x"}');
    const r = await svc.aws(['wait', 'replication-task-ready', '--filters', `Name=replication-task-arn,Values=${t.ReplicationTaskArn}`]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((await describeTask(t.ReplicationTaskArn!)).Status).toBe('ready');
    const tags = await client.send(new ListTagsForResourceCommand({ ResourceArn: t.ReplicationTaskArn }));
    expect(tags.TagList).toEqual([expect.objectContaining({ Key: 'team', Value: 'data' })]);
    const events = await client.send(new DescribeEventsCommand({ SourceIdentifier: 'create-basic' }));
    expect(events.Events!.map((e) => e.Message)).toContain('Replication task has been created.');
  });

  it('echoes the complete settings document, with a fragment merged over the defaults', async () => {
    const plain = await createTask('settings-default');
    const settings = JSON.parse(plain.ReplicationTaskSettings!);
    expect(settings.FullLoadSettings).toMatchObject({ TargetTablePrepMode: 'DROP_AND_CREATE', MaxFullLoadSubTasks: 8, CommitRate: 10000 });
    expect(settings.ErrorBehavior).toMatchObject({ DataErrorPolicy: 'LOG_ERROR' });
    expect(settings.Logging).toBeDefined();
    const merged = await createTask('settings-fragment', { ReplicationTaskSettings: '{"FullLoadSettings":{"MaxFullLoadSubTasks":4}}' });
    const m = JSON.parse(merged.ReplicationTaskSettings!);
    expect(m.FullLoadSettings).toMatchObject({ MaxFullLoadSubTasks: 4, CommitRate: 10000, TargetTablePrepMode: 'DROP_AND_CREATE' });
    expect(Object.keys(m).sort()).toEqual(Object.keys(settings).sort());
  });

  it('uses ResourceIdentifier as the ARN suffix and refuses it twice', async () => {
    const t = await createTask('with-resource-id', { ResourceIdentifier: 'my-task-resource' });
    expect(t.ReplicationTaskArn).toMatch(/:task:my-task-resource$/);
    await expect(client.send(new CreateReplicationTaskCommand(taskInput('other-id', { ResourceIdentifier: 'my-task-resource' })))).rejects.toMatchObject(
      fault('ResourceAlreadyExistsFault'),
    );
  });

  it('refuses an identifier that is taken, in any case, with the existing ARN', async () => {
    const arn = await readyTask('taken-id');
    const err = await client.send(new CreateReplicationTaskCommand(taskInput('TAKEN-ID'))).catch((e: unknown) => e);
    expect(err).toMatchObject(fault('ResourceAlreadyExistsFault', /TAKEN-ID/));
    expect((err as { resourceArn?: string }).resourceArn).toBe(arn);
  });

  it.each([['1task'], ['a--b'], ['ends-'], ['under_score'], ['x'.repeat(256)]])('refuses the identifier %s', async (id) => {
    await expect(client.send(new CreateReplicationTaskCommand(taskInput(id)))).rejects.toMatchObject(
      fault('InvalidParameterValueException', /ReplicationTaskIdentifier/),
    );
  });

  it('accepts an identifier of 255 characters', async () => {
    const t = await createTask(`a${'b'.repeat(254)}`);
    expect(t.ReplicationTaskIdentifier).toHaveLength(255);
  });

  it('names the missing endpoint or instance', async () => {
    const missing = (kind: string) => `arn:aws:dms:us-east-1:123456789012:${kind}:NOSUCHRESOURCE`;
    await expect(client.send(new CreateReplicationTaskCommand(taskInput('m1', { SourceEndpointArn: missing('endpoint') })))).rejects.toMatchObject(
      fault('ResourceNotFoundFault', /SourceEndpointArn/),
    );
    await expect(client.send(new CreateReplicationTaskCommand(taskInput('m2', { TargetEndpointArn: missing('endpoint') })))).rejects.toMatchObject(
      fault('ResourceNotFoundFault', /TargetEndpointArn/),
    );
    await expect(client.send(new CreateReplicationTaskCommand(taskInput('m3', { ReplicationInstanceArn: missing('rep') })))).rejects.toMatchObject(
      fault('ResourceNotFoundFault', /ReplicationInstanceArn/),
    );
  });

  it('refuses endpoints in the wrong role', async () => {
    await expect(client.send(new CreateReplicationTaskCommand(taskInput('r1', { SourceEndpointArn: pgTarget })))).rejects.toMatchObject(
      fault('InvalidResourceStateFault', /SourceEndpointArn needs a source endpoint/),
    );
    await expect(client.send(new CreateReplicationTaskCommand(taskInput('r2', { TargetEndpointArn: pgSource })))).rejects.toMatchObject(
      fault('InvalidResourceStateFault', /TargetEndpointArn needs a target endpoint/),
    );
  });

  it('refuses CdcStartTime with CdcStartPosition, and CdcStartTime on a PostgreSQL source', async () => {
    await expect(
      client.send(new CreateReplicationTaskCommand(taskInput('c1', { MigrationType: 'cdc', CdcStartTime: new Date(), CdcStartPosition: '0/16B3748' }))),
    ).rejects.toMatchObject(fault('InvalidParameterCombinationException', /CdcStartTime and CdcStartPosition/));
    await expect(client.send(new CreateReplicationTaskCommand(taskInput('c2', { MigrationType: 'cdc', CdcStartTime: new Date() })))).rejects.toMatchObject(
      fault('InvalidParameterValueException', /CdcStartTime is not supported for PostgreSQL/),
    );
    const ok = await createTask('c3', { MigrationType: 'cdc', SourceEndpointArn: mysqlSource, CdcStartTime: new Date() });
    expect(ok.Status).toBe('creating');
    const withPosition = await createTask('c4', { MigrationType: 'cdc', CdcStartPosition: 'checkpoint:V1#1#000004AF/B00000D0#0#0#*#0#0' });
    expect(withPosition.CdcStartPosition).toBe('checkpoint:V1#1#000004AF/B00000D0#0#0#*#0#0');
    await expect(client.send(new CreateReplicationTaskCommand(taskInput('c5', { CdcStopPosition: 'tomorrow' })))).rejects.toMatchObject(
      fault('InvalidParameterValueException', /CdcStopPosition/),
    );
    const stop = await createTask('c6', { CdcStopPosition: 'server_time:2030-01-01T00:00:00' });
    expect(stop.CdcStopPosition).toBe('server_time:2030-01-01T00:00:00');
  });

  it('refuses bad table mappings and bad settings with InvalidParameterValueException', async () => {
    await expect(client.send(new CreateReplicationTaskCommand(taskInput('bad-map', { TableMappings: '{"rules": [' })))).rejects.toMatchObject(
      fault('InvalidParameterValueException'),
    );
    await expect(client.send(new CreateReplicationTaskCommand(taskInput('bad-map2', { TableMappings: '{"rules":[{"rule-type":"selection"}]}' })))).rejects.toMatchObject(
      fault('InvalidParameterValueException'),
    );
    await expect(
      client.send(new CreateReplicationTaskCommand(taskInput('bad-settings', { ReplicationTaskSettings: '{"FullLoadSettings":{"NoSuchKey":1}}' }))),
    ).rejects.toMatchObject(fault('InvalidParameterValueException', /NoSuchKey/));
    const listed = await client.send(new DescribeReplicationTasksCommand({ Filters: [{ Name: 'replication-task-id', Values: ['bad-map', 'bad-map2', 'bad-settings'] }] })).catch((e: unknown) => e);
    expect(listed).toMatchObject(fault('ResourceNotFoundFault'));
  });

  it('refuses a task on an instance that is not available', async () => {
    const arn = await createInstance('tasks-ri-new');
    const err = await client.send(new CreateReplicationTaskCommand(taskInput('on-new', { ReplicationInstanceArn: arn }))).catch((e: unknown) => e);
    // A new instance is `creating` until its process (a node process: well over 50 ms to start) says hello.
    expect(err).toMatchObject(fault('InvalidResourceStateFault', /tasks-ri-new is in status creating/));
  });
});

describe('quotas and pagination', () => {
  const PER_INSTANCE = 200;
  const bulk: string[] = [];

  beforeAll(async () => {
    for (let i = 0; i < PER_INSTANCE; i++) {
      const t = await createTask(`bulk-${String(i).padStart(3, '0')}`, { ReplicationInstanceArn: instanceB, MigrationType: 'full-load' });
      bulk.push(t.ReplicationTaskArn!);
    }
  }, 120_000);

  it('refuses a 201st task on one instance with ResourceQuotaExceededFault', async () => {
    await expect(client.send(new CreateReplicationTaskCommand(taskInput('bulk-over', { ReplicationInstanceArn: instanceB })))).rejects.toMatchObject(
      fault('ResourceQuotaExceededFault', /200/),
    );
  });

  it('pages through every task with Marker (SDK paginator), in a stable order', async () => {
    const seen: string[] = [];
    let pages = 0;
    for await (const page of paginateDescribeReplicationTasks({ client, pageSize: 100 }, { Filters: [{ Name: 'replication-instance-arn', Values: [instanceB] }] })) {
      pages++;
      expect(page.ReplicationTasks!.length).toBeLessThanOrEqual(100);
      seen.push(...page.ReplicationTasks!.map((t) => t.ReplicationTaskArn!));
    }
    expect(pages).toBe(2);
    // Every task once (creation order, ties broken by ARN: tasks created in one millisecond may swap).
    expect([...seen].sort()).toEqual([...bulk].sort());
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.slice(0, 50)).toEqual(expect.arrayContaining(bulk.slice(0, 40)));
    const first = await client.send(new DescribeReplicationTasksCommand({ MaxRecords: 20 }));
    expect(first.ReplicationTasks).toHaveLength(20);
    expect(first.Marker).toBeDefined();
    await expect(client.send(new DescribeReplicationTasksCommand({ MaxRecords: 101 }))).rejects.toMatchObject(fault('InvalidParameterValueException', /MaxRecords/));
    await expect(client.send(new DescribeReplicationTasksCommand({ Marker: 'forged' }))).rejects.toMatchObject(fault('InvalidParameterValueException', /Marker/));
  });

  it('auto-paginates in the AWS CLI', async () => {
    const r = await svc.aws(['describe-replication-tasks', '--without-settings', '--query', 'ReplicationTasks[].ReplicationTaskIdentifier']);
    expect(r.code).toBe(0);
    const ids = JSON.parse(r.stdout) as string[];
    expect(ids.length).toBeGreaterThan(PER_INSTANCE);
    expect(ids.filter((id) => id.startsWith('bulk-'))).toHaveLength(PER_INSTANCE);
    const paged = await svc.aws(['describe-replication-tasks', '--without-settings', '--max-items', '30', '--page-size', '20', '--query', 'ReplicationTasks[].ReplicationTaskIdentifier']);
    expect(JSON.parse(paged.stdout)).toHaveLength(30);
  });
});

describe('DescribeReplicationTasks', () => {
  let fl: string;
  let cdc: string;

  beforeAll(async () => {
    fl = await readyTask('filter-fl', { MigrationType: 'full-load' });
    cdc = await readyTask('filter-cdc', { MigrationType: 'cdc', SourceEndpointArn: mysqlSource });
  });

  const ids = (tasks: ReplicationTask[] | undefined) => (tasks ?? []).map((t) => t.ReplicationTaskIdentifier).sort();

  it('filters by arn, id, migration type, endpoint (source or target) and instance', async () => {
    const by = async (Name: string, Values: string[]) =>
      ids((await client.send(new DescribeReplicationTasksCommand({ Filters: [{ Name, Values }], WithoutSettings: true }))).ReplicationTasks);
    expect(await by('replication-task-arn', [fl, cdc])).toEqual(['filter-cdc', 'filter-fl']);
    expect(await by('replication-task-id', ['filter-fl'])).toEqual(['filter-fl']);
    expect(await by('migration-type', ['cdc'])).toContain('filter-cdc');
    expect(await by('migration-type', ['cdc'])).not.toContain('filter-fl');
    expect(await by('endpoint-arn', [mysqlSource])).toContain('filter-cdc');
    expect(await by('endpoint-arn', [mysqlSource])).not.toContain('filter-fl');
    const both = await client.send(
      new DescribeReplicationTasksCommand({
        Filters: [
          { Name: 'endpoint-arn', Values: [pgTarget] },
          { Name: 'replication-task-id', Values: ['filter-fl', 'filter-cdc'] },
        ],
      }),
    );
    expect(ids(both.ReplicationTasks)).toEqual(['filter-cdc', 'filter-fl']);
    expect(await by('replication-instance-arn', [instanceA])).toContain('filter-fl');
    expect(await by('replication-instance-arn', [instanceA])).not.toContain('bulk-000');
    const anded = await client.send(
      new DescribeReplicationTasksCommand({
        Filters: [
          { Name: 'endpoint-arn', Values: [mysqlSource] },
          { Name: 'migration-type', Values: ['full-load'] },
        ],
      }),
    ).catch((e: unknown) => e);
    expect(anded).toMatchObject(fault('ResourceNotFoundFault', /^No Tasks found matching provided filters$/));
  });

  it('refuses a replication-task-id filter value that is no identifier', async () => {
    await expect(client.send(new DescribeReplicationTasksCommand({ Filters: [{ Name: 'replication-task-id', Values: ['not_an id'] }] }))).rejects.toMatchObject(
      fault('InvalidParameterValueException', /replication-task-id/),
    );
  });

  it('refuses an unknown filter name', async () => {
    await expect(client.send(new DescribeReplicationTasksCommand({ Filters: [{ Name: 'status', Values: ['ready'] }] }))).rejects.toMatchObject(
      fault('InvalidParameterValueException', /replication-task-arn/),
    );
  });

  it('leaves out settings and mappings with WithoutSettings', async () => {
    const full = await describeTask(fl);
    expect(full.ReplicationTaskSettings).toBeDefined();
    expect(full.TableMappings).toBe(MAPPINGS);
    const r = await client.send(new DescribeReplicationTasksCommand({ Filters: [{ Name: 'replication-task-arn', Values: [fl] }], WithoutSettings: true }));
    const slim = r.ReplicationTasks![0]!;
    expect(slim.ReplicationTaskSettings).toBeUndefined();
    expect(slim.TableMappings).toBeUndefined();
    expect(slim.Status).toBe('ready');
  });

  it('answers the operator query of the move workflow through the AWS CLI', async () => {
    const r = await svc.aws(['describe-replication-tasks', '--filters', `Name=replication-task-arn,Values=${fl}`, '--query', 'ReplicationTasks[0].Status', '--output', 'text']);
    expect(r.stdout.trim()).toBe('ready');
    const missing = await svc.aws(['describe-replication-tasks', '--filters', 'Name=replication-task-id,Values=nope']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('ResourceNotFoundFault');
  });
});

describe('ModifyReplicationTask', () => {
  it('goes modifying and back, merging a settings fragment into the stored document', async () => {
    const arn = await readyTask('modify-me', { ReplicationTaskSettings: '{"FullLoadSettings":{"MaxFullLoadSubTasks":4}}' });
    const r = await client.send(
      new ModifyReplicationTaskCommand({ ReplicationTaskArn: arn, ReplicationTaskSettings: '{"Logging":{"EnableLogging":true}}', CdcStopPosition: 'commit_time:2031-01-01T00:00:00' }),
    );
    expect(r.ReplicationTask!.Status).toBe('modifying');
    const after = await waitStatus(arn, 'ready');
    const s = JSON.parse(after.ReplicationTaskSettings!);
    expect(s.FullLoadSettings.MaxFullLoadSubTasks).toBe(4);
    expect(s.Logging.EnableLogging).toBe(true);
    expect(after.CdcStopPosition).toBe('commit_time:2031-01-01T00:00:00');
    const events = await client.send(new DescribeEventsCommand({ SourceIdentifier: 'modify-me' }));
    expect(events.Events!.map((e) => e.Message)).toContain('Replication task has been modified.');
  });

  it('renames, refusing a name another task has', async () => {
    const arn = await readyTask('rename-me');
    await readyTask('rename-other');
    await expect(client.send(new ModifyReplicationTaskCommand({ ReplicationTaskArn: arn, ReplicationTaskIdentifier: 'Rename-Other' }))).rejects.toMatchObject(
      fault('ResourceAlreadyExistsFault'),
    );
    await client.send(new ModifyReplicationTaskCommand({ ReplicationTaskArn: arn, ReplicationTaskIdentifier: 'renamed' }));
    const t = await waitStatus(arn, 'ready');
    expect(t.ReplicationTaskIdentifier).toBe('renamed');
  });

  it('refuses a change of MigrationType but accepts the same one, and replaces mappings', async () => {
    const arn = await readyTask('modify-type');
    await expect(client.send(new ModifyReplicationTaskCommand({ ReplicationTaskArn: arn, MigrationType: 'cdc' }))).rejects.toMatchObject(
      fault('InvalidParameterValueException', /MigrationType/),
    );
    const mappings = JSON.stringify({
      rules: [{ 'rule-type': 'selection', 'rule-id': '7', 'rule-name': 'orders', 'object-locator': { 'schema-name': 'sales', 'table-name': 'orders' }, 'rule-action': 'include' }],
    });
    await client.send(new ModifyReplicationTaskCommand({ ReplicationTaskArn: arn, MigrationType: 'full-load-and-cdc', TableMappings: mappings }));
    expect((await waitStatus(arn, 'ready')).TableMappings).toBe(mappings);
    await expect(client.send(new ModifyReplicationTaskCommand({ ReplicationTaskArn: arn, ReplicationTaskSettings: '{"Nope":{}}' }))).rejects.toMatchObject(
      fault('InvalidParameterValueException', /Nope/),
    );
    await expect(client.send(new ModifyReplicationTaskCommand({ ReplicationTaskArn: arn, CdcStartTime: new Date() }))).rejects.toMatchObject(
      fault('InvalidParameterValueException', /PostgreSQL/),
    );
  });

  it('answers ResourceNotFoundFault for an unknown task', async () => {
    await expect(
      client.send(new ModifyReplicationTaskCommand({ ReplicationTaskArn: 'arn:aws:dms:us-east-1:123456789012:task:NOPE', TaskData: '{}' })),
    ).rejects.toMatchObject(fault('ResourceNotFoundFault'));
  });
});

describe('StartReplicationTask and StopReplicationTask', () => {
  it('refuses the operations the state machine does not allow, naming the status', async () => {
    const arn = await readyTask('sm-ready');
    await expect(client.send(new StartReplicationTaskCommand({ ReplicationTaskArn: arn, StartReplicationTaskType: 'resume-processing' }))).rejects.toMatchObject(
      fault('InvalidResourceStateFault', /never run/),
    );
    await expect(client.send(new StartReplicationTaskCommand({ ReplicationTaskArn: arn, StartReplicationTaskType: 'reload-target' }))).rejects.toMatchObject(
      fault('InvalidResourceStateFault', /never run/),
    );
    await expect(client.send(new StopReplicationTaskCommand({ ReplicationTaskArn: arn }))).rejects.toMatchObject(
      fault('InvalidResourceStateFault', /sm-ready is in status ready.*StopReplicationTask needs status starting or running/),
    );
    await expect(
      client.send(new ReloadTablesCommand({ ReplicationTaskArn: arn, TablesToReload: [{ SchemaName: 'public', TableName: 't' }] })),
    ).rejects.toMatchObject(fault('InvalidResourceStateFault', /ReloadTables needs status running/));
    await expect(
      client.send(new ReloadTablesCommand({ ReplicationTaskArn: arn, TablesToReload: Array.from({ length: 11 }, (_, i) => ({ SchemaName: 'public', TableName: `t${i}` })) })),
    ).rejects.toMatchObject(fault('InvalidParameterValueException', /TablesToReload/));
    const cdc = await readyTask('sm-cdc', { MigrationType: 'cdc', SourceEndpointArn: mysqlSource });
    await expect(client.send(new StartReplicationTaskCommand({ ReplicationTaskArn: cdc, StartReplicationTaskType: 'reload-target' }))).rejects.toMatchObject(
      fault('InvalidParameterValueException', /reload-target/),
    );
    await expect(
      client.send(new StartReplicationTaskCommand({ ReplicationTaskArn: arn, StartReplicationTaskType: 'start-replication', CdcStartTime: new Date(), CdcStartPosition: '0/1' })),
    ).rejects.toMatchObject(fault('InvalidParameterCombinationException'));
    await expect(
      client.send(new StartReplicationTaskCommand({ ReplicationTaskArn: 'arn:aws:dms:us-east-1:123456789012:task:NOPE', StartReplicationTaskType: 'start-replication' })),
    ).rejects.toMatchObject(fault('ResourceNotFoundFault'));
    expect((await describeTask(arn)).Status).toBe('ready');
  });

  it('starts (starting), then fails with the engine message; a failed task can be resumed, modified and deleted', async () => {
    const arn = await readyTask('start-me', { CdcStopPosition: 'server_time:2030-01-01T00:00:00', ReplicationTaskSettings: FAIL_FAST });
    const started = await client.send(new StartReplicationTaskCommand({ ReplicationTaskArn: arn, StartReplicationTaskType: 'start-replication' }));
    expect(started.ReplicationTask!.Status).toBe('starting');
    expect(started.ReplicationTask!.ReplicationTaskStartDate).toBeInstanceOf(Date);
    const failed = await waitStatus(arn, 'failed');
    expect(failed.LastFailureMessage).toMatch(/\w+/);
    expect(failed.StopReason).toMatch(/^Stop Reason [A-Z_]+$/);
    expect(failed.ReplicationTaskStats?.StartDate).toBeInstanceOf(Date);
    expect(failed.ReplicationTaskStats?.FreshStartDate).toBeInstanceOf(Date);
    expect(failed.ReplicationTaskStats?.StopDate).toBeInstanceOf(Date);
    const events = await client.send(new DescribeEventsCommand({ SourceIdentifier: 'start-me' }));
    expect(events.Events!.map((e) => e.Message)).toContainEqual(expect.stringMatching(/^Replication task has failed\. Reason: /));

    // The stopped waiter gives up at once on a failed task instead of polling for 15 minutes.
    const waited = await svc.aws(['wait', 'replication-task-stopped', '--filters', `Name=replication-task-arn,Values=${arn}`]);
    expect(waited.code).not.toBe(0);
    expect(waited.stderr).toMatch(/failed/);

    await expect(client.send(new StopReplicationTaskCommand({ ReplicationTaskArn: arn }))).rejects.toMatchObject(fault('InvalidResourceStateFault', /in status failed/));
    // It ran once, so resume-processing is allowed now; it fails the same way.
    const resumed = await client.send(new StartReplicationTaskCommand({ ReplicationTaskArn: arn, StartReplicationTaskType: 'resume-processing' }));
    expect(resumed.ReplicationTask!.Status).toBe('starting');
    expect(resumed.ReplicationTask!.LastFailureMessage).toBeUndefined();
    await waitStatus(arn, 'failed');
    await client.send(new ModifyReplicationTaskCommand({ ReplicationTaskArn: arn, TaskData: '{"k":1}' }));
    const modified = await waitStatus(arn, 'failed');
    expect(modified.TaskData).toBe('{"k":1}');
    expect(modified.LastFailureMessage).toBe(failed.LastFailureMessage);
  });

  it('starts through the AWS CLI', async () => {
    const arn = await readyTask('start-cli', { ReplicationTaskSettings: FAIL_FAST });
    const r = await svc.aws(['start-replication-task', '--replication-task-arn', arn, '--start-replication-task-type', 'start-replication', '--query', 'ReplicationTask.Status', '--output', 'text']);
    expect(r.stdout.trim()).toBe('starting');
    await waitStatus(arn, 'failed');
  });
});

describe('DescribeTableStatistics', () => {
  it('answers an empty list for a task that never ran, checks MaxRecords and filters', async () => {
    const arn = await readyTask('stats-task');
    const r = await client.send(new DescribeTableStatisticsCommand({ ReplicationTaskArn: arn, MaxRecords: 500 }));
    expect(r.ReplicationTaskArn).toBe(arn);
    expect(r.TableStatistics).toEqual([]);
    const filtered = await client.send(
      new DescribeTableStatisticsCommand({ ReplicationTaskArn: arn, Filters: [{ Name: 'table-state', Values: ['Table completed'] }, { Name: 'schema-name', Values: ['public'] }] }),
    );
    expect(filtered.TableStatistics).toEqual([]);
    await expect(client.send(new DescribeTableStatisticsCommand({ ReplicationTaskArn: arn, MaxRecords: 501 }))).rejects.toMatchObject(
      fault('InvalidParameterValueException', /MaxRecords/),
    );
    await expect(client.send(new DescribeTableStatisticsCommand({ ReplicationTaskArn: arn, Filters: [{ Name: 'row-count', Values: ['1'] }] }))).rejects.toMatchObject(
      fault('InvalidParameterValueException', /schema-name/),
    );
    await expect(client.send(new DescribeTableStatisticsCommand({ ReplicationTaskArn: 'arn:aws:dms:us-east-1:123456789012:task:NOPE' }))).rejects.toMatchObject(
      fault('ResourceNotFoundFault'),
    );
  });
});

describe('DeleteReplicationTask', () => {
  it('answers deleting, then the task is gone (CLI deleted waiter), with its tags', async () => {
    const t = await createTask('delete-me', { Tags: [{ Key: 'k', Value: 'v' }] });
    await waitStatus(t.ReplicationTaskArn!, 'ready');
    const r = await client.send(new DeleteReplicationTaskCommand({ ReplicationTaskArn: t.ReplicationTaskArn }));
    expect(r.ReplicationTask!.Status).toBe('deleting');
    const w = await svc.aws(['wait', 'replication-task-deleted', '--filters', `Name=replication-task-arn,Values=${t.ReplicationTaskArn}`]);
    expect(w.code).toBe(0);
    await expect(describeTask(t.ReplicationTaskArn!)).rejects.toMatchObject(fault('ResourceNotFoundFault', /No Tasks found matching provided filters/));
    await expect(client.send(new DeleteReplicationTaskCommand({ ReplicationTaskArn: t.ReplicationTaskArn }))).rejects.toMatchObject(fault('ResourceNotFoundFault'));
    await expect(client.send(new ListTagsForResourceCommand({ ResourceArn: t.ReplicationTaskArn }))).rejects.toMatchObject(fault('ResourceNotFoundFault'));
    // The identifier is free again.
    expect((await createTask('delete-me')).Status).toBe('creating');
  });
});

describe('restart', () => {
  it('keeps every task, its status and settings across a service restart', async () => {
    const arn = await readyTask('survivor', { ReplicationTaskSettings: '{"FullLoadSettings":{"CommitRate":20000}}' });
    await svc.restart();
    client = svc.client();
    const t = await describeTask(arn);
    expect(t.Status).toBe('ready');
    expect(JSON.parse(t.ReplicationTaskSettings!).FullLoadSettings.CommitRate).toBe(20000);
  }, 60_000);
});

describe('account quota', () => {
  it('refuses the 601st task of the account with ResourceQuotaExceededFault', async () => {
    const attrs = await client.send(new DescribeAccountAttributesCommand({}));
    const quota = attrs.AccountQuotas!.find((q) => q.AccountQuotaName === 'ReplicationTasks')!;
    expect(quota.Max).toBe(600);
    let free = quota.Max! - quota.Used!;
    // Every instance takes at most 200 tasks, so spread the rest over fresh instances.
    const spare = [await createInstance('tasks-ri-c'), await createInstance('tasks-ri-d'), await createInstance('tasks-ri-e')];
    await waitFor('spare instances to be available', async () => {
      const r = await client.send(new DescribeReplicationInstancesCommand({}));
      return r.ReplicationInstances!.every((i) => i.ReplicationInstanceStatus === 'available');
    }, 60_000, 50);
    for (let i = 0; free > 0; i++, free--) {
      await createTask(`fill-${i}`, { ReplicationInstanceArn: spare[Math.floor(i / 200)]!, MigrationType: 'full-load' });
    }
    await expect(client.send(new CreateReplicationTaskCommand(taskInput('one-too-many', { ReplicationInstanceArn: spare[2]! })))).rejects.toMatchObject(
      fault('ResourceQuotaExceededFault', /account already has 600/),
    );
    // Describe still answers with the account full (bench/control-plane.bench.ts measures how fast).
    const found = await client.send(new DescribeReplicationTasksCommand({ Filters: [{ Name: 'replication-task-id', Values: ['fill-1'] }] }));
    expect(found.ReplicationTasks).toHaveLength(1);
  }, 120_000);
});
