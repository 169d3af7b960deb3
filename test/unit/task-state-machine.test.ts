/**
 * The task lifecycle, cell by cell: every status of spec §2.1 against every operation of the §2.2
 * matrix (written out here independently of the module's own table), the start types of §2.3 and
 * the internal events.
 */
import { describe, expect, it } from 'vitest';
import type { MigrationType, StartType } from '../../src/engine/contracts.js';
import { DmsFault } from '../../src/model/faults.js';
import {
  TASK_OPERATIONS,
  TASK_STATUSES,
  nextStatus,
  transition,
  type TaskEvent,
  type TaskFacts,
  type TaskOperation,
  type TaskStatus,
} from '../../src/model/task-state-machine.js';

const Y = true;
const N = false;

// Spec §2.2, column order: Start, Stop, Modify, Move, Delete, ReloadTables, AssessmentRun.
const MATRIX: Record<TaskStatus, [boolean, boolean, boolean, boolean, boolean, boolean, boolean]> = {
  creating: [N, N, N, N, N, N, N],
  ready: [Y, N, Y, Y, Y, N, Y],
  starting: [N, Y, N, N, N, N, N],
  running: [N, Y, N, N, N, Y, N],
  stopping: [N, N, N, N, N, N, N],
  stopped: [Y, N, Y, Y, Y, N, Y],
  failed: [Y, N, Y, Y, Y, N, Y],
  modifying: [N, N, N, N, N, N, N],
  moving: [N, N, N, N, Y, N, N],
  'failed-move': [Y, N, Y, Y, Y, N, Y],
  deleting: [N, N, N, N, N, N, N],
  testing: [N, N, N, N, N, N, N],
};

const TARGET: Record<TaskOperation, TaskStatus | 'same'> = {
  Start: 'starting',
  Stop: 'stopping',
  Modify: 'modifying',
  Move: 'moving',
  Delete: 'deleting',
  ReloadTables: 'same',
  AssessmentRun: 'testing',
};

const API: Record<TaskOperation, string> = {
  Start: 'StartReplicationTask',
  Stop: 'StopReplicationTask',
  Modify: 'ModifyReplicationTask',
  Move: 'MoveReplicationTask',
  Delete: 'DeleteReplicationTask',
  ReloadTables: 'ReloadTables',
  AssessmentRun: 'StartReplicationTaskAssessmentRun',
};

function facts(status: TaskStatus, over: Partial<TaskFacts> = {}): TaskFacts {
  // hasRun is true except for `ready`, which by definition has never run.
  return { identifier: 'orders-task', status, migrationType: 'full-load-and-cdc', hasRun: status !== 'ready', ...over };
}

function opEvent(op: TaskOperation): TaskEvent {
  return op === 'Start' ? { type: 'Start', startType: 'start-replication' } : { type: op };
}

it('the matrix covers every status of §2.1', () => {
  expect(Object.keys(MATRIX).sort()).toEqual([...TASK_STATUSES].sort());
});

describe('operation x status matrix (§2.2)', () => {
  const cells = TASK_STATUSES.flatMap((status) => TASK_OPERATIONS.map((op, i) => ({ status, op, allowed: MATRIX[status][i]! })));
  it.each(cells)('$op in $status: allowed=$allowed', ({ status, op, allowed }) => {
    const result = transition(facts(status), opEvent(op));
    if (allowed) {
      expect(result).toEqual({ ok: true, status: TARGET[op] === 'same' ? status : TARGET[op] });
    } else {
      expect(result.ok).toBe(false);
      const fault = (result as { fault: DmsFault }).fault;
      expect(fault).toBeInstanceOf(DmsFault);
      expect(fault.code).toBe('InvalidResourceStateFault');
      expect(fault.message).toContain(`is in status ${status}`);
      expect(fault.message).toContain(API[op]);
      expect(fault.message).toContain('orders-task');
    }
  });

  it('names the one allowed operation while moving', () => {
    const result = transition(facts('moving'), { type: 'Modify' });
    expect(result.ok).toBe(false);
    expect((result as { fault: DmsFault }).fault.message).toMatch(
      /^Replication task orders-task is in status moving; only DeleteReplicationTask is allowed while moving\. ModifyReplicationTask needs status ready, stopped, failed or failed-move\.$/,
    );
  });

  it('says when nothing is allowed', () => {
    expect(() => nextStatus(facts('deleting'), { type: 'Delete' })).toThrow(/no operation is allowed while deleting/);
  });

  it('nextStatus throws the fault', () => {
    expect(() => nextStatus(facts('running'), { type: 'Delete' })).toThrow(DmsFault);
    expect(nextStatus(facts('running'), { type: 'Stop' })).toBe('stopping');
  });
});

describe('start types (§2.3)', () => {
  const types: StartType[] = ['start-replication', 'resume-processing', 'reload-target'];
  const migrationTypes: MigrationType[] = ['full-load', 'cdc', 'full-load-and-cdc'];
  const cases = (['ready', 'stopped', 'failed', 'failed-move'] as TaskStatus[]).flatMap((status) =>
    migrationTypes.flatMap((migrationType) => types.map((startType) => ({ status, migrationType, startType }))),
  );

  it.each(cases)('$startType from $status on a $migrationType task', ({ status, migrationType, startType }) => {
    const result = transition(facts(status, { migrationType }), { type: 'Start', startType });
    if (startType === 'reload-target' && migrationType === 'cdc') {
      expect(result).toMatchObject({ ok: false, fault: { code: 'InvalidParameterValueException' } });
      expect((result as { fault: DmsFault }).fault.message).toContain('reload-target');
    } else if (startType !== 'start-replication' && status === 'ready') {
      expect(result).toMatchObject({ ok: false, fault: { code: 'InvalidResourceStateFault' } });
      expect((result as { fault: DmsFault }).fault.message).toContain('never run');
    } else {
      expect(result).toEqual({ ok: true, status: 'starting' });
    }
  });

  it('refuses resume-processing on a task that never ran, whatever its resting status', () => {
    for (const status of ['failed', 'failed-move'] as TaskStatus[]) {
      const result = transition(facts(status, { hasRun: false }), { type: 'Start', startType: 'resume-processing' });
      expect(result).toMatchObject({ ok: false, fault: { code: 'InvalidResourceStateFault' } });
    }
  });

  it('refuses ReloadTables on a running cdc task', () => {
    const result = transition(facts('running', { migrationType: 'cdc' }), { type: 'ReloadTables' });
    expect(result).toMatchObject({ ok: false, fault: { code: 'InvalidResourceStateFault' } });
    expect((result as { fault: DmsFault }).fault.message).toContain('cdc');
  });
});

describe('internal events', () => {
  type Simple = 'created' | 'started' | 'running' | 'stopped' | 'failed' | 'move-failed';
  // Allowed source statuses and the resulting status ('same' = unchanged).
  const RULES: Record<Simple, Partial<Record<TaskStatus, TaskStatus | 'same'>>> = {
    created: { creating: 'ready' },
    started: { starting: 'same', running: 'same' },
    running: { starting: 'running', running: 'running' },
    stopped: { starting: 'stopped', running: 'stopped', stopping: 'stopped' },
    failed: { starting: 'failed', running: 'failed', stopping: 'failed' },
    'move-failed': { moving: 'failed-move' },
  };
  const cells = (Object.keys(RULES) as Simple[]).flatMap((type) => TASK_STATUSES.map((status) => ({ type, status, to: RULES[type][status] })));

  it.each(cells)('$type in $status -> $to', ({ type, status, to }) => {
    const result = transition(facts(status), { type });
    if (to === undefined) {
      expect(result).toMatchObject({ ok: false, fault: { code: 'InvalidResourceStateFault' } });
      expect((result as { fault: DmsFault }).fault.message).toContain(type);
    } else {
      expect(result).toEqual({ ok: true, status: to === 'same' ? status : to });
    }
  });

  const returning = ['move-succeeded', 'modify-done', 'assessment-done'] as const;
  const from = { 'move-succeeded': 'moving', 'modify-done': 'modifying', 'assessment-done': 'testing' } as const;
  const restingCells = returning.flatMap((type) =>
    TASK_STATUSES.flatMap((status) => TASK_STATUSES.map((resting) => ({ type, status, resting }))),
  );

  it.each(restingCells)('$type in $status back to $resting', ({ type, status, resting }) => {
    const result = transition(facts(status), { type, resting });
    const valid = status === from[type] && ['ready', 'stopped', 'failed', 'failed-move'].includes(resting);
    if (valid) expect(result).toEqual({ ok: true, status: resting });
    else expect(result).toMatchObject({ ok: false, fault: { code: 'InvalidResourceStateFault' } });
  });
});
