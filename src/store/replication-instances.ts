import type { Db } from './database.js';
import { parseDoc, parseDocs } from './documents.js';

/** A replication instance as the API returns it, plus fields only the control plane sees. */
export interface ReplicationInstanceRecord {
  ReplicationInstanceArn: string;
  ReplicationInstanceIdentifier: string;
  ReplicationInstanceClass: string;
  ReplicationInstanceStatus: string;
  AllocatedStorage: number;
  EngineVersion: string;
  InstanceCreateTime: string;
  MultiAZ: boolean;
  AutoMinorVersionUpgrade: boolean;
  PreferredMaintenanceWindow: string;
  PubliclyAccessible: boolean;
  [member: string]: unknown;
}

export class ReplicationInstanceStore {
  constructor(private readonly db: Db) {}

  insert(r: ReplicationInstanceRecord): void {
    this.db
      .prepare('INSERT INTO replication_instances (arn, identifier, status, created_at, doc) VALUES (?, ?, ?, ?, ?)')
      .run(r.ReplicationInstanceArn, r.ReplicationInstanceIdentifier, r.ReplicationInstanceStatus, r.InstanceCreateTime, JSON.stringify(r));
  }

  update(r: ReplicationInstanceRecord): void {
    this.db
      .prepare('UPDATE replication_instances SET identifier = ?, status = ?, doc = ? WHERE arn = ?')
      .run(r.ReplicationInstanceIdentifier, r.ReplicationInstanceStatus, JSON.stringify(r), r.ReplicationInstanceArn);
  }

  delete(arn: string): void {
    this.db.prepare('DELETE FROM replication_instances WHERE arn = ?').run(arn);
  }

  get(arn: string): ReplicationInstanceRecord | undefined {
    return parseDoc(this.db.prepare('SELECT doc FROM replication_instances WHERE arn = ?').get(arn) as { doc: string } | undefined);
  }

  findByIdentifier(identifier: string): ReplicationInstanceRecord | undefined {
    return parseDoc(
      this.db.prepare('SELECT doc FROM replication_instances WHERE identifier = ?').get(identifier) as { doc: string } | undefined,
    );
  }

  list(): ReplicationInstanceRecord[] {
    return parseDocs(this.db.prepare('SELECT doc FROM replication_instances ORDER BY created_at, arn').all() as { doc: string }[]);
  }

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM replication_instances').get() as { n: number }).n;
  }

  /** GB allocated by all instances but `exceptArn`: what the account's AllocatedStorage quota counts. */
  totalAllocatedStorage(exceptArn?: string): number {
    return this.list().reduce((sum, r) => (r.ReplicationInstanceArn === exceptArn ? sum : sum + r.AllocatedStorage), 0);
  }
}
