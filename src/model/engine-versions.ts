/**
 * Replication engine versions this build can run.
 *
 * An engine version is a build of the replication-instance runtime stamped with its version. For
 * now there is exactly one: the running build, whose version is package.json's `version`. Engine
 * bundles kept under `<data-dir>/engines/<version>/` (issue 5) will be added to this list; the
 * control plane picks the program an instance runs from its EngineVersion
 * (src/control/instance-launch.ts), so instances on two versions can run side by side.
 *
 * @example
 *   defaultEngineVersion().version   // '0.1.0'
 *   findEngineVersion('9.9.9')       // undefined -> InvalidParameterValueException at the API
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export type EngineLifecycle = 'DEFAULT_VERSION' | 'AVAILABLE' | 'DEPRECATED';

export interface EngineVersionInfo {
  version: string;
  lifecycle: EngineLifecycle;
  releaseStatus: 'prod' | 'beta';
  /** Directory of the engine bundle; undefined for the build that is running now. */
  bundleDir?: string;
}

/**
 * Reads the version of the build this module belongs to: the nearest package.json named
 * "opendms" above this file. Walking up (instead of a fixed `../../package.json`) works from the
 * TypeScript sources, from dist/, and from an engine bundle laid out the same way.
 */
function readBuildVersion(): string {
  let dir = import.meta.dirname;
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'opendms' && pkg.version) return pkg.version;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no opendms package.json found above ${import.meta.dirname}`);
    dir = parent;
  }
}

/** The engine version of the running build (read once). */
export const RUNNING_ENGINE_VERSION = readBuildVersion();

const versions: EngineVersionInfo[] = [{ version: RUNNING_ENGINE_VERSION, lifecycle: 'DEFAULT_VERSION', releaseStatus: 'prod' }];

/**
 * Engine bundles found under the data dir (src/engine-bundles/registry.ts) replace the installed
 * list. The running build is always in it: an entry for its version only sets its lifecycle, and
 * it keeps running its own code (no bundleDir).
 */
export function setInstalledEngineVersions(installed: EngineVersionInfo[]): void {
  const running = installed.find((v) => v.version === RUNNING_ENGINE_VERSION);
  const otherDefault = installed.some((v) => v.version !== RUNNING_ENGINE_VERSION && v.lifecycle === 'DEFAULT_VERSION');
  versions.splice(
    0,
    versions.length,
    { version: RUNNING_ENGINE_VERSION, lifecycle: running?.lifecycle ?? (otherDefault ? 'AVAILABLE' : 'DEFAULT_VERSION'), releaseStatus: 'prod' },
    ...installed.filter((v) => v.version !== RUNNING_ENGINE_VERSION),
  );
}

/** Every engine version instances can be created on, oldest first. */
export function listEngineVersions(): EngineVersionInfo[] {
  return [...versions].sort((a, b) => compareVersions(a.version, b.version));
}

export function findEngineVersion(version: string): EngineVersionInfo | undefined {
  return versions.find((v) => v.version === version);
}

/** The version CreateReplicationInstance uses when EngineVersion is omitted. */
export function defaultEngineVersion(): EngineVersionInfo {
  return versions.find((v) => v.lifecycle === 'DEFAULT_VERSION') ?? versions[versions.length - 1]!;
}

/** Numeric, component-wise comparison of dotted versions ('3.10.0' > '3.9.1'). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((p) => Number.parseInt(p, 10) || 0);
  const pb = b.split(/[.-]/).map((p) => Number.parseInt(p, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/** "Major" is the first two dot-separated components (spec §3.3: 3.4 -> 3.5 is major). */
export function isMajorVersionChange(from: string, to: string): boolean {
  return from.split('.').slice(0, 2).join('.') !== to.split('.').slice(0, 2).join('.');
}
