/**
 * The `opendms` CLI (built into dist/) against the real service: commands and options named like
 * `aws dms`, shorthand/JSON/file:// input, json/text/table output, --query, auto-pagination,
 * waiters, AWS CLI exit codes and messages, --help, and credential lookup down to the local
 * service's generated credentials file.
 */
import { CreateEndpointCommand } from '@aws-sdk/client-database-migration-service';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPENDMS_BIN, startService, TEST_KEYS, type RunningService } from '../helpers/service.js';

const TEST_ENV = { AWS_ACCESS_KEY_ID: TEST_KEYS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_KEYS.secretAccessKey, AWS_REGION: 'us-east-1' };

let svc: RunningService;
let work: string;

beforeAll(async () => {
  svc = await startService();
  work = mkdtempSync(join(tmpdir(), 'opendms-cli-'));
});
afterAll(async () => {
  await svc?.destroy();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Runs the CLI and parses its JSON output, failing with stderr when it did not exit 0. */
async function cliJson<T = Record<string, unknown>>(args: string[]): Promise<T> {
  const r = await svc.cli(args);
  if (r.code !== 0) throw new Error(`opendms ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

function endpointArgs(id: string, type: 'source' | 'target' = 'source'): string[] {
  return ['--endpoint-identifier', id, '--endpoint-type', type, '--engine-name', 'postgres', '--server-name', '127.0.0.1', '--port', '5432', '--database-name', 'app', '--username', 'dms', '--password', 'secret-pw'];
}

describe('API commands', () => {
  it('describe-account-attributes prints the AWS-shaped JSON result', async () => {
    const out = await cliJson<{ AccountQuotas: { AccountQuotaName: string; Max: number }[] }>(['describe-account-attributes']);
    expect(out.AccountQuotas.map((q) => q.AccountQuotaName)).toContain('Endpoints');
    expect(out).not.toHaveProperty('$metadata');
  });

  it('create + describe + query round trip with shorthand tags and shorthand or JSON filters', async () => {
    const created = await svc.cli(['create-endpoint', ...endpointArgs('cli-src'), '--tags', 'Key=team,Value=data', 'Key=env,Value=dev', '--query', 'Endpoint.EndpointArn', '--output', 'text']);
    expect(created.code, created.stderr).toBe(0);
    const arn = created.stdout.trim();
    expect(arn).toMatch(/^arn:aws:dms:us-east-1:\d{12}:endpoint:[A-Z0-9]+$/);
    expect(created.stdout).not.toContain('secret-pw');

    const byShorthand = await cliJson<string[]>(['describe-endpoints', '--filters', `Name=endpoint-arn,Values=${arn}`, '--query', 'Endpoints[].EndpointIdentifier']);
    expect(byShorthand).toEqual(['cli-src']);
    const byJson = await cliJson<string[]>(['describe-endpoints', '--filters', JSON.stringify([{ Name: 'endpoint-id', Values: ['cli-src', 'nope'] }]), '--query', 'Endpoints[].Port']);
    expect(byJson).toEqual([5432]);

    const tags = await cliJson<{ TagList: { Key: string; Value: string }[] }>(['list-tags-for-resource', '--resource-arn', arn]);
    expect(tags.TagList).toEqual(expect.arrayContaining([expect.objectContaining({ Key: 'team', Value: 'data' }), expect.objectContaining({ Key: 'env', Value: 'dev' })]));

    // Lists of strings take separate values: --tag-keys a b
    expect((await svc.cli(['remove-tags-from-resource', '--resource-arn', arn, '--tag-keys', 'team', 'env'])).code).toBe(0);
    expect(await cliJson(['list-tags-for-resource', '--resource-arn', arn, '--query', 'length(TagList)'])).toBe(0);
  });

  it('reads file:// values and --cli-input-json, options overriding the file', async () => {
    const input = join(work, 'endpoint.json');
    writeFileSync(input, JSON.stringify({ EndpointIdentifier: 'from-file', EndpointType: 'target', EngineName: 'postgres', ServerName: 'db.internal', Port: 5433, DatabaseName: 'app', Username: 'u', Password: 'p' }));
    const tags = join(work, 'tags.json');
    writeFileSync(tags, '[{"Key":"origin","Value":"file"}]');
    const out = await cliJson<{ Endpoint: { EndpointIdentifier: string; Port: number; ServerName: string; EndpointArn: string } }>([
      'create-endpoint',
      '--cli-input-json',
      `file://${input}`,
      '--port',
      '6543',
      '--tags',
      `file://${tags}`,
    ]);
    expect(out.Endpoint).toMatchObject({ EndpointIdentifier: 'from-file', ServerName: 'db.internal', Port: 6543 });
    expect(await cliJson(['list-tags-for-resource', '--resource-arn', out.Endpoint.EndpointArn, '--query', 'TagList[0].Value'])).toBe('file');

    // --generate-cli-skeleton prints the input template; --cli-input-json also takes inline JSON.
    const skeleton = await cliJson<Record<string, unknown>>(['create-endpoint', '--generate-cli-skeleton']);
    expect(skeleton).toMatchObject({ EndpointIdentifier: '', EndpointType: 'source', Port: 0 });
    const inline = await svc.cli(['create-endpoint', '--cli-input-json', JSON.stringify({ EndpointIdentifier: 'inline-json', EndpointType: 'source', EngineName: 'postgres', ServerName: 'h', Port: 5432, DatabaseName: 'app', Username: 'u', Password: 'p' }), '--query', 'Endpoint.EndpointIdentifier', '--output', 'text']);
    expect(inline.stdout.trim(), inline.stderr).toBe('inline-json');

    const missing = await svc.cli(['create-endpoint', '--cli-input-json', `file://${join(work, 'missing.json')}`]);
    expect(missing.code).toBe(252);
    expect(missing.stderr).toMatch(/--cli-input-json: cannot read file:\/\/.*missing\.json: ENOENT/);
  });

  it('prints --output text and --output table like the AWS CLI', async () => {
    const text = await svc.cli(['describe-endpoints', '--filters', 'Name=endpoint-id,Values=cli-src', '--query', 'Endpoints[].[EndpointIdentifier,EngineName,Port]', '--output', 'text']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toBe('cli-src\tpostgres\t5432\n');

    // Global options may also come before the command, as with `aws --output text dms ...`.
    const rows = await svc.cli(['--output', 'text', 'describe-account-attributes']);
    expect(rows.stdout).toMatch(/^ACCOUNTQUOTAS\tEndpoints\t\d+\t\d+$/m);

    const table = await svc.cli(['describe-endpoints', '--filters', 'Name=endpoint-id,Values=cli-src', '--output', 'table']);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[1]).toMatch(/^\|\s+DescribeEndpoints\s+\|$/);
    // Wider than 80 columns, so (as with `aws`) the single endpoint is drawn vertically: name | value.
    expect(table.stdout).toMatch(/^\|\|\s+EndpointIdentifier\s*\|\s+cli-src\s+\|\|$/m);
    expect(table.stdout).toMatch(/^\|\|\|\s+PostgreSQLSettings\s+\|\|\|$/m);
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
  });

  it('auto-paginates, stops at --max-items with a NextToken, resumes with --starting-token', async () => {
    const client = svc.client();
    for (let i = 0; i < 22; i++) {
      await client.send(new CreateEndpointCommand({ EndpointIdentifier: `page-${String(i).padStart(2, '0')}`, EndpointType: 'source', EngineName: 'mysql', ServerName: 'h', Port: 3306, Username: 'u', Password: 'p' }));
    }
    const filter = ['--filters', 'Name=engine-name,Values=mysql'];
    const all = await cliJson<string[]>(['describe-endpoints', ...filter, '--page-size', '20', '--query', 'Endpoints[].EndpointIdentifier']);
    expect(all).toHaveLength(22);
    expect(new Set(all).size).toBe(22);

    const onePage = await cliJson<{ Endpoints: unknown[]; Marker?: string }>(['describe-endpoints', ...filter, '--max-records', '20']);
    expect(onePage.Endpoints).toHaveLength(20);
    expect(onePage.Marker).toBeTruthy();

    const first = await cliJson<{ Endpoints: { EndpointIdentifier: string }[]; NextToken: string }>(['describe-endpoints', ...filter, '--page-size', '20', '--max-items', '21']);
    expect(first.Endpoints).toHaveLength(21);
    expect(first.NextToken).toBeTruthy();
    const rest = await cliJson<{ Endpoints: { EndpointIdentifier: string }[]; NextToken?: string }>(['describe-endpoints', ...filter, '--page-size', '20', '--max-items', '21', '--starting-token', first.NextToken]);
    expect(rest.NextToken).toBeUndefined();
    expect([...first.Endpoints, ...rest.Endpoints].map((e) => e.EndpointIdentifier)).toEqual(all);
  });

  it('creates an instance and a task from file:// table mappings, waiting on both with waiters', async () => {
    const ri = await cliJson<string>([
      'create-replication-instance',
      '--replication-instance-identifier', 'cli-ri',
      '--replication-instance-class', 'dms.t3.micro',
      '--no-multi-az',
      '--query', 'ReplicationInstance.ReplicationInstanceArn',
    ]);
    const waited = await svc.cli(['wait', 'replication-instance-available', '--filters', 'Name=replication-instance-id,Values=cli-ri', '--delay', '0.5', '--max-attempts', '150']);
    expect(waited.code, waited.stderr).toBe(0);
    expect(await cliJson(['describe-replication-instances', '--filters', `Name=replication-instance-arn,Values=${ri}`, '--query', 'ReplicationInstances[0].[ReplicationInstanceStatus,MultiAZ]'])).toEqual(['available', false]);

    // Timestamps as ISO 8601 or epoch seconds: the creation is inside a window around now, not in a later one.
    const now = Math.floor(Date.now() / 1000);
    const events = ['describe-events', '--source-type', 'replication-instance', '--query', 'Events[].SourceIdentifier'];
    expect(await cliJson([...events, '--start-time', new Date((now - 600) * 1000).toISOString(), '--end-time', String(now + 60)])).toContain('cli-ri');
    expect(await cliJson([...events, '--start-time', String(now + 3600), '--end-time', new Date((now + 7200) * 1000).toISOString()])).not.toContain('cli-ri');

    const target = await cliJson<string>(['create-endpoint', ...endpointArgs('cli-tgt', 'target'), '--query', 'Endpoint.EndpointArn']);
    const source = await cliJson<string>(['describe-endpoints', '--filters', 'Name=endpoint-id,Values=cli-src', '--query', 'Endpoints[0].EndpointArn']);
    const mappings = { rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 'all', 'object-locator': { 'schema-name': 'public', 'table-name': '%' }, 'rule-action': 'include' }] };
    writeFileSync(join(work, 'mappings.json'), JSON.stringify(mappings));
    const task = await cliJson<{ ReplicationTask: { ReplicationTaskArn: string; TableMappings: string } }>([
      'create-replication-task',
      '--replication-task-identifier', 'cli-task',
      '--migration-type', 'full-load-and-cdc',
      '--source-endpoint-arn', source,
      '--target-endpoint-arn', target,
      '--replication-instance-arn', ri,
      '--table-mappings', `file://${join(work, 'mappings.json')}`,
    ]);
    expect(JSON.parse(task.ReplicationTask.TableMappings)).toEqual(mappings);
    const ready = await svc.cli(['wait', 'replication-task-ready', '--filters', `Name=replication-task-arn,Values=${task.ReplicationTask.ReplicationTaskArn}`, '--delay', '0.5']);
    expect(ready.code, ready.stderr).toBe(0);
    expect(await cliJson(['describe-replication-tasks', '--filters', 'Name=replication-task-id,Values=cli-task', '--without-settings', '--query', 'ReplicationTasks[0].Status'])).toBe('ready');
  });

  it('a waiter fails with exit 255 on a terminal state and succeeds on the expected fault', async () => {
    const arn = await cliJson<string>(['create-endpoint', ...endpointArgs('cli-doomed'), '--query', 'Endpoint.EndpointArn']);
    const filter = ['--filters', `Name=endpoint-arn,Values=${arn}`];
    const early = await svc.cli(['wait', 'endpoint-deleted', ...filter, '--delay', '0']);
    expect(early.code).toBe(255);
    expect(early.stderr).toContain('Waiter EndpointDeleted failed: Waiter encountered a terminal failure state');
    expect((await svc.cli(['delete-endpoint', '--endpoint-arn', arn])).code).toBe(0);
    const done = await svc.cli(['wait', 'endpoint-deleted', ...filter, '--delay', '0.2', '--max-attempts', '50']);
    expect(done.code, done.stderr).toBe(0);
  });
});

describe('errors', () => {
  it('prints a fault like the AWS CLI and exits 254', async () => {
    const r = await svc.cli(['delete-endpoint', '--endpoint-arn', 'arn:aws:dms:us-east-1:123456789012:endpoint:NOSUCHENDPOINT']);
    expect(r.code).toBe(254);
    expect(r.stderr).toMatch(/An error occurred \(ResourceNotFoundFault\) when calling the DeleteEndpoint operation: .+/);
    expect(r.stdout).toBe('');
  });

  it('reaches every model operation, answered with InvalidOperationFault when the service does not implement it', async () => {
    const r = await svc.cli(['describe-fleet-advisor-collectors']);
    expect(r.code).toBe(254);
    expect(r.stderr).toContain('An error occurred (InvalidOperationFault) when calling the DescribeFleetAdvisorCollectors operation');
  });

  it('exits 252 with the usage hint on bad values, missing required options and unknown options', async () => {
    const bad = await svc.cli(['describe-replication-tasks', '--max-records', 'twenty']);
    expect(bad.code).toBe(252);
    expect(bad.stderr).toContain('--max-records: expected an integer (like 20), got "twenty"');
    expect(bad.stderr).toContain('usage: opendms describe-replication-tasks [options]');

    const missing = await svc.cli(['move-replication-task', '--replication-task-arn', 'arn:aws:dms:us-east-1:123456789012:task:X']);
    expect(missing.code).toBe(252);
    expect(missing.stderr).toContain('the following arguments are required: --target-replication-instance-arn');

    const unknown = await svc.cli(['describe-endpoints', '--no-such-option', 'x']);
    expect(unknown.code).toBe(252);
    expect(unknown.stderr).toContain("unknown option '--no-such-option'");
    expect(unknown.stderr).toContain('opendms describe-endpoints --help');

    const badTime = await svc.cli(['describe-events', '--start-time', 'last tuesday']);
    expect(badTime.code).toBe(252);
    expect(badTime.stderr).toMatch(/--start-time: expected a timestamp as ISO 8601 .* or epoch seconds/);
  });

  it('exits 255 with a hint when nothing listens at --endpoint-url', async () => {
    // svc.cli() appends the service's --endpoint-url, so run the binary directly here.
    const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(process.execPath, [OPENDMS_BIN, 'describe-endpoints', '--endpoint-url', 'http://127.0.0.1:1'], { env: { ...process.env, ...TEST_ENV, AWS_MAX_ATTEMPTS: '1' } }, (err, _out, stderr) => {
        resolve({ code: typeof err?.code === 'number' ? err.code : 0, stderr });
      });
    });
    expect(r.code).toBe(255);
    expect(r.stderr).toContain('Could not connect to the endpoint URL');
  });
});

describe('--help', () => {
  it('documents each command from the model: description, typed options, required flags, an example', async () => {
    const r = await svc.cli(['move-replication-task', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: opendms move-replication-task [options]');
    expect(r.stdout).toMatch(/Moves a replication task/);
    expect(r.stdout).not.toMatch(/<p>|<\/?code>/);
    expect(r.stdout).toMatch(/--replication-task-arn <value>\s+\[string\] \(required\)/);
    expect(r.stdout).toMatch(/--target-replication-instance-arn <value>\s+\[string\] \(required\)/);
    expect(r.stdout).toContain('Examples:\n  opendms move-replication-task --replication-task-arn');

    const filters = await svc.cli(['describe-replication-tasks', '--help']);
    expect(filters.stdout).toMatch(/--filters <values...>\s+\[list of structures, JSON or shorthand:\s+Name=string,Values=string,string/);
    expect(filters.stdout).toContain('--no-paginate');
  });

  it('lists every operation, grouped, in opendms --help', async () => {
    const r = await svc.cli(['--help']);
    expect(r.code).toBe(0);
    for (const heading of ['Service:', 'Replication instances:', 'Endpoints and connections:', 'Replication tasks:', 'Waiters:']) expect(r.stdout).toContain(heading);
    for (const cmd of ['serve', 'describe-replication-tasks', 'move-replication-task', 'create-endpoint', 'describe-account-attributes', 'wait']) {
      expect(r.stdout).toMatch(new RegExp(`^  ${cmd}\\b`, 'm'));
    }
    const waiters = await svc.cli(['wait', '--help']);
    expect(waiters.stdout).toMatch(/^ {2}replication-task-stopped\b/m);
    expect(waiters.stdout).toMatch(/^ {2}test-connection-succeeds\b/m);
  });
});

describe('credentials', () => {
  let local: RunningService;
  let home: string;
  beforeAll(async () => {
    // No keys configured: the service generates <data-dir>/credentials, profile "opendms".
    local = await startService({ env: { OPENDMS_ACCESS_KEY_ID: '', OPENDMS_SECRET_ACCESS_KEY: '' } });
    home = mkdtempSync(join(tmpdir(), 'opendms-cli-home-'));
  });
  afterAll(async () => {
    await local?.destroy();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  /** An environment with no AWS credentials anywhere (no env keys, an empty home, no shared files). */
  const bare = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    AWS_ACCESS_KEY_ID: '',
    AWS_SECRET_ACCESS_KEY: '',
    AWS_PROFILE: '',
    HOME: home,
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'none', 'credentials'),
    AWS_CONFIG_FILE: join(home, 'none', 'config'),
    OPENDMS_DATA_DIR: join(home, 'no-service-here'),
    ...extra,
  });

  it('falls back to the local service credentials file (--data-dir or OPENDMS_DATA_DIR)', async () => {
    const viaFlag = await local.cli(['describe-replication-instances', '--data-dir', local.dataDir, '--debug'], bare());
    expect(viaFlag.code, viaFlag.stderr).toBe(0);
    expect(JSON.parse(viaFlag.stdout)).toEqual({ ReplicationInstances: [] });
    // --debug says where the keys came from, and never prints the secret.
    expect(viaFlag.stderr).toContain(`credentials from profile "opendms" of ${join(local.dataDir, 'credentials')}`);
    expect(viaFlag.stderr).not.toMatch(/aws_secret_access_key|secretAccessKey/i);
    const viaEnv = await local.cli(['describe-account-attributes', '--query', 'length(AccountQuotas) > `0`'], bare({ OPENDMS_DATA_DIR: local.dataDir }));
    expect(viaEnv.code, viaEnv.stderr).toBe(0);
    expect(viaEnv.stdout.trim()).toBe('true');
  });

  it('exits 253 when no credentials are found anywhere', async () => {
    const r = await local.cli(['describe-replication-instances'], bare());
    expect(r.code).toBe(253);
    expect(r.stderr).toContain('Unable to locate credentials');
  });

  it('prefers AWS_* environment keys, and --profile from the shared credentials file', async () => {
    // The test keys are wrong for this service: the env keys must be the ones used, not the fallback.
    const env = await local.cli(['describe-replication-instances', '--data-dir', local.dataDir], bare({ AWS_ACCESS_KEY_ID: TEST_KEYS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_KEYS.secretAccessKey }));
    expect(env.code).toBe(254);
    expect(env.stderr).toContain('UnrecognizedClientException');

    // The generated file is itself an AWS shared-credentials file: --profile opendms reads it.
    const profile = await local.cli(['describe-replication-instances', '--profile', 'opendms'], bare({ AWS_SHARED_CREDENTIALS_FILE: join(local.dataDir, 'credentials') }));
    expect(profile.code, profile.stderr).toBe(0);
    const unknownProfile = await local.cli(['describe-replication-instances', '--profile', 'nobody'], bare());
    expect(unknownProfile.code).toBe(253);
    expect(unknownProfile.stderr).toContain('The config profile (nobody) could not be found');
  });
});
