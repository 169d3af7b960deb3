/**
 * Scenario: the cascading upgrade. Five PostgreSQL CDC tasks run on an instance of the current
 * engine under continuous writes; `opendms upgrade-replication-instance` moves them all to an
 * instance on a newer engine bundle, health-checking each one. First a dry run (nothing changes),
 * then an upgrade to an instance on an engine bundle of protocol 1 (older than prepare-task: the
 * upgrade falls back to a resume that reads the catalog) whose health gate cannot pass (it halts
 * after the first task and puts that task back, running, on the old instance), then the real
 * upgrade, where each task's resume uses the catalog prepared on the new instance while it still
 * ran on the old one. Every table is compared row by row.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { CreateReplicationInstanceCommand, DescribeEventsCommand, DescribeReplicationInstancesCommand } from '@aws-sdk/client-database-migration-service';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { callExtension } from '../../src/api/extensions/client.js';
import type { UpgradeRecord } from '../../src/control/upgrade-orchestrator.js';
import { waitFor } from '../helpers/ports.js';
import { OPENDMS_BIN, TEST_KEYS } from '../helpers/service.js';
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
  // Checked concurrently, reported in the plan's order.
  const at = TABLES.map((t) => r.stdout.indexOf(`cu-${t} `));
  expect(at.every((i, k) => i > 0 && (k === 0 || i > at[k - 1]!))).toBe(true);
  expect(r.stdout).toContain('Dry run: every check passed for the 5 task(s); nothing changed.');
  expect((await tasks()).every((t) => t.Status === 'running' && t.ReplicationInstanceArn === a)).toBe(true);
}, 60_000);

/** An instance on an engine bundle that speaks protocol 1, as bundles built before prepare-task do. */
async function protocolOneInstance(): Promise<string> {
  const version = '9.1.5';
  execFileSync(process.execPath, [OPENDMS_BIN, 'engine', 'build', '--version', version, '--data-dir', f.svc.dataDir]);
  const bundle = join(f.svc.dataDir, 'engines', version);
  const manifest = JSON.parse(readFileSync(join(bundle, 'engine.json'), 'utf8')) as { protocolVersion: number };
  writeFileSync(join(bundle, 'engine.json'), JSON.stringify({ ...manifest, protocolVersion: 1 }));
  const protocolJs = join(bundle, 'dist', 'src', 'instance', 'protocol.js');
  const code = readFileSync(protocolJs, 'utf8');
  expect(code).toMatch(/export const PROTOCOL_VERSION = \d+;/);
  writeFileSync(protocolJs, code.replace(/export const PROTOCOL_VERSION = \d+;/, 'export const PROTOCOL_VERSION = 1;'));
  let arn = '';
  await waitFor('protocol-1 bundle offered', async () => {
    try {
      const r = await f.client.send(new CreateReplicationInstanceCommand({ ReplicationInstanceIdentifier: 'ri-old', ReplicationInstanceClass: 'dms.c5.xlarge', EngineVersion: version }));
      arn = r.ReplicationInstance!.ReplicationInstanceArn!;
      return true;
    } catch {
      return false;
    }
  }, 10_000, 50);
  await waitFor('ri-old available', async () => {
    const r = await f.client.send(new DescribeReplicationInstancesCommand({ Filters: [{ Name: 'replication-instance-arn', Values: [arn] }] }));
    return r.ReplicationInstances![0]!.ReplicationInstanceStatus === 'available';
  }, 30_000, 50);
  return arn;
}

it('halts at a task that fails its health gate and puts it back, running, on the old instance; an older engine gets no prepare-task', async () => {
  const old = await protocolOneInstance();
  const r = await f.svc.cli([
    'upgrade-replication-instance', '--source-replication-instance-arn', a, '--target-replication-instance-arn', old, '--health-check-timeout-seconds', '0.001', '--output', 'json',
  ]);
  expect(r.code).toBe(254);
  const u = (JSON.parse(r.stdout) as { Upgrade: UpgradeRecord }).Upgrade;
  expect(u.Status).toBe('failed');
  expect(u.Tasks[0]).toMatchObject({ ReplicationTaskIdentifier: 'cu-t1', Step: 'rolled-back', Message: expect.stringContaining('health check did not pass') });
  // The fallback: said in the record and in the service log, and the task still resumed there.
  expect(u.Tasks[0]!.Preparation).toMatch(/; catalog not prepared on ri-old: its engine \(protocol 1\) predates prepare-task, so the resume reads it$/);
  expect(f.svc.logs()).toContain('ri-old runs an engine speaking internal protocol 1, which has no prepare-task; falling back: the resume on ri-old reads the catalog itself');
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
  for (const t of TABLES) {
    expect(r.stdout).toMatch(
      new RegExp(`\\d\\d:\\d\\d:\\d\\d  cu-${t}\\s+prepared  1 table\\(s\\) in the source catalog; slot opendms_\\S+ present; publication \\S+ covers them; all on the target; catalog prepared on ri-b \\(1 mapped table\\(s\\), 1 on the target\\)\\n`),
    );
  }
  expect(r.stdout.match(/ prepared {2}/g)).toHaveLength(5);
  const handovers = [...r.stdout.matchAll(/handover took (\d+) ms/g)].map((m) => Number(m[1]));
  expect(handovers).toHaveLength(5);
  const now = await tasks();
  expect(now.every((t) => t.Status === 'running' && t.ReplicationInstanceArn === b)).toBe(true);
  // Each resume on ri-b used the catalog ri-b prepared while the task still ran on ri-a (the writer
  // changes rows only, so every catalog stamp still matched).
  for (const arn of f.taskArns) {
    const events = await f.client.send(new DescribeEventsCommand({ SourceIdentifier: now.find((t) => t.ReplicationTaskArn === arn)!.ReplicationTaskIdentifier, Duration: 60 }));
    const messages = events.Events!.map((e) => e.Message ?? '');
    expect(messages).toContainEqual(expect.stringMatching(/used the catalog prepared on this replication instance [\d.]+ s ago: source catalog unchanged \(5 table\(s\)\)/));
    expect(messages.filter((m) => /stale|changed since/.test(m))).toEqual([]);
  }
  await f.stopWriting();
  await f.identical();
}, 180_000);

it('keeps a record of each upgrade, and checks the extension API input like the DMS API', async () => {
  const listed = await f.svc.cli(['describe-replication-instance-upgrades']);
  expect(listed.code).toBe(0);
  const upgrades = (JSON.parse(listed.stdout) as { Upgrades: UpgradeRecord[] }).Upgrades;
  expect(upgrades.map((u) => u.Status)).toEqual(['succeeded', 'failed']); // newest first; a dry run keeps nothing
  expect(upgrades[0]!.Tasks.every((t) => t.Step === 'done' && typeof t.HandoverMillis === 'number')).toBe(true);
  for (const t of upgrades[0]!.Tasks) expect(t.Preparation).toMatch(/^1 table\(s\) in the source catalog; slot opendms_\S+ present; publication \S+ covers them; all on the target; catalog prepared on ri-b \(1 mapped table\(s\), 1 on the target\)$/);

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
