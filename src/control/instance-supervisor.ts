/**
 * Replication instances as real, supervised OS processes.
 *
 * The status rules (which operation is allowed when, what follows a hello, a crash, a full disk)
 * are pure functions in instance-lifecycle.ts, with the state diagram. This class is the shell
 * around them: processes, the control socket, timers. A process that dies unexpectedly is
 * restarted with exponential backoff; the control plane learns an instance is ready from its
 * `hello`, never from a sleep. A connected instance that sends no heartbeat for
 * HEARTBEAT_TIMEOUT_MS is considered hung and killed (then restarted like any crash).
 *
 * ## API for other parts of the control plane (`app.instances`)
 *
 * - `request(instanceArn, message, timeoutMs = 30000): Promise<unknown>` — sends a control request
 *   (`start-task`, `stop-task`, `reload-tables`, `test-connection`, `prepare-task`; see
 *   ControlRequest in src/instance/protocol.ts) with a fresh requestId; resolves with the reply's
 *   `result`; rejects with `Error(reply.error)`, or on timeout, or when the instance is not
 *   connected or disconnects; rejects with `UnsupportedRequestError`, sending nothing, when the
 *   instance's protocol version (its engine bundle) predates the request.
 * - `protocolOf(instanceArn)` — the protocol version the connected process said hello with.
 * - `isConnected(instanceArn): boolean` — the process said hello and its connection is open.
 * - `processInfo(instanceArn)` — pid, connected flag and the last heartbeat (RSS, storage used,
 *   running task ARNs).
 * - `taskWorkDir(instanceArn, taskArn)` — the directory to put in TaskSpec.workDir.
 * - Events (EventEmitter):
 *   - `on('message', (instanceArn, msg: InstanceMessage) => ...)` for task-status, task-progress,
 *     task-checkpoint and task-event messages, in the order the instance sent them;
 *   - `on('heartbeat', (instanceArn, msg: HeartbeatMessage) => ...)`;
 *   - `on('instance-connected', (instanceArn) => ...)` after every hello (create, reboot, modify,
 *     recovery after a crash, control-plane restart): the instance runs no tasks at that point;
 *   - `on('instance-lost', (instanceArn) => ...)` when a connection ends (reboot, crash, delete,
 *     shutdown): the tasks that ran there are gone.
 * - `stop()` at control-plane shutdown: shuts every instance process down gracefully (they stop
 *   their tasks first), SIGKILL after a timeout.
 *
 * Used by the replication-instance API handlers: `launch`, `restart`, `delete`, and
 * `maintenance.checkSoon` (pending modifications applied in the maintenance window).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { App } from './app.js';
import { JsonLineChannel } from '../instance/json-lines.js';
import {
  SUPPORTED_PROTOCOL_VERSIONS,
  requestSupported,
  type ControlMessage,
  type ControlRequest,
  type HeartbeatMessage,
  type HelloMessage,
  type InstanceMessage,
  type ReplyMessage,
} from '../instance/protocol.js';
import type { ReplicationInstanceRecord } from '../store/index.js';
import { instanceLaunchCommand } from './instance-launch.js';
import { CREATED, notesAfterServiceRestart, statusAfterCrash, statusAfterHello, statusForStorage, type InstanceEventNote } from './instance-lifecycle.js';
import { endLeftover, leftoverPid } from './instance-leftovers.js';
import { InstanceMaintenance } from './instance-maintenance.js';
import { controlSocketPath, instanceWorkDir, taskWorkDir } from './instance-paths.js';

/** Time an instance gets to stop its tasks and exit before it is killed. */
export const SHUTDOWN_TIMEOUT_MS = 12_000;
const HELLO_TIMEOUT_MS = 10_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const BACKOFF_MS = [250, 500, 1000, 2000, 4000, 8000, 16000, 30000];
/** A connection that lasted this long resets the crash counter (the process was healthy). */
const HEALTHY_AFTER_MS = 10_000;
/** A connected instance silent this long is hung: it is killed and restarted. */
const HEARTBEAT_TIMEOUT_MS = 30_000;
const GiB = 1024 ** 3;
/** Share of AllocatedStorage above which a LowStorage event warns (spec §13: > 90 %). */
const LOW_STORAGE_RATIO = 0.9;

export type { InstanceEventNote };

/** The instance's engine speaks a protocol version without this request (an older engine bundle). */
export class UnsupportedRequestError extends Error {
  constructor(
    readonly requestType: string,
    readonly protocol: number,
    instanceArn: string,
  ) {
    super(`replication instance ${instanceArn} speaks internal protocol ${protocol}, which has no ${requestType} request`);
    this.name = 'UnsupportedRequestError';
  }
}

export interface InstanceProcessInfo {
  pid?: number;
  connected: boolean;
  heartbeat?: HeartbeatMessage & { at: string };
}

export interface InstanceSupervisorEvents {
  message: [instanceArn: string, msg: InstanceMessage];
  heartbeat: [instanceArn: string, msg: HeartbeatMessage];
  'instance-connected': [instanceArn: string];
  'instance-lost': [instanceArn: string];
}

interface PendingRequest {
  resolve: (result: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** The supervisor's view of one instance. */
interface Managed {
  arn: string;
  /** run: keep a process up; stop: control plane shutting down; delete: going away for good. */
  intent: 'run' | 'stop' | 'delete';
  child?: ChildProcess;
  exited?: Promise<void>;
  /** Set while the supervisor itself is stopping the process (reboot, modify, delete, shutdown). */
  expectingExit: boolean;
  token?: string;
  channel?: JsonLineChannel;
  /** The protocol version the connected process said hello with. */
  protocol?: number;
  connectedAt?: number;
  /** Events to record when the next hello arrives (what that hello completes). */
  onHello: InstanceEventNote[];
  crashes: number;
  restartTimer?: NodeJS.Timeout;
  heartbeat?: HeartbeatMessage & { at: string };
  /** When the last heartbeat (or the hello) arrived: the watchdog's clock. */
  lastSeen?: number;
  /** A LowStorage event was recorded and usage has not dropped below the threshold since. */
  lowStorage: boolean;
  /** Why the supervisor killed the current process itself (the watchdog), for the crash event. */
  killedBecause?: string;
  requests: Map<string, PendingRequest>;
}

export class InstanceSupervisor extends EventEmitter<InstanceSupervisorEvents> {
  private readonly managed = new Map<string, Managed>();
  private server?: Server;
  private stopping = false;
  private watchdog?: NodeJS.Timeout;
  readonly socketPath: string;
  /** Applies deferred modifications in each instance's maintenance window. */
  readonly maintenance: InstanceMaintenance;

  constructor(private readonly app: App) {
    super();
    this.socketPath = controlSocketPath(app.config.dataDir);
    this.maintenance = new InstanceMaintenance(app, (arn, onHello) => this.restart(arn, onHello));
  }

  // ---- lifecycle of the supervisor ----

  /** Opens the control socket and brings back every stored instance (finishing interrupted deletes). */
  async start(): Promise<void> {
    mkdirSync(dirname(this.socketPath), { recursive: true, mode: 0o700 });
    if (await socketAnswers(this.socketPath)) {
      throw new Error(
        `another opendms control plane is running on data dir ${this.app.config.dataDir} (its control socket ${this.socketPath} answers); stop it or use another --data-dir`,
      );
    }
    rmSync(this.socketPath, { force: true }); // left behind by a control plane that was killed
    const server = createServer((socket) => this.onConnection(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.socketPath, () => resolve());
    });
    chmodSync(this.socketPath, 0o600);
    this.server = server;
    const records = this.app.store.instances.list();
    await Promise.all(
      records.map(async (record) => {
        const arn = record.ReplicationInstanceArn;
        const pid = leftoverPid(instanceWorkDir(this.app.config.dataDir, arn), arn);
        if (pid === undefined) return;
        this.app.log.warn({ instanceArn: arn, pid }, 'a process of this instance outlived the previous control plane; ending it first');
        await endLeftover(pid, SHUTDOWN_TIMEOUT_MS);
      }),
    );
    for (const record of records) {
      if (record.ReplicationInstanceStatus === 'deleting') {
        this.delete(record.ReplicationInstanceArn);
        continue;
      }
      const notes = notesAfterServiceRestart(record);
      if (['available', 'storage-full', 'failed'].includes(record.ReplicationInstanceStatus)) {
        this.setStatus(record.ReplicationInstanceArn, 'rebooting');
      }
      // A restarted service brings its instances back; a create, reboot or modification in flight still gets its event.
      this.launch(record.ReplicationInstanceArn, notes);
    }
    this.watchdog = setInterval(() => this.checkHeartbeats(), HEARTBEAT_TIMEOUT_MS / 3);
    this.watchdog.unref();
    this.maintenance.start();
  }

  /** Shuts every instance process down (they stop their tasks first) and closes the socket. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.watchdog);
    this.maintenance.stop();
    await Promise.all(
      [...this.managed.values()].map((m) => {
        m.intent = 'stop';
        return this.stopProcess(m);
      }),
    );
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    rmSync(this.socketPath, { force: true });
  }

  // ---- used by the API handlers (they check and persist the status transition first) ----

  /** Starts the process of a new (or restored) instance; `onHello` events are recorded once it is up. */
  launch(instanceArn: string, onHello: InstanceEventNote[] = [CREATED]): void {
    const m = this.get(instanceArn);
    m.intent = 'run';
    m.onHello = onHello;
    this.spawnProcess(m);
  }

  /** Restarts the process (reboot, new class or storage, new engine version). Runs in the background. */
  restart(instanceArn: string, onHello: InstanceEventNote[]): void {
    const m = this.get(instanceArn);
    m.intent = 'run';
    m.onHello = onHello;
    this.stopProcess(m)
      .then(() => {
        if (m.intent === 'run' && !this.stopping) this.spawnProcess(m);
      })
      .catch((err: unknown) => this.app.log.error({ err, instanceArn }, 'restart of replication instance failed'));
  }

  /** Shuts the process down, then removes the instance's record, tags, connections and work dir. Background. */
  delete(instanceArn: string): void {
    const m = this.get(instanceArn);
    m.intent = 'delete';
    this.stopProcess(m)
      .then(() => {
        if (this.stopping) return; // finished at the next start: the record still says deleting
        const record = this.app.store.instances.get(instanceArn);
        this.managed.delete(instanceArn);
        if (!record) return;
        this.app.store.transaction(() => {
          this.app.store.instances.delete(instanceArn);
          this.app.store.tags.removeAll(instanceArn);
          this.app.store.connections.deleteFor(instanceArn); // its TestConnection results go with it
        });
        rmSync(instanceWorkDir(this.app.config.dataDir, instanceArn), { recursive: true, force: true });
        this.app.event({
          sourceIdentifier: record.ReplicationInstanceIdentifier,
          sourceType: 'replication-instance',
          sourceArn: instanceArn,
          message: 'Replication instance deleted.',
          categories: ['Deletion'],
        });
      })
      .catch((err: unknown) => this.app.log.error({ err, instanceArn }, 'delete of replication instance failed'));
  }

  // ---- API for other engineers ----

  request(instanceArn: string, message: ControlRequest, timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): Promise<unknown> {
    const m = this.managed.get(instanceArn);
    const channel = m?.channel;
    if (!m || !channel?.isOpen) {
      return Promise.reject(new Error(`replication instance ${instanceArn} is not connected`));
    }
    const protocol = m.protocol ?? 1;
    if (!requestSupported(protocol, message.type)) return Promise.reject(new UnsupportedRequestError(message.type, protocol, instanceArn));
    const requestId = randomUUID();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        m.requests.delete(requestId);
        reject(new Error(`replication instance ${instanceArn} did not answer ${message.type} within ${timeoutMs} ms`));
      }, timeoutMs);
      m.requests.set(requestId, { resolve, reject, timer });
      channel.send({ ...message, requestId });
    });
  }

  protocolOf(instanceArn: string): number | undefined {
    const m = this.managed.get(instanceArn);
    return m?.channel?.isOpen ? m.protocol : undefined;
  }

  isConnected(instanceArn: string): boolean {
    return this.managed.get(instanceArn)?.channel?.isOpen ?? false;
  }

  processInfo(instanceArn: string): InstanceProcessInfo {
    const m = this.managed.get(instanceArn);
    return {
      ...(m?.child?.pid !== undefined && m.child.exitCode === null ? { pid: m.child.pid } : {}),
      connected: this.isConnected(instanceArn),
      ...(m?.heartbeat ? { heartbeat: m.heartbeat } : {}),
    };
  }

  taskWorkDir(instanceArn: string, taskArn: string): string {
    return taskWorkDir(this.app.config.dataDir, instanceArn, taskArn);
  }

  // ---- processes ----

  private get(instanceArn: string): Managed {
    let m = this.managed.get(instanceArn);
    if (!m) {
      m = { arn: instanceArn, intent: 'run', expectingExit: false, onHello: [], crashes: 0, lowStorage: false, requests: new Map() };
      this.managed.set(instanceArn, m);
    }
    return m;
  }

  private spawnProcess(m: Managed): void {
    clearTimeout(m.restartTimer);
    const record = this.app.store.instances.get(m.arn);
    if (!record || this.stopping || m.intent !== 'run' || m.child) return;
    const workDir = instanceWorkDir(this.app.config.dataDir, m.arn);
    const token = randomBytes(32).toString('hex');
    let child: ChildProcess;
    try {
      mkdirSync(workDir, { recursive: true, mode: 0o700 });
      const cmd = instanceLaunchCommand({
        instanceArn: m.arn,
        instanceClass: record.ReplicationInstanceClass,
        engineVersion: record.EngineVersion,
        workDir,
        controlSocket: this.socketPath,
        token,
        logLevel: this.app.config.logLevel,
        parentEnv: process.env,
      });
      // Own process group: a Ctrl-C in the service's terminal reaches the control plane, which
      // then shuts instances down in order, instead of killing everything at once.
      child = spawn(cmd.command, cmd.args, { env: cmd.env, stdio: ['ignore', 'ignore', 'inherit'], detached: true });
    } catch (err) {
      this.app.log.error({ err, instanceArn: m.arn }, 'cannot launch replication instance process');
      this.onExit(m, undefined, `cannot be launched: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    m.child = child;
    m.token = token;
    let exited!: () => void;
    m.exited = new Promise<void>((resolve) => (exited = resolve));
    let done = false;
    const finish = (how: string): void => {
      if (done) return;
      done = true;
      exited();
      this.onExit(m, child, how);
    };
    child.once('exit', (code, signal) => finish(signal ? `killed by ${signal}` : `exited with code ${code}`));
    child.once('error', (err) => finish(`cannot be launched: ${err.message}`));
    this.app.log.info({ instanceArn: m.arn, pid: child.pid, engineVersion: record.EngineVersion }, 'replication instance process launched');
  }

  private onExit(m: Managed, child: ChildProcess | undefined, how: string): void {
    if (child && m.child !== child) return;
    m.child = undefined;
    m.token = undefined;
    const healthy = m.connectedAt !== undefined && Date.now() - m.connectedAt >= HEALTHY_AFTER_MS;
    if (m.killedBecause) how = m.killedBecause;
    m.killedBecause = undefined;
    this.dropChannel(m, `process ${how}`);
    this.app.log.info({ instanceArn: m.arn, how, expected: m.expectingExit }, 'replication instance process ended');
    if (m.expectingExit || this.stopping || m.intent !== 'run') return;
    const record = this.app.store.instances.get(m.arn);
    if (!record) return;
    if (healthy) m.crashes = 0;
    m.crashes += 1;
    const next = statusAfterCrash(record.ReplicationInstanceStatus, m.crashes);
    if (next === 'rebooting') {
      this.setStatus(m.arn, next);
      this.instanceEvent(m.arn, `Replication instance process ended unexpectedly (${how}); restarting it.`, ['Failure']);
      m.onHello = [{ message: 'Replication instance recovered: its process was restarted.', categories: ['Failure'] }];
    } else if (next === 'failed') {
      this.setStatus(m.arn, next);
      this.instanceEvent(m.arn, `Replication instance process failed ${m.crashes} times in a row (last: ${how}); still retrying.`, ['Failure']);
    }
    const delay = BACKOFF_MS[Math.min(m.crashes - 1, BACKOFF_MS.length - 1)]!;
    m.restartTimer = setTimeout(() => this.spawnProcess(m), delay);
  }

  /** Asks the process to shut down, waits for it to exit, kills it after SHUTDOWN_TIMEOUT_MS. */
  private async stopProcess(m: Managed): Promise<void> {
    clearTimeout(m.restartTimer);
    const child = m.child;
    if (!child) return;
    m.expectingExit = true;
    try {
      if (!m.channel?.send({ type: 'shutdown', stopTasks: true } satisfies ControlMessage)) child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        m.exited!.then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), SHUTDOWN_TIMEOUT_MS))),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        this.app.log.warn({ instanceArn: m.arn, pid: child.pid }, 'replication instance did not exit in time; killing it');
        child.kill('SIGKILL');
        await m.exited;
      }
    } finally {
      m.expectingExit = false;
    }
  }

  // ---- the control socket ----

  private onConnection(socket: Socket): void {
    const channel = new JsonLineChannel(socket);
    const helloTimer = setTimeout(() => channel.close('no hello in time'), HELLO_TIMEOUT_MS);
    let m: Managed | undefined;
    channel.on('message', (raw) => {
      const msg = raw as unknown as InstanceMessage;
      if (!m) {
        clearTimeout(helloTimer);
        m = this.accept(channel, msg);
        return;
      }
      this.onInstanceMessage(m, msg);
    });
    channel.on('close', (reason) => {
      clearTimeout(helloTimer);
      if (m && m.channel === channel) this.dropChannel(m, reason);
    });
  }

  /** Checks a hello: a known instance, the token of its current process, a protocol we speak. */
  private accept(channel: JsonLineChannel, msg: InstanceMessage): Managed | undefined {
    const refuse = (reason: string): undefined => {
      this.app.log.warn({ reason }, 'refused a replication instance connection');
      channel.send({ type: 'refused', reason } satisfies ControlMessage);
      void channel.end();
      return undefined;
    };
    if (msg.type !== 'hello') return refuse('the first message must be hello');
    const hello = msg as HelloMessage;
    const m = typeof hello.instanceArn === 'string' ? this.managed.get(hello.instanceArn) : undefined;
    if (!m || !m.token || !m.child || typeof hello.token !== 'string' || !sameSecret(hello.token, m.token)) {
      return refuse('unknown instance or wrong token');
    }
    if (!SUPPORTED_PROTOCOL_VERSIONS.includes(hello.protocol)) {
      return refuse(`protocol version ${hello.protocol} is not supported (supported: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')})`);
    }
    if (m.intent !== 'run' || this.stopping) return refuse('the instance is being shut down');
    const expected = this.app.store.instances.get(m.arn)?.EngineVersion;
    if (expected !== undefined && hello.engineVersion !== expected) {
      return refuse(`the process runs engine version ${hello.engineVersion}, but the instance is on ${expected}`);
    }
    if (m.channel) m.channel.close('replaced by a new connection');
    m.channel = channel;
    m.protocol = hello.protocol;
    m.connectedAt = Date.now();
    m.lastSeen = m.connectedAt;
    channel.send({ type: 'welcome', protocol: hello.protocol } satisfies ControlMessage);
    this.app.log.info({ instanceArn: m.arn, pid: hello.pid, engineVersion: hello.engineVersion }, 'replication instance connected');
    const record = this.app.store.instances.get(m.arn);
    const next = record && statusAfterHello(record.ReplicationInstanceStatus);
    if (next) {
      this.setStatus(m.arn, next);
      for (const e of m.onHello) this.instanceEvent(m.arn, e.message, e.categories);
    }
    m.onHello = [];
    this.emit('instance-connected', m.arn);
    return m;
  }

  private onInstanceMessage(m: Managed, msg: InstanceMessage): void {
    switch (msg.type) {
      case 'heartbeat':
        m.heartbeat = { ...msg, at: new Date().toISOString() };
        m.lastSeen = Date.now();
        this.checkStorage(m, msg.storageUsedBytes);
        this.emit('heartbeat', m.arn, msg);
        return;
      case 'reply':
        this.settle(m, msg);
        return;
      case 'task-status':
      case 'task-progress':
      case 'task-checkpoint':
      case 'task-event':
        this.emit('message', m.arn, msg);
        return;
      default:
        this.app.log.warn({ instanceArn: m.arn, type: (msg as { type: string }).type }, 'unexpected message from replication instance');
    }
  }

  private settle(m: Managed, reply: ReplyMessage): void {
    const pending = m.requests.get(reply.requestId);
    if (!pending) return; // timed out already
    m.requests.delete(reply.requestId);
    clearTimeout(pending.timer);
    if (reply.ok) pending.resolve(reply.result);
    else pending.reject(new Error(reply.error ?? 'the replication instance reported an error'));
  }

  private dropChannel(m: Managed, reason: string): void {
    const channel = m.channel;
    if (!channel) return;
    m.channel = undefined;
    m.connectedAt = undefined;
    channel.close(reason);
    for (const [id, pending] of m.requests) {
      clearTimeout(pending.timer);
      pending.reject(new Error(`replication instance ${m.arn} disconnected (${reason})`));
      m.requests.delete(id);
    }
    this.emit('instance-lost', m.arn);
  }

  // ---- status and events ----

  /** AllocatedStorage is a quota on the work dir: over it the instance is `storage-full`. */
  private checkStorage(m: Managed, usedBytes: number): void {
    const record = this.app.store.instances.get(m.arn);
    if (!record) return;
    const quota = record.AllocatedStorage * GiB;
    const used = `${(usedBytes / GiB).toFixed(2)} GB used of ${record.AllocatedStorage} GB allocated`;
    const next = statusForStorage(record.ReplicationInstanceStatus, usedBytes, quota);
    if (next === 'storage-full') {
      this.setStatus(m.arn, next);
      this.instanceEvent(m.arn, `Replication instance storage is full: ${used}. Increase AllocatedStorage or free space.`, ['Failure']);
    } else if (next === 'available') {
      this.setStatus(m.arn, next);
      this.instanceEvent(m.arn, `Replication instance storage is no longer full: ${used}.`, ['Configuration Change']);
    }
    const low = usedBytes > quota * LOW_STORAGE_RATIO;
    if (low && !m.lowStorage) this.instanceEvent(m.arn, `Replication instance storage is low: ${used}.`, ['LowStorage']);
    m.lowStorage = low;
  }

  /** Kills connected instances that stopped sending heartbeats; the crash path restarts them. */
  private checkHeartbeats(): void {
    const now = Date.now();
    for (const m of this.managed.values()) {
      if (!m.channel || !m.child || m.expectingExit || m.lastSeen === undefined) continue;
      if (now - m.lastSeen > HEARTBEAT_TIMEOUT_MS) {
        this.app.log.warn({ instanceArn: m.arn, pid: m.child.pid, silentMs: now - m.lastSeen }, 'replication instance stopped sending heartbeats; killing it');
        m.killedBecause = `it sent no heartbeat for ${Math.round((now - m.lastSeen) / 1000)} s and was killed`;
        m.child.kill('SIGKILL');
      }
    }
  }

  /** Writes a status read-modify-write in one tick (SQLite calls are synchronous); never undoes `deleting`. */
  private setStatus(instanceArn: string, status: string): ReplicationInstanceRecord | undefined {
    const record = this.app.store.instances.get(instanceArn);
    if (!record || record.ReplicationInstanceStatus === 'deleting' || record.ReplicationInstanceStatus === status) return record;
    record.ReplicationInstanceStatus = status;
    this.app.store.instances.update(record);
    return record;
  }

  private instanceEvent(instanceArn: string, message: string, categories: string[]): void {
    const record = this.app.store.instances.get(instanceArn);
    if (!record) return;
    this.app.event({
      sourceIdentifier: record.ReplicationInstanceIdentifier,
      sourceType: 'replication-instance',
      sourceArn: instanceArn,
      message,
      categories,
    });
  }
}

function sameSecret(a: string, b: string): boolean {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}

/** True when something listens on the Unix socket (a live control plane), false for a stale file. */
function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}
