/**
 * Where engine bundles live and where the running build is.
 *
 *   <data-dir>/engines/<version>/engine.json     manifest (manifest.ts)
 *   <data-dir>/engines/<version>/package.json    the build's package.json, `version` = <version>
 *   <data-dir>/engines/<version>/dist/           compiled code; instances run dist/src/bin/instance.js
 *   <data-dir>/engines/<version>/node_modules    symlink to the installing build's node_modules
 *   <data-dir>/engines/lifecycle.json            optional {"<version>": "default|available|deprecated"}
 *
 * Bundles are written under a temporary name in the same directory and renamed into place, so a
 * reader (the control plane's registry) never sees half a bundle.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const LIFECYCLE_FILE = 'lifecycle.json';
/** Prefix of bundles being written; the registry ignores them. */
export const STAGING_PREFIX = '.staging-';

export function enginesDir(dataDir: string): string {
  return join(dataDir, 'engines');
}

export function bundlePath(dataDir: string, version: string): string {
  return join(enginesDir(dataDir), version);
}

/** The program an instance on a bundle runs. */
export function bundleEntryPoint(bundleDir: string): string {
  return join(bundleDir, 'dist', 'src', 'bin', 'instance.js');
}

/**
 * The root of the build this module belongs to: the nearest directory above it whose package.json
 * is named "opendms" (the repository, an installed package, or a bundle).
 */
export function runningBuildRoot(from: string = import.meta.dirname): string {
  let dir = from;
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate) && (JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string }).name === 'opendms') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no opendms package.json found above ${from}`);
    dir = parent;
  }
}
