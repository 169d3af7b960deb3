/**
 * Scenario: a replication-instance process hangs (here: SIGSTOP) — its socket stays open, so only
 * the missing heartbeats tell. The supervisor's watchdog must kill it after 30 s of silence and
 * restart it: status `rebooting`, a `Failure` event naming the cause, then `available` again.
 */
import { DescribeEventsCommand, type DatabaseMigrationServiceClient } from '@aws-sdk/client-database-migration-service';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createAvailableInstance, instancePid, instanceStatus, isAlive, liveInstancePid, steadyClient } from '../helpers/instances.js';
import { waitFor } from '../helpers/ports.js';
import { startService, type RunningService } from '../helpers/service.js';

let svc: RunningService;
let client: DatabaseMigrationServiceClient;
let arn: string;

beforeAll(async () => {
  svc = await startService();
  client = steadyClient(svc);
  arn = await createAvailableInstance(client, 'sleeper');
});
afterAll(async () => {
  await svc?.destroy();
});

const status = (): Promise<string> => instanceStatus(client, arn);

it('kills and restarts an instance that stopped sending heartbeats', async () => {
  const pid = await waitFor('the instance pid', async () => liveInstancePid(svc.dataDir, arn), 10_000, 20);
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
