/** The metadata store: one object per resource table over one SQLite database. */
import { join } from 'node:path';
import { ConnectionStore } from './connections.js';
import { openDatabase, type Db } from './database.js';
import { EndpointStore } from './endpoints.js';
import { EventStore } from './events.js';
import { ReplicationInstanceStore } from './replication-instances.js';
import { ReplicationTaskStore } from './replication-tasks.js';
import { TableStatisticsStore } from './table-statistics.js';
import { TagStore } from './tags.js';

export type { ConnectionRecord } from './connections.js';
export type { EndpointRecord } from './endpoints.js';
export type { EventRecord, EventSourceType } from './events.js';
export type { ReplicationInstanceRecord } from './replication-instances.js';
export type { ReplicationTaskRecord } from './replication-tasks.js';
export type { TableStatisticsRecord } from './table-statistics.js';
export type { Tag } from './tags.js';
export type { Db } from './database.js';

export class Store {
  readonly instances: ReplicationInstanceStore;
  readonly endpoints: EndpointStore;
  readonly tasks: ReplicationTaskStore;
  readonly connections: ConnectionStore;
  readonly tags: TagStore;
  readonly events: EventStore;
  readonly tableStatistics: TableStatisticsStore;

  constructor(readonly db: Db) {
    this.instances = new ReplicationInstanceStore(db);
    this.endpoints = new EndpointStore(db);
    this.tasks = new ReplicationTaskStore(db);
    this.connections = new ConnectionStore(db);
    this.tags = new TagStore(db);
    this.events = new EventStore(db);
    this.tableStatistics = new TableStatisticsStore(db);
  }

  /** Runs fn atomically: a state transition is checked and persisted in one transaction. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  close(): void {
    this.db.close();
  }
}

export function openStore(dataDir: string): Store {
  return new Store(openDatabase(join(dataDir, 'metadata.sqlite3')));
}
