/**
 * How a table is cut into segments that load in parallel and commit (and resume) independently:
 *  - the table-settings `parallel-load` `ranges` boundaries when given (N boundaries, N+1 segments);
 *  - otherwise, for a table with a primary key that is larger than the split threshold, ranges of
 *    the key: evenly between min and max for a single integer key, else at quantiles of a sample;
 *  - otherwise one segment, the whole table.
 * Boundaries need not come from the load snapshot: any boundaries partition the key space, since
 * the first segment is open below and the last open above.
 */
import type pg from 'pg';
import type { SourceTableInfo } from '../../connectors/postgres/catalog.js';
import { isIntegerType, isRangeableType } from '../../connectors/postgres/type-map.js';
import { qualifiedName, quoteIdent } from '../../connectors/postgres/sql.js';
import type { PlannedTable } from '../../model/table-mappings.js';
import type { KeyRange } from './where.js';

export interface SplitSettings {
  /** Target rows per automatic segment (default 1,000,000). */
  segmentRows: number;
  /** Target heap+TOAST bytes per automatic segment (default 256 MiB). */
  segmentBytes: number;
  /** Upper bound on automatic segments per table (default 64). */
  maxSegments: number;
}

export const DEFAULT_SPLIT: SplitSettings = { segmentRows: 1_000_000, segmentBytes: 256 * 1024 * 1024, maxSegments: 64 };

/** Segments from explicit boundaries: N boundaries give N+1 ranges. */
export function rangesFromBoundaries(columns: string[], boundaries: string[][]): KeyRange[] {
  if (boundaries.length === 0) return [{ columns: [] }];
  const out: KeyRange[] = [];
  for (let i = 0; i <= boundaries.length; i++) {
    const r: KeyRange = { columns };
    if (i > 0) r.lower = boundaries[i - 1] as string[];
    if (i < boundaries.length) r.upper = boundaries[i] as string[];
    out.push(r);
  }
  return out;
}

/** How many automatic segments a table of this size gets (1 = not split). */
export function autoSegmentCount(info: Pick<SourceTableInfo, 'estimatedRows' | 'totalBytes'>, s: SplitSettings): number {
  const byRows = info.estimatedRows > 0 ? Math.ceil(info.estimatedRows / s.segmentRows) : 1;
  const byBytes = Math.ceil(info.totalBytes / s.segmentBytes);
  return Math.max(1, Math.min(s.maxSegments, Math.max(byRows, byBytes)));
}

/** Even integer boundaries between min and max (inclusive), deduplicated. */
export function evenIntegerBoundaries(min: bigint, max: bigint, segments: number): string[][] {
  const span = max - min + 1n;
  const out: string[][] = [];
  let last: bigint | undefined;
  for (let i = 1; i < segments; i++) {
    const b = min + (span * BigInt(i)) / BigInt(segments);
    if (b <= min || b > max || b === last) continue;
    out.push([b.toString()]);
    last = b;
  }
  return out;
}

/** The segments of one table (column names are source names). */
export async function planSegments(client: pg.Client, table: PlannedTable, info: SourceTableInfo, split: SplitSettings): Promise<KeyRange[]> {
  if (table.parallelLoad && table.parallelLoad.boundaries.length > 0) {
    return rangesFromBoundaries(table.parallelLoad.columns, table.parallelLoad.boundaries);
  }
  const whole: KeyRange[] = [{ columns: [] }];
  const pk = info.primaryKey;
  if (pk.length === 0 || info.tableType === 'view') return whole;
  const types = pk.map((c) => info.columns.find((col) => col.name === c)?.type ?? '');
  if (!types.every(isRangeableType)) return whole;
  const count = autoSegmentCount(info, split);
  if (count <= 1) return whole;
  const from = qualifiedName(info.schema, info.table);
  if (pk.length === 1 && isIntegerType(types[0] as string)) {
    const col = quoteIdent(pk[0] as string);
    const r = await client.query<{ min: string | null; max: string | null }>(`SELECT min(${col})::text AS min, max(${col})::text AS max FROM ${from}`);
    const row = r.rows[0];
    if (!row?.min || !row.max) return whole;
    return rangesFromBoundaries(pk, evenIntegerBoundaries(BigInt(row.min), BigInt(row.max), count));
  }
  // Quantiles of a sample of ~100 keys per segment, in key order.
  const rows = Math.max(info.estimatedRows, 1);
  const percent = Math.min(100, Math.max(0.001, (100 * count * 100) / rows));
  const cols = pk.map(quoteIdent).join(', ');
  const sample = await client.query<{ k: string[] }>(
    `SELECT ARRAY[${pk.map((c) => `${quoteIdent(c)}::text`).join(', ')}] AS k FROM ${from} TABLESAMPLE BERNOULLI (${percent}) ORDER BY ${cols}`,
  );
  const keys = sample.rows.map((r) => r.k);
  const boundaries: string[][] = [];
  for (let i = 1; i < count; i++) {
    const k = keys[Math.floor((i * keys.length) / count)];
    if (k && JSON.stringify(k) !== JSON.stringify(boundaries[boundaries.length - 1])) boundaries.push(k);
  }
  return boundaries.length > 0 ? rangesFromBoundaries(pk, boundaries) : whole;
}
