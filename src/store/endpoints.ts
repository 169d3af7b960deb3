import type { Db } from './database.js';
import { parseDoc, parseDocs } from './documents.js';

/** An endpoint as the API returns it. The password is kept apart (see EndpointStore.password). */
export interface EndpointRecord {
  EndpointArn: string;
  EndpointIdentifier: string;
  EndpointType: string;
  EngineName: string;
  Status: string;
  [member: string]: unknown;
}

export class EndpointStore {
  constructor(private readonly db: Db) {}

  insert(e: EndpointRecord, password: string | undefined, createdAt: string): void {
    this.db
      .prepare('INSERT INTO endpoints (arn, identifier, created_at, doc, password) VALUES (?, ?, ?, ?, ?)')
      .run(e.EndpointArn, e.EndpointIdentifier, createdAt, JSON.stringify(e), password ?? null);
  }

  /** Updates the document; the password only when one is given (undefined keeps the old one). */
  update(e: EndpointRecord, password?: string | null): void {
    if (password === undefined) {
      this.db.prepare('UPDATE endpoints SET identifier = ?, doc = ? WHERE arn = ?').run(e.EndpointIdentifier, JSON.stringify(e), e.EndpointArn);
    } else {
      this.db
        .prepare('UPDATE endpoints SET identifier = ?, doc = ?, password = ? WHERE arn = ?')
        .run(e.EndpointIdentifier, JSON.stringify(e), password, e.EndpointArn);
    }
  }

  delete(arn: string): void {
    this.db.prepare('DELETE FROM endpoints WHERE arn = ?').run(arn);
  }

  get(arn: string): EndpointRecord | undefined {
    return parseDoc(this.db.prepare('SELECT doc FROM endpoints WHERE arn = ?').get(arn) as { doc: string } | undefined);
  }

  findByIdentifier(identifier: string): EndpointRecord | undefined {
    return parseDoc(this.db.prepare('SELECT doc FROM endpoints WHERE identifier = ?').get(identifier) as { doc: string } | undefined);
  }

  /** The stored password: only for opening connections, never for responses or logs. */
  password(arn: string): string | undefined {
    const row = this.db.prepare('SELECT password FROM endpoints WHERE arn = ?').get(arn) as { password: string | null } | undefined;
    return row?.password ?? undefined;
  }

  list(): EndpointRecord[] {
    return parseDocs(this.db.prepare('SELECT doc FROM endpoints ORDER BY created_at, arn').all() as { doc: string }[]);
  }

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM endpoints').get() as { n: number }).n;
  }
}
