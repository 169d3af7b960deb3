/**
 * Handover downtime of a running PostgreSQL CDC task under a steady write load (issue 5), over
 * HANDOVER_MOVES moves (default 20) each, alternating between an instance on the running engine
 * and one on a newer engine bundle:
 *
 * - plain API steps, as an operator scripts them: StopReplicationTask -> poll until stopped ->
 *   MoveReplicationTask -> poll until stopped -> StartReplicationTask resume-processing -> poll
 *   until running. Target p95 under 2 s.
 * - the cascading upgrade (OpenDmsExtensions20261101.UpgradeReplicationInstance, one task): the
 *   task is prepared on the target while it runs; HandoverMillis from its record. Target p95 under 1 s.
 * - in-place upgrades (ModifyReplicationInstance EngineVersion, ApplyImmediately): from the request
 *   until the task applies changes again (HANDOVER_INPLACE, default 5, one new bundle each).
 *
 * "Applying again" is measured too: a row inserted on the source the moment the task is running
 * again, until it is on the target. AWS DMS moves take minutes; that is the anchor.
 */
import { execFileSync } from 'node:child_process';
import {
  CreateEndpointCommand,
  CreateReplicationInstanceCommand,
  CreateReplicationTaskCommand,
  DescribeReplicationInstancesCommand,
  DescribeReplicationTasksCommand,
  ModifyReplicationInstanceCommand,
  MoveReplicationTaskCommand,
  StartReplicationTaskCommand,
  StopReplicationTaskCommand,
  type DatabaseMigrationServiceClient,
} from '@aws-sdk/client-database-migration-service';
import { callExtension } from '../src/api/extensions/client.js';
import type { UpgradeRecord } from '../src/control/upgrade-orchestrator.js';
import { waitFor } from '../test/helpers/ports.js';
import { startPostgres, type PostgresCluster } from '../test/helpers/postgres.js';
import { OPENDMS_BIN, startService, TEST_KEYS } from '../test/helpers/service.js';

const MOVES = Number(process.env.HANDOVER_MOVES ?? 20);
const IN_PLACE = Number(process.env.HANDOVER_INPLACE ?? 5);
const POLL_MS = 10;

function pct(samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  const p = (q: number): number => s[Math.min(s.length - 1, Math.floor(s.length * q))]!;
  return `p50 ${p(0.5).toFixed(0)} ms, p95 ${p(0.95).toFixed(0)} ms (n=${s.length})`;
}

export async function run(): Promise<void> {
  const [source, target] = await Promise.all([startPostgres(), startPostgres()]);
  const svc = await startService({ env: { OPENDMS_LOG_LEVEL: 'warn' }, args: ['--log-level', 'warn'] });
  const client: DatabaseMigrationServiceClient = svc.client();
  let writing = true;
  let writer: Promise<void> | undefined;
  try {
    execFileSync(process.execPath, [OPENDMS_BIN, 'engine', 'build', '--version', '9.0.0', '--data-dir', svc.dataDir]);
    await source.query('CREATE TABLE items (id bigserial PRIMARY KEY, v text NOT NULL)');
    await source.query("INSERT INTO items (v) SELECT 'row ' || g FROM generate_series(1, 10000) g");
    const ri = async (id: string, version?: string): Promise<string> =>
      waitFor(`instance ${id} created`, async () =>
        (
          await client.send(new CreateReplicationInstanceCommand({ ReplicationInstanceIdentifier: id, ReplicationInstanceClass: 'dms.c5.xlarge', ...(version ? { EngineVersion: version } : {}) }))
        ).ReplicationInstance!.ReplicationInstanceArn!,
      10_000, 50);
    const a = await ri('bench-a');
    const b = await ri('bench-b', '9.0.0');
    const ep = async (id: string, type: 'source' | 'target', db: PostgresCluster): Promise<string> =>
      (
        await client.send(
          new CreateEndpointCommand({ EndpointIdentifier: id, EndpointType: type, EngineName: 'postgres', ServerName: '127.0.0.1', Port: db.port, DatabaseName: 'postgres', Username: db.user, Password: db.password }),
        )
      ).Endpoint!.EndpointArn!;
    const [src, tgt] = await Promise.all([ep('bench-src', 'source', source), ep('bench-tgt', 'target', target)]);
    const instanceStatus = async (arn: string): Promise<{ status: string; engine: string }> => {
      const r = await client.send(new DescribeReplicationInstancesCommand({ Filters: [{ Name: 'replication-instance-arn', Values: [arn] }] }));
      return { status: r.ReplicationInstances![0]!.ReplicationInstanceStatus!, engine: r.ReplicationInstances![0]!.EngineVersion! };
    };
    await waitFor('instances available', async () => (await instanceStatus(a)).status === 'available' && (await instanceStatus(b)).status === 'available', 30_000, 50);
    const t = await client.send(
      new CreateReplicationTaskCommand({
        ReplicationTaskIdentifier: 'bench-task',
        SourceEndpointArn: src,
        TargetEndpointArn: tgt,
        ReplicationInstanceArn: a,
        MigrationType: 'full-load-and-cdc',
        TableMappings: JSON.stringify({ rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 'i', 'object-locator': { 'schema-name': 'public', 'table-name': 'items' }, 'rule-action': 'include' }] }),
      }),
    );
    const arn = t.ReplicationTask!.ReplicationTaskArn!;
    const status = async (): Promise<{ status: string; instance: string }> => {
      const r = await client.send(new DescribeReplicationTasksCommand({ Filters: [{ Name: 'replication-task-arn', Values: [arn] }], WithoutSettings: true }));
      return { status: r.ReplicationTasks![0]!.Status!, instance: r.ReplicationTasks![0]!.ReplicationInstanceArn! };
    };
    const until = async (want: string, instance?: string): Promise<void> => {
      await waitFor(`task ${want}`, async () => {
        const s = await status();
        if (['failed', 'failed-move'].includes(s.status)) throw new Error(`task ${s.status}`);
        return s.status === want && (instance === undefined || s.instance === instance);
      }, 120_000, POLL_MS);
    };
    /** Inserts a row now and resolves when the target has it: the task applies changes. */
    const applied = async (): Promise<void> => {
      const r = await source.query("INSERT INTO items (v) VALUES ('probe') RETURNING id");
      const id = (r.rows[0] as { id: string }).id;
      await waitFor('probe applied', async () => (await target.query(`SELECT 1 FROM items WHERE id = ${id}`)).rows.length === 1, 60_000, POLL_MS);
    };
    await until('ready');
    await client.send(new StartReplicationTaskCommand({ ReplicationTaskArn: arn, StartReplicationTaskType: 'start-replication' }));
    await until('running');
    await applied();
    // A steady write load: about 200 single-row transactions a second.
    writer = (async () => {
      while (writing) {
        await source.query("INSERT INTO items (v) VALUES ('load')");
        await new Promise((r) => setTimeout(r, 5));
      }
    })();

    const plainRunning: number[] = [];
    const plainApplied: number[] = [];
    let here = a;
    for (let i = 0; i < MOVES; i++) {
      const to = here === a ? b : a;
      const t0 = performance.now();
      await client.send(new StopReplicationTaskCommand({ ReplicationTaskArn: arn }));
      await until('stopped');
      await client.send(new MoveReplicationTaskCommand({ ReplicationTaskArn: arn, TargetReplicationInstanceArn: to }));
      await until('stopped', to);
      await client.send(new StartReplicationTaskCommand({ ReplicationTaskArn: arn, StartReplicationTaskType: 'resume-processing' }));
      await until('running');
      plainRunning.push(performance.now() - t0);
      await applied();
      plainApplied.push(performance.now() - t0);
      here = to;
    }
    console.log(`plain API stop -> move -> resume, until running:      ${pct(plainRunning)}  (target p95 < 2000 ms)`);
    console.log(`plain API stop -> move -> resume, until applying:     ${pct(plainApplied)}`);

    const config = { endpointUrl: svc.url, region: svc.region, credentials: () => Promise.resolve(TEST_KEYS) };
    const cascade: number[] = [];
    for (let i = 0; i < MOVES; i++) {
      const to = here === a ? b : a;
      let u = (await callExtension(config, 'UpgradeReplicationInstance', { SourceReplicationInstanceArn: here, TargetReplicationInstanceArn: to, MaxCdcLatencySeconds: 30 })).Upgrade as UpgradeRecord;
      u = await waitFor('upgrade finished', async () => {
        const r = ((await callExtension(config, 'DescribeReplicationInstanceUpgrades', { UpgradeId: u.UpgradeId })).Upgrades as UpgradeRecord[])[0]!;
        return r.Status === 'running' ? undefined : r;
      }, 120_000, POLL_MS);
      if (u.Status !== 'succeeded') throw new Error(`cascading upgrade ${u.Status}: ${u.Message}`);
      cascade.push(u.Tasks[0]!.HandoverMillis!);
      here = to;
    }
    console.log(`cascading upgrade (prepared handover), until running: ${pct(cascade)}  (target p95 < 1000 ms)`);

    const inPlace: number[] = [];
    for (let i = 1; i <= IN_PLACE; i++) {
      const version = `9.0.${i}`;
      execFileSync(process.execPath, [OPENDMS_BIN, 'engine', 'build', '--version', version, '--data-dir', svc.dataDir]);
      let t0 = 0;
      await waitFor(`${version} accepted`, async () => {
        try {
          t0 = performance.now(); // the service may need a moment to notice the new bundle
          await client.send(new ModifyReplicationInstanceCommand({ ReplicationInstanceArn: here, EngineVersion: version, AllowMajorVersionUpgrade: true, ApplyImmediately: true }));
          return true;
        } catch {
          return false;
        }
      }, 10_000, POLL_MS);
      await waitFor('upgraded', async () => {
        const s = await instanceStatus(here);
        return s.status === 'available' && s.engine === version;
      }, 60_000, POLL_MS);
      await until('running');
      await applied();
      inPlace.push(performance.now() - t0);
    }
    console.log(`in-place upgrade (ModifyReplicationInstance), until applying: ${pct(inPlace)}`);
    console.log('anchor: AWS DMS task moves take minutes');
  } finally {
    writing = false;
    await writer?.catch(() => undefined);
    await svc.destroy();
    await Promise.all([source.stop(), target.stop()]);
  }
}
