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
    args: [`--max-old-space-size=${cls.memoryMiB}`, instanceEntryPoint(engine)],
    env,
  };
}
