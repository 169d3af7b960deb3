/**
 * Making engine bundles: `buildBundle` stamps a copy of the running build as version X (how the
 * running build installs itself, and how `opendms engine build --version X` makes a version to try
 * an upgrade path with); `installBundle` takes a bundle directory or tarball made elsewhere.
 *
 * Dependencies are not copied: a bundle's node_modules is a symlink to the installing build's
 * (resolved to its real path), so bundles stay small. A bundle that ships its own node_modules
 * keeps it.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RUNNING_ENGINE_VERSION } from '../model/engine-versions.js';
import { SUPPORTED_PROTOCOL_VERSIONS } from '../instance/protocol.js';
import { bundleEntryPoint, bundlePath, enginesDir, runningBuildRoot, STAGING_PREFIX } from './layout.js';
import { checkManifest, MANIFEST_FILE, readManifest, runningManifest, type BundleLifecycle, type EngineManifest } from './manifest.js';

export interface BuildOptions {
  dataDir: string;
  version: string;
  lifecycle?: BundleLifecycle;
  /** The build to copy (default: the one running this code). */
  fromRoot?: string;
}

/** Writes a bundle under a staging name, then renames it into place (readers never see half of one). */
function publish(dataDir: string, version: string, fill: (staging: string) => void): string {
  const final = bundlePath(dataDir, version);
  if (existsSync(final)) throw new Error(`engine version ${version} is already installed in ${final}`);
  mkdirSync(enginesDir(dataDir), { recursive: true });
  const staging = join(enginesDir(dataDir), `${STAGING_PREFIX}${version}-${randomBytes(4).toString('hex')}`);
  try {
    fill(staging);
    renameSync(staging, final);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  return final;
}

function linkNodeModules(bundleDir: string, fromRoot: string): void {
  const target = join(bundleDir, 'node_modules');
  if (existsSync(target)) return;
  symlinkSync(realpathSync(join(fromRoot, 'node_modules')), target, 'dir');
}

/** Stamps a copy of a build (default: the running one) as engine version `version`. */
export function buildBundle(options: BuildOptions): { dir: string; manifest: EngineManifest } {
  const fromRoot = options.fromRoot ?? runningBuildRoot();
  const manifest: EngineManifest = { ...runningManifest(options.version), ...(options.lifecycle ? { lifecycle: options.lifecycle } : {}) };
  checkManifest(manifest, `for version ${options.version}`);
  if (!existsSync(join(fromRoot, 'dist', 'src', 'bin', 'instance.js'))) throw new Error(`${fromRoot} has no built dist/src/bin/instance.js; build it first (npm run build)`);
  const dir = publish(options.dataDir, options.version, (staging) => {
    mkdirSync(staging, { recursive: true });
    cpSync(join(fromRoot, 'dist'), join(staging, 'dist'), { recursive: true });
    const pkg = JSON.parse(readFileSync(join(fromRoot, 'package.json'), 'utf8')) as Record<string, unknown>;
    // The instance reports the version in its package.json; the supervisor refuses a mismatch.
    writeFileSync(join(staging, 'package.json'), `${JSON.stringify({ ...pkg, version: options.version }, null, 2)}\n`);
    linkNodeModules(staging, fromRoot);
    writeFileSync(join(staging, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  });
  return { dir, manifest };
}

/** The directory in `root` holding engine.json: root itself or its only subdirectory (a tarball's top folder). */
function findBundleRoot(root: string): string {
  if (existsSync(join(root, MANIFEST_FILE))) return root;
  const dirs = readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory());
  if (dirs.length === 1 && existsSync(join(root, dirs[0]!.name, MANIFEST_FILE))) return join(root, dirs[0]!.name);
  throw new Error(`no ${MANIFEST_FILE} found in ${root} (nor in a single top-level folder of it)`);
}

/** Checks that a bundle can run as an instance of this control plane. */
function checkBundle(dir: string): EngineManifest {
  const manifest = readManifest(dir);
  if (!SUPPORTED_PROTOCOL_VERSIONS.includes(manifest.protocolVersion)) {
    throw new Error(
      `engine ${manifest.version} speaks internal protocol ${manifest.protocolVersion}; this control plane drives ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')}. Upgrade the control plane first.`,
    );
  }
  if (!existsSync(bundleEntryPoint(dir))) throw new Error(`bundle ${dir} has no dist/src/bin/instance.js`);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: string };
  if (pkg.version !== manifest.version) {
    throw new Error(`bundle ${dir}: package.json says version ${pkg.version}, engine.json says ${manifest.version}; they must agree`);
  }
  return manifest;
}

/** Installs a bundle from a directory or a tarball (.tar, .tgz, .tar.gz) into `<data-dir>/engines/<version>/`. */
export function installBundle(dataDir: string, source: string): { dir: string; manifest: EngineManifest } {
  if (!existsSync(source)) throw new Error(`${source} does not exist`);
  let unpacked: string | undefined;
  try {
    let root = source;
    if (!statSync(source).isDirectory()) {
      unpacked = mkdtempSync(join(tmpdir(), 'opendms-bundle-'));
      execFileSync('tar', ['-xf', source, '-C', unpacked], { stdio: ['ignore', 'ignore', 'pipe'] });
      root = unpacked;
    }
    const from = findBundleRoot(root);
    const manifest = checkBundle(from);
    const dir = publish(dataDir, manifest.version, (staging) => {
      cpSync(from, staging, { recursive: true, verbatimSymlinks: true });
      if (!existsSync(join(staging, 'node_modules'))) linkNodeModules(staging, runningBuildRoot());
    });
    return { dir, manifest };
  } finally {
    if (unpacked) rmSync(unpacked, { recursive: true, force: true });
  }
}

/** At service start: the running build becomes one of the bundles if it is not there yet. */
export function ensureRunningBundle(dataDir: string): string | undefined {
  if (existsSync(bundlePath(dataDir, RUNNING_ENGINE_VERSION))) return undefined;
  return buildBundle({ dataDir, version: RUNNING_ENGINE_VERSION }).dir;
}
