/**
 * MoveReplicationTask, the side-by-side upgrade as an operator runs it: through the AWS CLI exactly
 * as the AWS blog types it, and through boto3. A real PostgreSQL source and target, a
 * full-load-and-cdc task under continuous writes: stop, read the checkpoint, a move that fails
 * (target with too little storage) -> failed-move, resume on the old instance, move to a good
 * instance, resume there; rows compared one by one. Also every synchronous fault, and a delete
 * while the task is moving.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import {
  CreateEndpointCommand,
  CreateReplicationInstanceCommand,
  CreateReplicationTaskCommand,
  DeleteReplicationInstanceCommand,
  DeleteReplicationTaskCommand,
  DescribeEventsCommand,
  DescribeReplicationInstancesCommand,
  DescribeReplicationTasksCommand,
  ModifyReplicationTaskCommand,
  MoveReplicationTaskCommand,
  StartReplicationTaskCommand,
  StopReplicationTaskCommand,
  type DatabaseMigrationServiceClient,
  type ReplicationTask,
} from '@aws-sdk/client-database-migration-service';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort, waitFor } from '../helpers/ports.js';
import { startPostgres, type PostgresCluster } from '../helpers/postgres.js';
import { startService, TEST_KEYS, type RunningService } from '../helpers/service.js';

let svc: RunningService;
let client: DatabaseMigrationServiceClient;
let source: PostgresCluster;
let target: PostgresCluster;
let oldArn: string;
let newArn: string;
let smallArn: string;
let srcArn: string;
let tgtArn: string;
let taskArn: string;

const MAPPINGS = JSON.stringify({
  rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 'items', 'object-locator': { 'schema-name': 'public', 'table-name': 'items' }, 'rule-action': 'include' }],
});
/** MemoryLimitTotal 8192 MB: the task reserves 1 + 8 = 9 GB on its instance (see docs/upgrades.md). */
const SETTINGS = JSON.stringify({ ChangeProcessingTuning: { MemoryLimitTotal: 8192 } });

async function instance(id: string, storage?: number): Promise<string> {
  const r = await client.send(
    new CreateReplicationInstanceCommand({ ReplicationInstanceIdentifier: id, ReplicationInstanceClass: 'dms.t3.medium', ...(storage ? { AllocatedStorage: storage } : {}) }),
  );
  return r.ReplicationInstance!.ReplicationInstanceArn!;
}

async function available(arn: string): Promise<void> {
  await waitFor(`instance ${arn} available`, async () => {
    const r = await client.send(new DescribeReplicationInstancesCommand({ Filters: [{ Name: 'replication-instance-arn', Values: [arn] }] }));
    return r.ReplicationInstances![0]!.ReplicationInstanceStatus === 'available';
  }, 30_000, 25);
}

async function endpoint(id: string, type: 'source' | 'target', port: number, db: PostgresCluster): Promise<string> {
  const r = await client.send(
    new CreateEndpointCommand({ EndpointIdentifier: id, EndpointType: type, EngineName: 'postgres', ServerName: '127.0.0.1', Port: port, DatabaseName: 'postgres', Username: db.user, Password: db.password }),
  );
  return r.Endpoint!.EndpointArn!;
}

async function createTask(id: string, opts: { source?: string; instance?: string; settings?: string } = {}): Promise<string> {
  const r = await client.send(
    new CreateReplicationTaskCommand({
      ReplicationTaskIdentifier: id,
      SourceEndpointArn: opts.source ?? srcArn,
      TargetEndpointArn: tgtArn,
      ReplicationInstanceArn: opts.instance ?? oldArn,
      MigrationType: 'full-load-and-cdc',
      TableMappings: MAPPINGS,
      ...(opts.settings ? { ReplicationTaskSettings: opts.settings } : {}),
    }),
  );
  const arn = r.ReplicationTask!.ReplicationTaskArn!;
  await waitStatus(arn, 'ready');
  return arn;
}

async function describe(arn: string): Promise<ReplicationTask> {
  const r = await client.send(new DescribeReplicationTasksCommand({ Filters: [{ Name: 'replication-task-arn', Values: [arn] }] }));
  return r.ReplicationTasks![0]!;
}

async function waitStatus(arn: string, status: string, timeoutMs = 60_000): Promise<ReplicationTask> {
  return waitFor(`task to be ${status}`, async () => {
    const t = await describe(arn);
    if (t.Status === 'failed' && status !== 'failed') throw new Error(`task failed: ${t.LastFailureMessage}`);
    return t.Status === status ? t : undefined;
  }, timeoutMs, 20);
}

/** Runs the AWS CLI as an operator types it and parses its JSON output. */
async function aws(args: string[]): Promise<unknown> {
  const r = await svc.aws(args);
  if (r.code !== 0) throw new Error(`aws dms ${args[0]} failed (${r.code}): ${r.stderr}`);
  return r.stdout.trim() ? JSON.parse(r.stdout) : undefined;
}

/** Runs `python3 -c` with boto3 against the service. */
function boto3(code: string): Promise<string> {
  const prelude = `import boto3, json\nc = boto3.client('dms', endpoint_url='${svc.url}', region_name='us-east-1', aws_access_key_id='${TEST_KEYS.accessKeyId}', aws_secret_access_key='${TEST_KEYS.secretAccessKey}')\n`;
  return new Promise((resolve, reject) => {
    execFile('python3', ['-c', prelude + code], { timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
  });
}

/** The SDK's SourceType enum predates task events; the service (like AWS) accepts replication-task. */
const taskEvents = (id: string) => client.send(new DescribeEventsCommand({ SourceType: 'replication-task' as 'replication-instance', SourceIdentifier: id }));

const faultOf = (p: Promise<unknown>): Promise<{ name: string; message: string }> =>
  p.then(
    () => ({ name: 'no fault', message: '' }),
    (e: { name: string; message: string }) => ({ name: e.name, message: e.message }),
  );

// ---- a steady writer on the source ----
let writing = false;
let written = 0;
let writer: Promise<void> | undefined;

function startWriter(): void {
  writing = true;
  writer = (async () => {
    while (writing) {
      const id = 10_000 + written++;
      await source.query(`INSERT INTO items (id, v) VALUES (${id}, 'w${id}')`);
      if (id % 3 === 0) await source.query(`UPDATE items SET v = v || '+' WHERE id = ${id - 1}`);
      if (id % 7 === 0) await source.query(`DELETE FROM items WHERE id = ${id - 5}`);
    }
  })();
}

async function stopWriter(): Promise<void> {
  writing = false;
  await writer;
}

async function caughtUp(): Promise<void> {
  const q = 'SELECT id, v FROM items ORDER BY id';
  const a = await source.query(q);
  await waitFor('target identical to source', async () => {
    const b = await target.query(q).catch(() => undefined);
    return b !== undefined && JSON.stringify(b.rows) === JSON.stringify(a.rows);
  }, 60_000, 100);
  const b = await target.query(q);
  expect(b.rows).toEqual(a.rows);
}

async function changeArrives(id: number): Promise<void> {
  await source.query(`INSERT INTO items (id, v) VALUES (${id}, 'probe')`);
  await waitFor(`row ${id} on the target`, async () => {
    const r = await target.query(`SELECT count(*)::int AS n FROM items WHERE id = ${id}`);
    return (r.rows[0] as { n: number }).n === 1;
  }, 60_000, 50);
}

beforeAll(async () => {
  [source, target] = await Promise.all([startPostgres(), startPostgres()]);
  await source.query('CREATE TABLE items (id int PRIMARY KEY, v text NOT NULL)');
  await source.query("INSERT INTO items SELECT g, 'row ' || g FROM generate_series(1, 500) g");
  svc = await startService();
  client = svc.client();
  [oldArn, newArn, smallArn] = await Promise.all([instance('ri-old'), instance('ri-new'), instance('ri-small', 5)]);
  [srcArn, tgtArn] = await Promise.all([endpoint('move-src', 'source', source.port, source), endpoint('move-tgt', 'target', target.port, target)]);
  await Promise.all([oldArn, newArn, smallArn].map(available));
  taskArn = await createTask('move-task', { settings: SETTINGS });
}, 180_000);

afterAll(async () => {
  writing = false;
  await writer?.catch(() => undefined);
  await svc?.destroy();
  await Promise.all([source?.stop(), target?.stop()]);
}, 120_000);

it('refuses what cannot be moved, synchronously', async () => {
  const bogusTask = taskArn.replace(/:task:.*/, ':task:NOSUCHTASK');
  const bogusInstance = oldArn.replace(/:rep:.*/, ':rep:NOSUCHINSTANCE');
  expect(await faultOf(client.send(new MoveReplicationTaskCommand({ ReplicationTaskArn: bogusTask, TargetReplicationInstanceArn: newArn })))).toMatchObject({
    name: 'ResourceNotFoundFault',
  });
  expect(await faultOf(client.send(new MoveReplicationTaskCommand({ ReplicationTaskArn: taskArn, TargetReplicationInstanceArn: bogusInstance })))).toMatchObject({
    name: 'ResourceNotFoundFault',
    message: expect.stringContaining('TargetReplicationInstanceArn'),
  });
  expect(await faultOf(client.send(new MoveReplicationTaskCommand({ ReplicationTaskArn: taskArn, TargetReplicationInstanceArn: oldArn })))).toMatchObject({
    name: 'InvalidResourceStateFault',
    message: expect.stringContaining('already runs on replication instance ri-old'),
  });
  // A target that is not available yet (its process has not said hello).
  const fresh = await instance('ri-fresh');
  expect(await faultOf(client.send(new MoveReplicationTaskCommand({ ReplicationTaskArn: taskArn, TargetReplicationInstanceArn: fresh })))).toMatchObject({
    name: 'InvalidResourceStateFault',
    message: expect.stringMatching(/ri-fresh is in status creating; a task can move only to an available instance/),
  });
  // None of that changed the task.
  expect(await describe(taskArn)).toMatchObject({ Status: 'ready', ReplicationInstanceArn: oldArn });
  expect((await describe(taskArn)).TargetReplicationInstanceArn).toBeUndefined();
}, 60_000);

it('refuses a move to an instance whose task quota is full (200 tasks)', async () => {
  const full = await instance('ri-full');
  await available(full);
  for (let batch = 0; batch < 10; batch++) {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        client.send(
          new CreateReplicationTaskCommand({
            ReplicationTaskIdentifier: `filler-${batch * 20 + i}`,
            SourceEndpointArn: srcArn,
            TargetEndpointArn: tgtArn,
            ReplicationInstanceArn: full,
            MigrationType: 'full-load',
            TableMappings: MAPPINGS,
          }),
        ),
      ),
    );
  }
  expect(await faultOf(client.send(new MoveReplicationTaskCommand({ ReplicationTaskArn: taskArn, TargetReplicationInstanceArn: full })))).toMatchObject({
    name: 'ResourceQuotaExceededFault',
    message: expect.stringContaining('ri-full already has 200 replication tasks'),
  });
  expect((await describe(taskArn)).Status).toBe('ready');
}, 120_000);

it('refuses to move a running task, then fails a move to an instance with too little storage', async () => {
  await client.send(new StartReplicationTaskCommand({ ReplicationTaskArn: taskArn, StartReplicationTaskType: 'start-replication' }));
  await waitStatus(taskArn, 'running');
  await changeArrives(5001);
  startWriter();
  expect(await faultOf(client.send(new MoveReplicationTaskCommand({ ReplicationTaskArn: taskArn, TargetReplicationInstanceArn: newArn })))).toMatchObject({
    name: 'InvalidResourceStateFault',
    message: expect.stringContaining('is in status running'),
  });

  // The operator's steps, as the AWS blog types them.
  const stopped = (await aws(['stop-replication-task', '--replication-task-arn', taskArn])) as { ReplicationTask: ReplicationTask };
  expect(stopped.ReplicationTask.Status).toBe('stopping');
  await waitStatus(taskArn, 'stopped');
  const checkpoint = (await aws(['describe-replication-tasks', '--filters', `Name=replication-task-arn,Values=${taskArn}`, '--query', 'ReplicationTasks[0].RecoveryCheckpoint'])) as string;
  expect(checkpoint).toMatch(/^checkpoint:V1#\d+#[0-9A-F]{8}\/[0-9A-F]{8}#/);

  const moved = (await aws(['move-replication-task', '--replication-task-arn', taskArn, '--target-replication-instance-arn', smallArn])) as { ReplicationTask: ReplicationTask };
  expect(moved.ReplicationTask).toMatchObject({ ReplicationTaskArn: taskArn, Status: 'moving', ReplicationInstanceArn: oldArn, TargetReplicationInstanceArn: smallArn });
  const failed = await waitStatus(taskArn, 'failed-move', 10_000);
  expect(failed.ReplicationInstanceArn).toBe(oldArn);
  expect(failed.TargetReplicationInstanceArn).toBeUndefined();
  expect(failed.LastFailureMessage).toMatch(/not enough storage on replication instance ri-small: the task needs 9 GB.*5 GB AllocatedStorage/);
  expect(failed.RecoveryCheckpoint).toBe(checkpoint);
  const events = await taskEvents('move-task');
  expect(events.Events!.find((e) => e.EventCategories?.includes('Failure') && /move failed/.test(e.Message ?? ''))).toBeDefined();
}, 120_000);

it('resumes on the old instance after a failed move', async () => {
  await aws(['start-replication-task', '--replication-task-arn', taskArn, '--start-replication-task-type', 'resume-processing']);
  const t = await waitStatus(taskArn, 'running');
  expect(t.ReplicationInstanceArn).toBe(oldArn);
  await changeArrives(5002);
  await aws(['stop-replication-task', '--replication-task-arn', taskArn]);
  await waitStatus(taskArn, 'stopped');
}, 120_000);

it('moves to a good instance through boto3 and resumes there with nothing lost or doubled', async () => {
  const out = await boto3(
    `r = c.move_replication_task(ReplicationTaskArn='${taskArn}', TargetReplicationInstanceArn='${newArn}')\nprint(json.dumps({k: r['ReplicationTask'].get(k) for k in ('Status', 'ReplicationInstanceArn', 'TargetReplicationInstanceArn')}))`,
  );
  expect(JSON.parse(out)).toEqual({ Status: 'moving', ReplicationInstanceArn: oldArn, TargetReplicationInstanceArn: newArn });
  // How fast a move is belongs to bench/handover.bench.ts, not to a timed assertion here.
  const done = await waitStatus(taskArn, 'stopped', 30_000);
  expect(done.ReplicationInstanceArn).toBe(newArn);
  expect(done.TargetReplicationInstanceArn).toBeUndefined();
  expect(done.LastFailureMessage).toBeUndefined();
  // The task's files went with it.
  const taskId = taskArn.slice(taskArn.lastIndexOf(':') + 1);
  const dirOf = (arn: string): string => join(svc.dataDir, 'instances', arn.slice(arn.lastIndexOf(':') + 1), 'tasks', taskId);
  expect(existsSync(dirOf(oldArn))).toBe(false);

  await aws(['start-replication-task', '--replication-task-arn', taskArn, '--start-replication-task-type', 'resume-processing']);
  const running = await waitStatus(taskArn, 'running');
  expect(running.ReplicationInstanceArn).toBe(newArn);
  expect(existsSync(dirOf(newArn))).toBe(true);
  await changeArrives(5003);
  await stopWriter();
  expect(written).toBeGreaterThan(10);
  await caughtUp();
  const events = await taskEvents('move-task');
  expect(events.Events!.map((e) => e.Message)).toContain('Replication task moved from replication instance ri-old to ri-new.');
}, 180_000);

it('while moving only DeleteReplicationTask is accepted, and a delete cancels the move', async () => {
  // A source the target instance cannot finish connecting to: the server accepts and stays silent.
  const sockets: Socket[] = [];
  const silent: Server = createServer((s) => sockets.push(s));
  const port = await freePort();
  await new Promise<void>((r) => silent.listen(port, '127.0.0.1', () => r()));
  try {
    const slowSrc = await endpoint('slow-src', 'source', port, source);
    const arn = await createTask('delete-while-moving', { source: slowSrc });
    const r = await client.send(new MoveReplicationTaskCommand({ ReplicationTaskArn: arn, TargetReplicationInstanceArn: newArn }));
    expect(r.ReplicationTask).toMatchObject({ Status: 'moving', TargetReplicationInstanceArn: newArn });
    await waitFor('the target connecting to the silent source', async () => sockets.length > 0, 10_000, 20);
    for (const call of [
      client.send(new StartReplicationTaskCommand({ ReplicationTaskArn: arn, StartReplicationTaskType: 'start-replication' })),
      client.send(new StopReplicationTaskCommand({ ReplicationTaskArn: arn })),
      client.send(new ModifyReplicationTaskCommand({ ReplicationTaskArn: arn, TaskData: '{}' })),
      client.send(new MoveReplicationTaskCommand({ ReplicationTaskArn: arn, TargetReplicationInstanceArn: smallArn })),
    ]) {
      expect(await faultOf(call)).toMatchObject({ name: 'InvalidResourceStateFault', message: expect.stringContaining('only DeleteReplicationTask is allowed while moving') });
    }
    // The instance the task is moving to cannot be deleted under it.
    expect(await faultOf(client.send(new DeleteReplicationInstanceCommand({ ReplicationInstanceArn: newArn })))).toMatchObject({
      name: 'InvalidResourceStateFault',
      message: expect.stringContaining('delete-while-moving'),
    });
    const del = await client.send(new DeleteReplicationTaskCommand({ ReplicationTaskArn: arn }));
    expect(del.ReplicationTask!.Status).toBe('deleting');
    // Let the connection attempt end now: the move must notice the task is gone and record nothing.
    for (const s of sockets) s.destroy();
    await waitFor('task gone', async () => (await faultOf(describe(arn))).name === 'ResourceNotFoundFault', 10_000, 20);
    await waitFor('move settled', async () => sockets.every((s) => s.destroyed), 5_000, 20);
    const events = await taskEvents('delete-while-moving');
    const messages = events.Events!.map((e) => e.Message ?? '');
    expect(messages).toContain('Replication task has been deleted.');
    expect(messages.filter((m) => /move failed|moved from/.test(m))).toEqual([]);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
  }
}, 120_000);

it('a move interrupted by a control-plane crash starts over after the restart and ends', async () => {
  const sockets: Socket[] = [];
  const silent: Server = createServer((s) => sockets.push(s));
  const port = await freePort();
  await new Promise<void>((r) => silent.listen(port, '127.0.0.1', () => r()));
  try {
    const slowSrc = await endpoint('slow-src-2', 'source', port, source);
    const arn = await createTask('crash-while-moving', { source: slowSrc });
    await client.send(new MoveReplicationTaskCommand({ ReplicationTaskArn: arn, TargetReplicationInstanceArn: newArn }));
    await waitFor('the target connecting to the silent source', async () => sockets.length > 0, 10_000, 20);
    await svc.kill('SIGKILL');
    for (const s of sockets.splice(0)) s.destroy();
    await svc.restart();
    client = svc.client();
    expect((await describe(arn)).Status).toBe('moving');
    // The restarted control plane begins the move again: the target connects to the source anew.
    await waitFor('the move begun again', async () => sockets.length > 0, 30_000, 20);
    for (const s of sockets) s.destroy();
    const t = await waitStatus(arn, 'failed-move', 30_000);
    expect(t.ReplicationInstanceArn).toBe(oldArn);
    expect(t.TargetReplicationInstanceArn).toBeUndefined();
    expect(t.LastFailureMessage).toMatch(/^Move to replication instance ri-new failed: replication instance ri-new cannot connect to source endpoint slow-src-2/);
    // The task that had moved before the crash is still where its move put it.
    expect((await describe(taskArn)).ReplicationInstanceArn).toBe(newArn);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
  }
}, 120_000);
