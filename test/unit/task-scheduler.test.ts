/**
 * The task scheduler's reactions, driven through its instance channel: what it sends to an
 * instance when a task starts, stops or must be resumed, and what it stores when the instance
 * reports status, progress and checkpoints. The store is the real SQLite store in a temp dir;
 * the instance side is an in-process channel that records requests and answers them, standing
 * in for the socket (the real socket path is covered by the integration and scenario tests).
 */
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/config/logger.js';
import type { ServerConfig } from '../../src/config/server-config.js';
import { App } from '../../src/control/app.js';
import type { TaskDoc } from '../../src/control/task-record.js';
import { TaskScheduler, type InstanceChannel } from '../../src/control/task-scheduler.js';
import type { StartTaskMessage } from '../../src/instance/protocol.js';
import type { ControlRequest, InstanceMessage } from '../../src/instance/protocol.js';
import { openStore, type Store } from '../../src/store/index.js';

const INSTANCE = 'arn:aws:dms:us-east-1:123456789012:rep:INSTANCEA';
const OTHER_INSTANCE = 'arn:aws:dms:us-east-1:123456789012:rep:INSTANCEB';
const SOURCE = 'arn:aws:dms:us-east-1:123456789012:endpoint:SRC';
const TARGET = 'arn:aws:dms:us-east-1:123456789012:endpoint:TGT';
const TASK = 'arn:aws:dms:us-east-1:123456789012:task:TASKRESOURCEID';
const MAPPINGS = JSON.stringify({
  rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 'all', 'object-locator': { 'schema-name': 'public', 'table-name': '%' }, 'rule-action': 'include' }],
});

type Answer = (msg: ControlRequest) => Promise<unknown>;

/** The instance side of the channel: records requests, answers with `answer`. */
class FakeInstances extends EventEmitter implements InstanceChannel {
  readonly connected = new Set<string>();
  readonly sent: { instanceArn: string; msg: ControlRequest }[] = [];
  answer: Answer = async () => ({});

  request(instanceArn: string, msg: ControlRequest): Promise<unknown> {
    if (!this.connected.has(instanceArn)) return Promise.reject(new Error(`replication instance ${instanceArn} is not connected`));
    this.sent.push({ instanceArn, msg });
    return this.answer(msg);
  }

  isConnected(instanceArn: string): boolean {
    return this.connected.has(instanceArn);
  }

  connect(instanceArn: string): void {
    this.connected.add(instanceArn);
    this.emit('instance-connected', instanceArn);
  }

  lose(instanceArn: string): void {
    this.connected.delete(instanceArn);
    this.emit('instance-lost', instanceArn);
  }

  report(msg: InstanceMessage, instanceArn = INSTANCE): void {
    this.emit('message', instanceArn, msg);
  }

  starts(): StartTaskMessage['spec'][] {
    return this.sent.filter((s) => s.msg.type === 'start-task').map((s) => (s.msg as Omit<StartTaskMessage, 'requestId'>).spec);
  }
}

let dir: string;
let store: Store;
let app: App;
let instances: FakeInstances;
let scheduler: TaskScheduler;

const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

function task(): TaskDoc {
  return store.tasks.get(TASK) as TaskDoc;
}

function events(): string[] {
  return store.events.query({ sourceIdentifier: 'orders' }).map((e) => e.Message);
}

function seed(status = 'ready', extra: Partial<TaskDoc> = {}): void {
  store.instances.insert({
    ReplicationInstanceArn: INSTANCE,
    ReplicationInstanceIdentifier: 'ri',
    ReplicationInstanceClass: 'dms.t3.medium',
    ReplicationInstanceStatus: 'available',
    AllocatedStorage: 50,
    EngineVersion: '3.5.1',
    InstanceCreateTime: new Date().toISOString(),
    MultiAZ: false,
    AutoMinorVersionUpgrade: true,
    PreferredMaintenanceWindow: 'sun:06:00-sun:06:30',
    PubliclyAccessible: true,
  });
  for (const [arn, type] of [
    [SOURCE, 'source'],
    [TARGET, 'target'],
  ] as const) {
    store.endpoints.insert(
      { EndpointArn: arn, EndpointIdentifier: type, EndpointType: type, EngineName: 'postgres', Status: 'active', ServerName: 'db.example', Port: 5432, DatabaseName: 'app', Username: 'u' },
      `${type}-password`,
      new Date().toISOString(),
    );
  }
  const doc: TaskDoc = {
    ReplicationTaskArn: TASK,
    ReplicationTaskIdentifier: 'orders',
    SourceEndpointArn: SOURCE,
    TargetEndpointArn: TARGET,
    ReplicationInstanceArn: INSTANCE,
    MigrationType: 'full-load-and-cdc',
    TableMappings: MAPPINGS,
    ReplicationTaskSettings: '{"FullLoadSettings":{"MaxFullLoadSubTasks":8}}',
    Status: status,
    ReplicationTaskCreationDate: new Date().toISOString(),
    ...extra,
  };
  store.tasks.insert(doc);
}

function newScheduler(): TaskScheduler {
  const s = new TaskScheduler(app, instances);
  s.start();
  return s;
}

/** Seeds a task, starts it and lets the instance report it running. */
async function runningTask(): Promise<void> {
  seed();
  scheduler = newScheduler();
  scheduler.startTask(TASK, 'start-replication');
  await flush();
  instances.report({ type: 'task-status', taskArn: TASK, outcome: { status: 'running' } });
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'opendms-sched-'));
  store = openStore(dir);
  const config = { dataDir: dir, region: 'us-east-1', accountId: '123456789012', logLevel: 'silent' } as unknown as ServerConfig;
  app = new App(config, store, createLogger('silent', 'test'));
  instances = new FakeInstances();
  instances.connected.add(INSTANCE);
});

afterEach(() => {
  scheduler?.detach();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('start, run, stop', () => {
  it('sends the TaskSpec, then follows the instance reports to running and stopped', async () => {
    seed();
    scheduler = newScheduler();
    const doc = scheduler.startTask(TASK, 'start-replication', { CdcStopPosition: 'server_time:2030-01-01T00:00:00' });
    expect(doc.Status).toBe('starting');
    expect(task().Status).toBe('starting'); // persisted before anything was sent
    await flush();
    const [spec] = instances.starts();
    expect(spec).toMatchObject({
      taskArn: TASK,
      taskIdentifier: 'orders',
      taskResourceId: 'TASKRESOURCEID',
      migrationType: 'full-load-and-cdc',
      startType: 'start-replication',
      cdcStopPosition: 'server_time:2030-01-01T00:00:00',
      workDir: join(dir, 'instances', 'INSTANCEA', 'tasks', 'TASKRESOURCEID'),
      source: { endpointArn: SOURCE, serverName: 'db.example', password: 'source-password', endpointType: 'source' },
      target: { endpointArn: TARGET, password: 'target-password', endpointType: 'target' },
    });
    expect(spec!.settings).toMatchObject({ FullLoadSettings: { MaxFullLoadSubTasks: 8 } });
    expect(spec!.tableMappings).toBeTypeOf('object');

    instances.report({ type: 'task-status', taskArn: TASK, outcome: { status: 'running' } });
    expect(task().Status).toBe('running');
    expect(events()).toContain('Replication task has started.');

    instances.report({
      type: 'task-progress',
      taskArn: TASK,
      stats: { FullLoadProgressPercent: 50, TablesLoaded: 1, TablesLoading: 1 },
      tables: [{ SchemaName: 'public', TableName: 'orders', TableState: 'Full load', FullLoadRows: 10 }],
      cdc: { latencySeconds: 2, retainedWalBytes: 4096 },
    });
    expect(task().ReplicationTaskStats).toMatchObject({ FullLoadProgressPercent: 50, TablesLoaded: 1 });
    expect(task()._cdc).toMatchObject({ latencySeconds: 2, retainedWalBytes: 4096 });
    expect(store.tableStatistics.list(TASK)).toEqual([expect.objectContaining({ TableName: 'orders', FullLoadRows: 10 })]);

    instances.report({ type: 'task-event', taskArn: TASK, message: 'retained WAL above the threshold', categories: ['failure'] });
    expect(store.events.query({ sourceIdentifier: 'orders', categories: ['Failure'] }).map((e) => e.Message)).toEqual(['retained WAL above the threshold']);

    instances.report({ type: 'task-checkpoint', taskArn: TASK, recoveryCheckpoint: 'checkpoint:V1#1#0/10#0#0#*#0#0' });
    expect(task().RecoveryCheckpoint).toBe('checkpoint:V1#1#0/10#0#0#*#0#0');

    // The engine reports `stopped` (with its last checkpoint) before the stop request is answered.
    instances.answer = async (msg) => {
      if (msg.type === 'stop-task') {
        instances.report({ type: 'task-status', taskArn: TASK, outcome: { status: 'stopped', stopReason: 'NORMAL', recoveryCheckpoint: 'checkpoint:V1#1#0/20#0#0#*#0#0' } });
        return { wasRunning: true };
      }
      return {};
    };
    expect(scheduler.stopTask(TASK).Status).toBe('stopping');
    await flush();
    expect(instances.sent.map((s) => s.msg.type)).toEqual(['start-task', 'stop-task']);
    expect(task()).toMatchObject({ Status: 'stopped', StopReason: 'Stop Reason NORMAL', RecoveryCheckpoint: 'checkpoint:V1#1#0/20#0#0#*#0#0' });
    expect(task().ReplicationTaskStats).toHaveProperty('StopDate');
    expect(events()).toContain('Replication task has stopped. Stop Reason NORMAL.');
    // Progress after the stop does not touch the stopped task's table statistics.
    instances.report({ type: 'task-progress', taskArn: TASK, stats: {}, tables: [{ SchemaName: 'public', TableName: 'late', TableState: 'Full load' }] });
    expect(store.tableStatistics.list(TASK).map((s) => s.TableName)).toEqual(['orders']);
  });

  it('records a failure with its message and stop reason', async () => {
    seed();
    scheduler = newScheduler();
    scheduler.startTask(TASK, 'start-replication');
    await flush();
    instances.report({ type: 'task-status', taskArn: TASK, outcome: { status: 'failed', failureMessage: 'source unreachable', stopReason: 'RECOVERABLE_ERROR' } });
    expect(task()).toMatchObject({ Status: 'failed', LastFailureMessage: 'source unreachable', StopReason: 'Stop Reason RECOVERABLE_ERROR' });
    expect(events()).toContain('Replication task has failed. Reason: source unreachable');
  });

  it('fails the task when the instance refuses the start request', async () => {
    seed();
    scheduler = newScheduler();
    instances.answer = async () => {
      throw new Error('no task slot free');
    };
    scheduler.startTask(TASK, 'start-replication');
    await flush();
    expect(task().Status).toBe('failed');
    expect(task().LastFailureMessage).toMatch(/INSTANCEA could not start the task: no task slot free/);
  });

  it('answers a refused reload with InvalidResourceStateFault', async () => {
    await runningTask();
    instances.answer = async () => {
      throw new Error('task is not running on this instance');
    };
    await expect(scheduler.reloadTables(TASK, [{ SchemaName: 'public', TableName: 'orders' }])).rejects.toMatchObject({
      code: 'InvalidResourceStateFault',
      message: expect.stringContaining('could not reload tables of replication task orders: task is not running'),
    });
  });

  it('ignores reports from an instance the task does not belong to', async () => {
    seed();
    scheduler = newScheduler();
    scheduler.startTask(TASK, 'start-replication');
    await flush();
    instances.report({ type: 'task-status', taskArn: TASK, outcome: { status: 'running' } }, OTHER_INSTANCE);
    instances.report({ type: 'task-checkpoint', taskArn: TASK, recoveryCheckpoint: 'checkpoint:stale' }, OTHER_INSTANCE);
    expect(task().Status).toBe('starting');
    expect(task().RecoveryCheckpoint).toBeUndefined();
  });

  it('clears the last run figures on a fresh start but keeps them on resume', async () => {
    seed('stopped', { _hasRun: true, ReplicationTaskStats: { TablesLoaded: 3, FullLoadProgressPercent: 100 } });
    store.tableStatistics.upsert(TASK, [{ SchemaName: 'public', TableName: 'a', TableState: 'Table completed' }]);
    scheduler = newScheduler();
    scheduler.startTask(TASK, 'resume-processing');
    expect(task().ReplicationTaskStats).toMatchObject({ TablesLoaded: 3 });
    expect(store.tableStatistics.list(TASK)).toHaveLength(1);
    await flush();
    instances.report({ type: 'task-status', taskArn: TASK, outcome: { status: 'failed', failureMessage: 'x' } });
    scheduler.startTask(TASK, 'reload-target');
    expect(task().ReplicationTaskStats).not.toHaveProperty('TablesLoaded');
    expect(task().ReplicationTaskStats).toHaveProperty('FreshStartDate');
    expect(store.tableStatistics.list(TASK)).toHaveLength(0);
  });
});

describe('instances going away and coming back', () => {
  it('holds a start until the instance connects', async () => {
    seed();
    instances.connected.delete(INSTANCE);
    scheduler = newScheduler();
    scheduler.startTask(TASK, 'start-replication');
    await flush();
    expect(instances.sent).toHaveLength(0);
    expect(task()._pendingStart).toBe('start-replication');
    instances.connect(INSTANCE);
    await flush();
    expect(instances.starts().map((s) => s.startType)).toEqual(['start-replication']);
    expect(task()._pendingStart).toBeUndefined();
  });

  it('stops at once a task whose start never reached its instance', async () => {
    seed();
    instances.connected.delete(INSTANCE);
    scheduler = newScheduler();
    scheduler.startTask(TASK, 'start-replication');
    expect(scheduler.stopTask(TASK).Status).toBe('stopping');
    await flush();
    expect(task()).toMatchObject({ Status: 'stopped', StopReason: 'Stop Reason NORMAL' });
    instances.connect(INSTANCE);
    await flush();
    expect(instances.sent).toHaveLength(0);
  });

  it('resumes a running task with resume-processing when its lost instance comes back', async () => {
    await runningTask();
    instances.lose(INSTANCE);
    expect(task()).toMatchObject({ Status: 'running', _pendingStart: 'resume-processing' });
    expect(events().some((m) => m.includes('was lost'))).toBe(true);
    instances.connect(INSTANCE);
    await flush();
    expect(instances.starts().map((s) => s.startType)).toEqual(['start-replication', 'resume-processing']);
    instances.report({ type: 'task-status', taskArn: TASK, outcome: { status: 'running' } });
    expect(task().Status).toBe('running');
    expect(events().filter((m) => m === 'Replication task has started.')).toHaveLength(1);
  });

  it('resumes a task its instance stopped without being asked (reboot, upgrade)', async () => {
    await runningTask();
    instances.report({ type: 'task-status', taskArn: TASK, outcome: { status: 'stopped', stopReason: 'NORMAL', recoveryCheckpoint: 'checkpoint:V1#1#0/40#0#0#*#0#0' } });
    instances.lose(INSTANCE);
    expect(task()).toMatchObject({ Status: 'running', _pendingStart: 'resume-processing', RecoveryCheckpoint: 'checkpoint:V1#1#0/40#0#0#*#0#0' });
    instances.connect(INSTANCE);
    await flush();
    expect(instances.starts().map((s) => s.startType)).toEqual(['start-replication', 'resume-processing']);
    // A task that ends by itself (full load finished) is stopped for good.
    instances.report({ type: 'task-status', taskArn: TASK, outcome: { status: 'stopped', stopReason: 'FULL_LOAD_ONLY_FINISHED' } });
    expect(task()).toMatchObject({ Status: 'stopped', StopReason: 'Stop Reason FULL_LOAD_ONLY_FINISHED' });
  });

  it('resumes a running task missing from its instance heartbeat', async () => {
    await runningTask();
    const heartbeat = (runningTasks: string[]) => instances.emit('heartbeat', INSTANCE, { type: 'heartbeat', rssBytes: 1, storageUsedBytes: 0, runningTasks });
    heartbeat([TASK]);
    await flush();
    expect(instances.starts()).toHaveLength(1);
    heartbeat([]);
    await flush();
    expect(instances.starts().map((s) => s.startType)).toEqual(['start-replication', 'resume-processing']);
    expect(events().some((m) => m.includes('no longer runs it'))).toBe(true);
    // A resume still on its way is not sent twice.
    instances.answer = () => new Promise(() => undefined);
    heartbeat([]); // sends a third start, which gets no answer
    await flush();
    heartbeat([]); // that start is in flight: nothing new
    await flush();
    expect(instances.starts()).toHaveLength(3);
  });

  it('counts a task stopping on a lost instance as stopped', async () => {
    await runningTask();
    instances.answer = () => new Promise(() => undefined); // the stop never gets an answer
    scheduler.stopTask(TASK);
    await flush();
    instances.lose(INSTANCE);
    expect(task()).toMatchObject({ Status: 'stopped', StopReason: 'Stop Reason NORMAL' });
  });
});

describe('control-plane shutdown and restart', () => {
  it('keeps tasks running through a shutdown and resumes them on the next start', async () => {
    await runningTask();
    await scheduler.stop();
    // The instance stops its tasks as the service shuts down: not a user stop.
    instances.report({ type: 'task-status', taskArn: TASK, outcome: { status: 'stopped', stopReason: 'NORMAL', recoveryCheckpoint: 'checkpoint:V1#1#0/30#0#0#*#0#0' } });
    instances.lose(INSTANCE);
    scheduler.detach();
    expect(task()).toMatchObject({ Status: 'running', RecoveryCheckpoint: 'checkpoint:V1#1#0/30#0#0#*#0#0' });

    instances = new FakeInstances();
    scheduler = newScheduler();
    expect(task()._pendingStart).toBe('resume-processing');
    instances.connect(INSTANCE);
    await flush();
    expect(instances.starts()).toEqual([expect.objectContaining({ startType: 'resume-processing', recoveryCheckpoint: 'checkpoint:V1#1#0/30#0#0#*#0#0' })]);
  });

  it('removes a deleted task with its tags and its work dir on the instance', async () => {
    seed('deleting');
    store.tags.put(TASK, [{ Key: 'k', Value: 'v' }]);
    const workDir = join(dir, 'instances', 'INSTANCEA', 'tasks', 'TASKRESOURCEID');
    mkdirSync(workDir, { recursive: true });
    writeFileSync(join(workDir, 'task.log'), 'x');
    scheduler = newScheduler();
    expect(store.tasks.get(TASK)).toBeUndefined();
    expect(store.tags.list(TASK)).toEqual([]);
    expect(existsSync(workDir)).toBe(false);
    expect(events()).toContain('Replication task has been deleted.');
  });

  it('finishes what a killed control plane left half-done', async () => {
    seed('stopping');
    const others: [string, string, Partial<TaskDoc>][] = [
      ['creating', 'c', {}],
      ['modifying', 'm', { _resting: 'failed' }],
      ['deleting', 'd', {}],
    ];
    for (const [status, id, extra] of others) {
      store.tasks.insert({ ...task(), ReplicationTaskArn: `${TASK}${id}`, ReplicationTaskIdentifier: `orders-${id}`, Status: status, ...extra } as TaskDoc);
    }
    scheduler = newScheduler(); // INSTANCE is connected already
    await flush();
    expect(store.tasks.get(`${TASK}c`)?.Status).toBe('ready');
    expect(store.tasks.get(`${TASK}m`)?.Status).toBe('failed');
    expect(store.tasks.get(`${TASK}d`)).toBeUndefined();
    // The stopping task: the stop is sent again; the instance no longer runs it, so it is stopped.
    expect(instances.sent.map((s) => s.msg)).toEqual([{ type: 'stop-task', taskArn: TASK }]);
    expect(task()).toMatchObject({ Status: 'stopped', StopReason: 'Stop Reason NORMAL' });
  });
});
