/** Output formats as the AWS CLI prints them: SDK results made plain, text rows, tables. */
import { describe, expect, it } from 'vitest';
import { formatOutput, formatText, isoTimestamp, toPlain } from '../../src/cli/output.js';

const quotas = {
  UniqueAccountIdentifier: 'abc',
  AccountQuotas: [
    { AccountQuotaName: 'Endpoints', Used: 1, Max: 1000 },
    { AccountQuotaName: 'ReplicationTasks', Used: 0, Max: 600 },
  ],
};

describe('toPlain', () => {
  it('drops $metadata and undefined, renders timestamps like botocore and blobs as base64', () => {
    expect(
      toPlain({ $metadata: { httpStatusCode: 200 }, A: undefined, T: new Date('2026-01-31T12:00:00Z'), B: new Uint8Array([1, 2]), L: [{ T: new Date('2026-01-31T12:00:00.250Z') }] }),
    ).toEqual({ T: '2026-01-31T12:00:00+00:00', B: 'AQI=', L: [{ T: '2026-01-31T12:00:00.250000+00:00' }] });
    expect(isoTimestamp(new Date(0))).toBe('1970-01-01T00:00:00+00:00');
  });
});

describe('text output', () => {
  it('prints scalars of a structure on one line and list items prefixed by their key', () => {
    expect(formatText(quotas)).toBe('abc\nACCOUNTQUOTAS\tEndpoints\t1000\t1\nACCOUNTQUOTAS\tReplicationTasks\t600\t0\n');
  });
  it('prints a list of scalars tab separated, lists of lists one per line, and Python-style booleans', () => {
    expect(formatText(['a', 'b'])).toBe('a\tb\n');
    expect(formatText([['t1', 'stopped', true], ['t2', 'running', false]])).toBe('t1\tstopped\tTrue\nt2\trunning\tFalse\n');
    expect(formatText('x')).toBe('x\n');
    expect(formatText(null)).toBe('None\n');
  });
});

describe('table output', () => {
  it('draws a titled box with a column per scalar member of list items', () => {
    const table = formatOutput(quotas, 'table', 'DescribeAccountAttributes');
    const lines = table.trimEnd().split('\n');
    expect(lines[1]).toMatch(/^\|\s+DescribeAccountAttributes\s+\|$/);
    expect(table).toMatch(/\|\|\s+AccountQuotaName\s+\|\s+Used\s+\|\s+Max\s+\|\|/);
    expect(table).toMatch(/\|\| ReplicationTasks\s+\| 0\s+\| 600\s+\|\|/);
    // Every line of the box has the same width.
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
  });
  it('draws a list of scalar lists (a --query projection) as rows of one table', () => {
    const table = formatOutput([['t1', 'stopped'], ['t2', 'running']], 'table', 'DescribeReplicationTasks');
    expect(table).toMatch(/^\| t1 +\| stopped +\|$/m);
    expect(table).toMatch(/^\| t2 +\| running +\|$/m);
    expect(table.split('\n').filter((l) => l.includes('DescribeReplicationTasks'))).toHaveLength(1);
  });
  it('prints nothing for an empty result', () => {
    expect(formatOutput({}, 'table', 'X')).toBe('');
  });
});

describe('json output', () => {
  it('indents by 4 like the AWS CLI', () => {
    expect(formatOutput({ a: [1] }, 'json', 'X')).toBe('{\n    "a": [\n        1\n    ]\n}\n');
  });
});
