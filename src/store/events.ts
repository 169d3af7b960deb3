import type { Db } from './database.js';

export type EventSourceType = 'replication-instance' | 'replication-task' | 'endpoint' | 'replication-subnet-group';

export interface EventRecord {
  SourceIdentifier: string;
  SourceType: EventSourceType;
  Message: string;
  EventCategories: string[];
  Date: string;
}

export interface EventQuery {
  sourceIdentifier?: string;
  sourceType?: string;
  startTime?: Date;
  endTime?: Date;
  categories?: string[];
}

export class EventStore {
  constructor(private readonly db: Db) {}

  add(e: Omit<EventRecord, 'Date'> & { sourceArn?: string; date?: Date }): EventRecord {
    const date = (e.date ?? new Date()).toISOString();
    this.db
      .prepare('INSERT INTO events (source_identifier, source_type, source_arn, message, categories, date) VALUES (?, ?, ?, ?, ?, ?)')
      .run(e.SourceIdentifier, e.SourceType, e.sourceArn ?? null, e.Message, JSON.stringify(e.EventCategories), date);
    return { SourceIdentifier: e.SourceIdentifier, SourceType: e.SourceType, Message: e.Message, EventCategories: e.EventCategories, Date: date };
  }

  query(q: EventQuery): EventRecord[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.sourceIdentifier) {
      where.push('(source_identifier = ? OR source_arn = ?)');
      args.push(q.sourceIdentifier, q.sourceIdentifier);
    }
    if (q.sourceType) {
      where.push('source_type = ?');
      args.push(q.sourceType);
    }
    if (q.startTime) {
      where.push('date >= ?');
      args.push(q.startTime.toISOString());
    }
    if (q.endTime) {
      where.push('date <= ?');
      args.push(q.endTime.toISOString());
    }
    const rows = this.db
      .prepare(`SELECT * FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id`)
      .all(...args) as { source_identifier: string; source_type: EventSourceType; message: string; categories: string; date: string }[];
    return rows
      .map((r) => ({
        SourceIdentifier: r.source_identifier,
        SourceType: r.source_type,
        Message: r.message,
        EventCategories: JSON.parse(r.categories) as string[],
        Date: r.date,
      }))
      .filter((e) => !q.categories?.length || e.EventCategories.some((c) => q.categories!.includes(c)));
  }
}
