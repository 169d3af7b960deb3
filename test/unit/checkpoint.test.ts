import { describe, expect, it } from 'vitest';
import { formatCheckpoint, parseCdcStartPosition, parseCdcStopPosition, parseCheckpoint } from '../../src/engine/checkpoint.js';
import { parseLsn } from '../../src/model/lsn.js';

describe('recovery checkpoint', () => {
  it('has the AWS DMS PostgreSQL shape with the native LSN as third field', () => {
    const cp = formatCheckpoint({ seq: 1, lsn: parseLsn('4AF/B00000D0') });
    expect(cp).toBe('checkpoint:V1#1#000004AF/B00000D0#0#0#*#0#0');
    expect(cp.split('#')[2]).toBe('000004AF/B00000D0');
  });

  it('round-trips', () => {
    const lsn = parseLsn('132/F000E48');
    expect(parseCheckpoint(formatCheckpoint({ seq: 34, lsn }))).toEqual({ version: 'V1', seq: 34, lsn });
  });

  it('reads checkpoints AWS DMS wrote', () => {
    expect(parseCheckpoint('checkpoint:V1#34#00000132/0F000E48#0#0#*#0#121').lsn).toBe(parseLsn('132/F000E48'));
  });

  it('refuses an unknown version clearly', () => {
    expect(() => parseCheckpoint('checkpoint:V9#1#00000000/00000010#0#0#*#0#0')).toThrow(/version 'V9' is not supported by this engine/);
  });

  it('refuses malformed checkpoints', () => {
    expect(() => parseCheckpoint('V1#1#0/1')).toThrow(/must start with 'checkpoint:'/);
    expect(() => parseCheckpoint('checkpoint:V1#x#0/1')).toThrow(/sequence/);
    expect(() => parseCheckpoint('checkpoint:V1#1#nope#0')).toThrow(/not a PostgreSQL LSN/);
    expect(() => parseCheckpoint('checkpoint:V1#1')).toThrow(/expected/);
  });
});

describe('CdcStartPosition', () => {
  it('accepts a checkpoint or a bare LSN', () => {
    expect(parseCdcStartPosition('checkpoint:V1#3#00000001/00000010#0#0#*#0#0')).toBe(parseLsn('1/10'));
    expect(parseCdcStartPosition(' 4AF/B00000D0 ')).toBe(parseLsn('4AF/B00000D0'));
  });

  it('refuses dates and garbage for PostgreSQL', () => {
    expect(() => parseCdcStartPosition('2018-03-08T12:12:12')).toThrow(/dates are not supported/);
    expect(() => parseCdcStartPosition('mysql-bin.000024:373')).toThrow(/neither a recovery checkpoint/);
  });
});

describe('CdcStopPosition', () => {
  it('parses server_time and commit_time as UTC', () => {
    expect(parseCdcStopPosition('server_time:2026-01-02T03:04:05')).toEqual({ kind: 'server_time', at: new Date('2026-01-02T03:04:05Z') });
    expect(parseCdcStopPosition('commit_time:2026-01-02T03:04:05Z').kind).toBe('commit_time');
  });

  it('refuses other forms', () => {
    expect(() => parseCdcStopPosition('2026-01-02T03:04:05')).toThrow(/server_time:/);
    expect(() => parseCdcStopPosition('commit_time:yesterday')).toThrow(/not a date/);
  });
});
