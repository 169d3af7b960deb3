/**
 * Source and target sessions of a full load.
 *
 * Snapshot: a holder connection opens a REPEATABLE READ transaction, imports the caller's exported
 * snapshot (from CREATE_REPLICATION_SLOT ... EXPORT_SNAPSHOT) or takes its own, and re-exports it
 * under its own name, held open until the load ends. Workers import the holder's name, so a worker
 * that lost its connection can import the same snapshot again, and the caller may release its
 * replication connection as soon as the holder has imported it (`onSnapshotImported`). Only if the
 * holder itself dies does the load continue from a new snapshot, and says so (`shared: false`).
 *
 * Session settings make COPY's text format round-trip exactly whatever the servers' defaults:
 * ISO dates, postgres interval style, UTC, all float digits, hex bytea.
 */
import type pg from 'pg';
import type { EndpointConnectionSpec } from '../contracts.js';
import { connectPostgres } from '../../connectors/postgres/pool.js';
import { quoteLiteral } from '../../connectors/postgres/sql.js';

export const TEXT_FIDELITY_SETTINGS =
  "SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; SET TimeZone = 'UTC'; SET extra_float_digits = 3; SET bytea_output = 'hex'; SET client_encoding = 'UTF8'";

export class SnapshotHolder {
  private client: pg.Client | undefined;
  private reopening: Promise<void> | undefined;
  name = '';
  /** The source's server_version_num. */
  serverVersionNum = 0;
  /** False once the load had to fall back to a snapshot other than the one it started with. */
  shared = true;
  /** The snapshot the caller handed in, if any (recorded for the result). */
  readonly importedFrom: string | undefined;

  constructor(
    private readonly source: EndpointConnectionSpec,
    private readonly label: string,
    importName: string | undefined,
  ) {
    this.importedFrom = importName;
  }

  async open(): Promise<void> {
    this.name = await this.take(this.importedFrom);
  }

  private async take(importName: string | undefined): Promise<string> {
    const client = await connectPostgres(this.source, { statementTimeoutMs: 0, applicationNameSuffix: `${this.label}:snapshot` });
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      if (importName !== undefined) await client.query(`SET TRANSACTION SNAPSHOT ${quoteLiteral(importName)}`);
      const r = await client.query<{ name: string; version: number }>(`SELECT pg_export_snapshot() AS name, current_setting('server_version_num')::int AS version`);
      const row = r.rows[0] as { name: string; version: number };
      this.client = client;
      this.serverVersionNum = row.version;
      return row.name;
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
  }

  /**
   * The held snapshot is gone (the holder's connection broke): take a new one. Consistency then
   * rests on CDC replaying from before the first snapshot (see index.ts).
   */
  async replace(failedName: string): Promise<void> {
    // Several workers notice the loss at once; only the first replaces, the others import the
    // replacement (replacing again would close the snapshot they are about to import).
    if (this.name !== failedName) return;
    this.reopening ??= (async () => {
      await this.close();
      this.name = await this.take(undefined);
      this.shared = false;
    })().finally(() => {
      this.reopening = undefined;
    });
    await this.reopening;
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (c) await c.end().catch(() => {});
  }
}

/** A source connection inside the load snapshot (a read-only REPEATABLE READ transaction kept open). */
export async function openSourceSession(source: EndpointConnectionSpec, label: string, holder: SnapshotHolder): Promise<pg.Client> {
  for (let attempt = 0; ; attempt++) {
    const client = await connectPostgres(source, { statementTimeoutMs: 0, applicationNameSuffix: label });
    const name = holder.name;
    try {
      await client.query(TEXT_FIDELITY_SETTINGS);
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await client.query(`SET TRANSACTION SNAPSHOT ${quoteLiteral(name)}`);
      return client;
    } catch (err) {
      await client.end().catch(() => {});
      // 22023 invalid snapshot identifier / 0A000: the exporting transaction has ended.
      const code = (err as { code?: string }).code;
      if (attempt < 3 && (code === '22023' || code === '0A000')) {
        await holder.replace(name);
        continue;
      }
      throw err;
    }
  }
}

/** A target connection for COPY: no statement timeout, text fidelity, asynchronous commit. */
export async function openTargetSession(target: EndpointConnectionSpec, label: string): Promise<pg.Client> {
  const client = await connectPostgres(target, { statementTimeoutMs: 0, applicationNameSuffix: label });
  try {
    // Asynchronous commit is safe here: a range's rows and its progress row commit together, so a
    // target crash loses both or neither, and a resume reloads the range.
    await client.query(`${TEXT_FIDELITY_SETTINGS}; SET synchronous_commit = off`);
    // Triggers and foreign keys would fire per row and fail on tables loaded out of order; only a
    // superuser may switch them off, so this is best effort.
    await client.query('SET session_replication_role = replica').catch(() => {});
    return client;
  } catch (err) {
    await client.end().catch(() => {});
    throw err;
  }
}

/** Closes a client at once, even mid-COPY (the server rolls back its transaction). */
export function destroyClient(client: pg.Client | undefined): void {
  if (!client) return;
  const stream = (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
  client.end().catch(() => {});
  stream?.destroy();
}
