/**
 * Shared plumbing for the resource tables that keep an AWS-shaped JSON document per row.
 * Resource files (instances.ts, endpoints.ts, ...) add their own indexed columns and queries.
 */
import type { Db } from './database.js';

export function parseDoc<T>(row: { doc: string } | undefined): T | undefined {
  return row ? (JSON.parse(row.doc) as T) : undefined;
}

export function parseDocs<T>(rows: { doc: string }[]): T[] {
  return rows.map((r) => JSON.parse(r.doc) as T);
}

/** Runs fn in one SQLite transaction (nested calls join the outer one). */
export function inTransaction<T>(db: Db, fn: () => T): T {
  return db.transaction(fn)();
}
