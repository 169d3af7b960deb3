/**
 * Calls opendms's own operations (extensions/index.ts) from the CLI. The AWS SDK only knows AWS
 * operations, so this signs the request itself with SigV4 (service `dms`, as the server checks)
 * using the credentials the CLI resolved the usual way.
 */
import { createHash, createHmac } from 'node:crypto';
import type { CliConfig } from '../../config/cli-config.js';
import { EXTENSIONS_TARGET_PREFIX } from './index.js';

const sha256 = (data: string): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/** A fault the service answered with; `code` is its __type. */
export class ExtensionFault extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = code;
  }
}

export async function callExtension(config: Pick<CliConfig, 'endpointUrl' | 'region' | 'credentials'>, operation: string, input: Record<string, unknown>): Promise<Record<string, unknown>> {
  const url = new URL(config.endpointUrl);
  const body = JSON.stringify(input);
  const creds = await config.credentials();
  const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const headers: Record<string, string> = {
    'content-type': 'application/x-amz-json-1.1',
    host: url.host,
    'x-amz-date': amzDate,
    'x-amz-target': `${EXTENSIONS_TARGET_PREFIX}.${operation}`,
    ...(creds.sessionToken ? { 'x-amz-security-token': creds.sessionToken } : {}),
  };
  const names = Object.keys(headers).sort();
  const signedHeaders = names.join(';');
  const canonical = ['POST', '/', '', ...names.map((n) => `${n}:${headers[n]}`), '', signedHeaders, sha256(body)].join('\n');
  const scope = `${day}/${config.region}/dms/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const key = ['dms', 'aws4_request'].reduce((k, part) => hmac(k, part), hmac(hmac(`AWS4${creds.secretAccessKey}`, day), config.region));
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  const res = await fetch(new URL('/', url), {
    method: 'POST',
    headers: { ...headers, authorization: `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}` },
    body,
  });
  const text = await res.text();
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new ExtensionFault('InternalFailure', `the service answered ${res.status} with a body that is not JSON`, res.status);
  }
  if (!res.ok) throw new ExtensionFault(String(parsed.__type ?? 'UnknownError'), String(parsed.message ?? `HTTP ${res.status}`), res.status);
  return parsed;
}
