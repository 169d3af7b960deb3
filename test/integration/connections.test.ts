/**
 * TestConnection, DescribeConnections, DeleteConnection and DescribeSchemas against real
 * PostgreSQL and MariaDB servers, through a real replication instance of the real service:
 * right and wrong passwords, an unreachable port, a missing database, a source without logical
 * WAL — each ends `successful` or `failed` with a message a person can act on, never the password.
 */
import {
  CreateEndpointCommand,
  CreateReplicationInstanceCommand,
  CreateReplicationTaskCommand,
  DeleteConnectionCommand,
  DeleteEndpointCommand,
  DeleteReplicationTaskCommand,
  DescribeEndpointsCommand,
  ModifyEndpointCommand,
  DescribeConnectionsCommand,
  DescribeRefreshSchemasStatusCommand,
  DescribeReplicationInstancesCommand,
  DescribeSchemasCommand,
  RefreshSchemasCommand,
  TestConnectionCommand,
  type Connection,
  type CreateEndpointMessage,
} from '@aws-sdk/client-database-migration-service';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMariaDb, type MariaDbServer } from '../helpers/mariadb.js';
import { freePort, waitFor } from '../helpers/ports.js';
import { startPostgres, type PostgresCluster } from '../helpers/postgres.js';
import { rawRequest } from '../helpers/raw-request.js';
import { startService, type RunningService } from '../helpers/service.js';

const WRONG = 'Definitely-Wrong-Password-42';

let svc: RunningService;
let pgc: PostgresCluster;
let pgReplica: PostgresCluster;
let maria: MariaDbServer;
let instanceArn: string;

beforeAll(async () => {
  [svc, pgc, pgReplica, maria] = await Promise.all([startService(), startPostgres(), startPostgres({ wal_level: 'replica' }), startMariaDb()]);
  const { ReplicationInstance } = await svc
    .client()
    .send(new CreateReplicationInstanceCommand({ ReplicationInstanceIdentifier: 'ri-conn', ReplicationInstanceClass: 'dms.t3.micro', AllocatedStorage: 5 }));
  instanceArn = ReplicationInstance!.ReplicationInstanceArn!;
  await waitFor(
    'the replication instance to be available',
    async () => {
      const { ReplicationInstances } = await svc
        .client()
        .send(new DescribeReplicationInstancesCommand({ Filters: [{ Name: 'replication-instance-arn', Values: [instanceArn] }] }));
      return ReplicationInstances?.[0]?.ReplicationInstanceStatus === 'available';
    },
    60_000,
    200,
  );
}, 180_000);

afterAll(async () => {
  await Promise.allSettled([svc?.destroy(), pgc?.stop(), pgReplica?.stop(), maria?.stop()]);
});

async function endpoint(m: Partial<CreateEndpointMessage> & { EndpointIdentifier: string }): Promise<string> {
  const { Endpoint } = await svc.client().send(new CreateEndpointCommand({ EndpointType: 'source', EngineName: 'postgres', ...m } as CreateEndpointMessage));
  return Endpoint!.EndpointArn!;
}

const pgEndpoint = (id: string, extra: Partial<CreateEndpointMessage> = {}): Promise<string> =>
  endpoint({ EndpointIdentifier: id, ServerName: pgc.host, Port: pgc.port, DatabaseName: 'postgres', Username: pgc.user, Password: pgc.password, ...extra });

const mariaEndpoint = (id: string, extra: Partial<CreateEndpointMessage> = {}): Promise<string> =>
  endpoint({ EndpointIdentifier: id, EngineName: 'mariadb', ServerName: maria.host, Port: maria.port, Username: maria.user, Password: maria.password, ...extra });

/** Runs TestConnection, checks the immediate `testing` answer, and waits for the outcome. */
async function testAndWait(endpointArn: string): Promise<Connection> {
  const { Connection: started } = await svc.client().send(new TestConnectionCommand({ ReplicationInstanceArn: instanceArn, EndpointArn: endpointArn }));
  expect(started).toMatchObject({ Status: 'testing', EndpointArn: endpointArn, ReplicationInstanceArn: instanceArn, ReplicationInstanceIdentifier: 'ri-conn' });
  return waitFor(
    `the connection test of ${endpointArn}`,
    async () => {
      const { Connections } = await svc.client().send(new DescribeConnectionsCommand({ Filters: [{ Name: 'endpoint-arn', Values: [endpointArn] }] }));
      const c = Connections?.[0];
      return c && c.Status !== 'testing' ? c : undefined;
    },
    40_000,
    100,
  );
}

describe('TestConnection', () => {
  it('succeeds for a PostgreSQL source with the right password; the AWS CLI waiter agrees', async () => {
    const arn = await pgEndpoint('pg-good');
    const c = await testAndWait(arn);
    expect(c).toMatchObject({ Status: 'successful', EndpointIdentifier: 'pg-good' });
    expect(c.LastFailureMessage).toBeUndefined();
    // It ran inside the replication instance, not as a fallback in the control plane.
    expect(svc.logs()).not.toContain('testing from the control plane');
    await svc.client().send(new TestConnectionCommand({ ReplicationInstanceArn: instanceArn, EndpointArn: arn }));
    const wait = await svc.aws(['wait', 'test-connection-succeeds', '--filters', `Name=endpoint-arn,Values=${arn}`]);
    expect(wait.code, wait.stderr).toBe(0);
  });

  it('fails for a wrong PostgreSQL password, naming the user and not the password; the waiter fails', async () => {
    const arn = await pgEndpoint('pg-bad-pw', { Password: WRONG });
    const c = await testAndWait(arn);
    expect(c.Status).toBe('failed');
    expect(c.LastFailureMessage).toContain(`password authentication failed for user "${pgc.user}"`);
    expect(c.LastFailureMessage).toContain('pg-bad-pw');
    expect(c.LastFailureMessage).not.toContain(WRONG);
    const wait = await svc.aws(['wait', 'test-connection-succeeds', '--filters', `Name=endpoint-arn,Values=${arn}`]);
    expect(wait.code).not.toBe(0);
    expect(wait.stderr).toMatch(/failure state/i);
  });

  it('fails for an unknown database, naming it', async () => {
    const c = await testAndWait(await pgEndpoint('pg-no-db', { DatabaseName: 'no_such_db' }));
    expect(c).toMatchObject({ Status: 'failed', LastFailureMessage: expect.stringContaining('database "no_such_db" does not exist') });
  });

  it('fails for a port nobody listens on, saying the connection was refused', async () => {
    const c = await testAndWait(await pgEndpoint('pg-closed-port', { Port: await freePort() }));
    expect(c).toMatchObject({ Status: 'failed', LastFailureMessage: expect.stringMatching(/connection refused.*ServerName and Port/) });
  });

  it('fails with a TLS message when SslMode require meets a server without TLS', async () => {
    const pgTls = await testAndWait(await pgEndpoint('pg-tls', { SslMode: 'require' }));
    expect(pgTls).toMatchObject({ Status: 'failed', LastFailureMessage: expect.stringMatching(/TLS problem with SslMode require/) });
    const mariaTls = await testAndWait(await mariaEndpoint('maria-tls', { SslMode: 'require' }));
    expect(mariaTls).toMatchObject({ Status: 'failed', LastFailureMessage: expect.stringMatching(/TLS problem with SslMode require/) });
  });

  it('fails for a PostgreSQL source without wal_level=logical, but a target there is fine', async () => {
    const common = { ServerName: pgReplica.host, Port: pgReplica.port, DatabaseName: 'postgres', Username: pgReplica.user, Password: pgReplica.password };
    const source = await testAndWait(await endpoint({ EndpointIdentifier: 'pg-replica-src', ...common }));
    expect(source).toMatchObject({ Status: 'failed', LastFailureMessage: expect.stringMatching(/wal_level is "replica".*wal_level = logical/) });
    const target = await testAndWait(await endpoint({ EndpointIdentifier: 'pg-replica-tgt', EndpointType: 'target', ...common }));
    expect(target.Status).toBe('successful');
  });

  it('succeeds for MariaDB with the right password and fails with a wrong one', async () => {
    const good = await testAndWait(await mariaEndpoint('maria-good'));
    expect(good.Status).toBe('successful');
    const bad = await testAndWait(await mariaEndpoint('maria-bad-pw', { EndpointType: 'target', Password: WRONG }));
    expect(bad).toMatchObject({ Status: 'failed', LastFailureMessage: expect.stringContaining(`password authentication failed for user "${maria.user}"`) });
    expect(bad.LastFailureMessage).not.toContain(WRONG);
  });

  it('fails for a MariaDB source whose binlog is not in ROW format', async () => {
    const arn = await mariaEndpoint('maria-statement-binlog');
    await maria.query("SET GLOBAL binlog_format = 'STATEMENT'");
    try {
      const c = await testAndWait(arn);
      expect(c).toMatchObject({ Status: 'failed', LastFailureMessage: expect.stringMatching(/binlog_format is STATEMENT.*needs ROW/) });
    } finally {
      await maria.query("SET GLOBAL binlog_format = 'ROW'");
    }
  });

  it('refuses unknown resources and an instance that is not available', async () => {
    const client = svc.client();
    const arn = await pgEndpoint('pg-faults');
    await expect(client.send(new TestConnectionCommand({ ReplicationInstanceArn: instanceArn.replace(/:[^:]+$/, ':NOPE'), EndpointArn: arn }))).rejects.toMatchObject({
      name: 'ResourceNotFoundFault',
    });
    await expect(client.send(new TestConnectionCommand({ ReplicationInstanceArn: instanceArn, EndpointArn: arn.replace(/:[^:]+$/, ':NOPE') }))).rejects.toMatchObject({
      name: 'ResourceNotFoundFault',
    });
    const { ReplicationInstance } = await client.send(
      new CreateReplicationInstanceCommand({ ReplicationInstanceIdentifier: 'ri-creating', ReplicationInstanceClass: 'dms.t3.micro', AllocatedStorage: 5 }),
    );
    await expect(client.send(new TestConnectionCommand({ ReplicationInstanceArn: ReplicationInstance!.ReplicationInstanceArn!, EndpointArn: arn }))).rejects.toMatchObject({
      name: 'InvalidResourceStateFault',
      message: expect.stringContaining('creating'),
    });
  });
});

describe('DescribeConnections and DeleteConnection', () => {
  it('filters by endpoint and instance, never shows a password, and deletes', async () => {
    const client = svc.client();
    const { Connections: all } = await client.send(new DescribeConnectionsCommand({ Filters: [{ Name: 'replication-instance-arn', Values: [instanceArn] }] }));
    expect(all!.length).toBeGreaterThanOrEqual(8);
    const raw = await rawRequest(svc.url, { target: 'AmazonDMSv20160101.DescribeConnections', body: '{}' });
    expect(JSON.stringify(raw.json)).not.toContain(pgc.password);
    expect(JSON.stringify(raw.json)).not.toContain(WRONG);
    expect(svc.logs()).not.toContain(pgc.password);
    expect(svc.logs()).not.toContain(WRONG);

    // A renamed endpoint shows under its new name.
    const renamed = all!.find((c) => c.EndpointIdentifier === 'maria-good')!;
    await client.send(new ModifyEndpointCommand({ EndpointArn: renamed.EndpointArn, EndpointIdentifier: 'maria-good-renamed' }));
    const { Connections: after } = await client.send(new DescribeConnectionsCommand({ Filters: [{ Name: 'endpoint-arn', Values: [renamed.EndpointArn!] }] }));
    expect(after![0]!.EndpointIdentifier).toBe('maria-good-renamed');
    await client.send(new ModifyEndpointCommand({ EndpointArn: renamed.EndpointArn, EndpointIdentifier: 'maria-good' }));

    const target = all!.find((c) => c.EndpointIdentifier === 'pg-good')!;
    const { Connection } = await client.send(new DeleteConnectionCommand({ EndpointArn: target.EndpointArn, ReplicationInstanceArn: instanceArn }));
    expect(Connection).toMatchObject({ Status: 'deleting', EndpointIdentifier: 'pg-good' });
    await expect(client.send(new DescribeConnectionsCommand({ Filters: [{ Name: 'endpoint-arn', Values: [target.EndpointArn!] }] }))).rejects.toMatchObject({
      name: 'ResourceNotFoundFault',
      message: 'No Connections found matching provided filters',
    });
    await expect(client.send(new DeleteConnectionCommand({ EndpointArn: target.EndpointArn, ReplicationInstanceArn: instanceArn }))).rejects.toMatchObject({
      name: 'ResourceNotFoundFault',
    });
  });
});

describe('RefreshSchemas', () => {
  it('refreshes through an available instance and reports successful or failed', async () => {
    const client = svc.client();
    const good = await pgEndpoint('pg-refresh');
    await expect(client.send(new DescribeRefreshSchemasStatusCommand({ EndpointArn: good }))).rejects.toMatchObject({ name: 'ResourceNotFoundFault' });
    const { RefreshSchemasStatus } = await client.send(new RefreshSchemasCommand({ EndpointArn: good, ReplicationInstanceArn: instanceArn }));
    expect(RefreshSchemasStatus).toMatchObject({ Status: 'refreshing', EndpointArn: good, ReplicationInstanceArn: instanceArn });
    const statusOf = (arn: string) => async () => {
      const { RefreshSchemasStatus: s } = await client.send(new DescribeRefreshSchemasStatusCommand({ EndpointArn: arn }));
      return s?.Status !== 'refreshing' ? s : undefined;
    };
    expect(await waitFor('the refresh', statusOf(good), 20_000, 100)).toMatchObject({ Status: 'successful', LastRefreshDate: expect.any(Date) });
    const bad = await pgEndpoint('pg-refresh-bad', { Password: WRONG });
    await client.send(new RefreshSchemasCommand({ EndpointArn: bad, ReplicationInstanceArn: instanceArn }));
    const failed = await waitFor('the failing refresh', statusOf(bad), 20_000, 100);
    expect(failed).toMatchObject({ Status: 'failed', LastFailureMessage: expect.stringContaining('password authentication failed') });
    expect(failed!.LastFailureMessage).not.toContain(WRONG);
    await expect(client.send(new RefreshSchemasCommand({ EndpointArn: good, ReplicationInstanceArn: instanceArn.replace(/:[^:]+$/, ':NOPE') }))).rejects.toMatchObject({
      name: 'ResourceNotFoundFault',
    });
  });
});

describe('DescribeSchemas', () => {
  it('lists PostgreSQL schemas and MariaDB databases, system ones left out', async () => {
    await pgc.query('CREATE SCHEMA sales');
    await maria.query('CREATE DATABASE shop');
    const client = svc.client();
    const { Schemas: pgSchemas } = await client.send(new DescribeSchemasCommand({ EndpointArn: await pgEndpoint('pg-schemas') }));
    expect(pgSchemas).toEqual(['public', 'sales']);
    const { Schemas: mariaSchemas } = await client.send(new DescribeSchemasCommand({ EndpointArn: await mariaEndpoint('maria-schemas') }));
    expect(mariaSchemas).toEqual(['shop']);
    await expect(client.send(new DescribeSchemasCommand({ EndpointArn: await pgEndpoint('pg-schemas-bad', { Password: WRONG }) }))).rejects.toMatchObject({
      name: 'InvalidResourceStateFault',
      message: expect.stringContaining('password authentication failed'),
    });
  });
});

/** Every file under dir except the metadata store (which keeps endpoint passwords in their own column). */
function filesOutsideStore(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    const stat = statSync(path);
    if (stat.isDirectory()) return filesOutsideStore(path);
    return stat.isFile() && !name.startsWith('metadata.sqlite3') ? [path] : [];
  });
}

describe('endpoints in use, restarts and files', () => {
  const arnOf = async (id: string): Promise<string> =>
    (await svc.client().send(new DescribeEndpointsCommand({ Filters: [{ Name: 'endpoint-id', Values: [id] }] }))).Endpoints![0]!.EndpointArn!;

  it('refuses to delete or retype an endpoint a task uses, until the task is gone', async () => {
    const client = svc.client();
    const source = await arnOf('pg-good');
    const { ReplicationTask } = await client.send(
      new CreateReplicationTaskCommand({
        ReplicationTaskIdentifier: 'uses-endpoints',
        SourceEndpointArn: source,
        TargetEndpointArn: await arnOf('pg-replica-tgt'),
        ReplicationInstanceArn: instanceArn,
        MigrationType: 'full-load',
        TableMappings: JSON.stringify({
          rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': '1', 'object-locator': { 'schema-name': 'public', 'table-name': '%' }, 'rule-action': 'include' }],
        }),
      }),
    );
    await expect(client.send(new DeleteEndpointCommand({ EndpointArn: source }))).rejects.toMatchObject({
      name: 'InvalidResourceStateFault',
      message: expect.stringContaining('delete those tasks first'),
    });
    await expect(client.send(new ModifyEndpointCommand({ EndpointArn: source, EndpointType: 'target' }))).rejects.toMatchObject({
      name: 'InvalidResourceStateFault',
    });
    await expect(client.send(new ModifyEndpointCommand({ EndpointArn: source, EngineName: 'mysql' }))).rejects.toMatchObject({
      name: 'InvalidResourceStateFault',
      message: expect.stringContaining('engine family'),
    });
    // Other changes are allowed; tasks pick them up at their next start.
    await client.send(new ModifyEndpointCommand({ EndpointArn: source, PostgreSQLSettings: { HeartbeatFrequency: 1 } }));
    await waitFor('the task to be ready', async () => {
      try {
        await client.send(new DeleteReplicationTaskCommand({ ReplicationTaskArn: ReplicationTask!.ReplicationTaskArn }));
        return true;
      } catch (err) {
        if ((err as Error).name === 'InvalidResourceStateFault') return false;
        throw err;
      }
    }, 30_000, 200);
    await waitFor('the task to be gone so the endpoint can be deleted', async () => {
      try {
        await client.send(new DeleteEndpointCommand({ EndpointArn: source }));
        return true;
      } catch (err) {
        if ((err as Error).name === 'InvalidResourceStateFault') return false;
        throw err;
      }
    }, 30_000, 200);
  });

  it('keeps endpoints and their passwords across a restart; no file but the store holds a password', async () => {
    expect(filesOutsideStore(svc.dataDir).some((f) => f.endsWith('.log'))).toBe(true);
    await svc.restart();
    await waitFor(
      'the replication instance to be available again',
      async () => {
        const { ReplicationInstances } = await svc
          .client()
          .send(new DescribeReplicationInstancesCommand({ Filters: [{ Name: 'replication-instance-arn', Values: [instanceArn] }] }));
        return ReplicationInstances?.[0]?.ReplicationInstanceStatus === 'available';
      },
      60_000,
      200,
    );
    expect((await testAndWait(await arnOf('maria-good'))).Status).toBe('successful');
    for (const file of filesOutsideStore(svc.dataDir)) {
      const text = readFileSync(file, 'latin1');
      expect(text.includes(pgc.password), file).toBe(false);
      expect(text.includes(WRONG), file).toBe(false);
    }
  });
});
