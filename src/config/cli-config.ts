/**
 * The one place that reads flags, environment and files for the `opendms` API commands (the
 * client side; `server-config.ts` is the service side). Resolves where to send requests, which
 * region to sign for and which credentials to sign with, the way the AWS CLI does, plus one
 * opendms-specific last resort: the key pair the local service wrote into its data dir.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CREDENTIALS_PROFILE, defaultDataDir, readCredentialsFile } from './server-config.js';

export const DEFAULT_ENDPOINT_URL = 'http://127.0.0.1:9329';
export const DEFAULT_REGION = 'us-east-1';

export interface AwsCredentialIdentity {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}
export type AwsCredentialIdentityProvider = () => Promise<AwsCredentialIdentity>;

export interface CliConnectionFlags {
  endpointUrl?: string;
  region?: string;
  profile?: string;
  dataDir?: string;
}

export interface CliConfig {
  endpointUrl: string;
  region: string;
  /** The profile asked for (--profile or AWS_PROFILE), if any. */
  profile: string | undefined;
  dataDir: string;
  /** Resolved lazily (on the first signed request) so `--help` and usage errors never touch files. */
  credentials: AwsCredentialIdentityProvider;
  /** Where the credentials came from, once resolved (for --debug; never the secret). */
  credentialSource(): string | undefined;
}

/** Raised when no credentials can be found; the CLI maps it to the AWS CLI's exit code 253. */
export class CredentialsNotFoundError extends Error {
  override name = 'CredentialsNotFoundError';
}

export async function resolveCliConfig(flags: CliConnectionFlags, env: NodeJS.ProcessEnv = process.env): Promise<Readonly<CliConfig>> {
  // The SDK warns on stderr about a future Node 22 requirement; CLI users cannot act on it and
  // scripts that parse stderr would trip over it.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const profile = flags.profile ?? nonEmpty(env.AWS_PROFILE);
  const dataDir = resolve(flags.dataDir ?? defaultDataDir(env));
  const endpointUrl =
    flags.endpointUrl ?? nonEmpty(env.OPENDMS_ENDPOINT_URL) ?? nonEmpty(env.AWS_ENDPOINT_URL_DMS) ?? nonEmpty(env.AWS_ENDPOINT_URL) ?? DEFAULT_ENDPOINT_URL;
  try {
    new URL(endpointUrl);
  } catch {
    throw new Error(`--endpoint-url: "${endpointUrl}" is not a URL; expected something like ${DEFAULT_ENDPOINT_URL}`);
  }
  const region =
    flags.region ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION) ?? (await profileRegion(profile ?? 'default')) ?? DEFAULT_REGION;
  const chain = credentialChain(profile, dataDir, env);
  return Object.freeze({ endpointUrl, region, profile, dataDir, credentials: chain.provider, credentialSource: () => chain.source });
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

async function profileRegion(profile: string): Promise<string | undefined> {
  try {
    // Imported on use: the SDK's credential modules are a large part of the CLI's start-up time.
    const { loadSharedConfigFiles } = await import('@smithy/shared-ini-file-loader');
    const files = await loadSharedConfigFiles();
    return files.configFile[profile]?.region ?? files.credentialsFile[profile]?.region;
  } catch {
    return undefined;
  }
}

/**
 * The AWS CLI's order, minus the EC2/ECS metadata probes (a local service's CLI should not stall
 * a second on a link-local address): an explicit profile wins over environment keys; then
 * AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; then the shared files (static keys, assume-role, SSO,
 * credential_process, via the SDK's fromIni); finally `<data-dir>/credentials`, profile `opendms`
 * (or the asked-for profile), which `opendms serve` generates on its first start.
 */
function credentialChain(
  profile: string | undefined,
  dataDir: string,
  env: NodeJS.ProcessEnv,
): { provider: AwsCredentialIdentityProvider; source: string | undefined } {
  let cached: Promise<AwsCredentialIdentity> | undefined;
  const chain = { provider: (() => (cached ??= resolveOnce())) as AwsCredentialIdentityProvider, source: undefined as string | undefined };
  const resolveOnce = async (): Promise<AwsCredentialIdentity> => {
    const explicitProfile = profile !== undefined;
    const accessKeyId = nonEmpty(env.AWS_ACCESS_KEY_ID);
    const secretAccessKey = nonEmpty(env.AWS_SECRET_ACCESS_KEY);
    if (!explicitProfile && accessKeyId && secretAccessKey) {
      const sessionToken = nonEmpty(env.AWS_SESSION_TOKEN);
      chain.source = 'environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY';
      return sessionToken ? { accessKeyId, secretAccessKey, sessionToken } : { accessKeyId, secretAccessKey };
    }
    try {
      const { fromIni } = await import('@aws-sdk/credential-provider-ini');
      const found = await fromIni({ profile: profile ?? 'default', ignoreCache: true })();
      chain.source = `profile "${profile ?? 'default'}" of the AWS shared credentials/config files`;
      return found;
    } catch (err) {
      const fallbackFile = join(dataDir, 'credentials');
      const fallbackProfile = profile ?? CREDENTIALS_PROFILE;
      if (existsSync(fallbackFile)) {
        const found = readCredentialsFile(fallbackFile, fallbackProfile);
        if (found) {
          chain.source = `profile "${fallbackProfile}" of ${fallbackFile} (the local service's credentials)`;
          return found;
        }
      }
      if (explicitProfile) {
        throw new CredentialsNotFoundError(
          `The config profile (${profile}) could not be found in the AWS shared credentials/config files nor in ${fallbackFile}` +
            ` (${err instanceof Error ? err.message : String(err)})`,
        );
      }
      throw new CredentialsNotFoundError(
        'Unable to locate credentials. Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, pass --profile, ' +
          `or start the local service once (opendms serve) so that it writes ${fallbackFile} (profile "${CREDENTIALS_PROFILE}"); ` +
          'a different data dir is chosen with --data-dir or OPENDMS_DATA_DIR.',
      );
    }
  };
  return chain;
}
