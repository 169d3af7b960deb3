/**
 * The one place that reads flags, environment and files for `opendms serve`. Everything is
 * resolved once into a frozen object that is passed down; nothing else reads process.env.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { resolveQuotas, type Quotas } from '../model/quotas.js';

export const CREDENTIALS_PROFILE = 'opendms';

export interface ServeFlags {
  host?: string;
  port?: string | number;
  dataDir?: string;
  region?: string;
  accountId?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  logLevel?: string;
  /** `Name=N,...` raising or lowering quotas (see src/model/quotas.ts). */
  quotas?: string;
}

const schema = z.object({
  host: z.string().min(1),
  port: z.coerce.number().int().min(0).max(65535),
  dataDir: z.string().min(1),
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'region must look like us-east-1'),
  accountId: z.string().regex(/^\d{12}$/, 'account id must be 12 digits'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
});

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface ServerConfig extends z.infer<typeof schema> {
  quotas: Quotas;
  credentials: Credentials;
  /** Path of the shared-credentials file we wrote, when the keys were generated or read from it. */
  credentialsFile: string;
  /** True when this start generated the key pair (the entry point prints where it is). */
  credentialsGenerated: boolean;
}

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.OPENDMS_DATA_DIR ?? join(homedir(), '.opendms');
}

export function resolveServerConfig(flags: ServeFlags, env: NodeJS.ProcessEnv = process.env): Readonly<ServerConfig> {
  const base = schema.safeParse({
    host: flags.host ?? env.OPENDMS_HOST ?? '127.0.0.1',
    port: flags.port ?? env.OPENDMS_PORT ?? 9329,
    dataDir: resolve(flags.dataDir ?? defaultDataDir(env)),
    region: flags.region ?? env.OPENDMS_REGION ?? 'us-east-1',
    accountId: flags.accountId ?? env.OPENDMS_ACCOUNT_ID ?? '123456789012',
    logLevel: flags.logLevel ?? env.OPENDMS_LOG_LEVEL ?? 'info',
  });
  if (!base.success) {
    const issue = base.error.issues[0]!;
    throw new Error(`invalid configuration: ${issue.path.join('.')}: ${issue.message}`);
  }
  mkdirSync(base.data.dataDir, { recursive: true, mode: 0o700 });
  const credentialsFile = join(base.data.dataDir, 'credentials');
  const given = flags.accessKeyId ?? env.OPENDMS_ACCESS_KEY_ID;
  const givenSecret = flags.secretAccessKey ?? env.OPENDMS_SECRET_ACCESS_KEY;
  if ((given && !givenSecret) || (!given && givenSecret)) {
    throw new Error('invalid configuration: give both --access-key-id and --secret-access-key (or neither)');
  }
  let credentials: Credentials;
  let credentialsGenerated = false;
  if (given && givenSecret) {
    credentials = { accessKeyId: given, secretAccessKey: givenSecret };
  } else if (existsSync(credentialsFile)) {
    const found = readCredentialsFile(credentialsFile, CREDENTIALS_PROFILE);
    if (!found) throw new Error(`${credentialsFile} has no [${CREDENTIALS_PROFILE}] profile with both keys`);
    credentials = found;
  } else {
    credentials = generateCredentials();
    writeCredentialsFile(credentialsFile, CREDENTIALS_PROFILE, credentials);
    credentialsGenerated = true;
  }
  let quotas: Quotas;
  try {
    quotas = resolveQuotas(flags.quotas ?? env.OPENDMS_QUOTAS);
  } catch (err) {
    throw new Error(`invalid configuration: --quotas: ${(err as Error).message}`, { cause: err });
  }
  return Object.freeze({ ...base.data, quotas, credentials, credentialsFile, credentialsGenerated });
}

export function generateCredentials(): Credentials {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const id = Array.from(randomBytes(16), (b) => alphabet[b % 32]).join('');
  return { accessKeyId: `AKOD${id}`, secretAccessKey: randomBytes(30).toString('base64url') };
}

export function writeCredentialsFile(path: string, profile: string, c: Credentials): void {
  writeFileSync(
    path,
    `# written by opendms: use with AWS_SHARED_CREDENTIALS_FILE=${path} aws --profile ${profile} ...\n` +
      `[${profile}]\naws_access_key_id = ${c.accessKeyId}\naws_secret_access_key = ${c.secretAccessKey}\n`,
    { mode: 0o600 },
  );
  chmodSync(path, 0o600);
}

/** Reads one profile of an AWS shared-credentials (INI) file. */
export function readCredentialsFile(path: string, profile: string): Credentials | undefined {
  let current = '';
  const values: Record<string, string> = {};
  for (const raw of readFileSync(path, 'utf8').split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[\s*(?:profile\s+)?([^\]]+?)\s*\]$/.exec(line);
    if (section) {
      current = section[1]!;
      continue;
    }
    const eq = line.indexOf('=');
    if (current === profile && eq > 0) values[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  const accessKeyId = values.aws_access_key_id;
  const secretAccessKey = values.aws_secret_access_key;
  return accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined;
}
