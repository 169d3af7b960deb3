/** The instance's task host with a fake engine: slots, reporting, stopping (no processes, no databases). */
import { pino } from 'pino';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { RunningTask, StartTask, TaskReporter, TaskSpec } from '../../src/engine/contracts.js';
import type { InstanceMessage } from '../../src/instance/protocol.js';
import { TaskHost } from '../../src/instance/task-host.js';

let dir: string;
let sent: InstanceMessage[];
let reporters: Map<string, TaskReporter>;
let stopped: string[];

const fakeEngine: StartTask = (spec, reporter): RunningTask => {
  reporters.set(spec.taskArn, reporter);
  if (spec.taskIdentifier === 'fails-at-once') reporter.status({ status: 'failed', failureMessage: 'cannot run' });
  return {
    stop: async () => {
      stopped.push(spec.taskArn);
      reporter.status({ status: 'stopped', stopReason: 'STOPPED_AFTER_FULL_LOAD' });
    },
    reloadTables: async () => {},
  };
};

function spec(id: string): TaskSpec {
  const endpoint = { endpointArn: 'e', endpointIdentifier: 'e', endpointType: 'source' as const, engineName: 'postgres', serverName: 'h', port: 1, sslMode: 'none' as const, settings: {} };
  return {
    taskArn: `arn:aws:dms:us-east-1:123456789012:task:${id}`,
    taskIdentifier: id,
    taskResourceId: id,
    migrationType: 'full-load',
    tableMappings: {},
    settings: {},
    source: endpoint,
    target: { ...endpoint, endpointType: 'target' },
    startType: 'start-replication',
    workDir: join(dir, 'tasks', id),
  };
}

const host = (slots: number): TaskHost => new TaskHost((m) => sent.push(m), pino({ level: 'silent' }), slots, async () => fakeEngine);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'opendms-host-'));
  sent = [];
  reporters = new Map();
  stopped = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it('runs at most its slots, counting tasks still starting', async () => {
  const h = host(2);
  const [a, b, c] = await Promise.allSettled([h.start(spec('a')), h.start(spec('b')), h.start(spec('c'))]);
  expect(a.status).toBe('fulfilled');
  expect(b.status).toBe('fulfilled');
  expect(c).toMatchObject({ status: 'rejected', reason: expect.objectContaining({ message: expect.stringContaining('no free task slot') }) });
  expect(h.runningTaskArns).toHaveLength(2);
  await h.stop(spec('a').taskArn);
  await expect(h.start(spec('c'))).resolves.toEqual({ taskArn: spec('c').taskArn });
});

it('refuses to start a task twice', async () => {
  const h = host(5);
  await h.start(spec('a'));
  await expect(h.start(spec('a'))).rejects.toThrow(/already running/);
});

it('forwards reports as task-* messages and writes the task log', async () => {
  const h = host(5);
  await h.start(spec('a'));
  const r = reporters.get(spec('a').taskArn)!;
  r.status({ status: 'running' });
  r.progress({ stats: { TablesLoaded: 1 }, tables: [] });
  r.checkpoint('checkpoint:V1#1#0/1');
  r.event('table loaded', ['State Change']);
  expect(sent.map((m) => m.type)).toEqual(['task-status', 'task-progress', 'task-checkpoint', 'task-event']);
  expect(sent[2]).toEqual({ type: 'task-checkpoint', taskArn: spec('a').taskArn, recoveryCheckpoint: 'checkpoint:V1#1#0/1' });
  const log = readFileSync(join(dir, 'tasks', 'a', 'task.log'), 'utf8');
  expect(log).toContain('"what":"start"');
  expect(log).toContain('table loaded');
});

it('a task that fails while starting holds no slot', async () => {
  const h = host(1);
  await h.start(spec('fails-at-once'));
  expect(h.runningTaskArns).toEqual([]);
  await expect(h.start(spec('b'))).resolves.toBeDefined();
});

it('stopAll stops every task and a stopped task leaves the host', async () => {
  const h = host(5);
  await h.start(spec('a'));
  await h.start(spec('b'));
  await h.stopAll(1000);
  expect(stopped.sort()).toEqual([spec('a').taskArn, spec('b').taskArn]);
  expect(h.runningTaskArns).toEqual([]);
  expect(await h.stop(spec('a').taskArn)).toEqual({ taskArn: spec('a').taskArn, wasRunning: false });
});
