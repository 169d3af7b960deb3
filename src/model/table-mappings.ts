/**
 * Table mappings (`TableMappings` JSON): selection, transformation and table-settings rules.
 * Parsed and validated on CreateReplicationTask/ModifyReplicationTask (faults name the rule-id),
 * applied by the engine to the source catalog to decide which tables move and under which names.
 *
 * `parseTableMappings` returns plain JSON data (no RegExps, no classes) so the result can cross
 * the instance protocol as it is; `planTables` compiles the wildcards when it runs.
 *
 * Semantics we chose where AWS leaves room (spec §6):
 * - excludes win over includes; a table is selected when at least one include/explicit rule and
 *   no exclude rule matches it;
 * - object-locators of transformation rules match SOURCE names (not names already transformed
 *   by an earlier rule); actions apply in ascending rule-id order to the name built so far;
 * - `explicit` names are taken literally (no wildcard may appear: `%` is refused, `_` is a plain
 *   underscore), filters are allowed on `include` and `explicit` rules;
 * - when several include rules select a table, its load-order is the highest of them and all of
 *   their filters apply (ANDed).
 *
 * @example
 *   const m = parseTableMappings('{"rules":[{"rule-type":"selection","rule-id":"1","rule-name":"all",
 *     "object-locator":{"schema-name":"public","table-name":"%"},"rule-action":"include"}]}');
 *   const plan = planTables(m, catalog);
 */
import { invalidParameter, type DmsFault } from './faults.js';

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

interface RuleBase {
  ruleId: string;
  ruleName: string;
}

export interface SelectionRule extends RuleBase {
  action: 'include' | 'exclude' | 'explicit';
  schemaName: string;
  tableName: string;
  tableType: 'table' | 'view' | 'all';
  loadOrder: number;
  filters: SourceFilter[];
}

export type TransformationAction =
  | 'rename'
  | 'remove-column'
  | 'convert-lowercase'
  | 'convert-uppercase'
  | 'add-prefix'
  | 'add-suffix'
  | 'remove-prefix'
  | 'remove-suffix'
  | 'replace-prefix'
  | 'replace-suffix';

export interface TransformationRule extends RuleBase {
  target: 'schema' | 'table' | 'column';
  action: TransformationAction;
  schemaName: string;
  /** Present for table and column targets. */
  tableName?: string;
  /** Present for column targets. */
  columnName?: string;
  value?: string;
  oldValue?: string;
}

export interface TableSettingsRule extends RuleBase {
  schemaName: string;
  tableName: string;
  parallelLoad?: ParallelLoadRanges | { type: 'none' };
}

/** A parsed, validated mappings document. `rules` is the document's rule list as the user wrote it. */
export interface TableMappings {
  rules: unknown[];
  selection: SelectionRule[];
  /** Sorted by numeric rule-id: the order in which they apply. */
  transformation: TransformationRule[];
  tableSettings: TableSettingsRule[];
}

const PREFIX = 'Invalid Table Mappings document';

function fail(message: string): DmsFault {
  return invalidParameter(`${PREFIX}: ${message}`);
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Describes a rule in messages: `rule-id 3 (rule-name "hq")`. */
function ruleLabel(raw: Json, index: number): string {
  const id = raw['rule-id'];
  const name = raw['rule-name'];
  const idText = typeof id === 'string' || typeof id === 'number' ? `rule-id ${String(id)}` : `rule #${index + 1} (no rule-id)`;
  return typeof name === 'string' ? `${idText} (rule-name "${name}")` : idText;
}

/** Reads the fields of one raw rule, every fault naming the rule and the key. */
class RuleReader {
  constructor(
    readonly raw: Json,
    readonly label: string,
  ) {}

  fail(key: string, text: string): DmsFault {
    return fail(`${this.label}: ${key} ${text}`);
  }

  /** A string, or a number written where a string is expected (both are common in the wild). */
  text(key: string, value: unknown = this.raw[key]): string | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string') return value;
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
    throw this.fail(key, `must be a string (got ${JSON.stringify(value)}).`);
  }

  required(key: string, value: unknown = this.raw[key]): string {
    const v = this.text(key, value);
    if (v === undefined || v === '') throw this.fail(key, 'is required and must be a non-empty string.');
    return v;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], fallback?: T): T {
    const v = this.text(key);
    if (v === undefined && fallback !== undefined) return fallback;
    if (v === undefined) throw this.fail(key, `is required; use one of: ${allowed.join(', ')}.`);
    if (!(allowed as readonly string[]).includes(v)) throw this.fail(key, `"${v}" is not valid; use one of: ${allowed.join(', ')}.`);
    return v as T;
  }

  locator(): Json {
    const loc = this.raw['object-locator'];
    if (!isObject(loc)) throw this.fail('object-locator', 'is required and must be an object.');
    return loc;
  }

  locatorOneOf<T extends string>(loc: Json, key: string, allowed: readonly T[], fallback: T): T {
    const v = this.text(`object-locator.${key}`, loc[key]);
    if (v === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(v)) throw this.fail(`object-locator.${key}`, `"${v}" is not valid; use one of: ${allowed.join(', ')}.`);
    return v as T;
  }

  locatorName(loc: Json, key: string): string {
    const v = this.required(`object-locator.${key}`, loc[key]);
    checkPattern(v, (text) => this.fail(`object-locator.${key}`, text));
    return v;
  }
}

function parseSelection(r: RuleReader, base: RuleBase): SelectionRule {
  const action = r.oneOf('rule-action', ['include', 'exclude', 'explicit'] as const);
  const loc = r.locator();
  const schemaName = r.locatorName(loc, 'schema-name');
  const tableName = r.locatorName(loc, 'table-name');
  const tableType = r.locatorOneOf(loc, 'table-type', ['table', 'view', 'all'] as const, 'table');
  if (action === 'explicit') {
    for (const [key, v] of [['schema-name', schemaName], ['table-name', tableName]] as const) {
      if (v.includes('%')) throw r.fail(`object-locator.${key}`, `"${v}" has a wildcard; rule-action explicit needs one exact table or view name.`);
    }
  }
  let loadOrder = 0;
  const lo = r.raw['load-order'];
  if (lo !== undefined && lo !== null) {
    const n = typeof lo === 'string' && /^-?\d+$/.test(lo.trim()) ? Number(lo) : lo;
    if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw r.fail('load-order', `must be an integer (got ${JSON.stringify(lo)}).`);
    loadOrder = n;
  }
  const filters = parseFilters(r, action);
  return { ...base, action, schemaName, tableName, tableType, loadOrder, filters };
}

const OPERATORS = ['eq', 'noteq', 'gte', 'lte', 'between', 'notbetween', 'null', 'notnull'] as const;
/** AWS documents `ste` ("smaller than or equal") for what the spec calls `lte`. */
const OPERATOR_ALIASES: Record<string, SourceFilterCondition['operator']> = { ste: 'lte' };
const NEGATIVE = new Set(['noteq', 'notbetween', 'notnull']);

function parseFilters(r: RuleReader, action: SelectionRule['action']): SourceFilter[] {
  const raw = r.raw.filters;
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw r.fail('filters', 'must be a list of filters.');
  if (raw.length === 0) return [];
  if (action === 'exclude') throw r.fail('filters', 'can only be used with rule-action include (or explicit); remove them from this exclude rule.');
  return raw.map((f, i) => {
    const key = `filters[${i}]`;
    if (!isObject(f)) throw r.fail(key, 'must be an object.');
    const fr = new RuleReader(f, r.label);
    const type = fr.text(`${key}.filter-type`, f['filter-type']) ?? 'source';
    if (type !== 'source') throw r.fail(`${key}.filter-type`, `"${type}" is not valid; use "source".`);
    const column = fr.required(`${key}.column-name`, f['column-name']);
    const conds = f['filter-conditions'];
    if (!Array.isArray(conds) || conds.length === 0) throw r.fail(`${key}.filter-conditions`, 'is required and must be a non-empty list.');
    const conditions = conds.map((c, j) => {
      const ck = `${key}.filter-conditions[${j}]`;
      if (!isObject(c)) throw r.fail(ck, 'must be an object.');
      const opText = fr.text(`${ck}.filter-operator`, c['filter-operator']);
      const operator = opText !== undefined ? (OPERATOR_ALIASES[opText] ?? opText) : undefined;
      if (operator === undefined || !(OPERATORS as readonly string[]).includes(operator)) {
        throw r.fail(`${ck}.filter-operator`, `${opText === undefined ? 'is required' : `"${opText}" is not valid`}; use one of: ${OPERATORS.join(', ')}.`);
      }
      const op = operator as SourceFilterCondition['operator'];
      if (op === 'between' || op === 'notbetween') {
        return { operator: op, startValue: fr.required(`${ck}.start-value`, c['start-value']), endValue: fr.required(`${ck}.end-value`, c['end-value']) };
      }
      if (op === 'null' || op === 'notnull') return { operator: op };
      const value = fr.text(`${ck}.value`, c.value);
      if (value === undefined) throw r.fail(`${ck}.value`, `is required with filter-operator ${op}.`);
      return { operator: op, value };
    });
    if (conditions.length > 1 && conditions.some((c) => NEGATIVE.has(c.operator))) {
      throw r.fail(`${key}.filter-conditions`, 'may hold only one condition when it uses noteq, notbetween or notnull; put each negative condition in its own filter.');
    }
    return { column, conditions };
  });
}

const SUPPORTED_ACTIONS: readonly TransformationAction[] = [
  'rename',
  'remove-column',
  'convert-lowercase',
  'convert-uppercase',
  'add-prefix',
  'add-suffix',
  'remove-prefix',
  'remove-suffix',
  'replace-prefix',
  'replace-suffix',
];
const UNSUPPORTED_ACTIONS = ['include-column', 'add-column', 'define-primary-key', 'change-data-type', 'add-before-image-columns'];
const NEEDS_VALUE = new Set<TransformationAction>(['rename', 'add-prefix', 'add-suffix', 'remove-prefix', 'remove-suffix', 'replace-prefix', 'replace-suffix']);

function parseTransformation(r: RuleReader, base: RuleBase): TransformationRule {
  const targetText = r.text('rule-target');
  if (targetText === 'table-tablespace' || targetText === 'index-tablespace') {
    throw r.fail('rule-target', `"${targetText}" is not supported by opendms (it applies to Oracle targets); use schema, table or column.`);
  }
  const target = r.oneOf('rule-target', ['schema', 'table', 'column'] as const);
  const actionText = r.text('rule-action');
  if (actionText !== undefined && UNSUPPORTED_ACTIONS.includes(actionText)) {
    throw r.fail('rule-action', `"${actionText}" is not supported by opendms; supported actions: ${SUPPORTED_ACTIONS.join(', ')}.`);
  }
  const action = r.oneOf('rule-action', SUPPORTED_ACTIONS);
  if (action === 'remove-column' && target !== 'column') throw r.fail('rule-action', 'remove-column needs rule-target column.');
  const loc = r.locator();
  const rule: TransformationRule = { ...base, target, action, schemaName: r.locatorName(loc, 'schema-name') };
  if (target !== 'schema') rule.tableName = r.locatorName(loc, 'table-name');
  if (target === 'column') rule.columnName = r.locatorName(loc, 'column-name');
  if (NEEDS_VALUE.has(action)) {
    const value = r.text('value');
    // add-/remove-/replace- with an empty value would be a silent no-op; rename to "" is invalid.
    if (value === undefined || (value === '' && action !== 'replace-prefix' && action !== 'replace-suffix')) {
      throw r.fail('value', `is required with rule-action ${action}.`);
    }
    rule.value = value;
  }
  if (action === 'replace-prefix' || action === 'replace-suffix') rule.oldValue = r.required('old-value');
  return rule;
}

function parseTableSettings(r: RuleReader, base: RuleBase): TableSettingsRule {
  const loc = r.locator();
  const schemaName = r.required('object-locator.schema-name', loc['schema-name']);
  const tableName = r.required('object-locator.table-name', loc['table-name']);
  if (schemaName.includes('%') || tableName.includes('%')) {
    throw invalidParameter(
      `Error in mapping rules. Rule with ruleId = ${base.ruleId} failed validation. Exact schema and table name required when using table settings rule.`,
    );
  }
  const rule: TableSettingsRule = { ...base, schemaName, tableName };
  const pl = r.raw['parallel-load'];
  if (pl === undefined || pl === null) return rule;
  if (!isObject(pl)) throw r.fail('parallel-load', 'must be an object.');
  const pr = new RuleReader(pl, r.label);
  const type = pr.text('parallel-load.type', pl.type);
  if (type === 'partitions-auto' || type === 'partitions-list' || type === 'subpartitions-auto') {
    throw r.fail('parallel-load.type', `"${type}" is not supported: PostgreSQL sources support only "ranges" (or "none").`);
  }
  if (type === 'none') {
    rule.parallelLoad = { type: 'none' };
    return rule;
  }
  if (type !== 'ranges') throw r.fail('parallel-load.type', `${type === undefined ? 'is required' : `"${type}" is not valid`}; use ranges or none.`);
  const cols = pl.columns;
  if (!Array.isArray(cols) || cols.length === 0 || cols.length > 10) {
    throw r.fail('parallel-load.columns', 'must be a list of 1 to 10 column names.');
  }
  const columns = cols.map((c, i) => pr.required(`parallel-load.columns[${i}]`, c));
  if (new Set(columns).size !== columns.length) throw r.fail('parallel-load.columns', 'names a column twice.');
  const bounds = pl.boundaries;
  if (!Array.isArray(bounds) || bounds.length === 0) {
    throw r.fail('parallel-load.boundaries', 'must be a non-empty list of boundaries, each a list with one value per column.');
  }
  const boundaries = bounds.map((b, i) => {
    if (!Array.isArray(b) || b.length !== columns.length) {
      throw r.fail(`parallel-load.boundaries[${i}]`, `must be a list of ${columns.length} value(s), one per column (${columns.join(', ')}).`);
    }
    return b.map((v, j) => {
      const s = pr.text(`parallel-load.boundaries[${i}][${j}]`, v);
      if (s === undefined) throw r.fail(`parallel-load.boundaries[${i}][${j}]`, 'must be a value, not null.');
      return s;
    });
  });
  rule.parallelLoad = { type: 'ranges', columns, boundaries };
  return rule;
}

const NOT_SUPPORTED_TYPES = ['validation', 'object-mapping', 'post-processing'];

/** Validates a parsed document (an object with `rules`) and normalizes it. */
export function normalizeTableMappings(doc: unknown): TableMappings {
  if (!isObject(doc)) throw fail('the document must be a JSON object with a "rules" list.');
  const rules = doc.rules;
  if (!Array.isArray(rules) || rules.length === 0) throw fail('"rules" is required and must be a non-empty list with at least one selection rule.');
  const out: TableMappings = { rules, selection: [], transformation: [], tableSettings: [] };
  const ids = new Set<string>();
  const names = new Set<string>();
  rules.forEach((raw, index) => {
    if (!isObject(raw)) throw fail(`rule #${index + 1} must be an object.`);
    const r = new RuleReader(raw, ruleLabel(raw, index));
    const ruleId = r.required('rule-id');
    if (!/^\d+$/.test(ruleId)) throw r.fail('rule-id', `"${ruleId}" must be a number (digits only).`);
    if (ids.has(ruleId)) throw r.fail('rule-id', 'is used by another rule; rule-ids must be unique.');
    ids.add(ruleId);
    const ruleName = r.text('rule-name') ?? ruleId;
    if (raw['rule-name'] !== undefined) {
      if (names.has(ruleName)) throw r.fail('rule-name', 'is used by another rule; rule-names must be unique.');
      names.add(ruleName);
    }
    const base = { ruleId, ruleName };
    const type = r.text('rule-type');
    if (type === 'selection') out.selection.push(parseSelection(r, base));
    else if (type === 'transformation') out.transformation.push(parseTransformation(r, base));
    else if (type === 'table-settings') out.tableSettings.push(parseTableSettings(r, base));
    else if (type !== undefined && NOT_SUPPORTED_TYPES.includes(type)) {
      throw r.fail('rule-type', `"${type}" is not supported by opendms; use selection, transformation or table-settings.`);
    } else throw r.fail('rule-type', `${type === undefined ? 'is required' : `"${type}" is not valid`}; use selection, transformation or table-settings.`);
  });
  if (out.selection.length === 0) throw fail('at least one selection rule is required.');
  out.transformation.sort((a, b) => Number(a.ruleId) - Number(b.ruleId));
  const seen = new Map<string, string>();
  for (const ts of out.tableSettings) {
    if (!ts.parallelLoad) continue;
    const key = JSON.stringify([ts.schemaName, ts.tableName]);
    const other = seen.get(key);
    if (other !== undefined) {
      throw fail(`rule-id ${ts.ruleId} (rule-name "${ts.ruleName}"): parallel-load for ${ts.schemaName}.${ts.tableName} is already set by rule-id ${other}.`);
    }
    seen.set(key, ts.ruleId);
  }
  return out;
}

/** Parses and validates a TableMappings JSON string; throws InvalidParameterValueException naming the rule. */
export function parseTableMappings(json: string): TableMappings {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (err) {
    throw fail(`not valid JSON (${(err as Error).message}).`);
  }
  return normalizeTableMappings(doc);
}

// ---------------------------------------------------------------------------------------------
// Wildcards: `%` any run, `_` one character, `[...]` a set or range (`[_]` a literal underscore).

function patternToRegExpSource(pattern: string, onError: (text: string) => DmsFault): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '%') out += '[\\s\\S]*';
    else if (ch === '_') out += '[\\s\\S]';
    else if (ch === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end === -1) throw onError(`"${pattern}" has a "[" without a closing "]".`);
      const body = pattern.slice(i + 1, end);
      if (body === '') throw onError(`"${pattern}" has an empty "[]" set.`);
      let cls = '';
      for (let j = 0; j < body.length; j++) {
        const c = body[j]!;
        if (body[j + 1] === '-' && j + 2 < body.length) {
          const hi = body[j + 2]!;
          if (hi < c) throw onError(`"${pattern}" has the range ${c}-${hi}, whose start is after its end.`);
          cls += `${escapeClass(c)}-${escapeClass(hi)}`;
          j += 2;
        } else cls += escapeClass(c);
      }
      out += `[${cls}]`;
      i = end;
    } else out += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return out;
}

const escapeClass = (c: string): string => c.replace(/[\\\]^-]/g, '\\$&');

/** Validates the wildcard syntax of a locator name at parse time. */
function checkPattern(pattern: string, onError: (text: string) => DmsFault): void {
  patternToRegExpSource(pattern, onError);
}

const compiled = new Map<string, RegExp>();

/** True when `name` matches the DMS wildcard pattern (case-sensitive). */
export function matchesPattern(pattern: string, name: string): boolean {
  let re = compiled.get(pattern);
  if (!re) {
    re = new RegExp(`^${patternToRegExpSource(pattern, (t) => fail(t))}$`, 'u');
    if (compiled.size > 1000) compiled.clear();
    compiled.set(pattern, re);
  }
  return re.test(name);
}

// ---------------------------------------------------------------------------------------------

function selects(rule: SelectionRule, t: SourceTable): boolean {
  const type = t.tableType ?? 'table';
  if (rule.tableType !== 'all' && rule.tableType !== type) return false;
  if (rule.action === 'explicit') return rule.schemaName === t.schema && rule.tableName === t.table;
  return matchesPattern(rule.schemaName, t.schema) && matchesPattern(rule.tableName, t.table);
}

function applyAction(rule: TransformationRule, name: string): string {
  const value = rule.value ?? '';
  switch (rule.action) {
    case 'rename':
      return value;
    case 'convert-lowercase':
      return name.toLowerCase();
    case 'convert-uppercase':
      return name.toUpperCase();
    case 'add-prefix':
      return value + name;
    case 'add-suffix':
      return name + value;
    case 'remove-prefix':
      return name.startsWith(value) ? name.slice(value.length) : name;
    case 'remove-suffix':
      return name.endsWith(value) ? name.slice(0, name.length - value.length) : name;
    case 'replace-prefix':
      return name.startsWith(rule.oldValue!) ? value + name.slice(rule.oldValue!.length) : name;
    case 'replace-suffix':
      return name.endsWith(rule.oldValue!) ? name.slice(0, name.length - rule.oldValue!.length) + value : name;
    case 'remove-column':
      return name;
  }
}

function ruleRef(rule: RuleBase): string {
  return `rule-id ${rule.ruleId} (rule-name "${rule.ruleName}")`;
}

/** Accepts a TableMappings as returned by parseTableMappings, or a raw `{rules}` document. */
function ensureNormalized(mappings: TableMappings): TableMappings {
  return Array.isArray((mappings as Partial<TableMappings>).selection) ? mappings : normalizeTableMappings(mappings);
}

/**
 * Applies selection and transformation rules to the source catalog. Throws
 * InvalidParameterValueException when the result cannot be replicated: two source tables onto
 * one target table, two columns onto one target column, a filter or parallel-load column that
 * the table does not have, or a table whose columns are all removed.
 */
export function planTables(mappings: TableMappings, catalog: SourceTable[]): PlannedTable[] {
  const m = ensureNormalized(mappings);
  const planned: PlannedTable[] = [];
  const targets = new Map<string, string>();
  for (const t of catalog) {
    const matching = m.selection.filter((r) => selects(r, t));
    const includes = matching.filter((r) => r.action !== 'exclude');
    if (includes.length === 0 || matching.some((r) => r.action === 'exclude')) continue;
    const columnNames = new Set(t.columns.map((c) => c.name));

    let schema = t.schema;
    let table = t.table;
    const columns = t.columns.map((c) => ({ source: c.name, target: c.name, removed: false }));
    for (const rule of m.transformation) {
      if (!matchesPattern(rule.schemaName, t.schema)) continue;
      if (rule.target === 'schema') {
        schema = applyAction(rule, schema);
        continue;
      }
      if (!matchesPattern(rule.tableName!, t.table)) continue;
      if (rule.target === 'table') {
        table = applyAction(rule, table);
        continue;
      }
      for (const c of columns) {
        if (!matchesPattern(rule.columnName!, c.source)) continue;
        if (rule.action === 'remove-column') c.removed = true;
        else c.target = applyAction(rule, c.target);
      }
    }
    const kept = columns.filter((c) => !c.removed).map(({ source, target }) => ({ source, target }));
    const where = `${t.schema}.${t.table}`;
    if (kept.length === 0 && t.columns.length > 0) {
      throw fail(`the transformation rules remove every column of ${where}; keep at least one column or exclude the table.`);
    }
    const byTarget = new Map<string, string>();
    for (const c of kept) {
      const prev = byTarget.get(c.target);
      if (prev !== undefined) throw fail(`columns "${prev}" and "${c.source}" of ${where} are both mapped to the target column "${c.target}".`);
      byTarget.set(c.target, c.source);
    }
    const targetKey = JSON.stringify([schema, table]);
    const other = targets.get(targetKey);
    if (other !== undefined) {
      throw fail(`source tables ${other} and ${where} are both mapped to the target table ${schema}.${table}; two source tables cannot load into one target table.`);
    }
    targets.set(targetKey, where);

    const filters: SourceFilter[] = [];
    for (const r of includes) {
      for (const f of r.filters) {
        if (!columnNames.has(f.column)) throw fail(`${ruleRef(r)}: filters column-name "${f.column}" is not a column of ${where}.`);
        filters.push(f);
      }
    }
    const p: PlannedTable = {
      source: { schema: t.schema, table: t.table },
      target: { schema, table },
      columns: kept,
      loadOrder: Math.max(...includes.map((r) => r.loadOrder)),
      filters,
    };
    const ts = m.tableSettings.find((s) => s.parallelLoad && s.schemaName === t.schema && s.tableName === t.table);
    if (ts?.parallelLoad?.type === 'ranges') {
      for (const c of ts.parallelLoad.columns) {
        if (!columnNames.has(c)) throw fail(`${ruleRef(ts)}: parallel-load.columns "${c}" is not a column of ${where}.`);
      }
      p.parallelLoad = ts.parallelLoad;
    }
    planned.push(p);
  }
  // Stable: equal load-orders keep catalog order.
  return planned.sort((a, b) => b.loadOrder - a.loadOrder);
}
