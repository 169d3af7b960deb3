/**
 * Scenario: a replication-instance process is killed with SIGKILL (OOM killer, operator error).
 * The supervisor must notice, say so in the instance's status (`rebooting`) and in events
 * (`Failure`), restart it, and report it `available` again once the new process says hello.
 * Also: when the control plane itself is killed, its instance processes exit instead of leaking.
 */
import { DescribeEventsCommand, type DatabaseMigrationServiceClient } from '@aws-sdk/client-database-migration-service';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createAvailableInstance, instanceStatus, isAlive, liveInstancePid, steadyClient } from '../helpers/instances.js';
import { waitFor } from '../helpers/ports.js';
import { startService, type RunningService } from '../helpers/service.js';

let svc: RunningService;
let client: DatabaseMigrationServiceClient;
let arn: string;

beforeAll(async () => {
  svc = await startService();
  client = steadyClient(svc);
  arn = await createAvailableInstance(client, 'victim');
});
afterAll(async () => {
  await svc?.destroy();
});

const status = (): Promise<string> => instanceStatus(client, arn);
const alive = isAlive;
const livePid = (): number | undefined => liveInstancePid(svc.dataDir, arn);

it('restarts a SIGKILLed instance process: rebooting, Failure events, available again with a new PID', async () => {
  const victim = await waitFor('the instance pid', async () => livePid(), 10_000, 20);
  const seen = new Set<string>();
  process.kill(victim, 'SIGKILL');
  // Watch the status leave `available` and come back (the restart is quick, so poll tightly).
  await waitFor('the instance to be back', async () => {
    const s = await status();
    seen.add(s);
    return seen.has('rebooting') && s === 'available';
  }, 20_000, 5);
  const successor = livePid();
  expect(successor).toBeDefined();
  expect(successor).not.toBe(victim);
  expect(alive(victim)).toBe(false);

  const events = await client.send(new DescribeEventsCommand({ SourceType: 'replication-instance', SourceIdentifier: 'victim', EventCategories: ['Failure'] }));
  const messages = events.Events!.map((e) => e.Message!);
  expect(messages).toContain('Replication instance process ended unexpectedly (killed by SIGKILL); restarting it.');
  expect(messages).toContain('Replication instance recovered: its process was restarted.');
});

it('survives being killed repeatedly (restart backoff) and ends up available', async () => {
  for (let i = 0; i < 3; i++) {
    const pid = await waitFor('a live instance pid', async () => livePid(), 20_000, 20);
    process.kill(pid, 'SIGKILL');
    await waitFor('the old process to be gone', async () => !alive(pid), 5_000, 10);
  }
  await waitFor('the instance to be available again', async () => (await status()) === 'available' && livePid() !== undefined, 30_000, 20);
});

it('instance processes exit when the control plane is killed, and come back with the service', async () => {
  const pid = await waitFor('a live instance pid', async () => livePid(), 20_000, 20);
  await svc.kill('SIGKILL');
  await waitFor('the orphaned instance to exit', async () => !alive(pid), 15_000, 20);
  await svc.restart();
  client = steadyClient(svc);
  await waitFor('the instance to be available after the restart', async () => (await status()) === 'available', 20_000, 20);
  const successor = livePid();
  expect(successor).toBeDefined();
  expect(successor).not.toBe(pid);
});

it('a leftover instance process of a killed control plane is ended before its successor starts (never two at once)', async () => {
  const pid = await waitFor('a live instance pid', async () => livePid(), 20_000, 20);
  // A frozen process cannot notice that its control plane died: it stands for one that is slow to exit.
  process.kill(pid, 'SIGSTOP');
  try {
    await svc.kill('SIGKILL');
    expect(alive(pid)).toBe(true);
    await svc.restart();
    client = steadyClient(svc);
    await waitFor('the instance to be available after the restart', async () => (await status()) === 'available', 40_000, 20);
    expect(alive(pid)).toBe(false);
    expect(livePid()).not.toBe(pid);
  } finally {
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
});
