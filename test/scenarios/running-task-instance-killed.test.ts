/**
 * Scenario: a running PostgreSQL CDC task loses its replication-instance process (SIGKILL), and
 * later the control plane itself is killed. The task must stay `running` and be resumed by the
 * control plane with resume-processing as soon as the instance is back, with no change lost or
 * applied twice. Also the operator's stop/resume cycle through the AWS CLI, with the
 * `replication-task-stopped` waiter.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateEndpointCommand,
  CreateReplicationInstanceCommand,
  CreateReplicationTaskCommand,
  DeleteReplicationTaskCommand,
  DescribeEventsCommand,
  DescribeReplicationInstancesCommand,
  DescribeReplicationTasksCommand,
  DescribeTableStatisticsCommand,
  ModifyReplicationTaskCommand,
  RebootReplicationInstanceCommand,
  ReloadTablesCommand,
  StartReplicationTaskCommand,
  type DatabaseMigrationServiceClient,
  type ReplicationTask,
} from '@aws-sdk/client-database-migration-service';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitFor } from '../helpers/ports.js';
import { startPostgres, type PostgresCluster } from '../helpers/postgres.js';
import { startService, type RunningService } from '../helpers/service.js';

let svc: RunningService;
let client: DatabaseMigrationServiceClient;
let source: PostgresCluster;
let target: PostgresCluster;
let instanceArn: string;
let taskArn: string;
let nextId = 1000;

async function endpoint(id: string, type: 'source' | 'target', db: PostgresCluster): Promise<string> {
  const r = await client.send(
    new CreateEndpointCommand({
      EndpointIdentifier: id,
      EndpointType: type,
      EngineName: 'postgres',
      ServerName: '127.0.0.1',
      Port: db.port,
      DatabaseName: 'postgres',
      Username: db.user,
      Password: db.password,
    }),
  );
  return r.Endpoint!.EndpointArn!;
}

async function describe(): Promise<ReplicationTask> {
  const r = await client.send(new DescribeReplicationTasksCommand({ Filters: [{ Name: 'replication-task-arn', Values: [taskArn] }] }));
  return r.ReplicationTasks![0]!;
}

async function waitStatus(status: string, timeoutMs = 60_000): Promise<ReplicationTask> {
  return waitFor(`task to be ${status}`, async () => {
    const t = await describe();
    if (t.Status === 'failed' && status !== 'failed') throw new Error(`task failed: ${t.LastFailureMessage}`);
    return t.Status === status ? t : undefined;
  }, timeoutMs, 50);
}

/** Inserts a row on the source and waits until the target has it (CDC is applying). */
async function changeArrives(): Promise<void> {
  const id = nextId++;
  await source.query(`INSERT INTO items (id, v) VALUES (${id}, 'row ${id}')`);
  await waitFor(`row ${id} on the target`, async () => {
    const r = await target.query(`SELECT count(*)::int AS n FROM items WHERE id = ${id}`);
    return (r.rows[0] as { n: number }).n === 1;
  }, 60_000, 100);
}

async function sameRows(): Promise<void> {
  const q = 'SELECT id, v FROM items ORDER BY id';
  const [a, b] = await Promise.all([source.query(q), target.query(q)]);
  expect(b.rows).toEqual(a.rows);
}

const instancePid = (): number =>
  Number(readFileSync(join(svc.dataDir, 'instances', instanceArn.slice(instanceArn.lastIndexOf(':') + 1), 'instance.pid'), 'utf8').trim());

/** Waits until the instance runs in a process other than `pid` (the pid file is rewritten). */
async function newInstanceProcess(pid: number): Promise<void> {
  await waitFor('a new instance process', async () => {
    try {
      return instancePid() !== pid;
    } catch {
      return false; // between the old process exiting and the new one writing its pid
    }
  }, 60_000, 50);
}

beforeAll(async () => {
  [source, target] = await Promise.all([startPostgres(), startPostgres()]);
  await source.query('CREATE TABLE items (id int PRIMARY KEY, v text NOT NULL)');
  await source.query("INSERT INTO items SELECT g, 'row ' || g FROM generate_series(1, 200) g");
  svc = await startService();
  client = svc.client();
  const ri = await client.send(new CreateReplicationInstanceCommand({ ReplicationInstanceIdentifier: 'ri-killed', ReplicationInstanceClass: 'dms.t3.medium' }));
  instanceArn = ri.ReplicationInstance!.ReplicationInstanceArn!;
  const [src, tgt] = await Promise.all([endpoint('killed-src', 'source', source), endpoint('killed-tgt', 'target', target)]);
  await waitFor('instance available', async () => {
    const r = await client.send(new DescribeReplicationInstancesCommand({ Filters: [{ Name: 'replication-instance-arn', Values: [instanceArn] }] }));
    return r.ReplicationInstances![0]!.ReplicationInstanceStatus === 'available';
  }, 30_000, 50);
  const t = await client.send(
    new CreateReplicationTaskCommand({
      ReplicationTaskIdentifier: 'killed-task',
      SourceEndpointArn: src,
      TargetEndpointArn: tgt,
      ReplicationInstanceArn: instanceArn,
      MigrationType: 'full-load-and-cdc',
      TableMappings: JSON.stringify({
        rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 'items', 'object-locator': { 'schema-name': 'public', 'table-name': 'items' }, 'rule-action': 'include' }],
      }),
    }),
  );
  taskArn = t.ReplicationTask!.ReplicationTaskArn!;
  await waitStatus('ready');
}, 120_000);

afterAll(async () => {
  await svc?.destroy();
  await Promise.all([source?.stop(), target?.stop()]);
}, 120_000);

it('runs: full load, then CDC, with table statistics', async () => {
  await client.send(new StartReplicationTaskCommand({ ReplicationTaskArn: taskArn, StartReplicationTaskType: 'start-replication' }));
  await waitStatus('running');
  // Statistics arrive with the engine's periodic progress report. The change below is written
  // only once the load is complete: `running` is reported before the load's snapshot is taken, so
  // a row written earlier may be loaded (201 rows) instead of replicated.
  const stats = await waitFor('table statistics', async () => {
    const r = await client.send(new DescribeTableStatisticsCommand({ ReplicationTaskArn: taskArn }));
    return r.TableStatistics!.some((t) => t.TableState === 'Table completed') ? r.TableStatistics : undefined;
  }, 30_000, 100);
  expect(stats).toEqual([expect.objectContaining({ SchemaName: 'public', TableName: 'items', TableState: 'Table completed', FullLoadRows: 200 })]);
  await changeArrives();
  // A running task refuses what the state machine forbids, and takes ReloadTables.
  // The status is named first, even when the input is wrong too.
  await expect(client.send(new ModifyReplicationTaskCommand({ ReplicationTaskArn: taskArn, MigrationType: 'cdc' }))).rejects.toMatchObject({
    name: 'InvalidResourceStateFault',
    message: expect.stringContaining('is in status running'),
  });
  await expect(client.send(new DeleteReplicationTaskCommand({ ReplicationTaskArn: taskArn }))).rejects.toMatchObject({ name: 'InvalidResourceStateFault' });
  await expect(client.send(new StartReplicationTaskCommand({ ReplicationTaskArn: taskArn, StartReplicationTaskType: 'resume-processing' }))).rejects.toMatchObject({
    name: 'InvalidResourceStateFault',
  });
  const reload = await client.send(new ReloadTablesCommand({ ReplicationTaskArn: taskArn, TablesToReload: [{ SchemaName: 'public', TableName: 'items' }] }));
  expect(reload.ReplicationTaskArn).toBe(taskArn);
}, 120_000);

it('stops (CLI waiter) with a checkpoint, and resumes from it', async () => {
  const stop = await svc.aws(['stop-replication-task', '--replication-task-arn', taskArn, '--query', 'ReplicationTask.Status', '--output', 'text']);
  expect(stop.stdout.trim()).toBe('stopping');
  // Poll first so the waiter's first look sees `stopped` (it would otherwise sleep 15 s).
  await waitStatus('stopped');
  const waited = await svc.aws(['wait', 'replication-task-stopped', '--filters', `Name=replication-task-arn,Values=${taskArn}`]);
  expect(waited.stderr).toBe('');
  expect(waited.code).toBe(0);
  const stopped = await describe();
  expect(stopped.Status).toBe('stopped');
  expect(stopped.StopReason).toBe('Stop Reason NORMAL');
  expect(stopped.RecoveryCheckpoint).toMatch(/^checkpoint:V1#/);
  await source.query("INSERT INTO items VALUES (500, 'written while stopped')");
  const resume = await svc.aws(['start-replication-task', '--replication-task-arn', taskArn, '--start-replication-task-type', 'resume-processing', '--query', 'ReplicationTask.Status', '--output', 'text']);
  expect(resume.stdout.trim()).toBe('starting');
  await waitStatus('running');
  await changeArrives();
  await sameRows();
}, 180_000);

it('resumes by itself after its instance process is SIGKILLed', async () => {
  const pid = instancePid();
  process.kill(pid, 'SIGKILL');
  await newInstanceProcess(pid);
  expect((await describe()).Status).toBe('running');
  await changeArrives();
  await sameRows();
  const events = await client.send(new DescribeEventsCommand({ SourceIdentifier: 'killed-task' }));
  expect(events.Events!.map((e) => e.Message)).toContainEqual(expect.stringMatching(/was lost/));
}, 180_000);

it('resumes by itself after RebootReplicationInstance', async () => {
  const pid = instancePid();
  await client.send(new RebootReplicationInstanceCommand({ ReplicationInstanceArn: instanceArn }));
  await newInstanceProcess(pid);
  await source.query("INSERT INTO items VALUES (550, 'written during the reboot')");
  await changeArrives();
  expect((await describe()).Status).toBe('running');
  await sameRows();
}, 180_000);

it('resumes by itself after the control plane is killed and restarted', async () => {
  await svc.kill('SIGKILL');
  await source.query("INSERT INTO items VALUES (600, 'written while the control plane was down')");
  await svc.restart();
  client = svc.client();
  expect((await describe()).Status).toBe('running');
  await changeArrives();
  await sameRows();
  // Every interruption above was a real one: heartbeats never made the scheduler resume a task that ran.
  const events = await client.send(new DescribeEventsCommand({ SourceIdentifier: 'killed-task', Duration: 60 }));
  expect(events.Events!.map((e) => e.Message)).not.toContainEqual(expect.stringMatching(/no longer runs it/));
}, 180_000);
