/**
 * A task's catalog read ahead on the instance that will run it next (the instance protocol's
 * `prepare-task`, sent by the cascading upgrade while the task still runs on its old instance), so
 * the start or resume there does not read it again.
 *
 *   prepareTask(spec)   opens the source and target connections, takes the catalog stamps, then
 *                       reads the source catalog (as the runner does) and the mapped target tables;
 *                       kept per task for ttlMs (at most MAX_PREPARED tasks)
 *   takePrepared(spec)  the runner's next start takes it (once), if it is not expired and was
 *                       prepared for the same endpoints, mappings and target schema
 *
 * Correctness first: nothing prepared is used without checking it is still what a read now would
 * return. The runner compares the source catalog stamp (one query, catalog.ts) before using the
 * source catalog, and each target table's stamp when its first change arrives before using that
 * table's columns, types and key (`PreparedTargets`). A DDL between the preparation and that
 * moment changes the stamp, and the catalog is read again as if nothing had been prepared.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { readSourceCatalog, sourceCatalogStamp, tableStamps } from '../connectors/postgres/catalog.js';
import type { SourceTableInfo } from '../connectors/postgres/catalog.js';
import { connectPostgres } from '../connectors/postgres/pool.js';
import { qualifiedName } from '../connectors/postgres/sql.js';
import { planTables } from '../model/table-mappings.js';
import type { TableMappings } from '../model/table-mappings.js';
import { readTaskSettings } from '../model/task-settings.js';
import { readTargetTable } from './apply/apply-table.js';
import type { TargetTableInfo } from './apply/apply-table.js';
import type { PreparedTargetTables } from './cdc/relations.js';
import type { EndpointConnectionSpec, PrepareTaskResult, TaskSpec } from './contracts.js';

/** How many tasks may have a prepared catalog on one instance at once (the oldest goes first). */
export const MAX_PREPARED = 200;
const PREPARE_TIMEOUT_MS = 30_000;

export interface PreparedCatalog {
  taskArn: string;
  /** What the catalog depends on in the spec (fingerprint): a different spec does not use it. */
  key: string;
  preparedAt: number;
  expiresAt: number;
  sourceStamp: string;
  /** readSourceCatalog's result, as the runner reads it. */
  catalog: SourceTableInfo[];
  /** Per mapped target table that exists (qualified name): its stamp and readTargetTable's result. */
  targets: Map<string, { stamp: string; info: TargetTableInfo }>;
}

const prepared = new Map<string, PreparedCatalog>();

const endpointIdentity = (e: EndpointConnectionSpec): unknown[] => [e.engineName, e.serverName, e.port, e.databaseName ?? null, e.username ?? null, e.sslMode];

/** The options readSourceCatalog gets in the runner for this task. */
export const catalogOptions = (spec: TaskSpec): { includeViews: boolean } => ({ includeViews: spec.migrationType === 'full-load' });

function fingerprint(spec: TaskSpec): string {
  const targetSchema = readTaskSettings(spec.settings).TargetMetadata.TargetSchema;
  const parts = [endpointIdentity(spec.source), endpointIdentity(spec.target), spec.tableMappings, spec.migrationType, targetSchema];
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

function sweep(now: number): void {
  for (const [arn, p] of prepared) if (p.expiresAt <= now) prepared.delete(arn);
}

/** Reads the task's catalog ahead of its next start on this instance; replaces an earlier preparation. */
export async function prepareTask(spec: TaskSpec, ttlMs: number): Promise<PrepareTaskResult> {
  if (![spec.source, spec.target].every((e) => e.engineName === 'postgres' || e.engineName === 'aurora-postgresql')) {
    throw new Error(`prepare-task reads PostgreSQL catalogs only (source ${spec.source.engineName}, target ${spec.target.engineName})`);
  }
  const started = Date.now();
  const opts = { connectTimeoutMs: PREPARE_TIMEOUT_MS, statementTimeoutMs: PREPARE_TIMEOUT_MS, applicationNameSuffix: `${spec.taskResourceId}:prepare` };
  let source: pg.Client | undefined;
  let target: pg.Client | undefined;
  try {
    [source, target] = await Promise.all([connectPostgres(spec.source, opts), connectPostgres(spec.target, opts)]);
    // Stamps first, reads second: a DDL in between shows as a stale stamp later, never the reverse.
    const sourceStamp = await sourceCatalogStamp(source, catalogOptions(spec));
    const catalog = await readSourceCatalog(source, catalogOptions(spec));
    const targetSchema = readTaskSettings(spec.settings).TargetMetadata.TargetSchema;
    const planned = planTables(spec.tableMappings as TableMappings, catalog);
    const names = [...new Set(planned.map((t) => qualifiedName(targetSchema || t.target.schema, t.target.table)))];
    const stamps = await tableStamps(target, names);
    const targets = new Map<string, { stamp: string; info: TargetTableInfo }>();
    for (const t of planned) {
      const schema = targetSchema || t.target.schema;
      const name = qualifiedName(schema, t.target.table);
      const info = await readTargetTable(target, schema, t.target.table);
      if (info) targets.set(name, { stamp: stamps.get(name)!, info });
    }
    const now = Date.now();
    sweep(now);
    prepared.delete(spec.taskArn);
    if (prepared.size >= MAX_PREPARED) prepared.delete(prepared.keys().next().value!);
    const entry: PreparedCatalog = { taskArn: spec.taskArn, key: fingerprint(spec), preparedAt: now, expiresAt: now + ttlMs, sourceStamp, catalog, targets };
    prepared.set(spec.taskArn, entry);
    // Freed when it expires even if nothing starts the task here (the timer does not keep the process up).
    setTimeout(() => sweep(Date.now()), ttlMs + 1000).unref();
    return {
      taskArn: spec.taskArn,
      sourceTables: catalog.length,
      plannedTables: planned.length,
      targetTables: targets.size,
      tookMs: now - started,
      expiresAt: new Date(entry.expiresAt).toISOString(),
    };
  } finally {
    await Promise.all([source?.end().catch(() => {}), target?.end().catch(() => {})]);
  }
}

/**
 * The catalog prepared for this task, taken (a second call returns undefined), or undefined when
 * none was prepared, it expired, or it was prepared for other endpoints, mappings or target schema.
 * The caller must still compare the stamps before using it.
 */
export function takePrepared(spec: TaskSpec): PreparedCatalog | undefined {
  sweep(Date.now());
  const p = prepared.get(spec.taskArn);
  if (!p) return undefined;
  prepared.delete(spec.taskArn);
  return p.key === fingerprint(spec) ? p : undefined;
}

/** Tasks with a prepared catalog on this instance (for tests and diagnostics). */
export function preparedTaskArns(): string[] {
  sweep(Date.now());
  return [...prepared.keys()];
}

/**
 * The source catalog for the runner: the prepared one when its stamp still matches the source's,
 * otherwise a fresh read; `used` says which.
 */
export async function sourceCatalog(
  db: pg.Client,
  spec: TaskSpec,
  p: PreparedCatalog | undefined,
): Promise<{ catalog: SourceTableInfo[]; used: boolean }> {
  if (p && (await sourceCatalogStamp(db, catalogOptions(spec))) === p.sourceStamp) return { catalog: p.catalog, used: true };
  return { catalog: await readSourceCatalog(db, catalogOptions(spec)), used: false };
}

/** Prepared target tables, each used at most once and only while its stamp is unchanged (see Relations). */
export class PreparedTargets implements PreparedTargetTables {
  used = 0;

  constructor(
    private readonly tables: Map<string, { stamp: string; info: TargetTableInfo }>,
    private readonly onStale: (qualifiedName: string) => void = () => {},
  ) {}

  /** The table's prepared columns and key if its catalog is unchanged since; undefined means: read it. */
  async take(db: pg.ClientBase, schema: string, table: string): Promise<TargetTableInfo | undefined> {
    const name = qualifiedName(schema, table);
    const entry = this.tables.get(name);
    if (!entry) return undefined;
    this.tables.delete(name);
    const now = (await tableStamps(db, [name])).get(name);
    if (now !== entry.stamp) {
      this.onStale(name);
      return undefined;
    }
    this.used++;
    // The caller may add columns to what it gets.
    return structuredClone(entry.info);
  }
}
