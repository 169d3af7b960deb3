/**
 * What the CDC benches share: an opendms CDC task over the pgbench tables, a reporter that keeps
 * its outcome and shows its events, waiting for a slot to confirm a position, and a digest of the
 * pgbench tables to check a target equal to the source.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { endpointSpec } from '../test/helpers/cdc-harness.js';
import type { RunningTask, TaskOutcome, TaskReporter, TaskSpec } from '../src/engine/contracts.js';
import { startTask } from '../src/engine/index.js';
import { defaultTaskSettings } from '../src/model/task-settings.js';
import type { PostgresCluster } from '../test/helpers/postgres.js';

export interface PgbenchTaskOptions {
  /** Task resource id (its slot is `opendms_<id lowercased>`). */
  taskId?: string;
  batchApply?: boolean;
  migrationType?: TaskSpec['migrationType'];
  /** Task settings merged over the defaults, per section. */
  settings?: Record<string, Record<string, unknown>>;
}

/** A CDC task from `src`'s pgbench tables into `database` on `tgt` (DO_NOTHING: pgbench -i made them). */
export function pgbenchTaskSpec(src: PostgresCluster, tgt: PostgresCluster, database: string, startType: TaskSpec['startType'], o: PgbenchTaskOptions = {}): TaskSpec {
  const settings = defaultTaskSettings() as unknown as Record<string, Record<string, unknown>>;
  settings.TargetMetadata!.BatchApplyEnabled = o.batchApply ?? true;
  settings.FullLoadSettings!.TargetTablePrepMode = 'DO_NOTHING';
  for (const [section, values] of Object.entries(o.settings ?? {})) Object.assign(settings[section]!, values);
  const id = o.taskId ?? 'BENCHCDC';
  return {
    taskArn: `arn:aws:dms:us-east-1:000000000000:task:${id}`,
    taskIdentifier: id.toLowerCase(),
    taskResourceId: id,
    migrationType: o.migrationType ?? 'cdc',
    tableMappings: { rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': '1', 'object-locator': { 'schema-name': 'public', 'table-name': 'pgbench_%' }, 'rule-action': 'include' }] },
    settings,
    source: endpointSpec(src, 'source', 'postgres'),
    target: endpointSpec(tgt, 'target', database),
    startType,
    workDir: mkdtempSync(join(tmpdir(), 'opendms-bench-cdc-')),
  };
}

export class BenchReporter implements TaskReporter {
  outcome: TaskOutcome | undefined;
  running = false;
  readonly events: string[] = [];
  status(o: TaskOutcome): void {
    if (o.status === 'running') this.running = true;
    else this.outcome = o;
  }
  progress(): void {}
  checkpoint(): void {}
  /** Failures are shown: a suspended table would otherwise pass silently until the row count check. */
  event(message: string, categories: string[]): void {
    this.events.push(message);
    if (categories.includes('failure')) console.log(`task event: ${message}`);
  }
}

export async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 600_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function startAndWait(s: TaskSpec): Promise<{ task: RunningTask; reporter: BenchReporter }> {
  const reporter = new BenchReporter();
  const task = startTask(s, reporter);
  await until('task running', async () => {
    if (reporter.outcome) throw new Error(`task ended: ${JSON.stringify(reporter.outcome)}`);
    return reporter.running;
  });
  return { task, reporter };
}

/**
 * Whether `slot` confirmed `lsn`. The ends waited for are taken with pg_current_wal_insert_lsn()
 * (the INSERT position), not pg_current_wal_lsn() (the WRITE position), which with the test
 * clusters' synchronous_commit=off can lag behind the commit just made; a slot confirmed up to it
 * could then still be short of that commit (the walsender reports positions inside a large
 * transaction it is still decoding).
 */
export const slotConfirmed = async (monitor: pg.Client, slot: string, lsn: string) =>
  (await monitor.query<{ ok: boolean }>(`SELECT confirmed_flush_lsn >= $2::pg_lsn AS ok FROM pg_replication_slots WHERE slot_name = $1`, [slot, lsn])).rows[0]?.ok === true;

export const slotActive = async (monitor: pg.Client, slot: string) =>
  (await monitor.query<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [slot])).rows[0]?.active === true;

export const insertLsn = async (c: PostgresCluster) => (await c.query<{ l: string }>('SELECT pg_current_wal_insert_lsn()::text AS l')).rows[0]!.l;

/** Sums and counts of the pgbench tables: equal on source and target once every change is applied once. */
export const pgbenchDigest = async (c: PostgresCluster, database: string) =>
  (
    await c.query<{ d: string }>(
      `SELECT (SELECT sum(abalance) FROM pgbench_accounts) || '/' || (SELECT sum(bbalance) FROM pgbench_branches) || '/' ||
              (SELECT sum(tbalance) FROM pgbench_tellers) || '/' || (SELECT count(*) FROM pgbench_history) AS d`,
      [],
      database,
    )
  ).rows[0]!.d;
