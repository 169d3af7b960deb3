/**
 * Engine upgrades from the command line (docs/upgrades.md).
 *
 * `opendms engine`: the engine bundles of a local service's data dir.
 *
 *   opendms engine list [--data-dir D] [--output json|table]
 *   opendms engine build --version X [--lifecycle default|available|deprecated]
 *   opendms engine install <bundle-dir-or-tarball>
 *   opendms engine set-lifecycle <version> <default|available|deprecated>
 *
 * These work on files, not through the API: a running service notices the change by itself
 * (it watches `<data-dir>/engines/`).
 *
 * `opendms upgrade-replication-instance`: the cascading upgrade, through the API extension
 * OpenDmsExtensions20261101.UpgradeReplicationInstance, with live progress.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { callExtension, ExtensionFault } from '../api/extensions/client.js';
import { resolveCliConfig } from '../config/cli-config.js';
import { defaultDataDir } from '../config/server-config.js';
import type { UpgradeRecord } from '../control/upgrade-orchestrator.js';
import { buildBundle, installBundle } from '../engine-bundles/build.js';
import { enginesDir, LIFECYCLE_FILE } from '../engine-bundles/layout.js';
import type { BundleLifecycle } from '../engine-bundles/manifest.js';
import { engineVersionsOf, readLifecycleFile, scanBundles } from '../engine-bundles/registry.js';
import { compareVersions, RUNNING_ENGINE_VERSION } from '../model/engine-versions.js';
import { EXIT } from './errors.js';

const LIFECYCLES: BundleLifecycle[] = ['default', 'available', 'deprecated'];

interface DataDirFlags {
  dataDir?: string;
}

const dataDirOption = (): Option => new Option('--data-dir <dir>', 'the service data dir (default ~/.opendms, env OPENDMS_DATA_DIR)');
const dataDirOf = (flags: DataDirFlags): string => flags.dataDir ?? defaultDataDir();

function list(flags: DataDirFlags & { output?: string }): void {
  const dataDir = dataDirOf(flags);
  const problems: string[] = [];
  const bundles = scanBundles(dataDir, (dir, err) => problems.push(`${dir}: ${err.message}`));
  const lifecycleOf = new Map(engineVersionsOf(bundles, dataDir).map((v) => [v.version, v.lifecycle]));
  const rows = bundles
    .map((b) => ({
      Version: b.manifest.version,
      Lifecycle: lifecycleOf.get(b.manifest.version) ?? 'AVAILABLE',
      Running: b.manifest.version === RUNNING_ENGINE_VERSION,
      ProtocolVersion: b.manifest.protocolVersion,
      CheckpointReads: b.manifest.checkpointVersions.reads,
      CheckpointWrites: b.manifest.checkpointVersions.writes,
      CreatedAt: b.manifest.createdAt,
      Path: b.dir,
    }))
    .sort((a, b) => compareVersions(a.Version, b.Version));
  if (flags.output === 'table') {
    const header = ['VERSION', 'LIFECYCLE', 'PROTOCOL', 'CHECKPOINTS', 'CREATED', 'PATH'];
    const lines = rows.map((r) => [
      `${r.Version}${r.Running ? ' *' : ''}`,
      r.Lifecycle,
      String(r.ProtocolVersion),
      `reads ${r.CheckpointReads.join(',')} writes ${r.CheckpointWrites}`,
      r.CreatedAt,
      r.Path,
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
    for (const l of [header, ...lines]) process.stdout.write(`${l.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
    if (rows.some((r) => r.Running)) process.stdout.write('* the version of this opendms build\n');
  } else {
    process.stdout.write(`${JSON.stringify({ EngineBundles: rows }, null, 2)}\n`);
  }
  for (const p of problems) process.stderr.write(`opendms: ignoring engine bundle ${p}\n`);
}

function setLifecycle(dataDir: string, version: string, lifecycle: string): void {
  if (!LIFECYCLES.includes(lifecycle as BundleLifecycle)) throw new Error(`lifecycle must be one of ${LIFECYCLES.join(', ')}; got ${lifecycle}`);
  const known = scanBundles(dataDir).map((b) => b.manifest.version);
  if (!known.includes(version)) throw new Error(`engine version ${version} is not installed in ${enginesDir(dataDir)} (installed: ${known.join(', ') || 'none'})`);
  const current = readLifecycleFile(dataDir);
  // One default at a time: the previous default becomes available.
  if (lifecycle === 'default') for (const [v, l] of Object.entries(current)) if (l === 'default') current[v] = 'available';
  current[version] = lifecycle as BundleLifecycle;
  mkdirSync(enginesDir(dataDir), { recursive: true });
  writeFileSync(join(enginesDir(dataDir), LIFECYCLE_FILE), `${JSON.stringify(current, null, 2)}\n`);
}

/** Registers `opendms engine ...` and `opendms upgrade-replication-instance`. */
export function registerEngineCommand(program: Command): void {
  registerUpgradeCommand(program);
  const engine = program
    .command('engine')
    .summary('list, build and install replication engine versions (bundles) of a local service')
    .description('Engine bundles are versions of the replication-instance runtime kept in <data-dir>/engines/. CreateReplicationInstance --engine-version X runs X\'s code.')
    .helpGroup('Service:');
  engine
    .command('list')
    .description('List the engine bundles installed in the data dir (JSON, or --output table).')
    .addOption(dataDirOption())
    .addOption(new Option('--output <format>', 'json (default) or table').choices(['json', 'table']))
    .action((flags: DataDirFlags & { output?: string }) => list(flags));
  engine
    .command('build')
    .description('Stamp a copy of this opendms build as engine version X (to try an upgrade path).')
    .requiredOption('--version <version>', 'the version to stamp, e.g. 0.2.0')
    .addOption(new Option('--lifecycle <lifecycle>', 'how DescribeEngineVersions shows it').choices(LIFECYCLES))
    .addOption(dataDirOption())
    .addHelpText('after', '\nExample:\n  opendms engine build --version 0.2.0 && aws dms describe-engine-versions --endpoint-url http://127.0.0.1:9329')
    .action((flags: DataDirFlags & { version: string; lifecycle?: BundleLifecycle }) => {
      const { dir } = buildBundle({ dataDir: dataDirOf(flags), version: flags.version, ...(flags.lifecycle ? { lifecycle: flags.lifecycle } : {}) });
      process.stdout.write(`built engine ${flags.version} in ${dir}\n`);
    });
  engine
    .command('install')
    .description('Install an engine bundle from a directory or a tarball (.tar, .tgz) holding engine.json, package.json and dist/.')
    .argument('<bundle>', 'bundle directory or tarball')
    .addOption(dataDirOption())
    .action((source: string, flags: DataDirFlags) => {
      if (!existsSync(source)) throw new Error(`${source} does not exist`);
      const { dir, manifest } = installBundle(dataDirOf(flags), source);
      process.stdout.write(`installed engine ${manifest.version} in ${dir}\n`);
    });
  engine
    .command('set-lifecycle')
    .description('Mark an installed engine version default, available or deprecated.')
    .argument('<version>')
    .argument('<lifecycle>', LIFECYCLES.join(' | '))
    .addOption(dataDirOption())
    .action((version: string, lifecycle: string, flags: DataDirFlags) => {
      setLifecycle(dataDirOf(flags), version, lifecycle);
      process.stdout.write(`engine ${version} is now ${lifecycle}\n`);
    });
}

interface UpgradeFlags extends DataDirFlags {
  sourceReplicationInstanceArn: string;
  targetReplicationInstanceArn: string;
  maxConcurrent?: string;
  maxCdcLatencySeconds?: string;
  healthCheckTimeoutSeconds?: string;
  dryRun?: boolean;
  wait: boolean;
  output?: string;
  endpointUrl?: string;
  region?: string;
  profile?: string;
}

const clock = (): string => new Date().toISOString().slice(11, 19);

function planText(u: UpgradeRecord): string {
  const lines = [
    `Upgrade plan: ${u.Tasks.length} task(s) from ${u.SourceReplicationInstanceArn}`,
    `                         to   ${u.TargetReplicationInstanceArn}`,
    `  ${u.MaxConcurrent} at a time; each resumed task must report CDC latency <= ${u.MaxCdcLatencySeconds} s within ${u.HealthCheckTimeoutSeconds} s`,
  ];
  u.Tasks.forEach((t, i) => {
    lines.push(`  ${String(i + 1).padStart(3)}. ${t.ReplicationTaskIdentifier.padEnd(30)} ${t.InitialStatus.padEnd(12)} ${t.Action === 'move-and-resume' ? 'stop, move, resume-processing, health check' : 'move'}`);
    // A dry run's checks (absent when the upgrade actually starts: it checks each task at its turn).
    if (t.WouldBlock !== undefined) lines.push(`       WOULD BLOCK: ${t.WouldBlock}`);
    else if (t.Preparation !== undefined) lines.push(`       checks passed: ${t.Preparation}`);
  });
  if (u.Status === 'planned' && u.Message) lines.push(u.Message);
  return `${lines.join('\n')}\n`;
}

/** The dry run's verdict: a task that would block it makes the command fail, so a script can stop there. */
const dryRunBlocked = (u: UpgradeRecord): boolean => u.Tasks.some((t) => t.WouldBlock !== undefined);

async function upgrade(flags: UpgradeFlags): Promise<void> {
  const num = (v: string | undefined, name: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`${name}: "${v}" is not a number`);
    return n;
  };
  const config = await resolveCliConfig(flags);
  const input = {
    SourceReplicationInstanceArn: flags.sourceReplicationInstanceArn,
    TargetReplicationInstanceArn: flags.targetReplicationInstanceArn,
    ...(flags.maxConcurrent !== undefined ? { MaxConcurrent: num(flags.maxConcurrent, '--max-concurrent') } : {}),
    ...(flags.maxCdcLatencySeconds !== undefined ? { MaxCdcLatencySeconds: num(flags.maxCdcLatencySeconds, '--max-cdc-latency-seconds') } : {}),
    ...(flags.healthCheckTimeoutSeconds !== undefined ? { HealthCheckTimeoutSeconds: num(flags.healthCheckTimeoutSeconds, '--health-check-timeout-seconds') } : {}),
    ...(flags.dryRun ? { DryRun: true } : {}),
  };
  const json = flags.output === 'json';
  let u: UpgradeRecord;
  try {
    u = (await callExtension(config, 'UpgradeReplicationInstance', input)).Upgrade as UpgradeRecord;
  } catch (err) {
    if (err instanceof ExtensionFault) {
      process.stderr.write(`\nAn error occurred (${err.code}) when calling the UpgradeReplicationInstance operation: ${err.message}\n`);
      process.exit(EXIT.fault);
    }
    throw err;
  }
  if (flags.dryRun || !flags.wait) {
    process.stdout.write(json ? `${JSON.stringify({ Upgrade: u }, null, 2)}\n` : planText(u));
    if (flags.dryRun && dryRunBlocked(u)) process.exitCode = EXIT.fault;
    return;
  }
  if (!json) process.stdout.write(`${planText(u)}${clock()}  upgrade ${u.UpgradeId} started\n`);
  const seen = new Map<string, string>();
  const prepared = new Set<string>();
  for (;;) {
    u = ((await callExtension(config, 'DescribeReplicationInstanceUpgrades', { UpgradeId: u.UpgradeId })).Upgrades as UpgradeRecord[])[0]!;
    for (const t of u.Tasks) {
      if (t.Preparation !== undefined && !prepared.has(t.ReplicationTaskArn)) {
        prepared.add(t.ReplicationTaskArn);
        if (!json) process.stdout.write(`${clock()}  ${t.ReplicationTaskIdentifier.padEnd(30)} prepared  ${t.Preparation}\n`);
      }
      const key = `${t.Step}|${t.Message ?? ''}`;
      if (seen.get(t.ReplicationTaskArn) === key || t.Step === 'pending') continue;
      seen.set(t.ReplicationTaskArn, key);
      if (!json) process.stdout.write(`${clock()}  ${t.ReplicationTaskIdentifier.padEnd(30)} ${t.Step}${t.Message ? `  ${t.Message}` : ''}\n`);
    }
    if (u.Status !== 'running') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  if (json) process.stdout.write(`${JSON.stringify({ Upgrade: u }, null, 2)}\n`);
  else {
    const handovers = u.Tasks.map((t) => t.HandoverMillis).filter((m): m is number => m !== undefined);
    process.stdout.write(`${clock()}  upgrade ${u.Status}: ${u.Message ?? ''}\n`);
    if (handovers.length) process.stdout.write(`          handover per task: ${handovers.map((m) => `${m} ms`).join(', ')}\n`);
  }
  if (u.Status !== 'succeeded') process.exitCode = EXIT.fault;
}

async function describeUpgrades(flags: DataDirFlags & { upgradeId?: string; endpointUrl?: string; region?: string; profile?: string }): Promise<void> {
  const config = await resolveCliConfig(flags);
  try {
    const out = await callExtension(config, 'DescribeReplicationInstanceUpgrades', flags.upgradeId ? { UpgradeId: flags.upgradeId } : {});
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } catch (err) {
    if (!(err instanceof ExtensionFault)) throw err;
    process.stderr.write(`\nAn error occurred (${err.code}) when calling the DescribeReplicationInstanceUpgrades operation: ${err.message}\n`);
    process.exit(EXIT.fault);
  }
}

function registerUpgradeCommand(program: Command): void {
  program
    .command('describe-replication-instance-upgrades')
    .summary('cascading upgrades (opendms extension), newest first, with each task\'s step and handover time')
    .helpGroup('Service:')
    .option('--upgrade-id <id>', 'one upgrade')
    .option('--endpoint-url <url>', 'the opendms API (default http://127.0.0.1:9329, env OPENDMS_ENDPOINT_URL)')
    .option('--region <region>', 'region to sign for')
    .option('--profile <name>', 'credentials profile')
    .addOption(dataDirOption())
    .action((flags: DataDirFlags & { upgradeId?: string }) => describeUpgrades(flags));

  program
    .command('upgrade-replication-instance')
    .summary('move every task of a replication instance to another one (e.g. on a newer engine), one health-checked task at a time')
    .description(
      'Cascading upgrade (an opendms extension): each task on the source instance is prepared on the target while it runs, then stopped, moved and resumed ' +
        'with resume-processing, and must pass a health check (running, CDC latency under the threshold) before the next one starts. ' +
        'At the first failure it halts and puts the failed task back on the source instance.',
    )
    .helpGroup('Service:')
    .requiredOption('--source-replication-instance-arn <arn>', 'the instance whose tasks move (the one to upgrade)')
    .requiredOption('--target-replication-instance-arn <arn>', 'the instance they move to (e.g. on the newer engine version)')
    .option('--max-concurrent <n>', 'tasks handed over at the same time (default 1); with --dry-run, tasks checked at the same time (default 4)')
    .option('--max-cdc-latency-seconds <s>', 'health gate: CDC latency a resumed task must be under (default 30)')
    .option('--health-check-timeout-seconds <s>', 'how long a resumed task has to pass the health gate (default 120)')
    .option('--dry-run', 'run every check of each task\'s handover and print the plan with what would block it; change nothing (exit 254 if a task would block)')
    .option('--no-wait', 'start the upgrade and return; follow it with DescribeReplicationInstanceUpgrades')
    .addOption(new Option('--output <format>', 'text (default, live progress) or json (the final record)').choices(['text', 'json']))
    .option('--endpoint-url <url>', 'the opendms API (default http://127.0.0.1:9329, env OPENDMS_ENDPOINT_URL)')
    .option('--region <region>', 'region to sign for')
    .option('--profile <name>', 'credentials profile')
    .addOption(dataDirOption())
    .addHelpText(
      'after',
      `
Examples:
  opendms upgrade-replication-instance --source-replication-instance-arn $OLD --target-replication-instance-arn $NEW --dry-run
  opendms upgrade-replication-instance --source-replication-instance-arn $OLD --target-replication-instance-arn $NEW \\
      --max-concurrent 2 --max-cdc-latency-seconds 10`,
    )
    .action((flags: UpgradeFlags) => upgrade(flags));
}
