/**
 * Engine bundles: the running build installs itself under <data-dir>/engines/, `opendms engine
 * build|install|set-lifecycle` add versions while the service runs, the API lists them, instances
 * on two versions run side by side each from its own bundle's code, a task moves from the old
 * version to the new one and back (rollback), a rollback to an engine that cannot read the task's
 * checkpoint is refused, and an in-place upgrade restarts an instance on the new bundle with its
 * running task resumed; in the maintenance window, an instance on a deprecated version is upgraded
 * to the default one and AutoMinorVersionUpgrade takes the newest minor version.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateEndpointCommand,
  CreateReplicationInstanceCommand,
  CreateReplicationTaskCommand,
  DescribeEngineVersionsCommand,
  DescribeEventsCommand,
  DescribeOrderableReplicationInstancesCommand,
  DescribeReplicationInstancesCommand,
  DescribeReplicationTasksCommand,
  ModifyReplicationInstanceCommand,
  MoveReplicationTaskCommand,
  StartReplicationTaskCommand,
  StopReplicationTaskCommand,
  type DatabaseMigrationServiceClient,
  type ReplicationTask,
} from '@aws-sdk/client-database-migration-service';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { windowStartingAt } from '../../src/control/instance-maintenance.js';
import { PROTOCOL_VERSION } from '../../src/instance/protocol.js';
import { waitFor } from '../helpers/ports.js';
import { startPostgres, type PostgresCluster } from '../helpers/postgres.js';
import { OPENDMS_BIN, REPO_ROOT, startService, type RunningService } from '../helpers/service.js';

const RUNNING = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const NEXT = '9.1.0';
const OLDER = '0.0.1';

let svc: RunningService;
let client: DatabaseMigrationServiceClient;
let source: PostgresCluster;
let target: PostgresCluster;
let v1: string;
let v2: string;
let taskArn: string;
let probe = 100_000;

function engineCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [OPENDMS_BIN, 'engine', ...args, '--data-dir', svc.dataDir], { timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function versions(): Promise<Record<string, string>> {
  const r = await client.send(new DescribeEngineVersionsCommand({}));
  return Object.fromEntries(r.EngineVersions!.map((v) => [v.Version!, v.Lifecycle!]));
}

async function instance(id: string, engineVersion?: string): Promise<string> {
  const r = await client.send(
    new CreateReplicationInstanceCommand({ ReplicationInstanceIdentifier: id, ReplicationInstanceClass: 'dms.t3.medium', ...(engineVersion ? { EngineVersion: engineVersion } : {}) }),
  );
  return r.ReplicationInstance!.ReplicationInstanceArn!;
}

async function instanceStatus(arn: string): Promise<{ status: string; engine: string }> {
  const r = await client.send(new DescribeReplicationInstancesCommand({ Filters: [{ Name: 'replication-instance-arn', Values: [arn] }] }));
  const ri = r.ReplicationInstances![0]!;
  return { status: ri.ReplicationInstanceStatus!, engine: ri.EngineVersion! };
}

const available = (arn: string): Promise<unknown> => waitFor(`instance ${arn} available`, async () => (await instanceStatus(arn)).status === 'available', 30_000, 25);

/** The program the instance's process runs, from /proc. */
function instanceProgram(arn: string): string {
  const pid = readFileSync(join(svc.dataDir, 'instances', arn.slice(arn.lastIndexOf(':') + 1), 'instance.pid'), 'utf8').trim();
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').find((a) => a.endsWith('instance.js')) ?? '';
}

async function describe(): Promise<ReplicationTask> {
  const r = await client.send(new DescribeReplicationTasksCommand({ Filters: [{ Name: 'replication-task-arn', Values: [taskArn] }] }));
  return r.ReplicationTasks![0]!;
}

async function waitStatus(status: string): Promise<ReplicationTask> {
  return waitFor(`task ${status}`, async () => {
    const t = await describe();
    if ((t.Status === 'failed' || t.Status === 'failed-move') && status !== t.Status) throw new Error(`task ${t.Status}: ${t.LastFailureMessage}`);
    return t.Status === status ? t : undefined;
  }, 60_000, 20);
}

async function changeArrives(): Promise<void> {
  const id = probe++;
  await source.query(`INSERT INTO items (id, v) VALUES (${id}, 'probe')`);
  await waitFor(`row ${id} on the target`, async () => {
    const r = await target.query(`SELECT count(*)::int AS n FROM items WHERE id = ${id}`);
    return (r.rows[0] as { n: number }).n === 1;
  }, 60_000, 50);
}

async function moveTo(instanceArn: string): Promise<ReplicationTask> {
  await client.send(new StopReplicationTaskCommand({ ReplicationTaskArn: taskArn }));
  await waitStatus('stopped');
  await client.send(new MoveReplicationTaskCommand({ ReplicationTaskArn: taskArn, TargetReplicationInstanceArn: instanceArn }));
  const moved = await waitStatus('stopped');
  expect(moved.ReplicationInstanceArn).toBe(instanceArn);
  await client.send(new StartReplicationTaskCommand({ ReplicationTaskArn: taskArn, StartReplicationTaskType: 'resume-processing' }));
  await waitStatus('running');
  await changeArrives();
  return moved;
}

beforeAll(async () => {
  [source, target] = await Promise.all([startPostgres(), startPostgres()]);
  await source.query('CREATE TABLE items (id int PRIMARY KEY, v text NOT NULL)');
  await source.query("INSERT INTO items SELECT g, 'row ' || g FROM generate_series(1, 100) g");
  svc = await startService();
  client = svc.client();
}, 120_000);

afterAll(async () => {
  await svc?.destroy();
  await Promise.all([source?.stop(), target?.stop()]);
}, 120_000);

it('installs the running build as a bundle at start', async () => {
  const manifest = JSON.parse(readFileSync(join(svc.dataDir, 'engines', RUNNING, 'engine.json'), 'utf8')) as Record<string, unknown>;
  expect(manifest).toMatchObject({ version: RUNNING, protocolVersion: PROTOCOL_VERSION, checkpointVersions: { reads: ['V1'], writes: 'V1' } });
  expect(existsSync(join(svc.dataDir, 'engines', RUNNING, 'dist', 'src', 'bin', 'instance.js'))).toBe(true);
  expect(await versions()).toEqual({ [RUNNING]: 'DEFAULT_VERSION' });
});

it('builds, installs and lists versions while the service runs', async () => {
  const built = await engineCli(['build', '--version', NEXT]);
  expect(built).toMatchObject({ code: 0, stdout: expect.stringContaining(`built engine ${NEXT}`) });
  expect(await engineCli(['build', '--version', NEXT])).toMatchObject({ code: 1, stderr: expect.stringContaining(`engine version ${NEXT} is already installed`) });
  await waitFor('the new version listed', async () => (await versions())[NEXT] === 'AVAILABLE', 10_000, 25);
  const orderable = await client.send(new DescribeOrderableReplicationInstancesCommand({}));
  expect(orderable.OrderableReplicationInstances!.some((o) => o.EngineVersion === NEXT)).toBe(true);

  // An older version whose checkpoint reader does not know V1, installed from a tarball.
  const work = mkdtempSync(join(tmpdir(), 'bundle-'));
  try {
    const dir = join(work, `opendms-engine-${OLDER}`);
    cpSync(join(svc.dataDir, 'engines', NEXT), dir, { recursive: true, verbatimSymlinks: true });
    rmSync(join(dir, 'node_modules'));
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...pkg, version: OLDER }));
    const manifest = JSON.parse(readFileSync(join(dir, 'engine.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'engine.json'), JSON.stringify({ ...manifest, version: OLDER, checkpointVersions: { reads: ['V0'], writes: 'V0' } }));
    const tarball = join(work, 'bundle.tgz');
    await new Promise((r, j) => execFile('tar', ['-czf', tarball, '-C', work, `opendms-engine-${OLDER}`], (e) => (e ? j(e) : r(undefined))));
    expect(await engineCli(['install', tarball])).toMatchObject({ code: 0, stdout: expect.stringContaining(`installed engine ${OLDER}`) });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  expect(existsSync(join(svc.dataDir, 'engines', OLDER, 'node_modules'))).toBe(true);
  expect(await engineCli(['set-lifecycle', OLDER, 'deprecated'])).toMatchObject({ code: 0 });
  await waitFor('three versions with their lifecycles', async () => {
    const v = await versions();
    return v[OLDER] === 'DEPRECATED' && v[NEXT] === 'AVAILABLE' && v[RUNNING] === 'DEFAULT_VERSION';
  }, 10_000, 25);
  const listed = await engineCli(['list']);
  const bundles = (JSON.parse(listed.stdout) as { EngineBundles: { Version: string; Lifecycle: string }[] }).EngineBundles;
  expect(bundles.map((b) => [b.Version, b.Lifecycle])).toEqual([
    [OLDER, 'DEPRECATED'],
    [RUNNING, 'DEFAULT_VERSION'],
    [NEXT, 'AVAILABLE'],
  ]);
}, 60_000);

it('runs instances on two versions side by side, each from its own bundle', async () => {
  [v1, v2] = await Promise.all([instance('ri-v1'), instance('ri-v2', NEXT)]);
  await Promise.all([available(v1), available(v2)]);
  expect(await instanceStatus(v2)).toEqual({ status: 'available', engine: NEXT });
  expect(await instanceStatus(v1)).toEqual({ status: 'available', engine: RUNNING });
  expect(instanceProgram(v2)).toBe(join(svc.dataDir, 'engines', NEXT, 'dist', 'src', 'bin', 'instance.js'));
  expect(instanceProgram(v1)).toBe(join(REPO_ROOT, 'dist', 'src', 'bin', 'instance.js'));
}, 60_000);

it('moves a running task to the newer engine and back again (rollback), nothing lost', async () => {
  const ep = async (id: string, type: 'source' | 'target', db: PostgresCluster): Promise<string> =>
    (
      await client.send(
        new CreateEndpointCommand({ EndpointIdentifier: id, EndpointType: type, EngineName: 'postgres', ServerName: '127.0.0.1', Port: db.port, DatabaseName: 'postgres', Username: db.user, Password: db.password }),
      )
    ).Endpoint!.EndpointArn!;
  const [src, tgt] = await Promise.all([ep('eb-src', 'source', source), ep('eb-tgt', 'target', target)]);
  const t = await client.send(
    new CreateReplicationTaskCommand({
      ReplicationTaskIdentifier: 'eb-task',
      SourceEndpointArn: src,
      TargetEndpointArn: tgt,
      ReplicationInstanceArn: v1,
      MigrationType: 'full-load-and-cdc',
      TableMappings: JSON.stringify({ rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 'all', 'object-locator': { 'schema-name': 'public', 'table-name': 'items' }, 'rule-action': 'include' }] }),
    }),
  );
  taskArn = t.ReplicationTask!.ReplicationTaskArn!;
  await waitStatus('ready');
  await client.send(new StartReplicationTaskCommand({ ReplicationTaskArn: taskArn, StartReplicationTaskType: 'start-replication' }));
  await waitStatus('running');
  await changeArrives();

  await moveTo(v2); // upgrade
  await moveTo(v1); // rollback: the older engine reads V1 checkpoints
  const q = 'SELECT id, v FROM items ORDER BY id';
  expect((await target.query(q)).rows).toEqual((await source.query(q)).rows);
}, 180_000);

it('refuses a rollback to an engine that cannot read the task checkpoint', async () => {
  const v0 = await instance('ri-v0', OLDER);
  await available(v0);
  expect(instanceProgram(v0)).toBe(join(svc.dataDir, 'engines', OLDER, 'dist', 'src', 'bin', 'instance.js'));
  await client.send(new StopReplicationTaskCommand({ ReplicationTaskArn: taskArn }));
  const stopped = await waitStatus('stopped');
  expect(stopped.RecoveryCheckpoint).toMatch(/^checkpoint:V1#/);
  await expect(client.send(new MoveReplicationTaskCommand({ ReplicationTaskArn: taskArn, TargetReplicationInstanceArn: v0 }))).rejects.toMatchObject({
    name: 'InvalidResourceStateFault',
    message: expect.stringMatching(new RegExp(`cannot move back from engine version ${RUNNING} to ${OLDER}: its RecoveryCheckpoint is in checkpoint format V1, and engine version ${OLDER} reads only V0`)),
  });
  expect((await describe()).Status).toBe('stopped');
}, 60_000);

it('upgrades an instance in place: restarted on the new bundle, its running task resumed', async () => {
  await client.send(new StartReplicationTaskCommand({ ReplicationTaskArn: taskArn, StartReplicationTaskType: 'resume-processing' }));
  await waitStatus('running');
  const r = await client.send(new ModifyReplicationInstanceCommand({ ReplicationInstanceArn: v1, EngineVersion: NEXT, AllowMajorVersionUpgrade: true, ApplyImmediately: true }));
  expect(r.ReplicationInstance!.ReplicationInstanceStatus).toBe('upgrading');
  await waitFor('upgraded', async () => {
    const s = await instanceStatus(v1);
    return s.status === 'available' && s.engine === NEXT;
  }, 60_000, 25);
  expect(instanceProgram(v1)).toBe(join(svc.dataDir, 'engines', NEXT, 'dist', 'src', 'bin', 'instance.js'));
  await waitStatus('running');
  await changeArrives();
  const q = 'SELECT id, v FROM items ORDER BY id';
  expect((await target.query(q)).rows).toEqual((await source.query(q)).rows);
}, 120_000);

it('upgrades engines in the maintenance window: deprecated -> default, AutoMinorVersionUpgrade -> newest minor', async () => {
  const minor = RUNNING.replace(/\.\d+$/, '.99');
  expect(await engineCli(['build', '--version', minor])).toMatchObject({ code: 0 });
  await waitFor('the minor version listed', async () => (await versions())[minor] === 'AVAILABLE', 10_000, 25);
  const auto = await instance('ri-auto');
  await available(auto);
  const v0 = (await client.send(new DescribeReplicationInstancesCommand({ Filters: [{ Name: 'replication-instance-id', Values: ['ri-v0'] }] }))).ReplicationInstances![0]!;
  expect(v0.EngineVersion).toBe(OLDER);
  // A window open now: the deferred check runs right after the modification.
  const window = windowStartingAt(new Date(Date.now() - 60_000), 60);
  for (const arn of [auto, v0.ReplicationInstanceArn!]) {
    await client.send(new ModifyReplicationInstanceCommand({ ReplicationInstanceArn: arn, PreferredMaintenanceWindow: window, AutoMinorVersionUpgrade: arn === auto }));
  }
  await waitFor('AutoMinorVersionUpgrade applied', async () => {
    const s = await instanceStatus(auto);
    return s.status === 'available' && s.engine === minor;
  }, 60_000, 25);
  expect(instanceProgram(auto)).toBe(join(svc.dataDir, 'engines', minor, 'dist', 'src', 'bin', 'instance.js'));
  await waitFor('deprecated version upgraded to the default', async () => {
    const s = await instanceStatus(v0.ReplicationInstanceArn!);
    return s.status === 'available' && s.engine === RUNNING;
  }, 60_000, 25);
  const events = await client.send(new DescribeEventsCommand({ SourceType: 'replication-instance', Duration: 60 }));
  const messages = events.Events!.map((e) => `${e.SourceIdentifier}: ${e.Message}`);
  expect(messages).toContain(`ri-auto: Automatic engine upgrade in the maintenance window: AutoMinorVersionUpgrade: upgrading from ${RUNNING} to ${minor}.`);
  expect(messages).toContain(`ri-v0: Automatic engine upgrade in the maintenance window: engine version ${OLDER} is deprecated; upgrading to the default version ${RUNNING}.`);
}, 120_000);
