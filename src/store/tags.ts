import type { Db } from './database.js';

export interface Tag {
  Key: string;
  Value?: string;
}

export class TagStore {
  constructor(private readonly db: Db) {}

  /** Adds or overwrites tags on a resource. */
  put(resourceArn: string, tags: Tag[]): void {
    const stmt = this.db.prepare(
      'INSERT INTO tags (resource_arn, key, value) VALUES (?, ?, ?) ON CONFLICT (resource_arn, key) DO UPDATE SET value = excluded.value',
    );
    this.db.transaction(() => {
      for (const t of tags) stmt.run(resourceArn, t.Key, t.Value ?? null);
    })();
  }

  remove(resourceArn: string, keys: string[]): void {
    const stmt = this.db.prepare('DELETE FROM tags WHERE resource_arn = ? AND key = ?');
    this.db.transaction(() => {
      for (const k of keys) stmt.run(resourceArn, k);
    })();
  }

  removeAll(resourceArn: string): void {
    this.db.prepare('DELETE FROM tags WHERE resource_arn = ?').run(resourceArn);
  }

  list(resourceArn: string): Tag[] {
    const rows = this.db.prepare('SELECT key, value FROM tags WHERE resource_arn = ? ORDER BY key').all(resourceArn) as {
      key: string;
      value: string | null;
    }[];
    return rows.map((r) => (r.value === null ? { Key: r.key } : { Key: r.key, Value: r.value }));
  }
}
