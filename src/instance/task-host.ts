/**
 * Hosts the tasks of one replication instance: starts them through the engine's `startTask`,
 * forwards everything a task reports to the control plane as task-* messages, and stops them.
 *
 * The engine is imported on the first start-task, not at process start: an idle instance stays
 * small (database drivers and the task runner load only when there is work).
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { RunningTask, StartTask, TaskOutcome, TaskReporter, TaskSpec } from '../engine/contracts.js';
import { TASK_LOG_FILE, type InstanceMessage } from './protocol.js';

/** Loads the engine's startTask (a parameter so tests can host a fake engine). */
export type EngineLoader = () => Promise<StartTask>;

const loadEngine: EngineLoader = async () => (await import('../engine/index.js')).startTask;

export class TaskHost {
  private readonly tasks = new Map<string, RunningTask>();
  private readonly starting = new Set<string>();

  constructor(
    private readonly send: (msg: InstanceMessage) => void,
    private readonly log: Logger,
    /** Tasks that may run at once: the instance class's task slots. */
    private readonly slots = Number.POSITIVE_INFINITY,
    private readonly engine: EngineLoader = loadEngine,
  ) {}

  get runningTaskArns(): string[] {
    return [...this.tasks.keys()];
  }

  async start(spec: TaskSpec): Promise<{ taskArn: string }> {
    if (this.tasks.has(spec.taskArn) || this.starting.has(spec.taskArn)) throw new Error(`task ${spec.taskArn} is already running on this instance`);
    if (this.tasks.size + this.starting.size >= this.slots) {
      throw new Error(
        `no free task slot: this replication instance's class runs at most ${this.slots} task(s) at once; stop a task or modify the instance to a larger class`,
      );
    }
    // The slot is taken before the engine loads, so two start-task requests cannot both get the last one.
    this.starting.add(spec.taskArn);
    let startTask: StartTask;
    try {
      startTask = await this.engine();
    } finally {
      this.starting.delete(spec.taskArn);
    }
    // The task's log lives in its work dir, where DescribeReplicationInstanceTaskLogs sizes it.
    mkdirSync(spec.workDir, { recursive: true });
    const logFile = join(spec.workDir, TASK_LOG_FILE);
    const log = this.log.child({ taskArn: spec.taskArn });
    const taskLog = (what: string, detail: object): void => {
      try {
        appendFileSync(logFile, `${JSON.stringify({ time: new Date().toISOString(), what, ...detail })}\n`);
      } catch (err) {
        log.warn({ err }, 'cannot write the task log');
      }
    };
    const taskArn = spec.taskArn;
    let ended = false;
    const reporter: TaskReporter = {
      status: (outcome: TaskOutcome) => {
        log.info({ outcome }, `task ${outcome.status}`);
        taskLog('status', outcome);
        if (outcome.status !== 'running') {
          ended = true;
          this.tasks.delete(taskArn);
        }
        this.send({ type: 'task-status', taskArn, outcome });
      },
      progress: (p) => this.send({ type: 'task-progress', taskArn, ...p }),
      checkpoint: (recoveryCheckpoint: string) => this.send({ type: 'task-checkpoint', taskArn, recoveryCheckpoint }),
      event: (message: string, categories: string[]) => {
        taskLog('event', { message, categories });
        this.send({ type: 'task-event', taskArn, message, categories });
      },
    };
    log.info({ startType: spec.startType, migrationType: spec.migrationType }, 'starting task');
    taskLog('start', { startType: spec.startType, migrationType: spec.migrationType });
    const running = startTask(spec, reporter);
    // An engine may report failure synchronously, from inside startTask: then it holds no slot.
    if (!ended) this.tasks.set(taskArn, running);
    return { taskArn };
  }

  /** Stops a task and resolves when it has stopped; a task that is not here is already stopped. */
  async stop(taskArn: string): Promise<{ taskArn: string; wasRunning: boolean }> {
    const running = this.tasks.get(taskArn);
    if (!running) return { taskArn, wasRunning: false };
    await running.stop();
    this.tasks.delete(taskArn);
    return { taskArn, wasRunning: true };
  }

  async reloadTables(taskArn: string, tables: { SchemaName: string; TableName: string }[]): Promise<{ taskArn: string }> {
    const running = this.tasks.get(taskArn);
    if (!running) throw new Error(`task ${taskArn} is not running on this instance`);
    await running.reloadTables(tables);
    return { taskArn };
  }

  /** Stops every task, waiting at most timeoutMs; resolves either way (the process exits next). */
  async stopAll(timeoutMs: number): Promise<void> {
    const arns = this.runningTaskArns;
    if (!arns.length) return;
    this.log.info({ tasks: arns }, 'stopping tasks');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.log.warn({ tasks: this.runningTaskArns, timeoutMs }, 'tasks did not stop in time; exiting anyway');
        resolve();
      }, timeoutMs);
    });
    const stops = arns.map((arn) => this.stop(arn).catch((err: unknown) => this.log.error({ err, taskArn: arn }, 'error while stopping task')));
    await Promise.race([Promise.all(stops), timeout]);
    clearTimeout(timer);
  }
}
