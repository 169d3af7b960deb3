/**
 * Scenario: a replication-instance process hangs (here: SIGSTOP) — its socket stays open, so only
 * the missing heartbeats tell. The supervisor's watchdog must kill it after 30 s of silence and
 * restart it: status `rebooting`, a `Failure` event naming the cause, then `available` again.
 */
import {
  CreateReplicationInstanceCommand,
  DescribeEventsCommand,
  DescribeReplicationInstancesCommand,
  type DatabaseMigrationServiceClient,
} from '@aws-sdk/client-database-migration-service';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { instancePid, isAlive, steadyClient } from '../helpers/instances.js';
import { waitFor } from '../helpers/ports.js';
import { startService, type RunningService } from '../helpers/service.js';

let svc: RunningService;
let client: DatabaseMigrationServiceClient;
let arn: string;

beforeAll(async () => {
  svc = await startService();
  client = steadyClient(svc);
  const out = await client.send(new CreateReplicationInstanceCommand({ ReplicationInstanceIdentifier: 'sleeper', ReplicationInstanceClass: 'dms.t3.micro' }));
  arn = out.ReplicationInstance!.ReplicationInstanceArn!;
  await waitFor('sleeper to be available', async () => (await status()) === 'available', 20_000, 20);
});
afterAll(async () => {
  await svc?.destroy();
});

async function status(): Promise<string> {
  const out = await client.send(new DescribeReplicationInstancesCommand({ Filters: [{ Name: 'replication-instance-arn', Values: [arn] }] }));
  return out.ReplicationInstances![0]!.ReplicationInstanceStatus!;
}

it('kills and restarts an instance that stopped sending heartbeats', async () => {
  const pid = await waitFor('the instance pid', async () => {
    const p = instancePid(svc.dataDir, arn);
    return p !== undefined && isAlive(p) ? p : undefined;
  }, 10_000, 20);
  const stoppedAt = Date.now();
  process.kill(pid, 'SIGSTOP');
  try {
    const seen = new Set<string>();
    await waitFor('the hung instance to be replaced', async () => {
      const s = await status();
      seen.add(s);
      const current = instancePid(svc.dataDir, arn);
      return seen.has('rebooting') && s === 'available' && current !== pid;
    }, 60_000, 20);
    // Not before the heartbeat timeout: a slow instance is not a hung one.
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(29_000);
    expect(isAlive(pid)).toBe(false);
  } finally {
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  const events = await client.send(new DescribeEventsCommand({ SourceType: 'replication-instance', SourceIdentifier: 'sleeper', EventCategories: ['Failure'] }));
  expect(events.Events!.map((e) => e.Message)).toContainEqual(expect.stringMatching(/sent no heartbeat for \d+ s and was killed/));
}, 90_000);
