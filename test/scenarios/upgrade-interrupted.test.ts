/**
 * Scenario: a cascading upgrade survives a control-plane crash, and refuses before the handover
 * what would fail after it.
 *
 * Four PostgreSQL CDC tasks run on instance A under continuous writes. First the target table of
 * one of them is dropped: a dry run names that task and why, changing nothing; the upgrade's
 * preparation on B finds it while the task still runs on A,
 * halts, and leaves that task running on A, untouched. Then, with the table back, an upgrade to B
 * is started and the control plane is SIGKILLed in the middle of a handover; the restarted control
 * plane resumes the upgrade by itself, it completes, and every table is identical row by row.
 * Last, an upgrade back to the older engine is restarted cleanly after a task reached it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { callExtension } from '../../src/api/extensions/client.js';
import type { UpgradeRecord } from '../../src/control/upgrade-orchestrator.js';
import { waitFor } from '../helpers/ports.js';
import { TEST_KEYS } from '../helpers/service.js';
import { startUpgradeFixture, type UpgradeFixture } from '../helpers/upgrade-fixture.js';

/** `quiet` gets no writes: its target table can be dropped without the task on A noticing. */
const TABLES = ['quiet', 't1', 't2', 't3'];

let f: UpgradeFixture;
let a: string;
let b: string;

const tasks = () => f.tasks();

function extension(op: string, input: Record<string, unknown>): Promise<Record<string, unknown>> {
  return callExtension({ endpointUrl: f.svc.url, region: f.svc.region, credentials: () => Promise.resolve(TEST_KEYS) }, op, input);
}

async function upgrade(id: string): Promise<UpgradeRecord> {
  return ((await extension('DescribeReplicationInstanceUpgrades', { UpgradeId: id })).Upgrades as UpgradeRecord[])[0]!;
}

/** The record as the orchestrator last persisted it (read from disk: no request in the way of a fast poll). */
function persisted(id: string): UpgradeRecord | undefined {
  const path = join(f.svc.dataDir, 'upgrades', `${id}.json`);
  try {
    return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as UpgradeRecord) : undefined;
  } catch {
    return undefined;
  }
}

beforeAll(async () => {
  f = await startUpgradeFixture({ tables: TABLES, rows: 200, prefix: 'ui', nextVersion: '9.3.0' });
  ({ a, b } = f);
  f.startWriting(TABLES.slice(1));
}, 240_000);

afterAll(async () => {
  await f?.destroy();
}, 120_000);

it('refuses the handover of a task whose target table is gone, while the task still runs on A, untouched', async () => {
  await waitFor('quiet loaded', async () => (await f.target.query('SELECT count(*)::int AS n FROM quiet').catch(() => ({ rows: [{ n: 0 }] }))).rows[0]?.n === 200, 60_000, 50);
  await f.target.query('DROP TABLE quiet');
  const before = (await tasks())[0]!;
  const startDates = (await tasks()).map((t) => t.ReplicationTaskStartDate);

  // A dry run runs every pre-handover check and names the task that would block, changing nothing.
  const plan = (await extension('UpgradeReplicationInstance', { SourceReplicationInstanceArn: a, TargetReplicationInstanceArn: b, DryRun: true })).Upgrade as UpgradeRecord;
  expect(plan.Status).toBe('planned');
  expect(plan.Tasks[0]).toMatchObject({ ReplicationTaskIdentifier: 'ui-quiet', WouldBlock: expect.stringMatching(/^target table\(s\) public\.quiet of endpoint ui-tgt do not exist/) });
  expect(plan.Tasks[0]!.Preparation).toBeUndefined();
  for (const t of plan.Tasks.slice(1)) {
    expect(t.WouldBlock).toBeUndefined();
    expect(t.Preparation).toMatch(/1 table\(s\) in the source catalog; slot opendms_\S+ present; publication \S+ covers them; all on the target/);
  }
  expect(plan.Message).toMatch(/^Dry run: 1 of 4 task\(s\) would halt the upgrade: ui-quiet: target table\(s\) public\.quiet/);
  const cli = await f.svc.cli(['upgrade-replication-instance', '--source-replication-instance-arn', a, '--target-replication-instance-arn', b, '--dry-run']);
  expect(cli.code).toBe(254);
  expect(cli.stdout).toMatch(/ui-quiet\s+running\s+stop, move, resume-processing, health check\n\s+WOULD BLOCK: target table\(s\) public\.quiet of endpoint ui-tgt do not exist/);
  expect(cli.stdout).toMatch(/ui-t1\s+running\s+stop, move, resume-processing, health check\n\s+checks passed: 1 table\(s\) in the source catalog/);
  const afterDryRun = await tasks();
  expect(afterDryRun.map((t) => [t.Status, t.ReplicationInstanceArn === a])).toEqual(TABLES.map(() => ['running', true]));
  expect(afterDryRun.map((t) => t.ReplicationTaskStartDate)).toEqual(startDates);
  expect(existsSync(join(f.svc.dataDir, 'upgrades')) ? readdirSync(join(f.svc.dataDir, 'upgrades')) : []).toHaveLength(0);

  const started = (await extension('UpgradeReplicationInstance', { SourceReplicationInstanceArn: a, TargetReplicationInstanceArn: b })).Upgrade as UpgradeRecord;
  let u = started;
  await waitFor('upgrade ends', async () => (u = await upgrade(started.UpgradeId)).Status !== 'running', 60_000, 50);
  expect(u.Status).toBe('failed');
  expect(u.Tasks[0]).toMatchObject({ ReplicationTaskIdentifier: 'ui-quiet', Step: 'rolled-back', Message: expect.stringMatching(/Failed while preparing: target table\(s\) public\.quiet .* do not exist/) });
  expect(u.Tasks.slice(1).map((t) => t.Step)).toEqual(['not-started', 'not-started', 'not-started']);
  const now = await tasks();
  expect(now.map((t) => [t.Status, t.ReplicationInstanceArn === a])).toEqual(TABLES.map(() => ['running', true]));
  // Untouched: never stopped, so its start date is the one it had.
  expect(now[0]!.ReplicationTaskStartDate).toEqual(before.ReplicationTaskStartDate);
  // Put the table back as it was (its source table gets no writes).
  await f.target.query('CREATE TABLE quiet (id int PRIMARY KEY, v text NOT NULL)');
  await f.target.query(`INSERT INTO quiet SELECT g, 'row ' || g FROM generate_series(1, 200) g`);
}, 90_000);

it('resumes an upgrade the control plane was SIGKILLed in the middle of; it completes by itself, nothing lost', async () => {
  const started = (await extension('UpgradeReplicationInstance', { SourceReplicationInstanceArn: a, TargetReplicationInstanceArn: b, MaxCdcLatencySeconds: 30 })).Upgrade as UpgradeRecord;
  expect(started.Tasks.map((t) => t.ReplicationTaskIdentifier)).toEqual(TABLES.map((t) => `ui-${t}`));
  // Caught in the handover of the third task (or its health check): the crash point.
  let caught: string | undefined;
  await waitFor('a handover under way', () => {
    const step = persisted(started.UpgradeId)?.Tasks[2]?.Step;
    if (step && ['stopping', 'moving', 'resuming', 'health-check'].includes(step)) caught = step;
    return Promise.resolve(caught !== undefined);
  }, 60_000, 2);
  expect(['stopping', 'moving', 'resuming', 'health-check']).toContain(caught);
  await f.svc.kill('SIGKILL');
  const atCrash = persisted(started.UpgradeId)!;
  expect(atCrash.Status).toBe('running');
  expect(atCrash.Tasks.at(-1)!.Step).toBe('pending');
  await f.svc.restart();

  let u = started;
  await waitFor('upgrade resumed and finished', async () => (u = await upgrade(started.UpgradeId)).Status !== 'running', 120_000, 100);
  expect({ status: u.Status, message: u.Message }).toEqual({ status: 'succeeded', message: `All ${TABLES.length} task(s) moved to ri-b.` });
  expect(u.Resumed).toBe(1);
  expect(u.Tasks.map((t) => t.Step)).toEqual(TABLES.map(() => 'done'));
  for (const t of u.Tasks) expect(t.Preparation).toMatch(/1 table\(s\) in the source catalog; slot opendms_\S+ present; publication \S+ covers them; all on the target/);
  const now = await tasks();
  expect(now.map((t) => [t.ReplicationTaskIdentifier, t.Status, t.ReplicationInstanceArn === b])).toEqual(TABLES.map((t) => [`ui-${t}`, 'running', true]));
  expect(readdirSync(join(f.svc.dataDir, 'upgrades')).filter((f) => f.endsWith('.json'))).toHaveLength(2);

  await f.stopWriting();
  await f.identical();
}, 240_000);

it('resumes an upgrade whose control plane was restarted (SIGTERM) after a handover reached the other instance, here back to the older engine', async () => {
  f.startWriting(TABLES.slice(1));
  const started = (await extension('UpgradeReplicationInstance', { SourceReplicationInstanceArn: b, TargetReplicationInstanceArn: a })).Upgrade as UpgradeRecord;
  // Caught once the second task is on the older engine: resuming there, or in its health gate.
  await waitFor('a task on the other instance, not yet done', () => {
    const step = persisted(started.UpgradeId)?.Tasks[1]?.Step;
    return Promise.resolve(step === 'resuming' || step === 'health-check');
  }, 60_000, 2);
  // A clean stop: the upgrade stops acting, keeps its record `running`, and the next start resumes it.
  await f.svc.restart();
  let u = started;
  await waitFor('upgrade resumed and finished', async () => (u = await upgrade(started.UpgradeId)).Status !== 'running', 120_000, 100);
  expect({ status: u.Status, resumed: u.Resumed, steps: u.Tasks.map((t) => t.Step) }).toEqual({ status: 'succeeded', resumed: 1, steps: TABLES.map(() => 'done') });
  const now = await tasks();
  expect(now.map((t) => [t.Status, t.ReplicationInstanceArn === a])).toEqual(TABLES.map(() => ['running', true]));
  await f.stopWriting();
  await f.identical();
}, 240_000);
