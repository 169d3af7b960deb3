/** Hand-built, optionally SigV4-signed requests, for protocol faults the SDKs never send. */
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { TEST_KEYS } from './service.js';

export interface RawOptions {
  target?: string;
  body?: string | Buffer;
  contentType?: string;
  sign?: boolean;
  signingDate?: Date;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  region?: string;
  method?: string;
  /** Sent instead of `body` after signing `body`: a tampered request. */
  sendBody?: string;
}

export async function rawRequest(url: string, o: RawOptions = {}): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }> {
  const u = new URL(url);
  const body = o.body ?? '{}';
  const headers: Record<string, string> = {
    host: u.host,
    'content-type': o.contentType ?? 'application/x-amz-json-1.1',
  };
  if (o.target !== undefined) headers['x-amz-target'] = o.target;
  let request = new HttpRequest({ method: o.method ?? 'POST', protocol: 'http:', hostname: u.hostname, port: Number(u.port), path: '/', headers, body });
  if (o.sign !== false) {
    const signer = new SignatureV4({
      credentials: o.credentials ?? TEST_KEYS,
      region: o.region ?? 'us-east-1',
      service: 'dms',
      sha256: Hash.bind(null, 'sha256'),
    });
    request = (await signer.sign(request, o.signingDate ? { signingDate: o.signingDate } : {})) as HttpRequest;
  }
  const res = await fetch(`${url}/`, { method: request.method, headers: request.headers, body: request.method === 'GET' ? undefined : (o.sendBody ?? body) });
  const text = await res.text();
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { raw: text };
  }
  return { status: res.status, headers: res.headers, json };
}
