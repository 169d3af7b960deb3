/**
 * The engine versions installed under the data dir, as the control plane sees them: scanned at
 * start and again whenever `<data-dir>/engines/` changes (`opendms engine install|build` while the
 * service runs), and handed to src/model/engine-versions.ts so DescribeEngineVersions,
 * DescribeOrderableReplicationInstances and CreateReplicationInstance know them.
 *
 * Lifecycle: `engines/lifecycle.json` wins over a bundle's own `lifecycle`; a bundle that says
 * nothing is `available`; the running build is the default unless some bundle is marked default.
 * The running build's version always runs the running build's own code (not its bundle copy), so
 * a rebuilt development tree never launches instances from a stale copy of the same version.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../config/logger.js';
import { SUPPORTED_PROTOCOL_VERSIONS } from '../instance/protocol.js';
import { RUNNING_ENGINE_VERSION, setInstalledEngineVersions, type EngineLifecycle, type EngineVersionInfo } from '../model/engine-versions.js';
import { ensureRunningBundle } from './build.js';
import { enginesDir, LIFECYCLE_FILE, STAGING_PREFIX } from './layout.js';
import { readManifest, type BundleLifecycle, type EngineManifest } from './manifest.js';

export interface InstalledBundle {
  dir: string;
  manifest: EngineManifest;
  lifecycle: BundleLifecycle;
}

const API_LIFECYCLE: Record<BundleLifecycle, EngineLifecycle> = { default: 'DEFAULT_VERSION', available: 'AVAILABLE', deprecated: 'DEPRECATED' };

export function readLifecycleFile(dataDir: string): Record<string, BundleLifecycle> {
  const path = join(enginesDir(dataDir), LIFECYCLE_FILE);
  if (!existsSync(path)) return {};
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  const out: Record<string, BundleLifecycle> = {};
  for (const [version, lifecycle] of Object.entries(raw)) {
    if (lifecycle === 'default' || lifecycle === 'available' || lifecycle === 'deprecated') out[version] = lifecycle;
  }
  return out;
}

/** Every valid bundle under `<data-dir>/engines/`; broken ones are reported through `onError` and skipped. */
export function scanBundles(dataDir: string, onError: (dir: string, err: Error) => void = () => undefined): InstalledBundle[] {
  const root = enginesDir(dataDir);
  if (!existsSync(root)) return [];
  const lifecycles = readLifecycleFile(dataDir);
  const bundles: InstalledBundle[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith(STAGING_PREFIX)) continue;
    const dir = join(root, entry.name);
    try {
      const manifest = readManifest(dir);
      if (manifest.version !== entry.name) throw new Error(`its engine.json says version ${manifest.version}, but the directory is named ${entry.name}`);
      if (!SUPPORTED_PROTOCOL_VERSIONS.includes(manifest.protocolVersion)) {
        throw new Error(`it speaks internal protocol ${manifest.protocolVersion}; this control plane drives ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')}`);
      }
      bundles.push({ dir, manifest, lifecycle: lifecycles[manifest.version] ?? manifest.lifecycle ?? 'available' });
    } catch (err) {
      onError(dir, err as Error);
    }
  }
  return bundles;
}

/** The engine versions the control plane offers, from the bundles found. */
export function engineVersionsOf(bundles: InstalledBundle[], dataDir: string): EngineVersionInfo[] {
  const lifecycles = readLifecycleFile(dataDir);
  const someDefault = bundles.some((b) => b.lifecycle === 'default' && b.manifest.version !== RUNNING_ENGINE_VERSION);
  const running: EngineVersionInfo = {
    version: RUNNING_ENGINE_VERSION,
    lifecycle: API_LIFECYCLE[lifecycles[RUNNING_ENGINE_VERSION] ?? (someDefault ? 'available' : 'default')],
    releaseStatus: 'prod',
  };
  const others = bundles
    .filter((b) => b.manifest.version !== RUNNING_ENGINE_VERSION)
    .map((b): EngineVersionInfo => ({ version: b.manifest.version, lifecycle: API_LIFECYCLE[b.lifecycle], releaseStatus: 'prod', bundleDir: b.dir }));
  return [running, ...others];
}

/** Scans and publishes the installed versions (engine-versions.ts). */
export function loadEngineBundles(dataDir: string, log: Logger): EngineVersionInfo[] {
  const bundles = scanBundles(dataDir, (dir, err) => log.warn({ dir, err: err.message }, 'ignoring an engine bundle that cannot be read'));
  const versions = engineVersionsOf(bundles, dataDir);
  setInstalledEngineVersions(versions);
  return versions;
}

/**
 * Keeps the published versions in step with `<data-dir>/engines/`. Bundles appear by a rename of a
 * finished directory, so one directory event means one complete change; events that come in a
 * burst are folded into one scan.
 */
export function watchEngineBundles(dataDir: string, log: Logger): { close(): void } {
  const root = enginesDir(dataDir);
  mkdirSync(root, { recursive: true });
  let queued = false;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(root, () => {
      if (queued) return;
      queued = true;
      setImmediate(() => {
        queued = false;
        try {
          const versions = loadEngineBundles(dataDir, log);
          log.debug({ versions: versions.map((v) => v.version) }, 'engine versions rescanned');
        } catch (err) {
          log.warn({ err }, 'cannot rescan engine bundles');
        }
      });
    });
    watcher.on('error', (err) => log.warn({ err }, 'engine bundle watch failed; restart the service to see new bundles'));
  } catch (err) {
    log.warn({ err }, 'cannot watch the engines directory; restart the service to see new bundles');
  }
  return { close: () => watcher?.close() };
}

/**
 * At service start: installs the running build as a bundle if it is missing, publishes every
 * installed version, and follows `<data-dir>/engines/` from then on. Call before instances launch
 * (an instance on a bundle's version needs that version known).
 */
export function startEngineRegistry(dataDir: string, log: Logger): { close(): void } {
  try {
    const dir = ensureRunningBundle(dataDir);
    if (dir) log.info({ dir, version: RUNNING_ENGINE_VERSION }, 'installed the running build as an engine bundle');
  } catch (err) {
    log.warn({ err }, 'cannot install the running build as an engine bundle; instances on it run from the build itself');
  }
  loadEngineBundles(dataDir, log);
  return watchEngineBundles(dataDir, log);
}
