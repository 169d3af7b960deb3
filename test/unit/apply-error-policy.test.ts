/**
 * ErrorBehavior decisions (src/engine/apply/error-policy.ts), the netting flags that tell a real
 * apply conflict from one the batch itself explains (net-changes.ts), and awsdms_history timeslots
 * (history.ts). Pure: no database.
 */
import { describe, expect, it } from 'vitest';
import { applyPolicies, ErrorPolicy } from '../../src/engine/apply/error-policy.js';
import type { ErrorBehaviorSettings } from '../../src/engine/apply/error-policy.js';
import { NetChanges } from '../../src/engine/apply/net-changes.js';
import { HistoryTimeslots } from '../../src/engine/history.js';
import { defaultTaskSettings } from '../../src/model/task-settings.js';

function policy(eb: Partial<ErrorBehaviorSettings>): ErrorPolicy {
  return new ErrorPolicy(applyPolicies({ ...defaultTaskSettings().ErrorBehavior, ...eb }));
}

describe('ErrorBehavior decisions', () => {
  it('uses the AWS defaults: insert conflicts LOG_ERROR, update misses LOG_ERROR, delete misses IGNORE_RECORD, no escalation', () => {
    const p = policy({});
    for (let i = 0; i < 5; i++) {
      expect(p.conflict('"a"."t"', 'INSERT')).toEqual({ policy: 'LOG_ERROR', setting: 'ApplyErrorInsertPolicy' });
      expect(p.conflict('"a"."t"', 'UPDATE')).toEqual({ policy: 'LOG_ERROR', setting: 'ApplyErrorUpdatePolicy' });
      expect(p.conflict('"a"."t"', 'DELETE')).toEqual({ policy: 'IGNORE_RECORD', setting: 'ApplyErrorDeletePolicy' });
      expect(p.dataError('"a"."t"')).toEqual({ policy: 'LOG_ERROR', setting: 'DataErrorPolicy' });
      expect(p.tableError()).toEqual({ policy: 'SUSPEND_TABLE', setting: 'TableErrorPolicy' });
    }
  });

  it('escalates apply conflicts of a table from the Nth on, counting every kind of conflict but not INSERT_RECORD', () => {
    const p = policy({ ApplyErrorInsertPolicy: 'INSERT_RECORD', ApplyErrorEscalationCount: 3, ApplyErrorEscalationPolicy: 'STOP_TASK' });
    expect(p.conflict('t', 'INSERT').policy).toBe('INSERT_RECORD');
    expect(p.conflict('t', 'INSERT').policy).toBe('INSERT_RECORD');
    expect(p.conflict('t', 'DELETE').policy).toBe('IGNORE_RECORD');
    expect(p.conflict('u', 'UPDATE').policy).toBe('LOG_ERROR');
    expect(p.conflict('t', 'UPDATE').policy).toBe('LOG_ERROR');
    expect(p.conflict('t', 'DELETE')).toEqual({ policy: 'STOP_TASK', setting: 'ApplyErrorEscalationPolicy' });
    expect(p.conflict('u', 'DELETE').policy).toBe('IGNORE_RECORD');
  });

  it('never lets an escalation weaken the normal policy', () => {
    const p = policy({ ApplyErrorUpdatePolicy: 'STOP_TASK', ApplyErrorEscalationCount: 1, ApplyErrorEscalationPolicy: 'LOG_ERROR' });
    expect(p.conflict('t', 'UPDATE')).toEqual({ policy: 'STOP_TASK', setting: 'ApplyErrorUpdatePolicy' });
    expect(p.conflict('t', 'DELETE')).toEqual({ policy: 'LOG_ERROR', setting: 'ApplyErrorEscalationPolicy' });
  });

  it('escalates data errors per table and table errors per task', () => {
    const p = policy({ DataErrorEscalationCount: 2, DataErrorEscalationPolicy: 'SUSPEND_TABLE', TableErrorEscalationCount: 2 });
    expect(p.dataError('t').policy).toBe('LOG_ERROR');
    expect(p.dataError('u').policy).toBe('LOG_ERROR');
    expect(p.dataError('t')).toEqual({ policy: 'SUSPEND_TABLE', setting: 'DataErrorEscalationPolicy' });
    expect(p.tableError()).toEqual({ policy: 'SUSPEND_TABLE', setting: 'TableErrorPolicy' });
    expect(p.tableError()).toEqual({ policy: 'STOP_TASK', setting: 'TableErrorEscalationPolicy' });
  });

  it('forgets errors counted after the last target commit when that work is rolled back and replayed', () => {
    const p = policy({ ApplyErrorEscalationCount: 2, ApplyErrorEscalationPolicy: 'STOP_TASK', TableErrorEscalationCount: 2 });
    expect(p.conflict('t', 'UPDATE').policy).toBe('LOG_ERROR');
    p.durable();
    // Counted, then rolled back (a retry after a lost connection replays the same change).
    expect(p.conflict('t', 'UPDATE').policy).toBe('STOP_TASK');
    expect(p.tableError().policy).toBe('SUSPEND_TABLE');
    p.revert();
    expect(p.tableError().policy).toBe('SUSPEND_TABLE');
    // The replayed conflict is the second one, not the third.
    expect(p.conflict('u', 'UPDATE').policy).toBe('LOG_ERROR');
    p.durable();
    p.revert();
    expect(p.conflict('t', 'UPDATE')).toEqual({ policy: 'STOP_TASK', setting: 'ApplyErrorEscalationPolicy' });
  });
});

describe('netting flags for apply conflicts', () => {
  const net = () => new NetChanges([0]);
  it('an insert is strict unless it follows a delete of its key in the batch or the caller says so', () => {
    const n = net();
    n.insert(['1', 'a']);
    n.delete(['2']);
    n.insert(['2', 'b']);
    n.update(['2', 'c']);
    n.insert(['3', 'x'], true);
    expect(n.entries.get('1')).toMatchObject({ op: 'upsert', tolerant: false });
    expect(n.entries.get('2')).toMatchObject({ op: 'upsert', row: ['2', 'c'], tolerant: true });
    expect(n.entries.get('3')).toMatchObject({ op: 'upsert', tolerant: true });
  });

  it('a delete is strict unless it follows an insert of its key in the batch or the caller says so', () => {
    const n = net();
    n.delete(['1']);
    n.insert(['2', 'a']);
    n.delete(['2']);
    n.update(['3', 'u']);
    n.delete(['3']);
    n.delete(['4'], true);
    expect(n.entries.get('1')).toMatchObject({ op: 'delete', tolerant: false });
    expect(n.entries.get('2')).toMatchObject({ op: 'delete', tolerant: true });
    expect(n.entries.get('3')).toMatchObject({ op: 'delete', tolerant: false });
    expect(n.entries.get('4')).toMatchObject({ op: 'delete', tolerant: true });
  });
});

describe('awsdms_history timeslots', () => {
  it('yields one row per phase seen in a slot, when the slot is over or the task stops', () => {
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    const h = new HistoryTimeslots(5 * 60_000, t0);
    h.add('FULL LOAD', 100);
    h.add('FULL LOAD', 50);
    h.active('CHANGE PROCESSING (CDC)');
    h.add('CHANGE PROCESSING (CDC)', 7, 3 * 1024 * 1024 + 1);
    expect(h.due(t0 + 5 * 60_000 - 1)).toBe(false);
    expect(h.due(t0 + 5 * 60_000)).toBe(true);
    const rows = h.close(t0 + 5 * 60_000, 2.4);
    expect(rows).toEqual([
      { type: 'FULL LOAD', end: new Date(t0 + 5 * 60_000), durationMinutes: 5, latencySeconds: null, records: 150, volumeMb: null },
      { type: 'CHANGE PROCESSING (CDC)', end: new Date(t0 + 5 * 60_000), durationMinutes: 5, latencySeconds: 2, records: 7, volumeMb: 4 },
    ]);
    // The next slot starts empty; an idle CDC phase still gets its row.
    expect(h.due(t0 + 5 * 60_000 + 1)).toBe(false);
    h.active('CHANGE PROCESSING (CDC)');
    expect(h.close(t0 + 6 * 60_000 + 20_000, 0)).toEqual([
      { type: 'CHANGE PROCESSING (CDC)', end: new Date(t0 + 6 * 60_000 + 20_000), durationMinutes: 1, latencySeconds: 0, records: 0, volumeMb: 0 },
    ]);
    expect(h.close(t0 + 7 * 60_000, 0)).toEqual([]);
  });
});
