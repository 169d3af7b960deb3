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
  it('leaves a member blank when a list item lacks it', () => {
    expect(formatText({ L: [{ A: 1, B: 2 }, { A: 3 }] })).toBe('L\t1\t2\nL\t3\t\n');
  });
  it('prints a list of scalars tab separated, lists of lists one per line, and Python-style booleans', () => {
    expect(formatText(['a', 'b'])).toBe('a\tb\n');
    expect(formatText([['t1', 'stopped', true], ['t2', 'running', false]])).toBe('t1\tstopped\tTrue\nt2\trunning\tFalse\n');
    expect(formatText('x')).toBe('x\n');
    expect(formatText(null)).toBe('None\n');
  });
});

describe('table output (expected strings produced by awscli\'s own TableFormatter)', () => {
  it('draws sorted columns, a single scalar as name | value, nested lists as indented sections', () => {
    expect(formatOutput(quotas, 'table', 'DescribeAccountAttributes')).toBe(
      '----------------------------------------\n|       DescribeAccountAttributes      |\n+------------------------------+-------+\n|  UniqueAccountIdentifier     |  abc  |\n+------------------------------+-------+\n||            AccountQuotas           ||\n|+-------------------+-------+--------+|\n|| AccountQuotaName  |  Max  | Used   ||\n|+-------------------+-------+--------+|\n||  Endpoints        |  1000 |  1     ||\n||  ReplicationTasks |  600  |  0     ||\n|+-------------------+-------+--------+|\n',
    );
  });
  it('draws a list of scalar lists (a --query projection) as rows of one table', () => {
    expect(formatOutput([['t1', 'stopped'], ['t2', 'running']], 'table', 'DescribeReplicationTasks')).toBe(
      '--------------------------\n|DescribeReplicationTasks|\n+-------+----------------+\n|  t1   |  stopped       |\n|  t2   |  running       |\n+-------+----------------+\n',
    );
  });
  it('turns single-row sections vertical when the table is wider than the terminal', () => {
    const wide = {
      ReplicationTasks: [
        {
          ReplicationTaskIdentifier: 'a-very-long-task-identifier-name',
          Status: 'running',
          ReplicationTaskArn: 'arn:aws:dms:us-east-1:123456789012:task:ABCDEFGHIJKLMNOPQRSTUVWXYZ',
          MigrationType: 'full-load-and-cdc',
          Stats: { FullLoadProgressPercent: 100, TablesLoaded: 3 },
        },
      ],
    };
    expect(formatOutput(wide, 'table', 'DescribeReplicationTasks', 80)).toBe(
      '-------------------------------------------------------------------------------------------------------\n|                                      DescribeReplicationTasks                                       |\n+-----------------------------------------------------------------------------------------------------+\n||                                         ReplicationTasks                                          ||\n|+----------------------------+----------------------------------------------------------------------+|\n||  MigrationType             |  full-load-and-cdc                                                   ||\n||  ReplicationTaskArn        |  arn:aws:dms:us-east-1:123456789012:task:ABCDEFGHIJKLMNOPQRSTUVWXYZ  ||\n||  ReplicationTaskIdentifier |  a-very-long-task-identifier-name                                    ||\n||  Status                    |  running                                                             ||\n|+----------------------------+----------------------------------------------------------------------+|\n|||                                              Stats                                              |||\n||+-----------------------------------------------------------------------------+-------------------+||\n|||  FullLoadProgressPercent                                                    |  100              |||\n|||  TablesLoaded                                                               |  3                |||\n||+-----------------------------------------------------------------------------+-------------------+||\n',
    );
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
