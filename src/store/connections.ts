import type { Db } from './database.js';
import { parseDoc, parseDocs } from './documents.js';

/** The result of a TestConnection between an endpoint and a replication instance. */
export interface ConnectionRecord {
  ReplicationInstanceArn: string;
  EndpointArn: string;
  Status: string;
  LastFailureMessage?: string;
  EndpointIdentifier: string;
  ReplicationInstanceIdentifier: string;
}

export class ConnectionStore {
  constructor(private readonly db: Db) {}

  upsert(c: ConnectionRecord): void {
    this.db
      .prepare(
        `INSERT INTO connections (endpoint_arn, instance_arn, created_at, doc) VALUES (?, ?, ?, ?)
         ON CONFLICT (endpoint_arn, instance_arn) DO UPDATE SET doc = excluded.doc`,
      )
      .run(c.EndpointArn, c.ReplicationInstanceArn, new Date().toISOString(), JSON.stringify(c));
  }

  get(endpointArn: string, instanceArn: string): ConnectionRecord | undefined {
    return parseDoc(
      this.db.prepare('SELECT doc FROM connections WHERE endpoint_arn = ? AND instance_arn = ?').get(endpointArn, instanceArn) as
        | { doc: string }
        | undefined,
    );
  }

  delete(endpointArn: string, instanceArn: string): void {
    this.db.prepare('DELETE FROM connections WHERE endpoint_arn = ? AND instance_arn = ?').run(endpointArn, instanceArn);
  }

  /** Removes every connection of an endpoint or instance (when that resource is deleted). */
  deleteFor(arn: string): void {
    this.db.prepare('DELETE FROM connections WHERE endpoint_arn = ? OR instance_arn = ?').run(arn, arn);
  }

  list(): ConnectionRecord[] {
    return parseDocs(this.db.prepare('SELECT doc FROM connections ORDER BY created_at, endpoint_arn, instance_arn').all() as { doc: string }[]);
  }
}
