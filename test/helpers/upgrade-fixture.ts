/**
 * The setting of the cascading-upgrade scenarios: a PostgreSQL source and target, one CDC task per
 * table running on instance `ri-a` (the current engine), an instance `ri-b` on a newer engine
 * bundle, and a writer that keeps changing some of the tables.
 */
import { execFileSync } from 'node:child_process';
import {
  CreateEndpointCommand,
  CreateReplicationInstanceCommand,
  CreateReplicationTaskCommand,
  DescribeReplicationInstancesCommand,
  DescribeReplicationTasksCommand,
  StartReplicationTaskCommand,
  type DatabaseMigrationServiceClient,
  type ReplicationTask,
} from '@aws-sdk/client-database-migration-service';
import { waitFor } from './ports.js';
import { startPostgres, type PostgresCluster } from './postgres.js';
import { OPENDMS_BIN, startService, type RunningService } from './service.js';

export interface UpgradeFixture {
  svc: RunningService;
  client: DatabaseMigrationServiceClient;
  source: PostgresCluster;
  target: PostgresCluster;
  /** The instance the tasks run on, and the one on the newer engine. */
  a: string;
  b: string;
  taskArns: string[];
  /** The tasks, by identifier. */
  tasks(): Promise<ReplicationTask[]>;
  /** Starts inserting into and updating `tables` until stopWriting(); may be called again after it. */
  startWriting(tables: string[]): void;
  stopWriting(): Promise<void>;
  /** Waits until every table is identical on the target, row by row. */
  identical(): Promise<void>;
  destroy(): Promise<void>;
}

/** Tables `id int PRIMARY KEY, v text` with `rows` rows each; tasks named `<prefix>-<table>`. */
export async function startUpgradeFixture(opts: { tables: string[]; rows: number; prefix: string; nextVersion: string }): Promise<UpgradeFixture> {
  const [source, target] = await Promise.all([startPostgres(), startPostgres()]);
  for (const t of opts.tables) {
    await source.query(`CREATE TABLE ${t} (id int PRIMARY KEY, v text NOT NULL)`);
    await source.query(`INSERT INTO ${t} SELECT g, 'row ' || g FROM generate_series(1, ${opts.rows}) g`);
  }
  const svc = await startService();
  const client = svc.client();
  const taskArns: string[] = [];
  let writing = false;
  let writer: Promise<void> | undefined;
  /** Ids go on where the previous round of writes stopped. */
  let next = 1000;
  const tasks = async (): Promise<ReplicationTask[]> => {
    const r = await client.send(new DescribeReplicationTasksCommand({ Filters: [{ Name: 'replication-task-arn', Values: taskArns }] }));
    return r.ReplicationTasks!.sort((x, y) => x.ReplicationTaskIdentifier!.localeCompare(y.ReplicationTaskIdentifier!));
  };
  execFileSync(process.execPath, [OPENDMS_BIN, 'engine', 'build', '--version', opts.nextVersion, '--data-dir', svc.dataDir]);
  const ri = async (id: string, version?: string): Promise<string> =>
    (
      await client.send(
        new CreateReplicationInstanceCommand({ ReplicationInstanceIdentifier: id, ReplicationInstanceClass: 'dms.c5.xlarge', ...(version ? { EngineVersion: version } : {}) }),
      )
    ).ReplicationInstance!.ReplicationInstanceArn!;
  let b = '';
  // The service notices the new bundle by itself; wait until it offers it.
  await waitFor('bundle offered', async () => {
    try {
      b = await ri('ri-b', opts.nextVersion);
      return true;
    } catch {
      return false;
    }
  }, 10_000, 50);
  const a = await ri('ri-a');
  const ep = async (id: string, type: 'source' | 'target', db: PostgresCluster): Promise<string> =>
    (
      await client.send(
        new CreateEndpointCommand({ EndpointIdentifier: id, EndpointType: type, EngineName: 'postgres', ServerName: '127.0.0.1', Port: db.port, DatabaseName: 'postgres', Username: db.user, Password: db.password }),
      )
    ).Endpoint!.EndpointArn!;
  const [src, tgt] = await Promise.all([ep(`${opts.prefix}-src`, 'source', source), ep(`${opts.prefix}-tgt`, 'target', target)]);
  await waitFor('instances available', async () => {
    const r = await client.send(new DescribeReplicationInstancesCommand({}));
    return r.ReplicationInstances!.every((i) => i.ReplicationInstanceStatus === 'available');
  }, 30_000, 50);
  for (const t of opts.tables) {
    const r = await client.send(
      new CreateReplicationTaskCommand({
        ReplicationTaskIdentifier: `${opts.prefix}-${t}`,
        SourceEndpointArn: src,
        TargetEndpointArn: tgt,
        ReplicationInstanceArn: a,
        MigrationType: 'full-load-and-cdc',
        TableMappings: JSON.stringify({ rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': t, 'object-locator': { 'schema-name': 'public', 'table-name': t }, 'rule-action': 'include' }] }),
      }),
    );
    taskArns.push(r.ReplicationTask!.ReplicationTaskArn!);
  }
  await waitFor('tasks ready', async () => (await tasks()).every((t) => t.Status === 'ready'), 30_000, 50);
  // The first task creates the control tables on the target; the others start once it runs
  // (concurrent first starts on one target can race creating them).
  for (const [i, arn] of taskArns.entries()) {
    await client.send(new StartReplicationTaskCommand({ ReplicationTaskArn: arn, StartReplicationTaskType: 'start-replication' }));
    if (i === 0) await waitFor('first task running', async () => (await tasks())[0]!.Status === 'running', 60_000, 50);
  }
  await waitFor('tasks running', async () => {
    const all = await tasks();
    const failed = all.find((t) => t.Status === 'failed');
    if (failed) throw new Error(`${failed.ReplicationTaskIdentifier} failed: ${failed.LastFailureMessage}`);
    return all.every((t) => t.Status === 'running');
  }, 120_000, 100);
  const fixture: UpgradeFixture = {
    svc,
    client,
    source,
    target,
    a,
    b,
    taskArns,
    tasks,
    startWriting(tables) {
      writing = true;
      writer = (async () => {
        for (; writing; next++) {
          for (const t of tables) await source.query(`INSERT INTO ${t} (id, v) VALUES (${next}, 'w${next}')`);
          await source.query(`UPDATE ${tables[next % tables.length]} SET v = v || '+' WHERE id = ${next - 1}`);
        }
      })();
    },
    async stopWriting() {
      writing = false;
      await writer;
    },
    async identical() {
      for (const t of opts.tables) {
        const q = `SELECT id, v FROM ${t} ORDER BY id`;
        const want = JSON.stringify((await source.query(q)).rows);
        await waitFor(`${t} identical on the target`, async () => JSON.stringify((await target.query(q)).rows) === want, 60_000, 100);
      }
    },
    async destroy() {
      await fixture.stopWriting().catch(() => undefined);
      await svc.destroy();
      await Promise.all([source.stop(), target.stop()]);
    },
  };
  return fixture;
}
