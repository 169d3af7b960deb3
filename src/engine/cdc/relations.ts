/**
 * pgoutput relations -> target tables. pgoutput sends a Relation message before the first change
 * of a table in each session and again whenever the table's shape changed; that second case is how
 * ADD COLUMN reaches us (there is no DDL in the stream): a planned column the target lacks is added
 * with ALTER TABLE ... ADD COLUMN before the change that carries it is applied.
 */
import type pg from 'pg';
import type { RelationColumn, TupleValue } from '../../connectors/postgres/pgoutput.js';
import { qualifiedName, quoteIdent } from '../../connectors/postgres/sql.js';
import type { PlannedTable } from '../../model/table-mappings.js';
import type { ApplyTable, Row, TargetTableInfo } from '../apply/apply-table.js';
import { buildApplyTable, readTargetTable } from '../apply/apply-table.js';

export interface MappedRelation {
  relationId: number;
  source: { schema: string; table: string };
  apply: ApplyTable;
  /** For each apply column, the source tuple position it comes from. */
  sourceIdx: number[];
  /** Source tuple positions flagged as replica identity. */
  identity: boolean[];
  /** Every source column maps to the apply column of the same position: a tuple is a row as it is. */
  direct: boolean;
}

/** What the runner knows about the task's tables (re-planning after a column was added). */
export interface TablePlanner {
  /** The planned table for a source table, or undefined when the mappings leave it out. */
  plan(schema: string, table: string): PlannedTable | undefined;
  /** Re-plans one table after its source columns changed; returns it with target column declarations for new columns. */
  replan(schema: string, table: string): Promise<{ planned: PlannedTable; declarations: Map<string, string> } | undefined>;
}

/** Target tables read ahead (src/engine/prepared-catalog.ts): undefined = read the table now. */
export interface PreparedTargetTables {
  take(db: pg.ClientBase, schema: string, table: string): Promise<TargetTableInfo | undefined>;
}

export interface RelationChange {
  relation: MappedRelation | undefined;
  /** ALTER TABLE statements to run (in order, before the next change) to give the target the new columns. */
  ddl: string[];
}

export class Relations {
  private readonly byId = new Map<number, MappedRelation | null>();
  /** The Relation message each mapping was made from (see isUnchanged). */
  private readonly shapes = new Map<number, string>();

  constructor(
    private readonly target: pg.ClientBase,
    private readonly planner: TablePlanner,
    private readonly prepared?: PreparedTargetTables,
  ) {}

  get(relationId: number): MappedRelation | null | undefined {
    return this.byId.get(relationId);
  }

  /**
   * Whether a Relation message repeats the one the current mapping was made from. PostgreSQL
   * sends one at the start of every decoding session, and the SQL catch-up reader starts one per
   * call: a repeat needs no target round trip (and must not wait for the commit in flight).
   */
  isUnchanged(relationId: number, schema: string, table: string, columns: RelationColumn[]): boolean {
    return this.byId.has(relationId) && this.shapes.get(relationId) === shape(schema, table, columns);
  }

  /** Handles a Relation message; `undefined` relation = table not selected by the task. */
  async onRelation(relationId: number, schema: string, table: string, columns: RelationColumn[]): Promise<RelationChange> {
    // Forgotten first: if mapping fails, the next Relation message for this id is handled in full.
    this.shapes.delete(relationId);
    const change = await this.map(relationId, schema, table, columns);
    this.shapes.set(relationId, shape(schema, table, columns));
    return change;
  }

  private async map(relationId: number, schema: string, table: string, columns: RelationColumn[]): Promise<RelationChange> {
    let planned = this.planner.plan(schema, table);
    if (!planned) {
      this.byId.set(relationId, null);
      return { relation: undefined, ddl: [] };
    }
    const ddl: string[] = [];
    const sourceNames = columns.map((c) => c.name);
    const unknown = sourceNames.filter((n) => !planned!.columns.some((pc) => pc.source === n));
    let declarations = new Map<string, string>();
    if (unknown.length > 0) {
      const re = await this.planner.replan(schema, table);
      if (re) ({ planned, declarations } = re);
    }
    const info =
      (await this.prepared?.take(this.target, planned.target.schema, planned.target.table)) ??
      (await readTargetTable(this.target, planned.target.schema, planned.target.table));
    if (!info) throw new Error(`target table ${qualifiedName(planned.target.schema, planned.target.table)} does not exist`);
    const mapped = planned.columns.filter((pc) => sourceNames.includes(pc.source));
    for (const pc of mapped) {
      if (info.columns.some((tc) => tc.name === pc.target)) continue;
      const decl = declarations.get(pc.source);
      if (!decl) throw new Error(`source column ${schema}.${table}.${pc.source} has no known type for the target`);
      const sql = `ALTER TABLE ${qualifiedName(planned.target.schema, planned.target.table)} ADD COLUMN IF NOT EXISTS ${quoteIdent(pc.target)} ${decl}`;
      ddl.push(sql);
      info.columns.push({ name: pc.target, type: decl });
    }
    const sourceIdx = mapped.map((pc) => sourceNames.indexOf(pc.source));
    const apply = buildApplyTable(
      { schema, table },
      planned.target.schema,
      planned.target.table,
      info,
      mapped.map((pc) => pc.target),
      sourceIdx.map((i) => columns[i]!.typeOid),
    );
    const relation: MappedRelation = {
      relationId,
      source: { schema, table },
      apply,
      sourceIdx,
      identity: columns.map((c) => c.isKey),
      direct: sourceIdx.length === columns.length && sourceIdx.every((s, j) => s === j),
    };
    this.byId.set(relationId, relation);
    return { relation, ddl };
  }
}

/** Everything of a Relation message the mapping depends on. */
function shape(schema: string, table: string, columns: RelationColumn[]): string {
  return JSON.stringify([schema, table, columns.map((c) => [c.name, c.typeOid, c.typeMod, c.isKey])]);
}

/** A source tuple as a target row (unchanged TOAST stays undefined). Rows are never modified, so a direct mapping shares the tuple. */
export function toRow(rel: MappedRelation, tuple: TupleValue[]): Row {
  if (rel.direct) return tuple;
  const row: Row = new Array(rel.sourceIdx.length);
  for (let j = 0; j < rel.sourceIdx.length; j++) row[j] = tuple[rel.sourceIdx[j]!];
  return row;
}

/** Only the replica-identity columns of a tuple (others undefined): how a key-less target finds the row. */
export function identityRow(rel: MappedRelation, tuple: TupleValue[], all: boolean): Row | undefined {
  const row: Row = new Array(rel.sourceIdx.length);
  let any = false;
  for (let j = 0; j < rel.sourceIdx.length; j++) {
    const s = rel.sourceIdx[j]!;
    const v = tuple[s];
    if ((all || rel.identity[s]) && v !== undefined) {
      row[j] = v;
      any = true;
    } else row[j] = undefined;
  }
  return any ? row : undefined;
}
