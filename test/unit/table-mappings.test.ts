/**
 * Table mappings: every validation fault names the rule and the key; planning applies selection
 * (wildcards, excludes, table types), transformations in rule-id order, load-order, filters and
 * parallel-load ranges.
 */
import { describe, expect, it } from 'vitest';
import { DmsFault } from '../../src/model/faults.js';
import { matchesPattern, parseTableMappings, planTables, type SourceTable } from '../../src/model/table-mappings.js';

type Rule = Record<string, unknown>;

const include = (id: string, schema: string, table: string, extra: Rule = {}): Rule => ({
  'rule-type': 'selection',
  'rule-id': id,
  'rule-name': `sel-${id}`,
  'object-locator': { 'schema-name': schema, 'table-name': table },
  'rule-action': 'include',
  ...extra,
});
const exclude = (id: string, schema: string, table: string): Rule => ({ ...include(id, schema, table), 'rule-action': 'exclude' });
const transform = (id: string, target: string, locator: Rule, action: string, extra: Rule = {}): Rule => ({
  'rule-type': 'transformation',
  'rule-id': id,
  'rule-name': `tr-${id}`,
  'rule-target': target,
  'object-locator': locator,
  'rule-action': action,
  ...extra,
});
const settings = (id: string, schema: string, table: string, parallelLoad: unknown): Rule => ({
  'rule-type': 'table-settings',
  'rule-id': id,
  'rule-name': `ts-${id}`,
  'object-locator': { 'schema-name': schema, 'table-name': table },
  'parallel-load': parallelLoad,
});
const doc = (...rules: Rule[]): string => JSON.stringify({ rules });

function faultOf(fn: () => unknown): DmsFault {
  try {
    fn();
  } catch (err) {
    if (err instanceof DmsFault) return err;
    throw err;
  }
  throw new Error('expected a fault');
}

const table = (schema: string, name: string, columns = ['id', 'name'], tableType?: 'table' | 'view'): SourceTable => ({
  schema,
  table: name,
  columns: columns.map((c) => ({ name: c, type: 'text' })),
  ...(tableType ? { tableType } : {}),
});

describe('parseTableMappings refuses bad documents with InvalidParameterValueException', () => {
  const withFilter = (filter: unknown): Rule => include('1', 'public', 't', { filters: [filter] });
  const cases: [string, string, RegExp[]][] = [
    ['invalid JSON', '{"rules": [', [/^Invalid Table Mappings document: not valid JSON/]],
    ['not an object', '[]', [/JSON object with a "rules" list/]],
    ['no rules', '{}', [/"rules" is required/]],
    ['empty rules', '{"rules":[]}', [/"rules" is required/]],
    ['no selection rule', doc(transform('1', 'schema', { 'schema-name': 'a' }, 'rename', { value: 'b' })), [/at least one selection rule/]],
    ['rule not an object', '{"rules":[1]}', [/rule #1 must be an object/]],
    ['missing rule-id', doc({ ...include('1', 'a', 'b'), 'rule-id': undefined }), [/rule #1 \(no rule-id\).*rule-id is required/]],
    ['non-numeric rule-id', doc(include('x1', 'a', 'b')), [/rule-id x1 \(rule-name "sel-x1"\): rule-id "x1" must be a number/]],
    ['duplicate rule-id', doc(include('1', 'a', 'b'), { ...include('1', 'a', 'c'), 'rule-name': 'other' }), [/rule-id 1 .*must be unique/]],
    ['duplicate rule-name', doc(include('1', 'a', 'b'), { ...include('2', 'a', 'c'), 'rule-name': 'sel-1' }), [/rule-id 2 \(rule-name "sel-1"\): rule-name .*unique/]],
    ['unknown rule-type', doc(include('1', 'a', 'b'), { ...include('2', 'a', 'b'), 'rule-type': 'magic' }), [/rule-id 2.*rule-type "magic" is not valid/]],
    ['other-target rule-type', doc(include('1', 'a', 'b'), { ...include('2', 'a', 'b'), 'rule-type': 'object-mapping' }), [/rule-id 2.*"object-mapping" is not supported by opendms/]],
    ['missing object-locator', doc({ ...include('1', 'a', 'b'), 'object-locator': undefined }), [/rule-id 1.*object-locator is required/]],
    ['missing schema-name', doc({ ...include('1', 'a', 'b'), 'object-locator': { 'table-name': 'x' } }), [/rule-id 1.*object-locator.schema-name is required/]],
    ['missing table-name', doc({ ...include('1', 'a', 'b'), 'object-locator': { 'schema-name': 'x' } }), [/object-locator.table-name is required/]],
    ['bad rule-action', doc({ ...include('1', 'a', 'b'), 'rule-action': 'keep' }), [/rule-id 1.*rule-action "keep" is not valid; use one of: include, exclude, explicit/]],
    ['bad table-type', doc({ ...include('1', 'a', 'b'), 'object-locator': { 'schema-name': 'a', 'table-name': 'b', 'table-type': 'index' } }), [/object-locator.table-type "index"/]],
    ['explicit with wildcard', doc({ ...include('1', 'a', 'b%'), 'rule-action': 'explicit' }), [/rule-id 1.*object-locator.table-name "b%" has a wildcard/]],
    ['bad load-order', doc(include('1', 'a', 'b', { 'load-order': 'first' })), [/rule-id 1.*load-order must be an integer/]],
    ['unclosed bracket', doc(include('1', 'a', 'b[x')), [/object-locator.table-name "b\[x" has a "\[" without a closing "\]"/]],
    ['reversed range', doc(include('1', 'a', '[z-a]')), [/range z-a/]],
    ['filters on exclude', doc({ ...withFilter({ 'column-name': 'id', 'filter-conditions': [{ 'filter-operator': 'eq', value: '1' }] }), 'rule-action': 'exclude' }), [/rule-id 1.*filters can only be used with rule-action include/]],
    ['filter without column', doc(withFilter({ 'filter-type': 'source', 'filter-conditions': [{ 'filter-operator': 'eq', value: '1' }] })), [/filters\[0\].column-name is required/]],
    ['filter bad type', doc(withFilter({ 'filter-type': 'target', 'column-name': 'id', 'filter-conditions': [{ 'filter-operator': 'eq', value: '1' }] })), [/filters\[0\].filter-type "target"/]],
    ['filter no conditions', doc(withFilter({ 'column-name': 'id', 'filter-conditions': [] })), [/filters\[0\].filter-conditions is required/]],
    ['filter bad operator', doc(withFilter({ 'column-name': 'id', 'filter-conditions': [{ 'filter-operator': 'like', value: '1' }] })), [/filter-conditions\[0\].filter-operator "like" is not valid/]],
    ['filter eq without value', doc(withFilter({ 'column-name': 'id', 'filter-conditions': [{ 'filter-operator': 'eq' }] })), [/filter-conditions\[0\].value is required with filter-operator eq/]],
    ['filter between without end', doc(withFilter({ 'column-name': 'id', 'filter-conditions': [{ 'filter-operator': 'between', 'start-value': '1' }] })), [/end-value is required/]],
    [
      'two conditions with a negative operator',
      doc(withFilter({ 'column-name': 'id', 'filter-conditions': [{ 'filter-operator': 'noteq', value: '1' }, { 'filter-operator': 'eq', value: '2' }] })),
      [/filters\[0\].filter-conditions may hold only one condition/],
    ],
    ['transformation bad target', doc(include('1', 'a', 'b'), transform('2', 'index', { 'schema-name': 'a' }, 'rename', { value: 'x' })), [/rule-id 2.*rule-target "index" is not valid/]],
    ['transformation tablespace target', doc(include('1', 'a', 'b'), transform('2', 'table-tablespace', { 'schema-name': 'a' }, 'rename', { value: 'x' })), [/rule-id 2.*"table-tablespace" is not supported by opendms/]],
    ...['add-column', 'change-data-type', 'define-primary-key', 'include-column', 'add-before-image-columns'].map(
      (action): [string, string, RegExp[]] => [
        `unsupported action ${action}`,
        doc(include('1', 'a', 'b'), transform('7', 'column', { 'schema-name': 'a', 'table-name': 'b', 'column-name': 'c' }, action)),
        [new RegExp(`rule-id 7 \\(rule-name "tr-7"\\): rule-action "${action}" is not supported by opendms`)],
      ],
    ),
    ['unknown action', doc(include('1', 'a', 'b'), transform('2', 'schema', { 'schema-name': 'a' }, 'explode')), [/rule-id 2.*rule-action "explode" is not valid/]],
    ['rename without value', doc(include('1', 'a', 'b'), transform('2', 'schema', { 'schema-name': 'a' }, 'rename')), [/rule-id 2.*value is required with rule-action rename/]],
    ['replace-prefix without old-value', doc(include('1', 'a', 'b'), transform('2', 'table', { 'schema-name': 'a', 'table-name': '%' }, 'replace-prefix', { value: 'x' })), [/rule-id 2.*old-value is required/]],
    ['remove-column on a table', doc(include('1', 'a', 'b'), transform('2', 'table', { 'schema-name': 'a', 'table-name': 'b' }, 'remove-column')), [/remove-column needs rule-target column/]],
    ['column rule without column-name', doc(include('1', 'a', 'b'), transform('2', 'column', { 'schema-name': 'a', 'table-name': 'b' }, 'convert-lowercase')), [/rule-id 2.*object-locator.column-name is required/]],
    ['table rule without table-name', doc(include('1', 'a', 'b'), transform('2', 'table', { 'schema-name': 'a' }, 'convert-lowercase')), [/rule-id 2.*object-locator.table-name is required/]],
    [
      'table-settings with a wildcard',
      doc(include('1', 'a', 'b'), settings('5', 'a', 'b%', { type: 'none' })),
      [/^Error in mapping rules\. Rule with ruleId = 5 failed validation\. Exact schema and table name required when using table settings rule\.$/],
    ],
    ['parallel-load partitions-auto', doc(include('1', 'a', 'b'), settings('5', 'a', 'b', { type: 'partitions-auto' })), [/rule-id 5.*parallel-load.type "partitions-auto" is not supported: PostgreSQL sources support only "ranges"/]],
    ['parallel-load partitions-list', doc(include('1', 'a', 'b'), settings('5', 'a', 'b', { type: 'partitions-list', partitions: ['p1'] })), [/partitions-list/]],
    ['parallel-load unknown type', doc(include('1', 'a', 'b'), settings('5', 'a', 'b', { type: 'magic' })), [/parallel-load.type "magic" is not valid; use ranges or none/]],
    ['parallel-load no columns', doc(include('1', 'a', 'b'), settings('5', 'a', 'b', { type: 'ranges', boundaries: [['1']] })), [/rule-id 5.*parallel-load.columns must be a list of 1 to 10/]],
    [
      'parallel-load 11 columns',
      doc(include('1', 'a', 'b'), settings('5', 'a', 'b', { type: 'ranges', columns: Array.from({ length: 11 }, (_, i) => `c${i}`), boundaries: [] })),
      [/parallel-load.columns must be a list of 1 to 10/],
    ],
    ['parallel-load no boundaries', doc(include('1', 'a', 'b'), settings('5', 'a', 'b', { type: 'ranges', columns: ['id'] })), [/parallel-load.boundaries must be a non-empty list/]],
    [
      'parallel-load boundary of wrong width',
      doc(include('1', 'a', 'b'), settings('5', 'a', 'b', { type: 'ranges', columns: ['id', 'k'], boundaries: [['1', 'a'], ['2']] })),
      [/rule-id 5.*parallel-load.boundaries\[1\] must be a list of 2 value\(s\), one per column \(id, k\)/],
    ],
    [
      'two parallel-loads for one table',
      doc(include('1', 'a', 'b'), settings('5', 'a', 'b', { type: 'ranges', columns: ['id'], boundaries: [['1']] }), settings('6', 'a', 'b', { type: 'none' })),
      [/rule-id 6.*already set by rule-id 5/],
    ],
  ];
  it.each(cases)('%s', (_name, json, patterns) => {
    const f = faultOf(() => parseTableMappings(json));
    expect(f.code).toBe('InvalidParameterValueException');
    for (const p of patterns) expect(f.message).toMatch(p);
  });
});

describe('parseTableMappings normalizes valid documents', () => {
  it('reads the spec example', () => {
    const m = parseTableMappings(
      doc(
        include('1', 'public', '%'),
        exclude('2', 'public', 'tmp[_]%'),
        include('3', 'hr', 'employee', { filters: [{ 'filter-type': 'source', 'column-name': 'empid', 'filter-conditions': [{ 'filter-operator': 'gte', value: '100' }] }] }),
      ),
    );
    expect(m.selection.map((r) => [r.ruleId, r.action, r.tableType, r.loadOrder])).toEqual([
      ['1', 'include', 'table', 0],
      ['2', 'exclude', 'table', 0],
      ['3', 'include', 'table', 0],
    ]);
    expect(m.selection[2]!.filters).toEqual([{ column: 'empid', conditions: [{ operator: 'gte', value: '100' }] }]);
    expect(m.rules).toHaveLength(3);
  });

  it('accepts numeric rule-ids and values, ste as lte, missing rule-name, and survives a JSON round-trip', () => {
    const m = parseTableMappings(
      JSON.stringify({
        rules: [
          {
            'rule-type': 'selection',
            'rule-id': 1,
            'object-locator': { 'schema-name': 's', 'table-name': 't' },
            'rule-action': 'include',
            'load-order': '3',
            filters: [{ 'column-name': 'id', 'filter-conditions': [{ 'filter-operator': 'ste', value: 5 }] }],
          },
        ],
      }),
    );
    expect(m.selection[0]).toMatchObject({ ruleId: '1', ruleName: '1', loadOrder: 3, filters: [{ column: 'id', conditions: [{ operator: 'lte', value: '5' }] }] });
    expect(JSON.parse(JSON.stringify(m))).toEqual(m);
  });

  it('sorts transformations by numeric rule-id', () => {
    const m = parseTableMappings(
      doc(
        include('1', 'a', 'b'),
        transform('10', 'schema', { 'schema-name': 'a' }, 'add-suffix', { value: '_x' }),
        transform('9', 'schema', { 'schema-name': 'a' }, 'add-suffix', { value: '_y' }),
      ),
    );
    expect(m.transformation.map((r) => r.ruleId)).toEqual(['9', '10']);
  });

  it('accepts every supported transformation action and table-settings without parallel-load', () => {
    const col = { 'schema-name': '%', 'table-name': '%', 'column-name': '%' };
    const actions: [string, Rule][] = [
      ['rename', { value: 'x' }],
      ['remove-column', {}],
      ['convert-lowercase', {}],
      ['convert-uppercase', {}],
      ['add-prefix', { value: 'p_' }],
      ['add-suffix', { value: '_s' }],
      ['remove-prefix', { value: 'p_' }],
      ['remove-suffix', { value: '_s' }],
      ['replace-prefix', { value: 'n_', 'old-value': 'o_' }],
      ['replace-suffix', { value: '_n', 'old-value': '_o' }],
    ];
    const m = parseTableMappings(
      doc(include('1', 'a', 'b'), ...actions.map(([a, extra], i) => transform(String(i + 2), 'column', col, a, extra)), {
        'rule-type': 'table-settings',
        'rule-id': '50',
        'rule-name': 'lob',
        'object-locator': { 'schema-name': 'a', 'table-name': 'b' },
        'lob-settings': { mode: 'limited', 'bulk-max-size': '16' },
      }),
    );
    expect(m.transformation.map((r) => r.action)).toEqual(actions.map(([a]) => a));
    expect(m.tableSettings[0]).toEqual({ ruleId: '50', ruleName: 'lob', schemaName: 'a', tableName: 'b' });
  });
});

describe('wildcards', () => {
  const cases: [string, string, boolean][] = [
    ['%', 'anything', true],
    ['%', '', true],
    ['tmp%', 'tmp_orders', true],
    ['tmp%', 'xtmp', false],
    ['t_p', 'tmp', true],
    ['t_p', 'tp', false],
    ['tmp[_]%', 'tmp_a', true],
    ['tmp[_]%', 'tmpxa', false],
    ['[ab]x', 'ax', true],
    ['[ab]x', 'cx', false],
    ['[a-d]1', 'c1', true],
    ['[a-d]1', 'e1', false],
    ['Orders', 'orders', false],
    ['a.b', 'a.b', true],
    ['a.b', 'axb', false],
    ['a+b(c)', 'a+b(c)', true],
    ['%$%', 'x$y', true],
    ['ü_', 'üß', true],
  ];
  it.each(cases)('%s matches %s: %s', (pattern, name, expected) => {
    expect(matchesPattern(pattern, name)).toBe(expected);
  });
});

describe('planTables', () => {
  const catalog: SourceTable[] = [
    table('public', 'orders', ['id', 'customer_id', 'total']),
    table('public', 'tmp_scratch'),
    table('public', 'tmpx'),
    table('public', 'order_view', ['id'], 'view'),
    table('hr', 'employee', ['empid', 'name', 'ssn']),
    table('Legacy', 'Items', ['ItemId', 'Label']),
  ];
  const plan = (...rules: Rule[]) => planTables(parseTableMappings(doc(...rules)), catalog);
  const names = (p: ReturnType<typeof plan>) => p.map((t) => `${t.source.schema}.${t.source.table}->${t.target.schema}.${t.target.table}`);

  it('selects with wildcards, excludes win, views need table-type', () => {
    expect(names(plan(include('1', 'public', '%'), exclude('2', 'public', 'tmp[_]%')))).toEqual([
      'public.orders->public.orders',
      'public.tmpx->public.tmpx',
    ]);
    expect(names(plan(include('1', 'public', '%view', { 'object-locator': { 'schema-name': 'public', 'table-name': '%view', 'table-type': 'view' } })))).toEqual([
      'public.order_view->public.order_view',
    ]);
    expect(plan(include('1', '%', '%', { 'object-locator': { 'schema-name': '%', 'table-name': '%', 'table-type': 'all' } }))).toHaveLength(6);
    expect(plan(include('1', '%', '%'))).toHaveLength(5);
  });

  it('is case-sensitive and treats explicit names literally', () => {
    expect(plan(include('1', 'legacy', '%'))).toEqual([]);
    expect(names(plan({ ...include('1', 'public', 'tmpx'), 'rule-action': 'explicit' }))).toEqual(['public.tmpx->public.tmpx']);
    expect(plan({ ...include('1', 'public', 'tmp_'), 'rule-action': 'explicit' })).toEqual([]);
  });

  it('moves every column by default, in source order', () => {
    const [t] = plan(include('1', 'hr', 'employee'));
    expect(t).toEqual({
      source: { schema: 'hr', table: 'employee' },
      target: { schema: 'hr', table: 'employee' },
      columns: [
        { source: 'empid', target: 'empid' },
        { source: 'name', target: 'name' },
        { source: 'ssn', target: 'ssn' },
      ],
      loadOrder: 0,
      filters: [],
    });
  });

  const renameCases: [string, Rule[], string[]][] = [
    ['schema rename', [transform('2', 'schema', { 'schema-name': 'hr' }, 'rename', { value: 'people' })], ['hr.employee->people.employee']],
    ['table rename', [transform('2', 'table', { 'schema-name': 'hr', 'table-name': 'employee' }, 'rename', { value: 'staff' })], ['hr.employee->hr.staff']],
    ['table add-prefix', [transform('2', 'table', { 'schema-name': '%', 'table-name': '%' }, 'add-prefix', { value: 'x_' })], ['hr.employee->hr.x_employee']],
    ['table add-suffix', [transform('2', 'table', { 'schema-name': '%', 'table-name': '%' }, 'add-suffix', { value: '_v2' })], ['hr.employee->hr.employee_v2']],
    ['schema uppercase', [transform('2', 'schema', { 'schema-name': '%' }, 'convert-uppercase')], ['hr.employee->HR.employee']],
    ['remove-prefix that matches', [transform('2', 'table', { 'schema-name': '%', 'table-name': '%' }, 'remove-prefix', { value: 'emp' })], ['hr.employee->hr.loyee']],
    ['remove-prefix that does not match', [transform('2', 'table', { 'schema-name': '%', 'table-name': '%' }, 'remove-prefix', { value: 'zz' })], ['hr.employee->hr.employee']],
    ['remove-suffix', [transform('2', 'table', { 'schema-name': '%', 'table-name': '%' }, 'remove-suffix', { value: 'ee' })], ['hr.employee->hr.employ']],
    ['replace-prefix', [transform('2', 'table', { 'schema-name': '%', 'table-name': '%' }, 'replace-prefix', { value: 'E', 'old-value': 'emp' })], ['hr.employee->hr.Eloyee']],
    ['replace-suffix', [transform('2', 'table', { 'schema-name': '%', 'table-name': '%' }, 'replace-suffix', { value: 'ees', 'old-value': 'ee' })], ['hr.employee->hr.employees']],
    [
      'rules apply in rule-id order, matching source names',
      [
        transform('20', 'table', { 'schema-name': 'hr', 'table-name': 'employee' }, 'convert-uppercase'),
        transform('10', 'table', { 'schema-name': 'hr', 'table-name': 'employee' }, 'add-prefix', { value: 't_' }),
      ],
      ['hr.employee->hr.T_EMPLOYEE'],
    ],
    ['a rule for another schema does nothing', [transform('2', 'schema', { 'schema-name': 'sales' }, 'rename', { value: 'x' })], ['hr.employee->hr.employee']],
  ];
  it.each(renameCases)('%s', (_name, rules, expected) => {
    expect(names(plan(include('1', 'hr', 'employee'), ...rules))).toEqual(expected);
  });

  it('renames, converts and removes columns', () => {
    const [t] = plan(
      include('1', 'Legacy', 'Items'),
      transform('2', 'column', { 'schema-name': '%', 'table-name': '%', 'column-name': '%' }, 'convert-lowercase'),
      transform('3', 'column', { 'schema-name': 'Legacy', 'table-name': 'Items', 'column-name': 'ItemId' }, 'rename', { value: 'id' }),
      transform('4', 'column', { 'schema-name': 'Legacy', 'table-name': 'Items', 'column-name': 'Label' }, 'add-suffix', { value: '_text' }),
      transform('5', 'schema', { 'schema-name': 'Legacy' }, 'convert-lowercase'),
      transform('6', 'table', { 'schema-name': 'Legacy', 'table-name': 'Items' }, 'convert-lowercase'),
    );
    expect(t!.target).toEqual({ schema: 'legacy', table: 'items' });
    expect(t!.columns).toEqual([
      { source: 'ItemId', target: 'id' },
      { source: 'Label', target: 'label_text' },
    ]);
    const [e] = plan(include('1', 'hr', 'employee'), transform('2', 'column', { 'schema-name': 'hr', 'table-name': 'employee', 'column-name': 'ssn' }, 'remove-column'));
    expect(e!.columns.map((c) => c.source)).toEqual(['empid', 'name']);
  });

  it('orders by load-order, highest first, keeping catalog order for ties', () => {
    const p = plan(include('1', 'public', 'orders', { 'load-order': 1 }), include('2', 'hr', '%', { 'load-order': 5 }), include('3', 'public', 'tmpx'));
    expect(p.map((t) => [t.source.table, t.loadOrder])).toEqual([
      ['employee', 5],
      ['orders', 1],
      ['tmpx', 0],
    ]);
  });

  it('carries filters and parallel-load ranges', () => {
    const [t] = plan(
      include('1', 'public', 'orders', {
        filters: [
          { 'filter-type': 'source', 'column-name': 'total', 'filter-conditions': [{ 'filter-operator': 'between', 'start-value': '10', 'end-value': '20' }, { 'filter-operator': 'null' }] },
        ],
      }),
      settings('9', 'public', 'orders', { type: 'ranges', columns: ['id'], boundaries: [['100'], [200]] }),
    );
    expect(t!.filters).toEqual([{ column: 'total', conditions: [{ operator: 'between', startValue: '10', endValue: '20' }, { operator: 'null' }] }]);
    expect(t!.parallelLoad).toEqual({ type: 'ranges', columns: ['id'], boundaries: [['100'], ['200']] });
    const [n] = plan(include('1', 'public', 'orders'), settings('9', 'public', 'orders', { type: 'none' }));
    expect(n!.parallelLoad).toBeUndefined();
  });

  it('accepts a raw {rules} document', () => {
    const raw = JSON.parse(doc(include('1', 'hr', '%'))) as Parameters<typeof planTables>[0];
    expect(names(planTables(raw, catalog))).toEqual(['hr.employee->hr.employee']);
  });

  const planFaults: [string, Rule[], RegExp][] = [
    [
      'two source tables onto one target table',
      [include('1', 'public', 'tmp%'), transform('2', 'table', { 'schema-name': 'public', 'table-name': 'tmp%' }, 'rename', { value: 'tmp' })],
      /source tables public.tmp_scratch and public.tmpx are both mapped to the target table public.tmp/,
    ],
    [
      'two columns onto one target column',
      [include('1', 'hr', 'employee'), transform('2', 'column', { 'schema-name': 'hr', 'table-name': 'employee', 'column-name': '%' }, 'rename', { value: 'x' })],
      /columns "empid" and "name" of hr.employee are both mapped to the target column "x"/,
    ],
    ['filter on a missing column', [include('1', 'hr', 'employee', { filters: [{ 'column-name': 'nope', 'filter-conditions': [{ 'filter-operator': 'notnull' }] }] })], /rule-id 1 .*column-name "nope" is not a column of hr.employee/],
    ['parallel-load on a missing column', [include('1', 'hr', 'employee'), settings('4', 'hr', 'employee', { type: 'ranges', columns: ['id'], boundaries: [['1']] })], /rule-id 4 .*parallel-load.columns "id" is not a column of hr.employee/],
    ['every column removed', [include('1', 'public', 'tmpx'), transform('2', 'column', { 'schema-name': '%', 'table-name': '%', 'column-name': '%' }, 'remove-column')], /remove every column of public.tmpx/],
  ];
  it.each(planFaults)('refuses %s', (_name, rules, pattern) => {
    const f = faultOf(() => plan(...rules));
    expect(f.code).toBe('InvalidParameterValueException');
    expect(f.message).toMatch(pattern);
  });
});
