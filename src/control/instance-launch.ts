/**
 * How a replication-instance process is started: which program (from the instance's engine
 * version) and with which limits (from its class).
 *
 * The running build's instance program is `dist/src/bin/instance.js` next to this module; an
 * engine bundle (issue 5) has the same layout under its own directory, so an instance on version
 * X always runs X's code.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findEngineVersion, type EngineVersionInfo } from '../model/engine-versions.js';
import { findInstanceClass } from '../model/instance-classes.js';
import { INSTANCE_ENV } from '../instance/protocol.js';

export interface LaunchCommand {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

export interface LaunchInput {
  instanceArn: string;
  instanceClass: string;
  engineVersion: string;
  workDir: string;
  controlSocket: string;
  token: string;
  logLevel: string;
  /** The control plane's environment, from which only harmless variables are passed on. */
  parentEnv: NodeJS.ProcessEnv;
}

export function instanceEntryPoint(engine: EngineVersionInfo): string {
  return engine.bundleDir
    ? join(engine.bundleDir, 'dist', 'src', 'bin', 'instance.js')
    : fileURLToPath(new URL('../bin/instance.js', import.meta.url));
}

/** Variables an instance may inherit; API keys and everything else stay in the control plane. */
const INHERITED_ENV = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'];

/**
 * V8 garbage-collector settings of every instance process. They cap nothing (the heap cap stays
 * the class's memory), they make V8 collect earlier: by default, with a multi-GB cap, V8 lets the
 * old generation grow to ~4x its live size before a full collection, and the CDC apply path
 * promotes a lot of short-lived garbage (events held across a target round trip), so a task whose
 * live heap is ~25 MB peaked at ~120 MB of heap (220 MB RSS) on a 1M-row transaction. Growing by
 * 1.5x and a young generation of 8 MB semi-spaces brought that peak to ~60 MB of heap, at no
 * measurable CPU cost (bench/README.md, `memory`).
 */
export const INSTANCE_V8_FLAGS = ['--heap-growing-percent=50', '--max-semi-space-size=8'];

export function instanceLaunchCommand(input: LaunchInput): LaunchCommand {
  const engine = findEngineVersion(input.engineVersion);
  if (!engine) throw new Error(`engine version ${input.engineVersion} is not installed`);
  const cls = findInstanceClass(input.instanceClass);
  if (!cls) throw new Error(`unknown replication instance class ${input.instanceClass}`);
  const env: NodeJS.ProcessEnv = {};
  for (const name of INHERITED_ENV) if (input.parentEnv[name] !== undefined) env[name] = input.parentEnv[name];
  Object.assign(env, {
    [INSTANCE_ENV.instanceArn]: input.instanceArn,
    [INSTANCE_ENV.controlSocket]: input.controlSocket,
    [INSTANCE_ENV.token]: input.token,
    [INSTANCE_ENV.workDir]: input.workDir,
    [INSTANCE_ENV.engineVersion]: engine.version,
    [INSTANCE_ENV.taskSlots]: String(cls.taskSlots),
    [INSTANCE_ENV.logLevel]: input.logLevel,
  });
  return {
    command: process.execPath,
    args: [`--max-old-space-size=${cls.memoryMiB}`, ...INSTANCE_V8_FLAGS, instanceEntryPoint(engine)],
    env,
  };
}
