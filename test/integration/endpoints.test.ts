/**
 * Endpoints through the real service: CreateEndpoint, DescribeEndpoints, ModifyEndpoint,
 * DeleteEndpoint, DescribeEndpointTypes, DescribeEndpointSettings — with the AWS SDK v3 client,
 * the AWS CLI (auto-pagination, the endpoint-deleted waiter) and raw requests (to see the exact
 * JSON the service sends, password-free).
 */
import {
  CreateEndpointCommand,
  DeleteEndpointCommand,
  DescribeEndpointSettingsCommand,
  DescribeEndpointsCommand,
  DescribeEndpointTypesCommand,
  ListTagsForResourceCommand,
  DescribeSchemasCommand,
  ModifyEndpointCommand,
  RefreshSchemasCommand,
  TestConnectionCommand,
  type CreateEndpointMessage,
} from '@aws-sdk/client-database-migration-service';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../helpers/raw-request.js';
import { startService, type RunningService } from '../helpers/service.js';

const SECRET = 'Sup3r-Secret-Endpoint-Pw';
const SETTINGS_SECRET = 'Other-Secret-In-Settings';

let svc: RunningService;
beforeAll(async () => {
  svc = await startService();
});
afterAll(async () => {
  await svc?.destroy();
});

const pg = (id: string, extra: Partial<CreateEndpointMessage> = {}): CreateEndpointMessage => ({
  EndpointIdentifier: id,
  EndpointType: 'source',
  EngineName: 'postgres',
  ServerName: 'db.example.internal',
  DatabaseName: 'app',
  Username: 'replicator',
  Password: SECRET,
  ...extra,
});

const create = (m: CreateEndpointMessage) => svc.client().send(new CreateEndpointCommand(m));

describe('CreateEndpoint', () => {
  it('creates a PostgreSQL source with defaults, settings merged from attributes, no password', async () => {
    const { Endpoint: e } = await create(
      pg('pg-src', {
        ExtraConnectionAttributes: 'heartbeatEnable=true;heartbeatFrequency=2;slotName=my_slot',
        PostgreSQLSettings: { CaptureDdls: false, HeartbeatSchema: 'dms' },
        Tags: [{ Key: 'team', Value: 'data' }],
      }),
    );
    expect(e).toMatchObject({
      EndpointIdentifier: 'pg-src',
      EndpointType: 'SOURCE',
      EngineName: 'postgres',
      EngineDisplayName: 'PostgreSQL',
      ServerName: 'db.example.internal',
      Port: 5432,
      DatabaseName: 'app',
      Username: 'replicator',
      SslMode: 'none',
      Status: 'active',
      ExtraConnectionAttributes: 'heartbeatEnable=true;heartbeatFrequency=2;slotName=my_slot',
      PostgreSQLSettings: {
        ServerName: 'db.example.internal',
        Port: 5432,
        DatabaseName: 'app',
        Username: 'replicator',
        HeartbeatEnable: true,
        HeartbeatFrequency: 2,
        HeartbeatSchema: 'dms',
        SlotName: 'my_slot',
        CaptureDdls: false,
      },
    });
    expect(e!.EndpointArn).toMatch(/^arn:aws:dms:us-east-1:\d{12}:endpoint:[A-Z2-7]{26}$/);
    expect(JSON.stringify(e)).not.toContain(SECRET);
    const { TagList } = await svc.client().send(new ListTagsForResourceCommand({ ResourceArn: e!.EndpointArn }));
    expect(TagList).toEqual([expect.objectContaining({ Key: 'team', Value: 'data' })]);
  });

  it('creates MySQL-family endpoints with port 3306 and their display names', async () => {
    const { Endpoint: m } = await create({
      EndpointIdentifier: 'maria-tgt',
      EndpointType: 'target',
      EngineName: 'mariadb',
      ServerName: '10.0.0.5',
      Username: 'root',
      MySQLSettings: { Password: SETTINGS_SECRET, TargetDbType: 'multiple-databases' },
      ExtraConnectionAttributes: 'initstmt=SET FOREIGN_KEY_CHECKS=0;parallelLoadThreads=4',
      ResourceIdentifier: 'maria-target-1',
    });
    expect(m).toMatchObject({
      EndpointType: 'TARGET',
      EngineDisplayName: 'MariaDB',
      Port: 3306,
      EndpointArn: expect.stringMatching(/:endpoint:maria-target-1$/),
      MySQLSettings: { ServerName: '10.0.0.5', Port: 3306, Username: 'root', ParallelLoadThreads: 4, TargetDbType: 'multiple-databases' },
    });
    expect(JSON.stringify(m)).not.toContain(SETTINGS_SECRET);
    const { Endpoint: a } = await create({ EndpointIdentifier: 'aurora-src', EndpointType: 'source', EngineName: 'aurora', ServerName: 'h', Username: 'u', Password: SECRET });
    expect(a?.EngineDisplayName).toBe('Amazon Aurora MySQL');
  });

  it('refuses a taken identifier (any case) with ResourceAlreadyExistsFault carrying the ARN', async () => {
    const { Endpoints } = await svc.client().send(new DescribeEndpointsCommand({ Filters: [{ Name: 'endpoint-id', Values: ['pg-src'] }] }));
    await expect(create(pg('PG-SRC'))).rejects.toMatchObject({ name: 'ResourceAlreadyExistsFault', resourceArn: Endpoints![0]!.EndpointArn });
    await expect(create(pg('other-id', { ResourceIdentifier: 'maria-target-1' }))).rejects.toMatchObject({ name: 'ResourceAlreadyExistsFault' });
  });

  it('refuses bad input with InvalidParameterValueException naming the field', async () => {
    const cases: [Partial<CreateEndpointMessage>, RegExp][] = [
      [{ EngineName: 'oracle' }, /EngineName: "oracle".*postgres, aurora-postgresql, mysql, mariadb, aurora/],
      [{ EndpointIdentifier: '1abc' }, /EndpointIdentifier "1abc".*start with a letter/],
      [{ EndpointIdentifier: 'a--b' }, /two consecutive hyphens/],
      [{ EndpointIdentifier: 'a'.repeat(256) }, /1 to 255 characters/],
      [{ ResourceIdentifier: 'x'.repeat(32) }, /ResourceIdentifier/],
      [{ ExtraConnectionAttributes: 'slotName=a;noSuchThing=1' }, /unknown attribute "noSuchThing"/],
      [{ ServerName: undefined }, /ServerName must be provided/],
      [{ DatabaseName: undefined }, /DatabaseName must be provided for EngineName postgres/],
      [{ MySQLSettings: { ParallelLoadThreads: 2 } }, /MySQLSettings: it does not apply to EngineName postgres; use PostgreSQLSettings/],
      [{ PostgreSQLSettings: { PluginName: 'test-decoding' } }, /PostgreSQLSettings.PluginName: "test-decoding" is not supported/],
      [{ Tags: [{ Key: 'aws:owner', Value: 'x' }] }, /reserved prefix/],
    ];
    for (const [change, message] of cases) {
      const err = await create(pg('bad-one', change)).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err, JSON.stringify(change)).toMatchObject({ name: 'InvalidParameterValueException', message: expect.stringMatching(message) });
    }
    // The model's enum: EndpointType is lower-case on input, as AWS accepts it.
    await expect(create(pg('bad-two', { EndpointType: 'SOURCE' as 'source' }))).rejects.toMatchObject({ name: 'InvalidParameterValueException' });
  });

  it('refuses a CertificateArn with ResourceNotFoundFault (no certificate store)', async () => {
    await expect(create(pg('with-cert', { CertificateArn: 'arn:aws:dms:us-east-1:123456789012:cert:ABC' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundFault',
    });
  });
});

describe('DescribeEndpoints', () => {
  it('filters by type (either case), engine, id and ARN; an empty match is ResourceNotFoundFault', async () => {
    const client = svc.client();
    const ids = async (Name: string, Values: string[]): Promise<string[]> =>
      ((await client.send(new DescribeEndpointsCommand({ Filters: [{ Name, Values }] }))).Endpoints ?? []).map((e) => e.EndpointIdentifier!).sort();
    expect(await ids('endpoint-type', ['TARGET'])).toEqual(['maria-tgt']);
    expect(await ids('endpoint-type', ['source'])).toEqual(['aurora-src', 'pg-src']);
    expect(await ids('engine-name', ['postgres', 'aurora'])).toEqual(['aurora-src', 'pg-src']);
    expect(await ids('endpoint-id', ['maria-tgt'])).toEqual(['maria-tgt']);
    const arn = (await client.send(new DescribeEndpointsCommand({ Filters: [{ Name: 'endpoint-id', Values: ['pg-src'] }] }))).Endpoints![0]!.EndpointArn!;
    expect(await ids('endpoint-arn', [arn])).toEqual(['pg-src']);
    await expect(client.send(new DescribeEndpointsCommand({ Filters: [{ Name: 'endpoint-id', Values: ['nope'] }] }))).rejects.toMatchObject({
      name: 'ResourceNotFoundFault',
      message: 'No Endpoints found matching provided filters',
    });
    await expect(client.send(new DescribeEndpointsCommand({ Filters: [{ Name: 'colour', Values: ['x'] }] }))).rejects.toMatchObject({
      name: 'InvalidParameterValueException',
      message: expect.stringContaining('endpoint-arn'),
    });
  });

  it('never sends a password, in the raw JSON or the service log', async () => {
    const r = await rawRequest(svc.url, { target: 'AmazonDMSv20160101.DescribeEndpoints', body: '{}' });
    expect(r.status).toBe(200);
    const text = JSON.stringify(r.json);
    expect(text).toContain('pg-src');
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(SETTINGS_SECRET);
    expect(text).not.toMatch(/"Password"/);
    expect(svc.logs()).toContain('CreateEndpoint');
    expect(svc.logs()).not.toContain(SECRET);
    expect(svc.logs()).not.toContain(SETTINGS_SECRET);
  });

  it('pages with Marker/MaxRecords, and the AWS CLI follows the markers', async () => {
    const client = svc.client();
    for (let i = 0; i < 22; i++) await create(pg(`page-${String(i).padStart(2, '0')}`));
    const first = await client.send(new DescribeEndpointsCommand({ MaxRecords: 20 }));
    expect(first.Endpoints).toHaveLength(20);
    expect(first.Marker).toBeTruthy();
    const second = await client.send(new DescribeEndpointsCommand({ MaxRecords: 20, Marker: first.Marker }));
    expect(second.Marker).toBeUndefined();
    const all = [...first.Endpoints!, ...second.Endpoints!].map((e) => e.EndpointIdentifier);
    expect(new Set(all).size).toBe(all.length);
    expect(all.length).toBe(25);
    const cli = await svc.aws(['describe-endpoints', '--page-size', '20', '--query', 'Endpoints[].EndpointIdentifier']);
    expect(cli.code, cli.stderr).toBe(0);
    expect((JSON.parse(cli.stdout) as string[]).length).toBe(25);
    await expect(client.send(new DescribeEndpointsCommand({ MaxRecords: 20, Marker: 'forged' }))).rejects.toMatchObject({ name: 'InvalidParameterValueException' });
  });
});

describe('ModifyEndpoint', () => {
  const arnOf = async (id: string): Promise<string> =>
    (await svc.client().send(new DescribeEndpointsCommand({ Filters: [{ Name: 'endpoint-id', Values: [id] }] }))).Endpoints![0]!.EndpointArn!;

  it('merges engine settings by key unless ExactSettings, and changes connection fields', async () => {
    const arn = await arnOf('pg-src');
    const client = svc.client();
    const { Endpoint: merged } = await client.send(
      new ModifyEndpointCommand({ EndpointArn: arn, Port: 6543, PostgreSQLSettings: { HeartbeatFrequency: 7 }, Password: 'New-Secret-Value-1' }),
    );
    expect(merged).toMatchObject({
      Port: 6543,
      PostgreSQLSettings: { Port: 6543, HeartbeatFrequency: 7, HeartbeatEnable: true, HeartbeatSchema: 'dms', SlotName: 'my_slot', CaptureDdls: false },
    });
    expect(JSON.stringify(merged)).not.toContain('New-Secret-Value-1');
    const { Endpoint: exact } = await client.send(
      new ModifyEndpointCommand({ EndpointArn: arn, ExactSettings: true, PostgreSQLSettings: { SlotName: 'other_slot' } }),
    );
    expect(exact!.PostgreSQLSettings).toEqual({ ServerName: 'db.example.internal', Port: 6543, DatabaseName: 'app', Username: 'replicator', SlotName: 'other_slot' });
    expect(exact!.ExtraConnectionAttributes).toBeUndefined();
    expect(svc.logs()).not.toContain('New-Secret-Value-1');
  });

  it('renames, refusing a taken identifier; switches engine family with the new default port', async () => {
    const client = svc.client();
    const arn = await arnOf('aurora-src');
    await expect(client.send(new ModifyEndpointCommand({ EndpointArn: arn, EndpointIdentifier: 'Maria-Tgt' }))).rejects.toMatchObject({
      name: 'ResourceAlreadyExistsFault',
    });
    const { Endpoint: renamed } = await client.send(new ModifyEndpointCommand({ EndpointArn: arn, EndpointIdentifier: 'aurora-renamed' }));
    expect(renamed).toMatchObject({ EndpointIdentifier: 'aurora-renamed', EndpointArn: arn });
    const { Endpoint: moved } = await client.send(new ModifyEndpointCommand({ EndpointArn: arn, EngineName: 'aurora-postgresql', DatabaseName: 'db' }));
    expect(moved).toMatchObject({ EngineName: 'aurora-postgresql', EngineDisplayName: 'Amazon Aurora PostgreSQL', Port: 5432, PostgreSQLSettings: { Port: 5432 } });
    expect(moved!.MySQLSettings).toBeUndefined();
    await expect(client.send(new ModifyEndpointCommand({ EndpointArn: arn.replace(/:[^:]+$/, ':NOSUCHENDPOINT') }))).rejects.toMatchObject({
      name: 'ResourceNotFoundFault',
    });
  });
});

describe('DeleteEndpoint', () => {
  it('answers deleting, then the endpoint is gone; the AWS CLI waiter sees it deleted', async () => {
    const { Endpoint } = await create(pg('to-delete'));
    const arn = Endpoint!.EndpointArn!;
    const { Endpoint: deleted } = await svc.client().send(new DeleteEndpointCommand({ EndpointArn: arn }));
    expect(deleted).toMatchObject({ Status: 'deleting', EndpointIdentifier: 'to-delete' });
    const wait = await svc.aws(['wait', 'endpoint-deleted', '--filters', `Name=endpoint-arn,Values=${arn}`]);
    expect(wait.code, wait.stderr).toBe(0);
    await expect(svc.client().send(new DeleteEndpointCommand({ EndpointArn: arn }))).rejects.toMatchObject({ name: 'ResourceNotFoundFault' });
    // The identifier is free again.
    await create(pg('to-delete'));
  });

  it('an unknown ARN is ResourceNotFoundFault naming the member and where to find ARNs, in every endpoint operation', async () => {
    const arn = 'arn:aws:dms:us-east-1:000000000000:endpoint:NOSUCHENDPOINT';
    const instanceArn = 'arn:aws:dms:us-east-1:000000000000:rep:NOSUCHINSTANCE';
    const { Endpoint } = await create(pg('lookup-probe'));
    const calls = [
      svc.client().send(new DeleteEndpointCommand({ EndpointArn: arn })),
      svc.client().send(new ModifyEndpointCommand({ EndpointArn: arn, Port: 5433 })),
      svc.client().send(new DescribeSchemasCommand({ EndpointArn: arn })),
    ];
    for (const call of calls) {
      await expect(call).rejects.toMatchObject({ name: 'ResourceNotFoundFault', message: expect.stringMatching(/\(EndpointArn\) not found\. Check the ARN with DescribeEndpoints/) });
    }
    const pair = { EndpointArn: Endpoint!.EndpointArn!, ReplicationInstanceArn: instanceArn };
    for (const call of [svc.client().send(new RefreshSchemasCommand(pair)), svc.client().send(new TestConnectionCommand(pair))]) {
      await expect(call).rejects.toMatchObject({
        name: 'ResourceNotFoundFault',
        message: expect.stringMatching(/\(ReplicationInstanceArn\) not found\. Check the ARN with DescribeReplicationInstances/),
      });
    }
  });
});

describe('catalog operations', () => {
  it('DescribeEndpointTypes lists our engines, both directions, with CDC', async () => {
    const client = svc.client();
    const { SupportedEndpointTypes: all } = await client.send(new DescribeEndpointTypesCommand({}));
    expect(all!.map((t) => t.EngineName)).toEqual(expect.arrayContaining(['postgres', 'aurora-postgresql', 'mysql', 'mariadb', 'aurora']));
    expect(all!.every((t) => t.SupportsCDC === true)).toBe(true);
    const { SupportedEndpointTypes: some } = await client.send(
      new DescribeEndpointTypesCommand({ Filters: [{ Name: 'engine-name', Values: ['mysql'] }, { Name: 'endpoint-type', Values: ['TARGET'] }] }),
    );
    expect(some).toEqual([{ EngineName: 'mysql', SupportsCDC: true, EndpointType: 'target', EngineDisplayName: 'MySQL' }]);
  });

  it('DescribeEndpointSettings lists the honoured settings with type, default and applicability', async () => {
    const { EndpointSettings } = await svc.client().send(new DescribeEndpointSettingsCommand({ EngineName: 'postgres' }));
    expect(EndpointSettings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Name: 'slotName', Type: 'string', Applicability: 'source' }),
        expect.objectContaining({ Name: 'heartbeatEnable', Type: 'boolean', DefaultValue: 'true' }),
        expect.objectContaining({ Name: 'pluginName', Type: 'enum', EnumValues: ['no-preference', 'pgoutput'] }),
      ]),
    );
    await expect(svc.client().send(new DescribeEndpointSettingsCommand({ EngineName: 'sqlserver' }))).rejects.toMatchObject({
      name: 'InvalidParameterValueException',
    });
  });
});

describe('restart', () => {
  it('finds every endpoint as it was after the service restarts', async () => {
    const before = await svc.client().send(new DescribeEndpointsCommand({ Filters: [{ Name: 'engine-name', Values: ['mariadb', 'aurora-postgresql'] }] }));
    await svc.restart();
    const after = await svc.client().send(new DescribeEndpointsCommand({ Filters: [{ Name: 'engine-name', Values: ['mariadb', 'aurora-postgresql'] }] }));
    expect(after.Endpoints).toEqual(before.Endpoints);
    expect(after.Endpoints!.length).toBe(2);
  });
});

describe('quota', () => {
  it('refuses the 1001st endpoint with ResourceQuotaExceededFault', async () => {
    const client = svc.client();
    const existing = (await svc.aws(['describe-endpoints', '--query', 'length(Endpoints)'])).stdout;
    const missing = 1000 - Number(existing);
    for (let i = 0; i < missing; i += 20) {
      await Promise.all(
        Array.from({ length: Math.min(20, missing - i) }, (_, j) => client.send(new CreateEndpointCommand(pg(`quota-${i + j}`)))),
      );
    }
    await expect(create(pg('one-too-many'))).rejects.toMatchObject({ name: 'ResourceQuotaExceededFault' });
  }, 120_000);
});
