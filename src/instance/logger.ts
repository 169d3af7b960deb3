/**
 * The instance process's log: JSON lines (pino) to `<work dir>/instance.log` and to stderr, with
 * the instance id on every line so interleaved output of many instances stays attributable.
 */
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import type { InstanceConfig } from './instance-config.js';
import { INSTANCE_LOG_FILE } from './protocol.js';

export function createInstanceLogger(config: Pick<InstanceConfig, 'instanceArn' | 'instanceId' | 'workDir' | 'logLevel'>): Logger {
  const file = pino.destination({ dest: join(config.workDir, INSTANCE_LOG_FILE), sync: true, mkdir: true });
  const stderr = pino.destination({ dest: 2, sync: true });
  // The control plane may be gone (that is when we log our own shutdown): a closed stderr must
  // not crash the process before it stopped its tasks.
  stderr.on('error', () => {});
  file.on('error', () => {});
  return pino(
    {
      name: 'opendms-instance',
      level: config.logLevel,
      base: { pid: process.pid, instanceId: config.instanceId },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['*.password', '*.Password', 'password', 'Password', '*.*.password', 'token'], censor: '[redacted]' },
    },
    pino.multistream([{ stream: file, level: 'trace' }, { stream: stderr, level: 'trace' }]),
  );
}
