/**
 * The one place the replication-instance process reads its environment: the control plane passes
 * who the instance is and how to reach it (see INSTANCE_ENV in protocol.ts).
 */
import { INSTANCE_ENV } from './protocol.js';

export interface InstanceConfig {
  instanceArn: string;
  /** ARN suffix: the instance id in every log line and the name of its work dir. */
  instanceId: string;
  controlSocket: string;
  token: string;
  workDir: string;
  /** The engine version the control plane launched this process for (the hello reports the build's own). */
  expectedEngineVersion: string;
  logLevel: string;
  /** Tasks this instance may run at once (its class's task slots). */
  taskSlots: number;
}

export function readInstanceConfig(env: NodeJS.ProcessEnv = process.env): Readonly<InstanceConfig> {
  const get = (name: string): string => {
    const v = env[name];
    if (!v) throw new Error(`${name} is not set: replication-instance processes are launched by the opendms control plane`);
    return v;
  };
  const instanceArn = get(INSTANCE_ENV.instanceArn);
  return Object.freeze({
    instanceArn,
    instanceId: instanceArn.slice(instanceArn.lastIndexOf(':') + 1),
    controlSocket: get(INSTANCE_ENV.controlSocket),
    token: get(INSTANCE_ENV.token),
    workDir: get(INSTANCE_ENV.workDir),
    expectedEngineVersion: get(INSTANCE_ENV.engineVersion),
    logLevel: env[INSTANCE_ENV.logLevel] ?? 'info',
    taskSlots: Number(env[INSTANCE_ENV.taskSlots]) > 0 ? Number(env[INSTANCE_ENV.taskSlots]) : Number.POSITIVE_INFINITY,
  });
}
