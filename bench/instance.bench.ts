/**
 * Replication-instance processes (issue 3, and the handover budget of issue 5):
 * - create -> available latency (the process starts and says hello), p50/p95 over 10 instances;
 * - reboot -> available and SIGKILL -> available (supervised restart) latencies;
 * - RSS of an idle instance process after a few heartbeats (target < 60 MB).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateReplicationInstanceCommand,
  DescribeReplicationInstancesCommand,
  RebootReplicationInstanceCommand,
  type DatabaseMigrationServiceClient,
} from '@aws-sdk/client-database-migration-service';
import { waitFor } from '../test/helpers/ports.js';
import { startService } from '../test/helpers/service.js';
import { rssMb } from './proc.js';

const N = 10;


function percentiles(samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  return `p50 ${s[Math.floor(s.length / 2)]!.toFixed(0)} ms, p95 ${s[Math.min(s.length - 1, Math.floor(s.length * 0.95))]!.toFixed(0)} ms`;
}

async function waitAvailable(dms: DatabaseMigrationServiceClient, arn: string, leftFirst = false): Promise<void> {
  let left = !leftFirst;
  await waitFor(`${arn} available`, async () => {
    const d = await dms.send(new DescribeReplicationInstancesCommand({ Filters: [{ Name: 'replication-instance-arn', Values: [arn] }] }));
    const status = d.ReplicationInstances?.[0]?.ReplicationInstanceStatus;
    if (status !== 'available') left = true;
    return left && status === 'available';
  }, 60_000, 5);
}

export async function run(): Promise<void> {
  const svc = await startService({ args: ['--log-level', 'warn'] });
  try {
    const dms = svc.client();
    const pidOf = (arn: string): number => Number(readFileSync(join(svc.dataDir, 'instances', arn.split(':').pop()!, 'instance.pid'), 'utf8'));
    const create: number[] = [];
    const arns: string[] = [];
    for (let i = 0; i < N; i++) {
      const t = performance.now();
      const r = await dms.send(new CreateReplicationInstanceCommand({ ReplicationInstanceIdentifier: `bench-${i}`, ReplicationInstanceClass: 'dms.t3.micro' }));
      const arn = r.ReplicationInstance!.ReplicationInstanceArn!;
      await waitAvailable(dms, arn);
      create.push(performance.now() - t);
      arns.push(arn);
    }
    const reboot: number[] = [];
    const killed: number[] = [];
    for (const arn of arns.slice(0, 3)) {
      let t = performance.now();
      await dms.send(new RebootReplicationInstanceCommand({ ReplicationInstanceArn: arn }));
      await waitAvailable(dms, arn);
      reboot.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 11_000)); // past the crash-counter reset: measure a first crash
      t = performance.now();
      process.kill(pidOf(arn), 'SIGKILL');
      await waitAvailable(dms, arn, true);
      killed.push(performance.now() - t);
    }
    await new Promise((r) => setTimeout(r, 3000));
    const rss = arns.map((arn) => rssMb(pidOf(arn)));
    const idle = Math.max(...rss);
    console.log(`create -> available:   ${percentiles(create)}`);
    console.log(`reboot -> available:   ${percentiles(reboot)}`);
    console.log(`SIGKILL -> available:  ${percentiles(killed)} (includes the 250 ms first restart backoff)`);
    console.log(`RSS idle instance (max of ${rss.length}): ${idle.toFixed(1)} MB   target < 60 MB: ratio ${(idle / 60).toFixed(2)}`);
  } finally {
    await svc.destroy();
  }
}
