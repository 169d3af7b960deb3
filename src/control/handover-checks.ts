/**
 * What a resume-processing after a move needs from the databases, checked while the task still
 * runs on its old instance (the cascading upgrade's `preparing` step). A problem found here is a
 * refusal before the handover, with the task untouched, instead of a task failing on the new
 * instance after it was stopped.
 *
 *   source (PostgreSQL)  the catalog read for the task's table mappings (tables, columns, types,
 *                        keys), the task's replication slot present (CDC tasks), and the
 *                        publication's coverage of the mapped tables (reported: the resume fixes it)
 *   target               every mapped table exists under its target name (CDC tasks: a resume
 *                        applies changes, it does not create tables)
 *
 * The checks run from the control plane over the endpoints' connections (B's own reachability
 * is checked by `checkTargetCanTake`). Drivers load on use, so an idle control plane stays small.
 * Sources other than PostgreSQL are not checked here (reported as such).
 */
import type { App } from './app.js';
import { endpointConnectionSpec } from './endpoint-spec.js';
import type { TaskDoc } from './task-record.js';
import type { EndpointConnectionSpec } from '../engine/contracts.js';
import { resourceIdOf } from '../model/arn.js';
import { parseTableMappings, planTables } from '../model/table-mappings.js';
import { readTaskSettings } from '../model/task-settings.js';

const CHECK_TIMEOUT_MS = 15_000;

type TableName = { schema: string; table: string };

const isPostgres = (spec: EndpointConnectionSpec): boolean => spec.engineName === 'postgres' || spec.engineName === 'aurora-postgresql';

const show = (t: TableName): string => `${t.schema}.${t.table}`;

/** Checks what the resume needs; returns a one-line summary, throws an Error naming what is missing. */
export async function checkHandover(app: App, doc: TaskDoc): Promise<string> {
  const source = endpointConnectionSpec(app, doc.SourceEndpointArn);
  const target = endpointConnectionSpec(app, doc.TargetEndpointArn);
  if (!isPostgres(source)) return `catalog not checked (source engine ${source.engineName})`;
  const cdc = doc.MigrationType !== 'full-load';
  const { connectPostgres } = await import('../connectors/postgres/pool.js');
  const { readSourceCatalog } = await import('../connectors/postgres/catalog.js');
  const { findSlot, taskSlotName } = await import('../connectors/postgres/slot.js');
  const { taskPublicationName } = await import('../connectors/postgres/publication.js');
  const db = await connectPostgres(source, { connectTimeoutMs: CHECK_TIMEOUT_MS, statementTimeoutMs: CHECK_TIMEOUT_MS, applicationNameSuffix: 'handover-check' });
  const notes: string[] = [];
  let planned;
  try {
    const catalog = await readSourceCatalog(db, { includeViews: !cdc });
    const targetSchema = readTaskSettings(doc.ReplicationTaskSettings).TargetMetadata.TargetSchema;
    planned = planTables(parseTableMappings(String(doc.TableMappings ?? '{"rules":[]}')), catalog).map((t) =>
      targetSchema ? { ...t, target: { schema: targetSchema, table: t.target.table } } : t,
    );
    notes.push(`${planned.length} table(s) in the source catalog`);
    if (cdc) {
      // The same names the runner uses: a SlotName setting names both the slot and its publication.
      const named = source.settings.SlotName ?? source.settings.slotName;
      const taskId = resourceIdOf(doc.ReplicationTaskArn);
      const slotName = typeof named === 'string' && named !== '' ? named : taskSlotName(taskId);
      const publication = typeof named === 'string' && named !== '' ? named : taskPublicationName(taskId);
      if (doc._hasRun) {
        const slot = await findSlot(db, slotName);
        if (!slot) throw new Error(`replication slot ${slotName} is missing on the source, so resume-processing has nothing to continue from; start the task again with reload-target instead of moving it`);
        notes.push(`slot ${slotName} present`);
      }
      const covered = await db.query<{ schemaname: string; tablename: string }>('SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1', [publication]);
      const have = new Set(covered.rows.map((r) => show({ schema: r.schemaname, table: r.tablename })));
      const uncovered = planned.filter((t) => !have.has(show(t.source)));
      notes.push(uncovered.length ? `publication ${publication} lacks ${uncovered.map((t) => show(t.source)).join(', ')} (the resume adds them)` : `publication ${publication} covers them`);
    }
  } finally {
    await db.end().catch(() => undefined);
  }
  if (cdc && planned.length) {
    const missing = await missingTargetTables(target, planned.map((t) => t.target));
    if (missing.length) {
      throw new Error(
        `target table(s) ${missing.map(show).join(', ')} of endpoint ${target.endpointIdentifier} do not exist, so the resume could not apply changes to them; ` +
          'recreate them (or reload the task) before moving it',
      );
    }
    notes.push('all on the target');
  }
  return notes.join('; ');
}

/** The tables of `wanted` that the target database does not have. */
async function missingTargetTables(spec: EndpointConnectionSpec, wanted: TableName[]): Promise<TableName[]> {
  let present: Set<string>;
  if (isPostgres(spec)) {
    const { connectPostgres } = await import('../connectors/postgres/pool.js');
    const db = await connectPostgres(spec, { connectTimeoutMs: CHECK_TIMEOUT_MS, statementTimeoutMs: CHECK_TIMEOUT_MS, applicationNameSuffix: 'handover-check' });
    try {
      const r = await db.query<{ table_schema: string; table_name: string }>(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema = ANY($1::text[]) AND table_type = 'BASE TABLE'",
        [[...new Set(wanted.map((t) => t.schema))]],
      );
      present = new Set(r.rows.map((row) => show({ schema: row.table_schema, table: row.table_name })));
    } finally {
      await db.end().catch(() => undefined);
    }
  } else if (spec.engineName === 'mysql' || spec.engineName === 'mariadb' || spec.engineName === 'aurora') {
    const { connectMysql } = await import('../connectors/mysql/connection.js');
    const conn = await connectMysql(spec);
    try {
      const [rows] = await conn.query('SELECT table_schema AS s, table_name AS t FROM information_schema.tables WHERE table_schema IN (?)', [[...new Set(wanted.map((t) => t.schema))]]);
      // MySQL compares table names case-insensitively on some platforms: compare in lower case.
      present = new Set((rows as { s: string; t: string }[]).map((row) => show({ schema: row.s, table: row.t }).toLowerCase()));
      return wanted.filter((t) => !present.has(show(t).toLowerCase()));
    } finally {
      await conn.end().catch(() => undefined);
    }
  } else {
    return [];
  }
  return wanted.filter((t) => !present.has(show(t)));
}
