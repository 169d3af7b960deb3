import type { Db } from './database.js';
import { parseDoc, parseDocs } from './documents.js';

/** A replication task as the API returns it (settings and mappings as JSON strings). */
export interface ReplicationTaskRecord {
  ReplicationTaskArn: string;
  ReplicationTaskIdentifier: string;
  SourceEndpointArn: string;
  TargetEndpointArn: string;
  ReplicationInstanceArn: string;
  MigrationType: string;
  TableMappings: string;
  ReplicationTaskSettings: string;
  Status: string;
  ReplicationTaskCreationDate: string;
  [member: string]: unknown;
}

/** The columns Describe filters and pages on, read without parsing documents. */
export interface ReplicationTaskKeys {
  arn: string;
  identifier: string;
  instance: string;
  source: string;
  target: string;
  migrationType: string;
}

export class ReplicationTaskStore {
  constructor(private readonly db: Db) {}

  insert(t: ReplicationTaskRecord): void {
    this.db
      .prepare(
        `INSERT INTO replication_tasks (arn, identifier, status, replication_instance, source_endpoint, target_endpoint, created_at, migration_type, doc)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        t.ReplicationTaskArn,
        t.ReplicationTaskIdentifier,
        t.Status,
        t.ReplicationInstanceArn,
        t.SourceEndpointArn,
        t.TargetEndpointArn,
        t.ReplicationTaskCreationDate,
        t.MigrationType,
        JSON.stringify(t),
      );
  }

  update(t: ReplicationTaskRecord): void {
    this.db
      .prepare(
        `UPDATE replication_tasks SET identifier = ?, status = ?, replication_instance = ?, source_endpoint = ?,
         target_endpoint = ?, migration_type = ?, doc = ? WHERE arn = ?`,
      )
      .run(
        t.ReplicationTaskIdentifier,
        t.Status,
        t.ReplicationInstanceArn,
        t.SourceEndpointArn,
        t.TargetEndpointArn,
        t.MigrationType,
        JSON.stringify(t),
        t.ReplicationTaskArn,
      );
  }

  delete(arn: string): void {
    this.db.prepare('DELETE FROM replication_tasks WHERE arn = ?').run(arn);
    this.db.prepare('DELETE FROM table_statistics WHERE task_arn = ?').run(arn);
  }

  get(arn: string): ReplicationTaskRecord | undefined {
    return parseDoc(this.db.prepare('SELECT doc FROM replication_tasks WHERE arn = ?').get(arn) as { doc: string } | undefined);
  }

  findByIdentifier(identifier: string): ReplicationTaskRecord | undefined {
    return parseDoc(this.db.prepare('SELECT doc FROM replication_tasks WHERE identifier = ?').get(identifier) as { doc: string } | undefined);
  }

  list(): ReplicationTaskRecord[] {
    return parseDocs(this.db.prepare('SELECT doc FROM replication_tasks ORDER BY created_at, arn').all() as { doc: string }[]);
  }

  /** Every task's keys in Describe order (creation, then ARN): filter and page on these, then `getMany`. */
  listKeys(): ReplicationTaskKeys[] {
    return this.db
      .prepare(
        `SELECT arn, identifier, replication_instance AS instance, source_endpoint AS source, target_endpoint AS target,
         migration_type AS migrationType FROM replication_tasks ORDER BY created_at, arn`,
      )
      .all() as ReplicationTaskKeys[];
  }

  /** The documents of the given tasks, in the order given (missing ones left out). */
  getMany(arns: string[]): ReplicationTaskRecord[] {
    if (!arns.length) return [];
    const rows = this.db.prepare(`SELECT arn, doc FROM replication_tasks WHERE arn IN (${arns.map(() => '?').join(',')})`).all(...arns) as {
      arn: string;
      doc: string;
    }[];
    const byArn = new Map(rows.map((r) => [r.arn, r]));
    return parseDocs(arns.flatMap((a) => (byArn.has(a) ? [byArn.get(a)!] : [])));
  }

  countByInstance(instanceArn: string): number {
    return (this.db.prepare('SELECT count(*) AS n FROM replication_tasks WHERE replication_instance = ?').get(instanceArn) as { n: number }).n;
  }

  /** ARNs of an instance's tasks in one status (cheap: no documents parsed). */
  arnsByInstanceAndStatus(instanceArn: string, status: string): string[] {
    return (this.db.prepare('SELECT arn FROM replication_tasks WHERE replication_instance = ? AND status = ?').all(instanceArn, status) as { arn: string }[]).map(
      (r) => r.arn,
    );
  }

  listByInstance(instanceArn: string): ReplicationTaskRecord[] {
    return parseDocs(
      this.db.prepare('SELECT doc FROM replication_tasks WHERE replication_instance = ? ORDER BY created_at, arn').all(instanceArn) as {
        doc: string;
      }[],
    );
  }

  countByEndpoint(endpointArn: string): number {
    return (
      this.db.prepare('SELECT count(*) AS n FROM replication_tasks WHERE source_endpoint = ? OR target_endpoint = ?').get(endpointArn, endpointArn) as {
        n: number;
      }
    ).n;
  }

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM replication_tasks').get() as { n: number }).n;
  }
}
