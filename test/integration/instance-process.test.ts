/**
 * The replication-instance process on its own: the built `dist/src/bin/instance.js` launched
 * against a control socket played by this test, to check its side of the internal protocol
 * (hello with token and protocol version, heartbeats, replies, shutdown, exit when the control
 * plane goes away, refusal).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { JsonLineChannel } from '../../src/instance/json-lines.js';
import type { EndpointConnectionSpec, TaskSpec } from '../../src/engine/contracts.js';
import { INSTANCE_ENV, PROTOCOL_VERSION } from '../../src/instance/protocol.js';
import { freePort, waitFor } from '../helpers/ports.js';
import { REPO_ROOT } from '../helpers/service.js';

type Msg = Record<string, unknown> & { type: string };

const ARN = 'arn:aws:dms:us-east-1:123456789012:rep:TESTINSTANCE0000000000000A';
const TOKEN = 'a'.repeat(64);
const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
let dir: string;
let server: Server;
let child: ChildProcess | undefined;
let exit: Promise<number | null>;
let peer: Promise<{ channel: JsonLineChannel; messages: Msg[]; next: (type: string) => Promise<Msg> }>;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'opendms-inst-'));
  const socketPath = join(dir, 'control.sock');
  let accept!: (socket: Socket) => void;
  const accepted = new Promise<Socket>((resolve) => (accept = resolve));
  server = createServer((s) => accept(s));
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  peer = accepted.then((socket) => {
    const channel = new JsonLineChannel(socket);
    const messages: Msg[] = [];
    channel.on('message', (m) => messages.push(m));
    const next = (type: string): Promise<Msg> =>
      waitFor(`a ${type} message`, async () => {
        const i = messages.findIndex((m) => m.type === type);
        return i >= 0 ? messages.splice(i, 1)[0] : undefined;
      }, 15_000, 10);
    return { channel, messages, next };
  });
  child = spawn(process.execPath, [join(REPO_ROOT, 'dist', 'src', 'bin', 'instance.js')], {
    env: {
      PATH: process.env.PATH,
      [INSTANCE_ENV.instanceArn]: ARN,
      [INSTANCE_ENV.controlSocket]: socketPath,
      [INSTANCE_ENV.token]: TOKEN,
      [INSTANCE_ENV.workDir]: join(dir, 'work'),
      [INSTANCE_ENV.engineVersion]: '9.9.9',
      [INSTANCE_ENV.logLevel]: 'debug',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.resume();
  exit = new Promise((resolve) => child!.once('exit', (code) => resolve(code)));
});

afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await exit;
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

async function welcomed(): Promise<Awaited<typeof peer>> {
  const p = await peer;
  const hello = await p.next('hello');
  expect(hello).toMatchObject({ protocol: PROTOCOL_VERSION, instanceArn: ARN, token: TOKEN, engineVersion: VERSION, pid: child!.pid });
  p.channel.send({ type: 'welcome', protocol: PROTOCOL_VERSION });
  return p;
}

it('says hello, then sends heartbeats with RSS, storage used and running tasks', async () => {
  const p = await welcomed();
  const hb = await p.next('heartbeat');
  expect(hb.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
  expect(hb.storageUsedBytes).toBeGreaterThan(0); // its own log and pid file
  expect(hb.runningTasks).toEqual([]);
  expect(readFileSync(join(dir, 'work', 'instance.pid'), 'utf8').trim()).toBe(String(child!.pid));
  const log = readFileSync(join(dir, 'work', 'instance.log'), 'utf8');
  expect(log).toContain('"instanceId":"TESTINSTANCE0000000000000A"');
  expect(log).not.toContain(TOKEN);
});

it('tests a connection itself and answers with the connection error, password-free', async () => {
  const p = await welcomed();
  const port = await freePort(); // nothing listens there
  const endpoint: EndpointConnectionSpec = {
    endpointArn: 'arn:aws:dms:us-east-1:123456789012:endpoint:X',
    endpointIdentifier: 'closed-port',
    endpointType: 'source',
    engineName: 'postgres',
    serverName: '127.0.0.1',
    port,
    databaseName: 'app',
    username: 'app',
    password: 'Instance-Test-Secret',
    sslMode: 'none',
    settings: {},
  };
  p.channel.send({ type: 'test-connection', requestId: 't1', endpoint });
  const reply = await p.next('reply');
  expect(reply).toMatchObject({ requestId: 't1', ok: false, error: expect.stringContaining(`127.0.0.1:${port}`) });
  expect(String(reply.error)).not.toContain('Instance-Test-Secret');
});

it('answers every request with a reply carrying its requestId', async () => {
  const p = await welcomed();
  p.channel.send({ type: 'stop-task', requestId: 'r1', taskArn: 'arn:aws:dms:us-east-1:123456789012:task:NOPE' });
  expect(await p.next('reply')).toEqual({ type: 'reply', requestId: 'r1', ok: true, result: { taskArn: 'arn:aws:dms:us-east-1:123456789012:task:NOPE', wasRunning: false } });
  p.channel.send({ type: 'reload-tables', requestId: 'r2', taskArn: 'x', tables: [] });
  expect(await p.next('reply')).toMatchObject({ requestId: 'r2', ok: false, error: expect.stringContaining('not running') });
  p.channel.send({ type: 'make-coffee', requestId: 'r3' });
  expect(await p.next('reply')).toMatchObject({ requestId: 'r3', ok: false, error: expect.stringContaining('unknown message type') });
});

it('hosts a task: start-task is answered, the task reports its status, and it has a task log', async () => {
  const p = await welcomed();
  const workDir = join(dir, 'work', 'tasks', 'TASK1');
  const endpoint = (type: 'source' | 'target') => ({
    endpointArn: `arn:aws:dms:us-east-1:123456789012:endpoint:${type}`,
    endpointIdentifier: type,
    endpointType: type,
    // An engine no build supports: the engine reports the task failed at once.
    engineName: 'sybase',
    serverName: '127.0.0.1',
    port: 1,
    databaseName: 'nothing',
    username: 'u',
    password: 'secret-password-never-logged',
    sslMode: 'none' as const,
    settings: {},
  });
  const spec: TaskSpec = {
    taskArn: 'arn:aws:dms:us-east-1:123456789012:task:TASK1',
    taskIdentifier: 'task1',
    taskResourceId: 'TASK1',
    migrationType: 'full-load',
    tableMappings: { rules: [] },
    settings: {},
    source: endpoint('source'),
    target: endpoint('target'),
    startType: 'start-replication',
    workDir,
  };
  p.channel.send({ type: 'start-task', requestId: 's1', spec });
  const started = await p.next('reply');
  expect(started).toMatchObject({ requestId: 's1', ok: true });
  const status = await p.next('task-status');
  expect(status).toMatchObject({ taskArn: spec.taskArn, outcome: { status: 'failed', failureMessage: expect.stringContaining('sybase') } });
  // A task that ended is no longer hosted: stopping it is a no-op, and heartbeats no longer list it.
  p.channel.send({ type: 'stop-task', requestId: 's2', taskArn: spec.taskArn });
  expect(await p.next('reply')).toMatchObject({ requestId: 's2', ok: true, result: { wasRunning: false } });
  p.messages.splice(0);
  expect((await p.next('heartbeat')).runningTasks).toEqual([]);
  expect(readFileSync(join(workDir, 'task.log'), 'utf8')).toContain('"status":"failed"');
  expect(readFileSync(join(dir, 'work', 'instance.log'), 'utf8')).not.toContain('secret-password-never-logged');
});

it('exits on shutdown', async () => {
  const p = await welcomed();
  await p.next('heartbeat');
  p.channel.send({ type: 'shutdown', stopTasks: true });
  expect(await exit).toBe(0);
  expect(existsSync(join(dir, 'work', 'instance.pid'))).toBe(false);
});

it('exits when the control plane goes away', async () => {
  const p = await welcomed();
  await p.next('heartbeat');
  p.channel.close('control plane died');
  expect(await exit).toBe(0);
});

it('exits when refused', async () => {
  const p = await peer;
  await p.next('hello');
  p.channel.send({ type: 'refused', reason: 'wrong token' });
  expect(await exit).toBe(1);
});
