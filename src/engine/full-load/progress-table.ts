/**
 * The full-load progress control table on the target, `<ControlSchema>.awsdms_full_load_progress`:
 * one row per (task, source table, segment). Segment 0 is the table itself (its plan and whether the
 * load created it); segments 1..n are its key ranges. A range row turns `loaded` in the same target
 * transaction as the range's COPY, so the table never claims rows the target does not have, and
 * never has rows of a range it does not claim.
 *
 *   table row (segment 0):  prepared ──(all ranges loaded, PK/indexes built)──> completed
 *   range rows (1..n):      pending ──(COPY + this update, one transaction)──> loaded
 */
import type pg from 'pg';
import { qualifiedName, quoteIdent } from '../../connectors/postgres/sql.js';
import type { KeyRange } from './where.js';

export const PROGRESS_TABLE = 'awsdms_full_load_progress';

export interface ProgressRow {
  sourceSchema: string;
  sourceTable: string;
  segment: number;
  segmentCount: number;
  range: KeyRange;
  status: 'prepared' | 'completed' | 'pending' | 'loaded';
  tableCreated: boolean;
  rows: number;
}

export class ProgressTable {
  readonly name: string;

  constructor(
    readonly controlSchema: string,
    readonly taskName: string,
  ) {
    this.name = qualifiedName(controlSchema, PROGRESS_TABLE);
  }

  /** Creates the control schema and table when missing (serialised by an advisory lock, as tasks share them). */
  async ensure(client: pg.Client): Promise<void> {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`opendms:${this.name}`]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(this.controlSchema)}`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${this.name} (
        task_name varchar(128) NOT NULL,
        table_owner varchar(128) NOT NULL,
        table_name varchar(128) NOT NULL,
        segment_no integer NOT NULL,
        segment_count integer NOT NULL,
        range_columns text,
        lower_bound text,
        upper_bound text,
        status varchar(16) NOT NULL,
        table_created boolean NOT NULL DEFAULT false,
        row_count bigint NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (task_name, table_owner, table_name, segment_no))`);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    }
  }

  /**
   * Forgets what this task recorded for these tables (a fresh start, reload-target, ReloadTables);
   * other tables' progress stays.
   */
  async clearTables(client: pg.Client, tables: { schema: string; table: string }[]): Promise<void> {
    await client.query(
      `DELETE FROM ${this.name} p USING unnest($2::text[], $3::text[]) AS t(s, n) WHERE p.task_name = $1 AND p.table_owner = t.s AND p.table_name = t.n`,
      [this.taskName, tables.map((t) => t.schema), tables.map((t) => t.table)],
    );
  }

  async read(client: pg.Client): Promise<ProgressRow[]> {
    const r = await client.query<{
      table_owner: string;
      table_name: string;
      segment_no: number;
      segment_count: number;
      range_columns: string | null;
      lower_bound: string | null;
      upper_bound: string | null;
      status: ProgressRow['status'];
      table_created: boolean;
      row_count: string;
    }>(`SELECT * FROM ${this.name} WHERE task_name = $1 ORDER BY table_owner, table_name, segment_no`, [this.taskName]);
    return r.rows.map((row) => {
      const range: KeyRange = { columns: row.range_columns ? (JSON.parse(row.range_columns) as string[]) : [] };
      if (row.lower_bound) range.lower = JSON.parse(row.lower_bound) as string[];
      if (row.upper_bound) range.upper = JSON.parse(row.upper_bound) as string[];
      return {
        sourceSchema: row.table_owner,
        sourceTable: row.table_name,
        segment: row.segment_no,
        segmentCount: row.segment_count,
        range,
        status: row.status,
        tableCreated: row.table_created,
        rows: Number(row.row_count),
      };
    });
  }

  /** Records a table's plan: its row (prepared) and one pending row per range. Run inside the preparation transaction. */
  async recordPlan(client: pg.Client, schema: string, table: string, ranges: KeyRange[], tableCreated: boolean): Promise<void> {
    await client.query(`DELETE FROM ${this.name} WHERE task_name = $1 AND table_owner = $2 AND table_name = $3`, [this.taskName, schema, table]);
    await client.query(
      `INSERT INTO ${this.name} (task_name, table_owner, table_name, segment_no, segment_count, status, table_created) VALUES ($1, $2, $3, 0, $4, 'prepared', $5)`,
      [this.taskName, schema, table, ranges.length, tableCreated],
    );
    await client.query(
      `INSERT INTO ${this.name} (task_name, table_owner, table_name, segment_no, segment_count, range_columns, lower_bound, upper_bound, status)
       SELECT $1, $2, $3, s.no, $4, s.cols, s.lower, s.upper, 'pending'
         FROM unnest($5::int[], $6::text[], $7::text[], $8::text[]) AS s(no, cols, lower, upper)`,
      [
        this.taskName,
        schema,
        table,
        ranges.length,
        ranges.map((_, i) => i + 1),
        ranges.map((r) => (r.columns.length > 0 ? JSON.stringify(r.columns) : null)),
        ranges.map((r) => (r.lower ? JSON.stringify(r.lower) : null)),
        ranges.map((r) => (r.upper ? JSON.stringify(r.upper) : null)),
      ],
    );
  }

  /** Marks a range loaded with its row count. Run inside the range's COPY transaction. */
  async markLoaded(client: pg.Client, schema: string, table: string, segment: number, rows: number): Promise<void> {
    const r = await client.query(
      `UPDATE ${this.name} SET status = 'loaded', row_count = $5, updated_at = now()
        WHERE task_name = $1 AND table_owner = $2 AND table_name = $3 AND segment_no = $4 AND status = 'pending'`,
      [this.taskName, schema, table, segment, rows],
    );
    // Zero rows updated means another run already loaded (or re-planned) this range: committing
    // would double its rows, so the caller's transaction must roll back.
    if (r.rowCount !== 1) throw new Error(`full-load progress for ${schema}.${table} range ${segment} is not pending; refusing to commit it twice`);
  }

  async markCompleted(client: pg.Client, schema: string, table: string, rows: number): Promise<void> {
    await client.query(
      `UPDATE ${this.name} SET status = 'completed', row_count = $4, updated_at = now() WHERE task_name = $1 AND table_owner = $2 AND table_name = $3 AND segment_no = 0`,
      [this.taskName, schema, table, rows],
    );
  }
}
