/**
 * The replication instance process dies (SIGKILL) during the full load and twice during CDC, under
 * a continuous write workload; each time the task is resumed by a new process from the target's
 * checkpoint alone. Afterwards source and target are identical, and the counter table (every
 * update is `n = n + 1`) proves no change was applied twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres } from '../helpers/postgres.js';
import type { PostgresCluster } from '../helpers/postgres.js';
import { ChildTask, seed, taskSpec, waitConverged, Workload } from '../helpers/cdc-harness.js';
import { waitFor } from '../helpers/ports.js';

let source: PostgresCluster;
let target: PostgresCluster;

beforeAll(async () => {
  [source, target] = await Promise.all([startPostgres(), startPostgres()]);
  await seed(source, 20_000);
}, 60_000);

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

describe('instance killed during full load and CDC', () => {
  it('resumes after each SIGKILL with nothing lost and nothing applied twice', async () => {
    const workload = new Workload(source, 500_000);
    const spec = (startType: 'start-replication' | 'resume-processing', batchApply: boolean) =>
      taskSpec(source, target, { taskId: 'CRASHY', migrationType: 'full-load-and-cdc', startType, batchApply });

    // 1. Killed while the full load runs.
    let child = new ChildTask(spec('start-replication', false));
    await child.waitRunning();
    await waitFor('load under way', async () => {
      const r = await target.query<{ n: string }>(`SELECT count(*)::text AS n FROM pg_tables WHERE schemaname = 'app'`);
      return Number(r.rows[0]!.n) > 0;
    }, 30_000, 20);
    await child.kill();

    // 2. Resumed, killed twice during CDC (transactional, then batch apply).
    for (const batch of [false, true]) {
      child = new ChildTask(spec('resume-processing', batch));
      await child.waitRunning();
      await waitFor('CDC commits', async () => child.checkpoints.length > 0, 60_000, 50);
      await new Promise((r) => setTimeout(r, 700));
      await child.kill();
    }

    // 3. Resumed once more; the workload stops; everything must match.
    child = new ChildTask(spec('resume-processing', true));
    await child.waitRunning();
    await new Promise((r) => setTimeout(r, 1000));
    await workload.stop();
    expect(workload.committed).toBeGreaterThan(50);
    await waitConverged(source, target, 30_000).catch(async (err: Error) => {
      const q = 'SELECT a, b, count(*)::int AS n FROM app.nokey GROUP BY a, b';
      const [x, y] = await Promise.all([source.query<{ a: number; b: string; n: number }>(q), target.query<{ a: number; b: string; n: number }>(q)]);
      const m = new Map<string, number>();
      for (const r of x.rows) m.set(`${r.a}|${r.b}`, r.n);
      for (const r of y.rows) m.set(`${r.a}|${r.b}`, (m.get(`${r.a}|${r.b}`) ?? 0) - r.n);
      console.error('DIFF', [...m.entries()].filter(([, v]) => v !== 0).slice(0, 30));
      console.error('LINES', JSON.stringify(child.lines.filter((l) => l.type !== 'checkpoint')));
      throw err;
    });
    const counters = await target.query<{ n: string }>('SELECT sum(n)::text AS n FROM app.counters');
    const expected = await source.query<{ n: string }>('SELECT sum(n)::text AS n FROM app.counters');
    expect(counters.rows[0]!.n).toBe(expected.rows[0]!.n);
    // Replays after each crash (and over the full load resumed from a later snapshot) met no apply
    // conflict: none was logged under the default ApplyErrorInsertPolicy LOG_ERROR.
    expect((await target.query('SELECT task_name, statement, error FROM public.awsdms_apply_exceptions')).rows).toEqual([]);
    const outcome = await child.stop();
    expect(outcome).toMatchObject({ status: 'stopped', stopReason: 'Stop Reason NORMAL' });
  }, 150_000);
});
