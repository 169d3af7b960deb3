/**
 * The control plane's object graph: configuration, store, logger and the services that act on
 * resources (instance supervision, connection tests, task scheduling). Built by `createApp`,
 * used by the API handlers, started and stopped by the `serve` entry point.
 */
import type { ServerConfig } from '../config/server-config.js';
import type { Logger } from '../config/logger.js';
import { makeArn, generateResourceId, type ArnResourceType } from '../model/arn.js';
import type { Store, EventRecord, EventSourceType } from '../store/index.js';
import { startEngineRegistry } from '../engine-bundles/registry.js';
import { InstanceSupervisor } from './instance-supervisor.js';
import { TaskMover } from './task-move.js';
import { TaskScheduler } from './task-scheduler.js';
import { UpgradeOrchestrator } from './upgrade-orchestrator.js';

export interface AppEvent {
  sourceIdentifier: string;
  sourceType: EventSourceType;
  sourceArn?: string;
  message: string;
  categories: string[];
}

export class App {
  /** Replication-instance processes: launch, supervise, talk to them (see InstanceSupervisor). */
  readonly instances: InstanceSupervisor;
  /** Runs replication tasks on their instances (see TaskScheduler). */
  readonly tasks: TaskScheduler;
  /** Completes MoveReplicationTask: the target instance takes a `moving` task (see TaskMover). */
  readonly moves: TaskMover;
  /** Cascading upgrades (opendms extension); resumes those a previous run left under way. */
  readonly upgrades: UpgradeOrchestrator;
  /** Follows the engine bundles under the data dir while the app runs. */
  private engines?: { close(): void };

  constructor(
    readonly config: Readonly<ServerConfig>,
    readonly store: Store,
    readonly log: Logger,
  ) {
    this.instances = new InstanceSupervisor(this);
    this.tasks = new TaskScheduler(this, this.instances);
    this.moves = new TaskMover(this);
    this.upgrades = new UpgradeOrchestrator(this);
  }

  /** A new ARN for a resource: ResourceIdentifier when the user gave one, else a generated id. */
  newArn(type: ArnResourceType, resourceIdentifier?: string): string {
    return makeArn(this.config.region, this.config.accountId, type, resourceIdentifier ?? generateResourceId());
  }

  /** Records an event for DescribeEvents (and logs it). */
  event(e: AppEvent): EventRecord {
    this.log.info({ event: e }, e.message);
    return this.store.events.add({
      SourceIdentifier: e.sourceIdentifier,
      SourceType: e.sourceType,
      Message: e.message,
      EventCategories: e.categories,
      ...(e.sourceArn ? { sourceArn: e.sourceArn } : {}),
    });
  }

  /** Starts background services (instance processes, schedulers). */
  async start(): Promise<void> {
    this.engines = startEngineRegistry(this.config.dataDir, this.log);
    await this.instances.start();
    this.tasks.start();
    this.moves.start();
    this.upgrades.start();
  }

  /** Stops background services; the store is closed by the caller. */
  async stop(): Promise<void> {
    await this.upgrades.stop();
    const moves = this.moves.stop();
    await this.tasks.stop();
    await this.instances.stop();
    await moves;
    this.tasks.detach();
    this.engines?.close();
  }
}
