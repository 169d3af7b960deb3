/**
 * `engine.json`: what an engine bundle says about itself. A bundle is a self-contained build of
 * the replication-instance runtime under `<data-dir>/engines/<version>/`:
 *
 *   engine.json      this manifest
 *   package.json     the build's package.json (its `version` is the bundle's version)
 *   dist/            the compiled code; instances run dist/src/bin/instance.js
 *   node_modules     a symlink to the installing build's node_modules (bundles share dependencies)
 *
 * The control plane reads the manifest to know, without running the bundle, which internal
 * protocol it speaks and which recovery-checkpoint formats it reads and writes: that is what
 * decides whether a task may move to (or back to) an instance on that version.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { READABLE_CHECKPOINT_VERSIONS, CHECKPOINT_VERSION } from '../engine/checkpoint.js';
import { PROTOCOL_VERSION } from '../instance/protocol.js';

export const MANIFEST_FILE = 'engine.json';

export type BundleLifecycle = 'default' | 'available' | 'deprecated';

export interface EngineManifest {
  version: string;
  protocolVersion: number;
  checkpointVersions: { reads: string[]; writes: string };
  createdAt: string;
  /** Optional: how DescribeEngineVersions shows it (default: available). */
  lifecycle?: BundleLifecycle;
}

/** The manifest of the code running in this process. */
export function runningManifest(version: string): EngineManifest {
  return {
    version,
    protocolVersion: PROTOCOL_VERSION,
    checkpointVersions: { reads: [...READABLE_CHECKPOINT_VERSIONS], writes: CHECKPOINT_VERSION },
    createdAt: new Date().toISOString(),
  };
}

/** Reads and checks `<bundleDir>/engine.json`; throws a message naming the file and the problem. */
export function readManifest(bundleDir: string): EngineManifest {
  const path = join(bundleDir, MANIFEST_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read engine manifest ${path}: ${(err as Error).message}`, { cause: err });
  }
  return checkManifest(raw, path);
}

export function checkManifest(raw: unknown, where: string): EngineManifest {
  const m = raw as Partial<EngineManifest> | null;
  const bad = (what: string): never => {
    throw new Error(`engine manifest ${where} is invalid: ${what}`);
  };
  if (!m || typeof m !== 'object') return bad('not a JSON object');
  if (typeof m.version !== 'string' || !/^\d+\.\d+\.\d+([.-][0-9A-Za-z.-]+)?$/.test(m.version)) bad('"version" must be a dotted version like 1.2.3');
  if (typeof m.protocolVersion !== 'number') bad('"protocolVersion" must be a number');
  const cv = m.checkpointVersions;
  if (!cv || !Array.isArray(cv.reads) || !cv.reads.every((v) => typeof v === 'string') || typeof cv.writes !== 'string') {
    bad('"checkpointVersions" must be {"reads": ["V1", ...], "writes": "V1"}');
  }
  if (m.lifecycle !== undefined && !['default', 'available', 'deprecated'].includes(m.lifecycle)) bad('"lifecycle" must be default, available or deprecated');
  return m as EngineManifest;
}
