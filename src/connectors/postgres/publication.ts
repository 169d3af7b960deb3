/**
 * The publication a task's slot decodes through: `opendms_<task id>` FOR exactly the selected
 * tables, so changes to other tables never leave the source (pgoutput filters them in the
 * walsender, before they cost network or apply time).
 */
import type pg from 'pg';
import { quoteIdent } from './sql.js';

export function taskPublicationName(taskResourceId: string): string {
  return `opendms_${taskResourceId.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 63);
}

/** Creates the publication or points it at exactly `tables` (a task's tables can change on modify). */
export async function ensurePublication(db: pg.ClientBase, name: string, tables: { schema: string; table: string }[]): Promise<void> {
  const list = tables.map((t) => `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`).join(', ');
  const exists = (await db.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [name])).rowCount! > 0;
  if (tables.length === 0) {
    // A publication with no tables still lets the slot stream (and heartbeats advance it).
    if (!exists) await db.query(`CREATE PUBLICATION ${quoteIdent(name)}`);
    return;
  }
  if (!exists) {
    await db.query(`CREATE PUBLICATION ${quoteIdent(name)} FOR TABLE ${list}`);
    return;
  }
  // Unchanged (the usual resume): leave it alone. ALTER PUBLICATION takes locks on every table
  // and invalidates caches in running walsenders, which a fast handover does not need.
  const current = await db.query<{ schemaname: string; tablename: string }>('SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1', [name]);
  const key = (schema: string, table: string) => `${schema}\u0000${table}`;
  const have = new Set(current.rows.map((r) => key(r.schemaname, r.tablename)));
  const want = new Set(tables.map((t) => key(t.schema, t.table)));
  if (have.size === want.size && [...want].every((k) => have.has(k))) return;
  await db.query(`ALTER PUBLICATION ${quoteIdent(name)} SET TABLE ${list}`);
}

export async function dropPublicationIfExists(db: pg.ClientBase, name: string): Promise<void> {
  await db.query(`DROP PUBLICATION IF EXISTS ${quoteIdent(name)}`);
}
