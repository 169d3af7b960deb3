import type { Db } from './database.js';
import { parseDocs } from './documents.js';

/** Per-table statistics of a task, as DescribeTableStatistics returns them. */
export interface TableStatisticsRecord {
  SchemaName: string;
  TableName: string;
  TableState: string;
  [member: string]: unknown;
}

export class TableStatisticsStore {
  constructor(private readonly db: Db) {}

  /** Replaces the statistics of the given tables of a task. */
  upsert(taskArn: string, stats: TableStatisticsRecord[]): void {
    const stmt = this.db.prepare(
      `INSERT INTO table_statistics (task_arn, schema_name, table_name, doc) VALUES (?, ?, ?, ?)
       ON CONFLICT (task_arn, schema_name, table_name) DO UPDATE SET doc = excluded.doc`,
    );
    this.db.transaction(() => {
      for (const s of stats) stmt.run(taskArn, s.SchemaName, s.TableName, JSON.stringify(s));
    })();
  }

  list(taskArn: string): TableStatisticsRecord[] {
    return parseDocs(
      this.db.prepare('SELECT doc FROM table_statistics WHERE task_arn = ? ORDER BY schema_name, table_name').all(taskArn) as { doc: string }[],
    );
  }

  clear(taskArn: string): void {
    this.db.prepare('DELETE FROM table_statistics WHERE task_arn = ?').run(taskArn);
  }
}
