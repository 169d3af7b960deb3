/** Where the CLI connects, which region it signs for and which credentials it finds (AWS CLI order, then the local file). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { CredentialsNotFoundError, resolveCliConfig } from '../../src/config/cli-config.js';
import { writeCredentialsFile } from '../../src/config/server-config.js';

let dir: string;
let env: NodeJS.ProcessEnv;
const saved = { HOME: process.env.HOME, AWS_SHARED_CREDENTIALS_FILE: process.env.AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE: process.env.AWS_CONFIG_FILE };

afterAll(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'opendms-cli-config-'));
  // The SDK's shared-file loader reads these from process.env itself: point them at this test's files.
  process.env.HOME = dir;
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'aws-credentials');
  process.env.AWS_CONFIG_FILE = join(dir, 'aws-config');
  writeFileSync(process.env.AWS_SHARED_CREDENTIALS_FILE, '');
  writeFileSync(process.env.AWS_CONFIG_FILE, '');
  env = { HOME: dir, OPENDMS_DATA_DIR: join(dir, 'data') };
});

describe('endpoint and region', () => {
  it('defaults to the local service in us-east-1', async () => {
    const c = await resolveCliConfig({}, env);
    expect(c.endpointUrl).toBe('http://127.0.0.1:9329');
    expect(c.region).toBe('us-east-1');
    expect(c.dataDir).toBe(join(dir, 'data'));
  });

  it('takes flags over environment over the profile', async () => {
    writeFileSync(process.env.AWS_CONFIG_FILE!, '[profile far]\nregion = ap-south-1\n');
    expect((await resolveCliConfig({ profile: 'far' }, env)).region).toBe('ap-south-1');
    expect((await resolveCliConfig({ profile: 'far' }, { ...env, AWS_DEFAULT_REGION: 'eu-west-2' })).region).toBe('eu-west-2');
    expect((await resolveCliConfig({ profile: 'far' }, { ...env, AWS_DEFAULT_REGION: 'eu-west-2', AWS_REGION: 'eu-west-1' })).region).toBe('eu-west-1');
    expect((await resolveCliConfig({ profile: 'far', region: 'us-west-2' }, { ...env, AWS_REGION: 'eu-west-1' })).region).toBe('us-west-2');
    expect((await resolveCliConfig({}, { ...env, OPENDMS_ENDPOINT_URL: 'http://10.0.0.5:9329' })).endpointUrl).toBe('http://10.0.0.5:9329');
    expect((await resolveCliConfig({ endpointUrl: 'http://x:1' }, { ...env, OPENDMS_ENDPOINT_URL: 'http://10.0.0.5:9329' })).endpointUrl).toBe('http://x:1');
  });

  it('refuses an endpoint that is not a URL, naming the flag', async () => {
    await expect(resolveCliConfig({ endpointUrl: 'localhost 9329' }, env)).rejects.toThrow(/--endpoint-url: "localhost 9329" is not a URL/);
  });
});

describe('credentials', () => {
  const local = { accessKeyId: 'AKODLOCAL', secretAccessKey: 'local-secret' };

  it('uses environment keys first, then the default profile, then <data-dir>/credentials', async () => {
    writeCredentialsFile(join(dir, 'credentials'), 'opendms', local);
    const fromEnv = await resolveCliConfig({ dataDir: dir }, { ...env, AWS_ACCESS_KEY_ID: 'AKENV', AWS_SECRET_ACCESS_KEY: 's' });
    expect(await fromEnv.credentials()).toEqual({ accessKeyId: 'AKENV', secretAccessKey: 's' });

    writeFileSync(process.env.AWS_SHARED_CREDENTIALS_FILE!, '[default]\naws_access_key_id = AKDEFAULT\naws_secret_access_key = d\n');
    expect(await (await resolveCliConfig({ dataDir: dir }, env)).credentials()).toMatchObject({ accessKeyId: 'AKDEFAULT' });

    writeFileSync(process.env.AWS_SHARED_CREDENTIALS_FILE!, '');
    const fallback = await resolveCliConfig({ dataDir: dir }, env);
    expect(fallback.credentialSource()).toBeUndefined();
    expect(await fallback.credentials()).toEqual(local);
    expect(fallback.credentialSource()).toBe(`profile "opendms" of ${join(dir, 'credentials')} (the local service's credentials)`);
  });

  it('lets an explicit profile win over environment keys, and finds it in the local file too', async () => {
    writeFileSync(process.env.AWS_SHARED_CREDENTIALS_FILE!, '[work]\naws_access_key_id = AKWORK\naws_secret_access_key = w\n');
    const keys = { ...env, AWS_ACCESS_KEY_ID: 'AKENV', AWS_SECRET_ACCESS_KEY: 's' };
    expect(await (await resolveCliConfig({ profile: 'work' }, keys)).credentials()).toMatchObject({ accessKeyId: 'AKWORK' });
    writeCredentialsFile(join(dir, 'credentials'), 'opendms', local);
    expect(await (await resolveCliConfig({ profile: 'opendms', dataDir: dir }, keys)).credentials()).toEqual(local);
    await expect((await resolveCliConfig({ profile: 'nobody', dataDir: dir }, keys)).credentials()).rejects.toThrow(/The config profile \(nobody\) could not be found/);
  });

  it('says where to get credentials when there are none', async () => {
    const c = await resolveCliConfig({}, env);
    await expect(c.credentials()).rejects.toThrow(CredentialsNotFoundError);
    await expect(c.credentials()).rejects.toThrow(/Unable to locate credentials.*opendms serve.*credentials/s);
  });
});
