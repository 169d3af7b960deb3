/**
 * Helpers for tests that watch replication-instance processes: a client that survives a loaded
 * machine, and the process behind an instance (its pid file, whether it still runs).
 */
import { readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { CreateReplicationInstanceCommand, DatabaseMigrationServiceClient, DescribeReplicationInstancesCommand } from '@aws-sdk/client-database-migration-service';
import { waitFor } from './ports.js';
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

/** The pid of the instance's process while it runs. */
export function liveInstancePid(dataDir: string, arn: string): number | undefined {
  const pid = instancePid(dataDir, arn);
  return pid !== undefined && isAlive(pid) ? pid : undefined;
}

/** The status DescribeReplicationInstances reports for one instance. */
export async function instanceStatus(client: DatabaseMigrationServiceClient, arn: string): Promise<string> {
  const out = await client.send(new DescribeReplicationInstancesCommand({ Filters: [{ Name: 'replication-instance-arn', Values: [arn] }] }));
  return out.ReplicationInstances![0]!.ReplicationInstanceStatus!;
}

/** Creates a dms.t3.micro instance and waits until its process said hello; returns its ARN. */
export async function createAvailableInstance(client: DatabaseMigrationServiceClient, identifier: string): Promise<string> {
  const out = await client.send(new CreateReplicationInstanceCommand({ ReplicationInstanceIdentifier: identifier, ReplicationInstanceClass: 'dms.t3.micro' }));
  const arn = out.ReplicationInstance!.ReplicationInstanceArn!;
  await waitFor(`${identifier} to be available`, async () => (await instanceStatus(client, arn)) === 'available', 20_000, 20);
  return arn;
}
