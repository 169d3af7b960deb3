/**
 * Where replication instances live on disk: one work dir per instance, named after its ARN
 * suffix (stable across renames), and the control socket the instance processes connect to.
 *
 *   <data-dir>/run/control.sock                         control plane <-> instances (mode 0600)
 *   <data-dir>/instances/<resource-id>/                 the instance's storage (AllocatedStorage quota)
 *   <data-dir>/instances/<resource-id>/instance.pid     its process id
 *   <data-dir>/instances/<resource-id>/instance.log     its log (JSON lines)
 *   <data-dir>/instances/<resource-id>/tasks/<task-id>/ a hosted task's spill files and task.log
 */
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resourceIdOf } from '../model/arn.js';
import { TASK_LOG_FILE } from '../instance/protocol.js';

/** Unix socket paths are limited to ~107 bytes; longer data-dir paths use a socket in the temp dir. */
const MAX_SOCKET_PATH = 100;

export function controlSocketPath(dataDir: string): string {
  const preferred = join(dataDir, 'run', 'control.sock');
  if (Buffer.byteLength(preferred) <= MAX_SOCKET_PATH) return preferred;
  return join(tmpdir(), `opendms-${createHash('sha256').update(dataDir).digest('hex').slice(0, 16)}.sock`);
}

export function instanceWorkDir(dataDir: string, instanceArn: string): string {
  return join(dataDir, 'instances', resourceIdOf(instanceArn));
}

/** The directory a task may use on its instance (TaskSpec.workDir). */
export function taskWorkDir(dataDir: string, instanceArn: string, taskArn: string): string {
  return join(instanceWorkDir(dataDir, instanceArn), 'tasks', resourceIdOf(taskArn));
}

/** The log the instance keeps for a task it hosts (sized by DescribeReplicationInstanceTaskLogs). */
export function taskLogPath(dataDir: string, instanceArn: string, taskArn: string): string {
  return join(taskWorkDir(dataDir, instanceArn, taskArn), TASK_LOG_FILE);
}
