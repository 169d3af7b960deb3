/** Model-driven conversion of command-line values: names, types, file://, JSON vs shorthand, errors naming the option. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/errors.js';
import { convertCliInputJson, convertOption, toDate } from '../../src/cli/input.js';
import { kebabName } from '../../src/cli/names.js';

describe('kebabName (botocore xform_name)', () => {
  it.each([
    ['DescribeReplicationTasks', 'describe-replication-tasks'],
    ['MoveReplicationTask', 'move-replication-task'],
    ['MultiAZ', 'multi-az'],
    ['CdcStartTime', 'cdc-start-time'],
    ['PostgreSQLSettings', 'postgre-sql-settings'],
    ['KmsKeyId', 'kms-key-id'],
    ['ReplicationTaskArn', 'replication-task-arn'],
    ['ResourceARNs', 'resource-arns'],
    ['ReplicationTaskStopped', 'replication-task-stopped'],
  ])('%s -> %s', (name, expected) => expect(kebabName(name)).toBe(expected));
});

describe('convertOption', () => {
  it('takes filters as shorthand, several shorthand items, or JSON', () => {
    expect(convertOption(['Name=replication-task-arn,Values=a1,a2'], 'FilterList', '--filters')).toEqual([
      { Name: 'replication-task-arn', Values: ['a1', 'a2'] },
    ]);
    expect(convertOption(['Name=a,Values=x', 'Name=b,Values=y'], 'FilterList', '--filters')).toEqual([
      { Name: 'a', Values: ['x'] },
      { Name: 'b', Values: ['y'] },
    ]);
    expect(convertOption(['[{"Name":"a","Values":["x","y"]}]'], 'FilterList', '--filters')).toEqual([{ Name: 'a', Values: ['x', 'y'] }]);
  });

  it('takes tags as Key=k,Value=v pairs', () => {
    expect(convertOption(['Key=k,Value=v', 'Key=k2,Value=v2'], 'TagList', '--tags')).toEqual([
      { Key: 'k', Value: 'v' },
      { Key: 'k2', Value: 'v2' },
    ]);
  });

  it('takes lists of strings as separate values, never as shorthand', () => {
    expect(convertOption(['k1', 'k2'], 'KeyList', '--tag-keys')).toEqual(['k1', 'k2']);
    expect(convertOption(['a,b'], 'KeyList', '--tag-keys')).toEqual(['a,b']);
  });

  it('types scalars and names the option when a value does not fit', () => {
    expect(convertOption('20', 'IntegerOptional', '--max-records')).toBe(20);
    expect(convertOption(true, 'BooleanOptional', '--multi-az')).toBe(true);
    expect(() => convertOption('abc', 'IntegerOptional', '--max-records')).toThrow(/--max-records: expected an integer/);
    expect(() => convertOption('20', 'IntegerOptional', '--max-records')).not.toThrow();
    expect(() => convertOption(['Name=a,Values=x,Bogus=1'], 'FilterList', '--filters')).toThrow(/Unknown parameter in --filters\[0\]: "Bogus", must be one of: Name, Values/);
    expect(() => convertOption(['Values=x'], 'FilterList', '--filters')).toThrow(/Missing required parameter in --filters\[0\]: "Name"/);
    expect(() => convertOption(['[{"Name":"a","Values":"x"}]'], 'FilterList', '--filters')).toThrow(/--filters\[0\]\.Values: expected a list/);
    expect(() => convertOption(['Name=a,Values={x=1}'], 'FilterList', '--filters')).toThrow(UsageError);
  });

  it('reads timestamps as ISO 8601 or epoch seconds', () => {
    expect((convertOption('2026-01-31T12:00:00Z', 'TStamp', '--cdc-start-time') as Date).toISOString()).toBe('2026-01-31T12:00:00.000Z');
    expect((convertOption('1769860800', 'TStamp', '--cdc-start-time') as Date).toISOString()).toBe('2026-01-31T12:00:00.000Z');
    expect(() => toDate('yesterday', '--cdc-start-time')).toThrow(/--cdc-start-time: expected a timestamp as ISO 8601 .* or epoch seconds/);
  });

  it('reads file:// for any value, keeping string members (settings) as text', () => {
    const dir = mkdtempSync(join(tmpdir(), 'opendms-cli-input-'));
    writeFileSync(join(dir, 'mappings.json'), '{"rules":[]}');
    writeFileSync(join(dir, 'tags.json'), '[{"Key":"a","Value":"b"}]');
    expect(convertOption(`file://${join(dir, 'mappings.json')}`, 'String', '--table-mappings')).toBe('{"rules":[]}');
    expect(convertOption([`file://${join(dir, 'tags.json')}`], 'TagList', '--tags')).toEqual([{ Key: 'a', Value: 'b' }]);
    expect(() => convertOption(`file://${join(dir, 'missing.json')}`, 'String', '--table-mappings')).toThrow(/--table-mappings: cannot read file:\/\/.*ENOENT/);
  });

  it('parses --cli-input-json against the input shape', () => {
    expect(convertCliInputJson('{"MaxRecords":20,"Filters":[{"Name":"a","Values":["b"]}]}', 'DescribeReplicationTasksMessage')).toEqual({
      MaxRecords: 20,
      Filters: [{ Name: 'a', Values: ['b'] }],
    });
    expect(() => convertCliInputJson('{"MaxRecords":"20"}', 'DescribeReplicationTasksMessage')).toThrow(/--cli-input-json.MaxRecords: expected an integer/);
    expect(() => convertCliInputJson('{"Nope":1}', 'DescribeReplicationTasksMessage')).toThrow(/Unknown parameter in --cli-input-json: "Nope"/);
  });
});
