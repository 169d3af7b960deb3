/** SigV4 verification against signatures made by the AWS SDK's own signer. */
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { verifySignature } from '../../src/api/sigv4.js';

const creds = { accessKeyId: 'AKODUNIT', secretAccessKey: 'unit-secret' };

async function signed(body: string, opts: { path?: string; query?: Record<string, string>; date?: Date; region?: string } = {}) {
  const signer = new SignatureV4({ credentials: creds, region: opts.region ?? 'us-east-1', service: 'dms', sha256: Hash.bind(null, 'sha256') });
  const req = new HttpRequest({
    method: 'POST',
    hostname: 'localhost',
    port: 9329,
    path: opts.path ?? '/',
    query: opts.query ?? {},
    headers: { host: 'localhost:9329', 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AmazonDMSv20160101.DescribeEndpoints', 'x-custom': '  a   b  ' },
    body,
  });
  const s = await signer.sign(req, opts.date ? { signingDate: opts.date } : {});
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.headers)) headers[k.toLowerCase()] = v;
  const qs = Object.entries(opts.query ?? {}).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  return { method: 'POST', url: (opts.path ?? '/') + (qs ? `?${qs}` : ''), headers, body: Buffer.from(body) };
}

const options = { region: 'us-east-1', service: 'dms', secretFor: (id: string) => (id === creds.accessKeyId ? creds.secretAccessKey : undefined) };

describe('verifySignature', () => {
  it('accepts what the SDK signs', async () => {
    expect(verifySignature(await signed('{"MaxRecords":20}'), options)).toBe('AKODUNIT');
  });

  it('accepts a query string and a non-root path', async () => {
    expect(verifySignature(await signed('{}', { path: '/a%20b/c', query: { z: '1', a: 'x y' } }), options)).toBe('AKODUNIT');
  });

  it('rejects a changed body, header or secret', async () => {
    const r = await signed('{}');
    expect(() => verifySignature({ ...r, body: Buffer.from('{"x":1}') }, options)).toThrow(/does not match/);
    expect(() => verifySignature({ ...r, headers: { ...r.headers, 'x-amz-target': 'AmazonDMSv20160101.DeleteEndpoint' } }, options)).toThrow(
      /signature we calculated/,
    );
    expect(() => verifySignature(r, { ...options, secretFor: () => 'other' })).toThrow(/signature we calculated/);
  });

  it('names the fault for each failure', async () => {
    const r = await signed('{}');
    const codeOf = (fn: () => unknown): string => {
      try {
        fn();
        return 'none';
      } catch (e) {
        return (e as { code: string }).code;
      }
    };
    expect(codeOf(() => verifySignature({ ...r, headers: { ...r.headers, authorization: undefined as unknown as string } }, options))).toBe(
      'MissingAuthenticationTokenException',
    );
    expect(codeOf(() => verifySignature(r, { ...options, secretFor: () => undefined }))).toBe('UnrecognizedClientException');
    expect(codeOf(() => verifySignature(r, { ...options, region: 'eu-west-1' }))).toBe('InvalidSignatureException');
    expect(codeOf(() => verifySignature(r, { ...options, now: new Date(Date.now() + 16 * 60 * 1000) }))).toBe('InvalidSignatureException');
    expect(codeOf(() => verifySignature({ ...r, headers: { ...r.headers, authorization: 'AWS4-HMAC-SHA256 Credential=x' } }, options))).toBe(
      'IncompleteSignatureException',
    );
  });

  it('allows 14 minutes of clock skew', async () => {
    const r = await signed('{}', { date: new Date(Date.now() - 14 * 60 * 1000) });
    expect(verifySignature(r, options)).toBe('AKODUNIT');
  });
});
