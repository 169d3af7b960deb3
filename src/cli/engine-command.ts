/**
 * `opendms engine`: the engine bundles of a local service's data dir (docs/upgrades.md).
 *
 *   opendms engine list [--data-dir D] [--output json|table]
 *   opendms engine build --version X [--lifecycle default|available|deprecated]
 *   opendms engine install <bundle-dir-or-tarball>
 *   opendms engine set-lifecycle <version> <default|available|deprecated>
 *
 * These work on files, not through the API: a running service notices the change by itself
 * (it watches `<data-dir>/engines/`).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { defaultDataDir } from '../config/server-config.js';
import { buildBundle, installBundle } from '../engine-bundles/build.js';
import { enginesDir, LIFECYCLE_FILE } from '../engine-bundles/layout.js';
import type { BundleLifecycle } from '../engine-bundles/manifest.js';
import { engineVersionsOf, readLifecycleFile, scanBundles } from '../engine-bundles/registry.js';
import { compareVersions, RUNNING_ENGINE_VERSION } from '../model/engine-versions.js';

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

export function registerEngineCommand(program: Command): void {
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
