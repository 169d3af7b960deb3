/**
 * Helpers for tests that watch replication-instance processes: a client that survives a loaded
 * machine, and the process behind an instance (its pid file, whether it still runs).
 */
import { readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { DatabaseMigrationServiceClient } from '@aws-sdk/client-database-migration-service';
import { TEST_KEYS, type RunningService } from './service.js';

/**
 * A client without keep-alive: under heavy machine load a reused socket can meet the server's
 * keep-alive close (ECONNRESET), which says nothing about what is tested. Transient errors retry once.
 */
export function steadyClient(svc: RunningService): DatabaseMigrationServiceClient {
  return new DatabaseMigrationServiceClient({
    endpoint: svc.url,
    region: svc.region,
    credentials: TEST_KEYS,
    maxAttempts: 2,
    requestHandler: { httpAgent: new Agent({ keepAlive: false }) },
  });
}

/** The work dir of an instance: `<data-dir>/instances/<ARN suffix>`. */
export const instanceWorkDir = (dataDir: string, arn: string): string => join(dataDir, 'instances', arn.slice(arn.lastIndexOf(':') + 1));

/** The pid in the instance's pid file, if there is one. */
export function instancePid(dataDir: string, arn: string): number | undefined {
  try {
    return Number(readFileSync(join(instanceWorkDir(dataDir, arn), 'instance.pid'), 'utf8').trim());
  } catch {
    return undefined;
  }
}

/** Running (a zombie left for an init that does not reap orphans counts as gone). */
export function isAlive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
