/**
 * Control-plane speed and footprint (issue 3):
 * - DescribeReplicationTasks with 1,000 tasks stored: median and p95 of one page (100 tasks) and of
 *   a full paginated walk; target median under 20 ms per call.
 * - RSS of the idle service (target < 100 MB) and of an idle instance process (target < 60 MB).
 */
import {
  CreateEndpointCommand,
  CreateReplicationInstanceCommand,
  CreateReplicationTaskCommand,
  DescribeReplicationInstancesCommand,
  DescribeReplicationTasksCommand,
  paginateDescribeReplicationTasks,
} from '@aws-sdk/client-database-migration-service';
import { waitFor } from '../test/helpers/ports.js';
import { startService } from '../test/helpers/service.js';
import { childrenOf, rssMb } from './proc.js';

const TASKS = 1000;



function stats(samples: number[]): { median: number; p95: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, p95: s[Math.floor(s.length * 0.95)]! };
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

export async function run(): Promise<void> {
  // The account's default quota is 600 tasks (200 per instance), as on AWS; raised here as AWS does on request.
  const svc = await startService({ args: ['--log-level', 'warn', '--quotas', `ReplicationTasks=${TASKS},TasksPerInstance=${TASKS}`] });
  try {
    const dms = svc.client();
    const inst = await dms.send(
      new CreateReplicationInstanceCommand({ ReplicationInstanceIdentifier: 'bench', ReplicationInstanceClass: 'dms.r5.4xlarge', AllocatedStorage: 50 }),
    );
    const instanceArn = inst.ReplicationInstance!.ReplicationInstanceArn!;
    await waitFor('instance available', async () => {
      const d = await dms.send(new DescribeReplicationInstancesCommand({ Filters: [{ Name: 'replication-instance-arn', Values: [instanceArn] }] }));
      return d.ReplicationInstances?.[0]?.ReplicationInstanceStatus === 'available';
    }, 60_000, 100);
    const endpoint = async (type: 'source' | 'target') =>
      (
        await dms.send(
          new CreateEndpointCommand({ EndpointIdentifier: `bench-${type}`, EndpointType: type, EngineName: 'postgres', ServerName: '127.0.0.1', Port: 5432, DatabaseName: 'x', Username: 'u', Password: 'p' }),
        )
      ).Endpoint!.EndpointArn!;
    const source = await endpoint('source');
    const target = await endpoint('target');
    const mappings = JSON.stringify({ rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': '1', 'object-locator': { 'schema-name': 'public', 'table-name': '%' }, 'rule-action': 'include' }] });
    for (let i = 0; i < TASKS; i += 20) {
      await Promise.all(
        Array.from({ length: Math.min(20, TASKS - i) }, (_, j) =>
          dms.send(
            new CreateReplicationTaskCommand({
              ReplicationTaskIdentifier: `bench-task-${i + j}`,
              SourceEndpointArn: source,
              TargetEndpointArn: target,
              ReplicationInstanceArn: instanceArn,
              MigrationType: 'full-load-and-cdc',
              TableMappings: mappings,
            }),
          ),
        ),
      );
    }
    const page: number[] = [];
    for (let i = 0; i < 200; i++) page.push(await time(() => dms.send(new DescribeReplicationTasksCommand({}))));
    const walk: number[] = [];
    for (let i = 0; i < 20; i++) {
      walk.push(
        await time(async () => {
          let n = 0;
          for await (const p of paginateDescribeReplicationTasks({ client: dms }, {})) n += p.ReplicationTasks?.length ?? 0;
          if (n !== TASKS) throw new Error(`walk saw ${n} tasks, expected ${TASKS}`);
        }),
      );
    }
    const filtered: number[] = [];
    for (let i = 0; i < 200; i++) {
      filtered.push(await time(() => dms.send(new DescribeReplicationTasksCommand({ Filters: [{ Name: 'replication-task-id', Values: [`bench-task-${i}`] }] }))));
    }
    const p = stats(page);
    const w = stats(walk);
    const f = stats(filtered);
    console.log(`DescribeReplicationTasks, ${TASKS} tasks stored:`);
    console.log(`  one page (100):     median ${p.median.toFixed(2)} ms, p95 ${p.p95.toFixed(2)} ms   target < 20 ms: ratio ${(p.median / 20).toFixed(2)}`);
    console.log(`  filtered by id:     median ${f.median.toFixed(2)} ms, p95 ${f.p95.toFixed(2)} ms   ratio ${(f.median / 20).toFixed(2)}`);
    console.log(`  full walk (10 pages): median ${w.median.toFixed(1)} ms, p95 ${w.p95.toFixed(1)} ms`);
    // Idle: no request for 15 s (the service returns a burst's heap 10 s after it).
    await new Promise((r) => setTimeout(r, 15_000));
    const serviceRss = rssMb(svc.process.pid!);
    const instanceRss = childrenOf(svc.process.pid!).map(rssMb);
    console.log(`RSS idle service:  ${serviceRss.toFixed(1)} MB   target < 100 MB: ratio ${(serviceRss / 100).toFixed(2)}`);
    for (const r of instanceRss) console.log(`RSS idle instance: ${r.toFixed(1)} MB   target < 60 MB: ratio ${(r / 60).toFixed(2)}`);
  } finally {
    await svc.destroy();
  }
}
