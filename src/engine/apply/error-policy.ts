/**
 * ErrorBehavior decisions for CDC apply: which policy a given error gets, counting errors for the
 * escalation settings. Pure (no I/O); the Applier acts on the answer.
 *
 * Three kinds of error, as AWS DMS counts them:
 *  - apply conflicts: an INSERT whose key exists (ApplyErrorInsertPolicy), an UPDATE or DELETE
 *    that finds no row (ApplyErrorUpdatePolicy, ApplyErrorDeletePolicy). Counted per table for
 *    ApplyErrorEscalationCount; conflicts resolved by INSERT_RECORD / UPDATE_RECORD are not errors
 *    and are not counted.
 *  - data errors: a value or constraint the target refuses (DataErrorPolicy). Counted per table
 *    for DataErrorEscalationCount.
 *  - table errors: the table itself is unusable (TableErrorPolicy). Counted per task for
 *    TableErrorEscalationCount (a suspended table has no further errors to count).
 *
 * A count of 0 turns escalation off. Once the count of a kind reaches N (the Nth error and every
 * later one), the escalation policy applies instead of the normal one, unless the normal one is
 * already stronger (IGNORE_RECORD < LOG_ERROR < SUSPEND_TABLE < STOP_TASK). Counts live as long as
 * the task runs (across its internal retries) and start from zero when it is started or resumed.
 */

export type RowPolicy = 'IGNORE_RECORD' | 'LOG_ERROR' | 'SUSPEND_TABLE' | 'STOP_TASK';
export type TablePolicy = 'SUSPEND_TABLE' | 'STOP_TASK';
export type ConflictOp = 'INSERT' | 'UPDATE' | 'DELETE';

export interface Escalation<P extends string> {
  /** 0 = no escalation. */
  count: number;
  policy: P;
}

export interface ApplyPolicies {
  /** ErrorBehavior.DataErrorPolicy: a value or constraint the target refuses. */
  dataError: RowPolicy;
  /** ErrorBehavior.TableErrorPolicy: the table itself is wrong (missing, no usable key). */
  tableError: TablePolicy;
  /** ErrorBehavior.ApplyErrorUpdatePolicy: an UPDATE found no row. */
  updateMissing: RowPolicy | 'UPDATE_RECORD';
  /** ErrorBehavior.ApplyErrorInsertPolicy: an INSERT found its key on the target. */
  insertExisting: RowPolicy | 'INSERT_RECORD';
  /** ErrorBehavior.ApplyErrorDeletePolicy: a DELETE found no row. */
  deleteMissing: RowPolicy;
  applyEscalation: Escalation<'LOG_ERROR' | 'SUSPEND_TABLE' | 'STOP_TASK'>;
  dataEscalation: Escalation<TablePolicy>;
  tableEscalation: Escalation<'STOP_TASK'>;
}

/** The ErrorBehavior keys this module reads (a subset of TaskSettings['ErrorBehavior']). */
export interface ErrorBehaviorSettings {
  DataErrorPolicy: RowPolicy;
  TableErrorPolicy: TablePolicy;
  ApplyErrorUpdatePolicy: RowPolicy | 'UPDATE_RECORD';
  ApplyErrorInsertPolicy: RowPolicy | 'INSERT_RECORD';
  ApplyErrorDeletePolicy: RowPolicy;
  ApplyErrorEscalationCount: number;
  ApplyErrorEscalationPolicy: 'LOG_ERROR' | 'SUSPEND_TABLE' | 'STOP_TASK';
  DataErrorEscalationCount: number;
  DataErrorEscalationPolicy: TablePolicy;
  TableErrorEscalationCount: number;
  TableErrorEscalationPolicy: 'STOP_TASK';
}

export function applyPolicies(eb: ErrorBehaviorSettings): ApplyPolicies {
  return {
    dataError: eb.DataErrorPolicy,
    tableError: eb.TableErrorPolicy,
    updateMissing: eb.ApplyErrorUpdatePolicy,
    insertExisting: eb.ApplyErrorInsertPolicy,
    deleteMissing: eb.ApplyErrorDeletePolicy,
    applyEscalation: { count: eb.ApplyErrorEscalationCount, policy: eb.ApplyErrorEscalationPolicy },
    dataEscalation: { count: eb.DataErrorEscalationCount, policy: eb.DataErrorEscalationPolicy },
    tableEscalation: { count: eb.TableErrorEscalationCount, policy: eb.TableErrorEscalationPolicy },
  };
}

const STRENGTH: Record<RowPolicy, number> = { IGNORE_RECORD: 0, LOG_ERROR: 1, SUSPEND_TABLE: 2, STOP_TASK: 3 };

/** What to do with one error; `setting` names the ErrorBehavior key that decided it (for messages). */
export interface Decision<P extends string> {
  policy: P;
  setting: string;
}

export class ErrorPolicy {
  private applyErrors = new Map<string, number>();
  private dataErrors = new Map<string, number>();
  private tableErrors = 0;
  /** The counts as of the last target commit: what a rolled-back, replayed change must not count twice. */
  private durableCounts = { apply: new Map<string, number>(), data: new Map<string, number>(), table: 0 };

  constructor(readonly policies: ApplyPolicies) {}

  /** The target committed everything counted so far. */
  durable(): void {
    this.durableCounts = { apply: new Map(this.applyErrors), data: new Map(this.dataErrors), table: this.tableErrors };
  }

  /** What was counted since the last commit was rolled back (a retry or resume replays it): forget it. */
  revert(): void {
    this.applyErrors = new Map(this.durableCounts.apply);
    this.dataErrors = new Map(this.durableCounts.data);
    this.tableErrors = this.durableCounts.table;
  }

  /**
   * An apply conflict on `table` (target qualified name). INSERT_RECORD / UPDATE_RECORD are
   * returned as they are (not errors, not counted).
   */
  conflict(table: string, op: ConflictOp): Decision<RowPolicy | 'INSERT_RECORD' | 'UPDATE_RECORD'> {
    const p = this.policies;
    const base = op === 'INSERT' ? p.insertExisting : op === 'UPDATE' ? p.updateMissing : p.deleteMissing;
    const setting = op === 'INSERT' ? 'ApplyErrorInsertPolicy' : op === 'UPDATE' ? 'ApplyErrorUpdatePolicy' : 'ApplyErrorDeletePolicy';
    if (base === 'INSERT_RECORD' || base === 'UPDATE_RECORD') return { policy: base, setting };
    return escalate(this.applyErrors, table, base, setting, p.applyEscalation, 'ApplyErrorEscalationPolicy');
  }

  /** A value or constraint the target refused on `table`. */
  dataError(table: string): Decision<RowPolicy> {
    return escalate(this.dataErrors, table, this.policies.dataError, 'DataErrorPolicy', this.policies.dataEscalation, 'DataErrorEscalationPolicy');
  }

  /** A table-level error (any table of the task counts). */
  tableError(): Decision<TablePolicy> {
    this.tableErrors++;
    const esc = this.policies.tableEscalation;
    if (esc.count > 0 && this.tableErrors >= esc.count) return { policy: esc.policy, setting: 'TableErrorEscalationPolicy' };
    return { policy: this.policies.tableError, setting: 'TableErrorPolicy' };
  }
}

function escalate(
  counts: Map<string, number>,
  table: string,
  base: RowPolicy,
  setting: string,
  esc: Escalation<RowPolicy>,
  escSetting: string,
): Decision<RowPolicy> {
  const n = (counts.get(table) ?? 0) + 1;
  counts.set(table, n);
  if (esc.count > 0 && n >= esc.count && STRENGTH[esc.policy] > STRENGTH[base]) return { policy: esc.policy, setting: escSetting };
  return { policy: base, setting };
}
