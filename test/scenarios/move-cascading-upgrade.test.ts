/**
 * Scenario: the cascading upgrade. Five PostgreSQL CDC tasks run on an instance of the current
 * engine under continuous writes; `opendms upgrade-replication-instance` moves them all to an
 * instance on a newer engine bundle, health-checking each one. First a dry run (nothing changes),
 * then an upgrade whose health gate cannot pass (it halts after the first task and puts that task
 * back, running, on the old instance), then the real upgrade. Every table is compared row by row.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { callExtension } from '../../src/api/extensions/client.js';
import type { UpgradeRecord } from '../../src/control/upgrade-orchestrator.js';
import { waitFor } from '../helpers/ports.js';
import { TEST_KEYS } from '../helpers/service.js';
import { startUpgradeFixture, type UpgradeFixture } from '../helpers/upgrade-fixture.js';

const TABLES = ['t1', 't2', 't3', 't4', 't5'];

let f: UpgradeFixture;
let a: string;
let b: string;

const tasks = () => f.tasks();

async function upgradeCli(extra: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return f.svc.cli(['upgrade-replication-instance', '--source-replication-instance-arn', a, '--target-replication-instance-arn', b, ...extra]);
}

beforeAll(async () => {
  f = await startUpgradeFixture({ tables: TABLES, rows: 300, prefix: 'cu', nextVersion: '9.2.0' });
  ({ a, b } = f);
  f.startWriting(TABLES);
}, 240_000);

afterAll(async () => {
  await f?.destroy();
}, 120_000);

it('prints the plan on --dry-run and changes nothing', async () => {
  const r = await upgradeCli(['--dry-run']);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('Upgrade plan: 5 task(s)');
  // Every pre-handover check ran for each task, and passed.
  for (const t of TABLES) {
    expect(r.stdout).toMatch(
      new RegExp(`cu-${t}\\s+running\\s+stop, move, resume-processing, health check\\n\\s+checks passed: 1 table\\(s\\) in the source catalog; slot opendms_\\S+ present; publication \\S+ covers them; all on the target\\n`),
    );
  }
  expect(r.stdout).toContain('Dry run: every check passed for the 5 task(s); nothing changed.');
  expect((await tasks()).every((t) => t.Status === 'running' && t.ReplicationInstanceArn === a)).toBe(true);
}, 60_000);

it('halts at a task that fails its health gate and puts it back, running, on the old instance', async () => {
  const r = await upgradeCli(['--health-check-timeout-seconds', '0.001', '--output', 'json']);
  expect(r.code).toBe(254);
  const u = (JSON.parse(r.stdout) as { Upgrade: UpgradeRecord }).Upgrade;
  expect(u.Status).toBe('failed');
  expect(u.Tasks[0]).toMatchObject({ ReplicationTaskIdentifier: 'cu-t1', Step: 'rolled-back', Message: expect.stringContaining('health check did not pass') });
  expect(u.Tasks.slice(1).map((t) => t.Step)).toEqual(['not-started', 'not-started', 'not-started', 'not-started']);
  const now = await tasks();
  expect(now.map((t) => [t.ReplicationTaskIdentifier, t.Status, t.ReplicationInstanceArn === a])).toEqual(TABLES.map((t) => [`cu-${t}`, 'running', true]));
  // Every task applies changes again (the writer keeps going, so the tables are compared at the end).
  for (const t of TABLES) {
    await f.source.query(`INSERT INTO ${t} (id, v) VALUES (900000, 'probe')`);
    await waitFor(`probe in ${t}`, async () => (await f.target.query(`SELECT 1 FROM ${t} WHERE id = 900000`)).rows.length === 1, 60_000, 50);
  }
}, 120_000);

it('moves every task to the newer engine, one health-checked handover at a time, nothing lost', async () => {
  const r = await upgradeCli(['--max-concurrent', '2', '--max-cdc-latency-seconds', '30']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('upgrade succeeded: All 5 task(s) moved to ri-b.');
  // Live progress: a line per step seen (quick steps may pass between two looks).
  for (const t of TABLES) expect(r.stdout).toMatch(new RegExp(`\\d\\d:\\d\\d:\\d\\d  cu-${t}\\s+done  Running on ri-b; handover took \\d+ ms`));
  // The preparation's findings: one line per task, while it still ran on ri-a.
  for (const t of TABLES) expect(r.stdout).toMatch(new RegExp(`\\d\\d:\\d\\d:\\d\\d  cu-${t}\\s+prepared  1 table\\(s\\) in the source catalog; slot opendms_\\S+ present; publication \\S+ covers them; all on the target\\n`));
  expect(r.stdout.match(/ prepared {2}/g)).toHaveLength(5);
  const handovers = [...r.stdout.matchAll(/handover took (\d+) ms/g)].map((m) => Number(m[1]));
  expect(handovers).toHaveLength(5);
  const now = await tasks();
  expect(now.every((t) => t.Status === 'running' && t.ReplicationInstanceArn === b)).toBe(true);
  await f.stopWriting();
  await f.identical();
}, 180_000);

it('keeps a record of each upgrade, and checks the extension API input like the DMS API', async () => {
  const listed = await f.svc.cli(['describe-replication-instance-upgrades']);
  expect(listed.code).toBe(0);
  const upgrades = (JSON.parse(listed.stdout) as { Upgrades: UpgradeRecord[] }).Upgrades;
  expect(upgrades.map((u) => u.Status)).toEqual(['succeeded', 'failed']); // newest first; a dry run keeps nothing
  expect(upgrades[0]!.Tasks.every((t) => t.Step === 'done' && typeof t.HandoverMillis === 'number')).toBe(true);
  for (const t of upgrades[0]!.Tasks) expect(t.Preparation).toMatch(/^1 table\(s\) in the source catalog; slot opendms_\S+ present; publication \S+ covers them; all on the target$/);

  const config = { endpointUrl: f.svc.url, region: f.svc.region, credentials: () => Promise.resolve(TEST_KEYS) };
  const fault = (input: Record<string, unknown>, op = 'UpgradeReplicationInstance', cfg = config) =>
    callExtension(cfg, op, input).then(
      () => ({ name: 'no fault', message: '' }),
      (e: Error) => ({ name: e.name, message: e.message }),
    );
  expect(await fault({ SourceReplicationInstanceArn: b, TargetReplicationInstanceArn: b })).toMatchObject({ name: 'InvalidParameterCombinationException' });
  expect(await fault({ SourceReplicationInstanceArn: b, TargetReplicationInstanceArn: a, MaxConcurrent: 0 })).toMatchObject({
    name: 'InvalidParameterValueException',
    message: expect.stringContaining('MaxConcurrent'),
  });
  expect(await fault({ SourceReplicationInstanceArn: b, TargetReplicationInstanceArn: a, Foo: 1 })).toMatchObject({ name: 'InvalidParameterValueException' });
  expect(await fault({ SourceReplicationInstanceArn: b, TargetReplicationInstanceArn: `${a}X` })).toMatchObject({ name: 'ResourceNotFoundFault' });
  expect(await fault({}, 'NoSuchOperation')).toMatchObject({ name: 'UnknownOperationException' });
  expect(await fault({ UpgradeId: 'nope' }, 'DescribeReplicationInstanceUpgrades')).toMatchObject({ name: 'ResourceNotFoundFault' });
  const badKey = { ...config, credentials: () => Promise.resolve({ ...TEST_KEYS, secretAccessKey: 'wrong' }) };
  expect(await fault({ SourceReplicationInstanceArn: b, TargetReplicationInstanceArn: a, DryRun: true }, 'UpgradeReplicationInstance', badKey)).toMatchObject({
    name: 'InvalidSignatureException',
  });
  // The dry run back to the old engine: allowed (it reads V1 checkpoints), and nothing changes.
  const plan = await callExtension(config, 'UpgradeReplicationInstance', { SourceReplicationInstanceArn: b, TargetReplicationInstanceArn: a, DryRun: true });
  expect((plan.Upgrade as UpgradeRecord).Status).toBe('planned');
  expect((await tasks()).every((t) => t.ReplicationInstanceArn === b)).toBe(true);
}, 60_000);
