/**
 * Table mappings (`TableMappings` JSON): selection, transformation and table-settings rules.
 * Parsed and validated on CreateReplicationTask/ModifyReplicationTask (faults name the rule-id),
 * applied by the engine to the source catalog to decide which tables move and under which names.
 *
 * STUB: signatures are fixed; the implementation is being written.
 */

export interface SourceColumn {
  name: string;
  /** Source type as the catalog prints it, e.g. `integer`, `numeric(10,2)`, `text[]`. */
  type: string;
}

export interface SourceTable {
  schema: string;
  table: string;
  tableType?: 'table' | 'view';
  columns: SourceColumn[];
}

export interface ParallelLoadRanges {
  type: 'ranges';
  columns: string[];
  /** N boundaries give N+1 segments; each boundary has one value per column, as text. */
  boundaries: string[][];
}

export interface SourceFilterCondition {
  operator: 'eq' | 'noteq' | 'gte' | 'lte' | 'between' | 'notbetween' | 'null' | 'notnull';
  value?: string;
  startValue?: string;
  endValue?: string;
}

/** `filters` of a selection rule: conditions within one filter are ORed, filters ANDed. */
export interface SourceFilter {
  column: string;
  conditions: SourceFilterCondition[];
}

export interface PlannedColumn {
  source: string;
  target: string;
}

/** One source table selected for the task, with its target names after transformations. */
export interface PlannedTable {
  source: { schema: string; table: string };
  target: { schema: string; table: string };
  /** Columns to move, in source order, removed columns left out. */
  columns: PlannedColumn[];
  /** Higher loads first (selection rule `load-order`). */
  loadOrder: number;
  parallelLoad?: ParallelLoadRanges;
  filters: SourceFilter[];
}

/** A parsed, validated mappings document. */
export interface TableMappings {
  rules: unknown[];
}

/** Parses and validates a TableMappings JSON string; throws InvalidParameterValueException naming the rule. */
export function parseTableMappings(json: string): TableMappings {
  return JSON.parse(json) as TableMappings;
}

/** Applies selection and transformation rules to the source catalog. */
export function planTables(_mappings: TableMappings, _catalog: SourceTable[]): PlannedTable[] {
  throw new Error('planTables is not implemented yet');
}
