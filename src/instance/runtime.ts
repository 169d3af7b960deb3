/**
 * The replication-instance process: connects to the control plane's socket, introduces itself
 * with `hello` (protocol version + the token it was launched with), then hosts tasks, answers
 * requests and sends a heartbeat about every second.
 *
 * Its lifetime is tied to the control plane's: on `shutdown`, on `refused`, or when the socket
 * closes (the control plane stopped or died), it stops its tasks (bounded by STOP_TIMEOUT_MS)
 * and exits, so no instance outlives the service that supervises it.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { EndpointConnectionSpec, TaskSpec } from '../engine/contracts.js';
import { RUNNING_ENGINE_VERSION } from '../model/engine-versions.js';
import type { InstanceConfig } from './instance-config.js';
import { JsonLineChannel } from './json-lines.js';
import {
  INSTANCE_PID_FILE,
  PROTOCOL_VERSION,
  type ControlMessage,
  type ControlRequestMessage,
  type InstanceMessage,
  type PrepareTaskResult,
} from './protocol.js';
import { directoryBytes } from './storage.js';
import { TaskHost } from './task-host.js';

export const HEARTBEAT_INTERVAL_MS = 1000;
export const STOP_TIMEOUT_MS = 10_000;

/**
 * The connectors (and their database drivers) load on the first test-connection, not at process
 * start: an idle instance stays small, as the task host's engine does.
 */
async function testConnection(spec: EndpointConnectionSpec): Promise<void> {
  const connectors = await import('../connectors/index.js');
  await connectors.testConnection(spec);
}

/** Reads a task's catalog ahead of its start here (prepare-task); the engine loads on first use. */
async function prepareTask(spec: TaskSpec, ttlSeconds: number): Promise<PrepareTaskResult> {
  const { prepareTask: prepare } = await import('../engine/prepared-catalog.js');
  const seconds = Number.isFinite(ttlSeconds) ? Math.max(1, Math.min(ttlSeconds, 3600)) : 900;
  return prepare(spec, seconds * 1000);
}

export class InstanceRuntime {
  private channel?: JsonLineChannel;
  private readonly host: TaskHost;
  private heartbeat?: NodeJS.Timeout;
  private heartbeatBusy = false;
  private storage = { bytes: 0, at: 0, tookMs: 0 };
  private exiting = false;

  constructor(
    private readonly config: Readonly<InstanceConfig>,
    private readonly log: Logger,
    private readonly exit: (code: number) => void,
  ) {
    this.host = new TaskHost((msg) => this.send(msg), log, config.taskSlots);
  }

  /** Connects and says hello; resolves once connected (the welcome arrives as a message). */
  async start(): Promise<void> {
    mkdirSync(this.config.workDir, { recursive: true });
    writeFileSync(join(this.config.workDir, INSTANCE_PID_FILE), `${process.pid}\n`);
    this.log.info({ engineVersion: RUNNING_ENGINE_VERSION, taskSlots: this.config.taskSlots }, 'replication instance starting');
    const socket = connect(this.config.controlSocket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const channel = new JsonLineChannel(socket);
    this.channel = channel;
    channel.on('message', (msg) => this.onMessage(msg as unknown as ControlMessage));
    channel.on('close', (reason) => void this.shutdown(`control connection lost (${reason})`, 0));
    this.send({
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      instanceArn: this.config.instanceArn,
      // The version of the code actually running, so a mislabelled bundle is caught at hello.
      engineVersion: RUNNING_ENGINE_VERSION,
      pid: process.pid,
      token: this.config.token,
    });
  }

  /** Stops tasks (bounded), then exits. Safe to call more than once. */
  async shutdown(reason: string, code: number): Promise<void> {
    if (this.exiting) return;
    this.exiting = true;
    this.log.info({ reason }, 'shutting down');
    clearInterval(this.heartbeat);
    await this.host.stopAll(STOP_TIMEOUT_MS);
    rmSync(join(this.config.workDir, INSTANCE_PID_FILE), { force: true });
    // The last task-status messages must reach the control plane before the process is gone.
    await this.channel?.end();
    this.log.info('exiting');
    this.exit(code);
  }

  private send(msg: InstanceMessage): void {
    this.channel?.send(msg);
  }

  private onMessage(msg: ControlMessage): void {
    switch (msg.type) {
      case 'welcome':
        this.log.info({ protocol: msg.protocol }, 'connected to the control plane');
        void this.sendHeartbeat();
        this.heartbeat = setInterval(() => void this.sendHeartbeat(), HEARTBEAT_INTERVAL_MS);
        return;
      case 'refused':
        this.log.error({ reason: msg.reason }, 'the control plane refused this instance');
        void this.shutdown(`refused: ${msg.reason}`, 1);
        return;
      case 'shutdown':
        void this.shutdown('shutdown requested by the control plane', 0);
        return;
      default:
        void this.answer(msg);
    }
  }

  /** Runs a request and sends its reply; an unknown message type is an error reply, not a crash. */
  private async answer(msg: ControlRequestMessage): Promise<void> {
    const requestId = (msg as { requestId?: unknown }).requestId;
    try {
      const result = await this.perform(msg);
      if (typeof requestId === 'string') this.send({ type: 'reply', requestId, ok: true, result });
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      this.log.warn({ type: msg.type, error }, 'request failed');
      if (typeof requestId === 'string') this.send({ type: 'reply', requestId, ok: false, error });
    }
  }

  private async perform(msg: ControlRequestMessage): Promise<unknown> {
    if (this.exiting) throw new Error('the replication instance is shutting down');
    switch (msg.type) {
      case 'start-task':
        return this.host.start(msg.spec);
      case 'stop-task':
        return this.host.stop(msg.taskArn);
      case 'reload-tables':
        return this.host.reloadTables(msg.taskArn, msg.tables);
      case 'test-connection':
        return testConnection(msg.endpoint);
      case 'prepare-task': {
        const result = await prepareTask(msg.spec, msg.ttlSeconds);
        this.log.info(result, 'task catalog prepared');
        return result;
      }
      default:
        throw new Error(`unknown message type "${(msg as { type: string }).type}"`);
    }
  }

  private async sendHeartbeat(): Promise<void> {
    if (this.exiting || this.heartbeatBusy) return;
    this.heartbeatBusy = true;
    try {
      const storageUsedBytes = await this.storageUsed();
      this.send({ type: 'heartbeat', rssBytes: process.memoryUsage.rss(), storageUsedBytes, runningTasks: this.host.runningTaskArns });
    } finally {
      this.heartbeatBusy = false;
    }
  }

  /**
   * Bytes in the work dir. Walking a large spill directory every second would cost more than it
   * tells, so a walk is repeated only after 20 times its own duration (at most once a heartbeat).
   */
  private async storageUsed(): Promise<number> {
    const started = Date.now();
    if (started - this.storage.at >= Math.max(HEARTBEAT_INTERVAL_MS / 2, this.storage.tookMs * 20)) {
      const bytes = await directoryBytes(this.config.workDir);
      this.storage = { bytes, at: Date.now(), tookMs: Date.now() - started };
    }
    return this.storage.bytes;
  }
}
