/**
 * Scenario: the cascading upgrade. Five PostgreSQL CDC tasks run on an instance of the current
 * engine under continuous writes; `opendms upgrade-replication-instance` moves them all to an
 * instance on a newer engine bundle, health-checking each one. First a dry run (nothing changes),
 * then an upgrade whose health gate cannot pass (it halts after the first task and puts that task
 * back, running, on the old instance), then the real upgrade. Every table is compared row by row.
 */
import { execFileSync } from 'node:child_process';
import {
  CreateEndpointCommand,
  CreateReplicationInstanceCommand,
  CreateReplicationTaskCommand,
  DescribeReplicationInstancesCommand,
  DescribeReplicationTasksCommand,
  StartReplicationTaskCommand,
  type DatabaseMigrationServiceClient,
  type ReplicationTask,
} from '@aws-sdk/client-database-migration-service';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { callExtension } from '../../src/api/extensions/client.js';
import type { UpgradeRecord } from '../../src/control/upgrade-orchestrator.js';
import { waitFor } from '../helpers/ports.js';
import { startPostgres, type PostgresCluster } from '../helpers/postgres.js';
import { OPENDMS_BIN, startService, TEST_KEYS, type RunningService } from '../helpers/service.js';

const TABLES = ['t1', 't2', 't3', 't4', 't5'];
const NEXT = '9.2.0';

let svc: RunningService;
let client: DatabaseMigrationServiceClient;
let source: PostgresCluster;
let target: PostgresCluster;
let a: string;
let b: string;
const taskArns: string[] = [];
let writing = true;
let writer: Promise<void> | undefined;

async function tasks(): Promise<ReplicationTask[]> {
  const r = await client.send(new DescribeReplicationTasksCommand({ Filters: [{ Name: 'replication-task-arn', Values: taskArns }] }));
  return r.ReplicationTasks!.sort((x, y) => x.ReplicationTaskIdentifier!.localeCompare(y.ReplicationTaskIdentifier!));
}

async function upgradeCli(extra: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return svc.cli(['upgrade-replication-instance', '--source-replication-instance-arn', a, '--target-replication-instance-arn', b, ...extra]);
}

async function identical(): Promise<void> {
  for (const t of TABLES) {
    const q = `SELECT id, v FROM ${t} ORDER BY id`;
    const want = JSON.stringify((await source.query(q)).rows);
    await waitFor(`${t} identical on the target`, async () => JSON.stringify((await target.query(q)).rows) === want, 60_000, 100);
  }
}

beforeAll(async () => {
  [source, target] = await Promise.all([startPostgres(), startPostgres()]);
  for (const t of TABLES) {
    await source.query(`CREATE TABLE ${t} (id int PRIMARY KEY, v text NOT NULL)`);
    await source.query(`INSERT INTO ${t} SELECT g, 'row ' || g FROM generate_series(1, 300) g`);
  }
  svc = await startService();
  client = svc.client();
  execFileSync(process.execPath, [OPENDMS_BIN, 'engine', 'build', '--version', NEXT, '--data-dir', svc.dataDir]);
  const ri = async (id: string, version?: string): Promise<string> =>
    (
      await client.send(
        new CreateReplicationInstanceCommand({ ReplicationInstanceIdentifier: id, ReplicationInstanceClass: 'dms.c5.xlarge', ...(version ? { EngineVersion: version } : {}) }),
      )
    ).ReplicationInstance!.ReplicationInstanceArn!;
  // The service notices the new bundle by itself; wait until it offers it.
  await waitFor('bundle offered', async () => {
    try {
      b = await ri('ri-b', NEXT);
      return true;
    } catch {
      return false;
    }
  }, 10_000, 50);
  a = await ri('ri-a');
  const ep = async (id: string, type: 'source' | 'target', db: PostgresCluster): Promise<string> =>
    (
      await client.send(
        new CreateEndpointCommand({ EndpointIdentifier: id, EndpointType: type, EngineName: 'postgres', ServerName: '127.0.0.1', Port: db.port, DatabaseName: 'postgres', Username: db.user, Password: db.password }),
      )
    ).Endpoint!.EndpointArn!;
  const [src, tgt] = await Promise.all([ep('cu-src', 'source', source), ep('cu-tgt', 'target', target)]);
  await waitFor('instances available', async () => {
    const r = await client.send(new DescribeReplicationInstancesCommand({}));
    return r.ReplicationInstances!.every((i) => i.ReplicationInstanceStatus === 'available');
  }, 30_000, 50);
  for (const t of TABLES) {
    const r = await client.send(
      new CreateReplicationTaskCommand({
        ReplicationTaskIdentifier: `cu-${t}`,
        SourceEndpointArn: src,
        TargetEndpointArn: tgt,
        ReplicationInstanceArn: a,
        MigrationType: 'full-load-and-cdc',
        TableMappings: JSON.stringify({ rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': t, 'object-locator': { 'schema-name': 'public', 'table-name': t }, 'rule-action': 'include' }] }),
      }),
    );
    taskArns.push(r.ReplicationTask!.ReplicationTaskArn!);
  }
  await waitFor('tasks ready', async () => (await tasks()).every((t) => t.Status === 'ready'), 30_000, 50);
  // The first task creates the control tables on the target; the others start once it runs
  // (concurrent first starts on one target can race creating them).
  for (const [i, arn] of taskArns.entries()) {
    await client.send(new StartReplicationTaskCommand({ ReplicationTaskArn: arn, StartReplicationTaskType: 'start-replication' }));
    if (i === 0) await waitFor('first task running', async () => (await tasks())[0]!.Status === 'running', 60_000, 50);
  }
  await waitFor('tasks running', async () => {
    const all = await tasks();
    const failed = all.find((t) => t.Status === 'failed');
    if (failed) throw new Error(`${failed.ReplicationTaskIdentifier} failed: ${failed.LastFailureMessage}`);
    return all.every((t) => t.Status === 'running');
  }, 120_000, 100);
  writer = (async () => {
    for (let i = 1000; writing; i++) {
      for (const t of TABLES) await source.query(`INSERT INTO ${t} (id, v) VALUES (${i}, 'w${i}')`);
      await source.query(`UPDATE ${TABLES[i % TABLES.length]} SET v = v || '+' WHERE id = ${i - 1}`);
    }
  })();
}, 240_000);

afterAll(async () => {
  writing = false;
  await writer?.catch(() => undefined);
  await svc?.destroy();
  await Promise.all([source?.stop(), target?.stop()]);
}, 120_000);

it('prints the plan on --dry-run and changes nothing', async () => {
  const r = await upgradeCli(['--dry-run']);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('Upgrade plan: 5 task(s)');
  for (const t of TABLES) expect(r.stdout).toMatch(new RegExp(`cu-${t}\\s+running\\s+stop, move, resume-processing, health check`));
  expect((await tasks()).every((t) => t.Status === 'running' && t.ReplicationInstanceArn === a)).toBe(true);
}, 60_000);

it('halts at a task that fails its health gate and puts it back, running, on the old instance', async () => {
  const r = await upgradeCli(['--health-check-timeout-seconds', '0.001', '--output', 'json']);
  expect(r.code).toBe(254);
  const u = (JSON.parse(r.stdout) as { Upgrade: UpgradeRecord }).Upgrade;
  expect(u.Status).toBe('failed');
  expect(u.Tasks[0]).toMatchObject({ ReplicationTaskIdentifier: 'cu-t1', Step: 'rolled-back', Message: expect.stringContaining('health check did not pass') });
  expect(u.Tasks.slice(1).map((t) => t.Step)).toEqual(['not-started', 'not-started', 'not-started', 'not-started']);
  const now = await tasks();
  expect(now.map((t) => [t.ReplicationTaskIdentifier, t.Status, t.ReplicationInstanceArn === a])).toEqual(TABLES.map((t) => [`cu-${t}`, 'running', true]));
  // Every task applies changes again (the writer keeps going, so the tables are compared at the end).
  for (const t of TABLES) {
    await source.query(`INSERT INTO ${t} (id, v) VALUES (900000, 'probe')`);
    await waitFor(`probe in ${t}`, async () => (await target.query(`SELECT 1 FROM ${t} WHERE id = 900000`)).rows.length === 1, 60_000, 50);
  }
}, 120_000);

it('moves every task to the newer engine, one health-checked handover at a time, nothing lost', async () => {
  const r = await upgradeCli(['--max-concurrent', '2', '--max-cdc-latency-seconds', '30']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('upgrade succeeded: All 5 task(s) moved to ri-b.');
  // Live progress: a line per step seen (quick steps may pass between two looks).
  for (const t of TABLES) expect(r.stdout).toMatch(new RegExp(`\\d\\d:\\d\\d:\\d\\d  cu-${t}\\s+done  Running on ri-b; handover took \\d+ ms`));
  const handovers = [...r.stdout.matchAll(/handover took (\d+) ms/g)].map((m) => Number(m[1]));
  expect(handovers).toHaveLength(5);
  const now = await tasks();
  expect(now.every((t) => t.Status === 'running' && t.ReplicationInstanceArn === b)).toBe(true);
  writing = false;
  await writer;
  await identical();
}, 180_000);

it('keeps a record of each upgrade, and checks the extension API input like the DMS API', async () => {
  const listed = await svc.cli(['describe-replication-instance-upgrades']);
  expect(listed.code).toBe(0);
  const upgrades = (JSON.parse(listed.stdout) as { Upgrades: UpgradeRecord[] }).Upgrades;
  expect(upgrades.map((u) => u.Status)).toEqual(['succeeded', 'failed']); // newest first; a dry run keeps nothing
  expect(upgrades[0]!.Tasks.every((t) => t.Step === 'done' && typeof t.HandoverMillis === 'number')).toBe(true);

  const config = { endpointUrl: svc.url, region: svc.region, credentials: () => Promise.resolve(TEST_KEYS) };
  const fault = (input: Record<string, unknown>, op = 'UpgradeReplicationInstance', cfg = config) =>
    callExtension(cfg, op, input).then(
      () => ({ name: 'no fault', message: '' }),
      (e: Error) => ({ name: e.name, message: e.message }),
    );
  expect(await fault({ SourceReplicationInstanceArn: b, TargetReplicationInstanceArn: b })).toMatchObject({ name: 'InvalidParameterCombinationException' });
  expect(await fault({ SourceReplicationInstanceArn: b, TargetReplicationInstanceArn: a, MaxConcurrent: 0 })).toMatchObject({
    name: 'InvalidParameterValueException',
    message: expect.stringContaining('MaxConcurrent'),
  });
  expect(await fault({ SourceReplicationInstanceArn: b, TargetReplicationInstanceArn: a, Foo: 1 })).toMatchObject({ name: 'InvalidParameterValueException' });
  expect(await fault({ SourceReplicationInstanceArn: b, TargetReplicationInstanceArn: `${a}X` })).toMatchObject({ name: 'ResourceNotFoundFault' });
  expect(await fault({}, 'NoSuchOperation')).toMatchObject({ name: 'UnknownOperationException' });
  expect(await fault({ UpgradeId: 'nope' }, 'DescribeReplicationInstanceUpgrades')).toMatchObject({ name: 'ResourceNotFoundFault' });
  const badKey = { ...config, credentials: () => Promise.resolve({ ...TEST_KEYS, secretAccessKey: 'wrong' }) };
  expect(await fault({ SourceReplicationInstanceArn: b, TargetReplicationInstanceArn: a, DryRun: true }, 'UpgradeReplicationInstance', badKey)).toMatchObject({
    name: 'InvalidSignatureException',
  });
  // The dry run back to the old engine: allowed (it reads V1 checkpoints), and nothing changes.
  const plan = await callExtension(config, 'UpgradeReplicationInstance', { SourceReplicationInstanceArn: b, TargetReplicationInstanceArn: a, DryRun: true });
  expect((plan.Upgrade as UpgradeRecord).Status).toBe('planned');
  expect((await tasks()).every((t) => t.ReplicationInstanceArn === b)).toBe(true);
}, 60_000);
