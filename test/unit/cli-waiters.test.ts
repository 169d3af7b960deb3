/** The waiter algorithm over dms-waiters-2.json acceptors, and auto-pagination with --max-items/--starting-token. */
import { describe, expect, it } from 'vitest';
import { getWaiter, paginatorFor } from '../../src/cli/cli-model.js';
import { paginate } from '../../src/cli/paginate.js';
import { acceptorMatches, runWaiter, WaiterError, type CallOutcome } from '../../src/cli/waiters.js';

const tasks = (...statuses: string[]): CallOutcome => ({ output: { ReplicationTasks: statuses.map((Status) => ({ Status })) } });
const noSleep = async (): Promise<void> => {};

describe('waiters', () => {
  const stopped = getWaiter('ReplicationTaskStopped')!;

  it('reads the model: operation, delay, attempts', () => {
    expect(stopped).toMatchObject({ operation: 'DescribeReplicationTasks', delay: 15, maxAttempts: 60 });
  });

  it('matches pathAll, pathAny and error acceptors', () => {
    const all = { matcher: 'pathAll', argument: 'ReplicationTasks[].Status', expected: 'stopped', state: 'success' } as const;
    expect(acceptorMatches(all, tasks('stopped', 'stopped'))).toBe(true);
    expect(acceptorMatches(all, tasks('stopped', 'running'))).toBe(false);
    expect(acceptorMatches(all, tasks())).toBe(false);
    expect(acceptorMatches({ ...all, matcher: 'pathAny' }, tasks('running', 'stopped'))).toBe(true);
    expect(acceptorMatches({ ...all, matcher: 'path', argument: 'length(ReplicationTasks)', expected: 2 as never }, tasks('a', 'b'))).toBe(true);
    const error = { matcher: 'error', expected: 'ResourceNotFoundFault', state: 'success' } as const;
    expect(acceptorMatches(error, { errorCode: 'ResourceNotFoundFault' })).toBe(true);
    expect(acceptorMatches(error, tasks('stopped'))).toBe(false);
  });

  it('retries until success, counting attempts', async () => {
    const outcomes = [tasks('stopping'), tasks('stopping'), tasks('stopped')];
    let calls = 0;
    await runWaiter('ReplicationTaskStopped', stopped, async () => outcomes[calls++]!, { sleep: noSleep });
    expect(calls).toBe(3);
  });

  it('fails on a terminal state, on an unexpected error, and after max attempts', async () => {
    const ready = getWaiter('ReplicationTaskReady')!;
    await expect(runWaiter('ReplicationTaskReady', ready, async () => tasks('failed'), { sleep: noSleep })).rejects.toThrow(
      /terminal failure state: For expression "ReplicationTasks\[\].Status" we matched expected path: "failed"/,
    );
    await expect(runWaiter('ReplicationTaskStopped', stopped, async () => ({ errorCode: 'AccessDeniedFault', error: new Error('no') }), { sleep: noSleep })).rejects.toThrow(
      /An error occurred \(AccessDeniedFault\)/,
    );
    let calls = 0;
    const sleeps: number[] = [];
    await expect(
      runWaiter('ReplicationTaskStopped', stopped, async () => (calls++, tasks('running')), { maxAttempts: 3, delay: 2, sleep: async (s) => void sleeps.push(s) }),
    ).rejects.toThrow(WaiterError);
    expect(calls).toBe(3);
    expect(sleeps).toEqual([2, 2]);
  });
});

describe('paginate', () => {
  const items = ['a', 'b', 'c', 'd', 'e'];
  const pageSize = 2;
  const calls: Record<string, unknown>[] = [];
  const call = async (input: Record<string, unknown>): Promise<Record<string, unknown>> => {
    calls.push(input);
    const start = input.Marker ? Number(input.Marker) : 0;
    const end = start + ((input.MaxRecords as number | undefined) ?? pageSize);
    return { Endpoints: items.slice(start, end), ...(end < items.length ? { Marker: String(end) } : {}) };
  };
  const paginator = paginatorFor('DescribeEndpoints')!;

  it('follows Marker and merges the pages', async () => {
    calls.length = 0;
    expect(await paginate(call, paginator, { Filters: [] }, {})).toEqual({ Endpoints: items });
    expect(calls).toHaveLength(3);
    expect(calls[0]).toEqual({ Filters: [] });
  });

  it('stops at --max-items and resumes from the NextToken without loss or duplicates', async () => {
    const first = await paginate(call, paginator, {}, { maxItems: 3 });
    expect(first.Endpoints).toEqual(['a', 'b', 'c']);
    expect(typeof first.NextToken).toBe('string');
    const second = await paginate(call, paginator, {}, { maxItems: 3, startingToken: first.NextToken as string });
    expect(second.Endpoints).toEqual(['d', 'e']);
    expect(second.NextToken).toBeUndefined();
  });

  it('sends --page-size as MaxRecords', async () => {
    calls.length = 0;
    expect((await paginate(call, paginator, {}, { pageSize: 4 })).Endpoints).toEqual(items);
    expect(calls.map((c) => c.MaxRecords)).toEqual([4, 4]);
  });
});
