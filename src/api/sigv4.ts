/**
 * AWS Signature Version 4 verification for incoming requests (header-based signing, as the AWS
 * SDKs and CLI send it). We recompute the canonical request and the signature from the secret we
 * hold for the access key and compare in constant time.
 *
 * Reference: "Create a signed AWS API request" in the IAM user guide. Only what an AWS JSON
 * service needs is implemented: POST to "/", any query string, any set of signed headers.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { DmsFault } from '../model/faults.js';

export interface SignedRequest {
  method: string;
  /** Path and query exactly as received, e.g. "/" or "/?a=b". */
  url: string;
  /** Header values as node's http module gives them (lower-case names). */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface VerifyOptions {
  region: string;
  service: string;
  /** Secret for an access key id, or undefined when the key is unknown. */
  secretFor(accessKeyId: string): string | undefined;
  now?: Date;
  /** Largest allowed difference between the request's time and ours. */
  maxSkewMs?: number;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';

const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();

function header(req: SignedRequest, name: string): string | undefined {
  // SignedHeaders is client input: `__proto__` or `constructor` must not reach Object.prototype.
  if (!Object.hasOwn(req.headers, name)) return undefined;
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  terminal: string;
  signedHeaders: string[];
  signature: string;
}

function parseAuthorization(value: string): ParsedAuthorization {
  if (!value.startsWith(`${ALGORITHM} `)) {
    throw new DmsFault('IncompleteSignatureException', `Unsupported Authorization algorithm; expected ${ALGORITHM}.`);
  }
  const parts = new Map<string, string>();
  for (const piece of value.slice(ALGORITHM.length + 1).split(',')) {
    const eq = piece.indexOf('=');
    if (eq > 0) parts.set(piece.slice(0, eq).trim(), piece.slice(eq + 1).trim());
  }
  const credential = parts.get('Credential');
  const signedHeaders = parts.get('SignedHeaders');
  const signature = parts.get('Signature');
  if (!credential || !signedHeaders || !signature) {
    throw new DmsFault(
      'IncompleteSignatureException',
      'Authorization header requires Credential, SignedHeaders and Signature parameters.',
    );
  }
  const scope = credential.split('/');
  if (scope.length !== 5) {
    throw new DmsFault('IncompleteSignatureException', `Credential "${credential}" is not of the form AKID/date/region/service/aws4_request.`);
  }
  const [accessKeyId, date, region, service, terminal] = scope as [string, string, string, string, string];
  return { accessKeyId, date, region, service, terminal, signedHeaders: signedHeaders.split(';'), signature };
}

/** RFC 3986 encoding as SigV4 wants it (unreserved characters kept, everything else %XX). */
function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function canonicalUri(path: string): string {
  // Non-S3 services normalize the path and encode each segment twice (once by the client, once here).
  const segments = path.split('/').map((s) => uriEncode(uriEncode(decodeURIComponentSafe(s))));
  const joined = segments.join('/');
  return joined.startsWith('/') ? joined : `/${joined}`;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function canonicalQuery(query: string): string {
  if (!query) return '';
  return query
    .split('&')
    .filter(Boolean)
    .map((pair) => {
      const eq = pair.indexOf('=');
      const k = eq < 0 ? pair : pair.slice(0, eq);
      const v = eq < 0 ? '' : pair.slice(eq + 1);
      return [uriEncode(decodeURIComponentSafe(k)), uriEncode(decodeURIComponentSafe(v))] as const;
    })
    .sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

function parseAmzDate(text: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return undefined;
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}

/** Verifies the request's signature; returns the access key id it was signed with, or throws the AWS fault. */
export function verifySignature(req: SignedRequest, options: VerifyOptions): string {
  const authorization = header(req, 'authorization');
  if (!authorization) {
    throw new DmsFault('MissingAuthenticationTokenException', 'Missing Authentication Token');
  }
  const auth = parseAuthorization(authorization);
  const secret = options.secretFor(auth.accessKeyId);
  if (secret === undefined) {
    throw new DmsFault('UnrecognizedClientException', 'The security token included in the request is invalid.');
  }
  const amzDate = header(req, 'x-amz-date');
  const requestTime = amzDate ? parseAmzDate(amzDate) : header(req, 'date') ? new Date(header(req, 'date')!) : undefined;
  if (!requestTime || Number.isNaN(requestTime.getTime())) {
    throw new DmsFault('IncompleteSignatureException', 'Authorization header requires existence of either a \'X-Amz-Date\' or a \'Date\' header.');
  }
  const now = options.now ?? new Date();
  const maxSkew = options.maxSkewMs ?? 15 * 60 * 1000;
  if (Math.abs(now.getTime() - requestTime.getTime()) > maxSkew) {
    throw new DmsFault(
      'InvalidSignatureException',
      `Signature expired: ${amzDate ?? requestTime.toISOString()} is more than 15 minutes away from the server's time ${now.toISOString()}.`,
    );
  }
  if (auth.region !== options.region || auth.service !== options.service || auth.terminal !== 'aws4_request') {
    throw new DmsFault(
      'InvalidSignatureException',
      `Credential should be scoped to region '${options.region}' and service '${options.service}' (got '${auth.region}'/'${auth.service}').`,
    );
  }
  if (!auth.signedHeaders.includes('host')) {
    throw new DmsFault('InvalidSignatureException', "'Host' must be a signed header.");
  }
  const headerLines = auth.signedHeaders.map((name) => {
    const value = header(req, name);
    if (value === undefined) throw new DmsFault('InvalidSignatureException', `Signed header '${name}' is missing from the request.`);
    return `${name}:${value.trim().replace(/\s+/g, ' ')}\n`;
  });
  const [path = '/', query = ''] = req.url.split('?', 2) as [string?, string?];
  const payloadHash = header(req, 'x-amz-content-sha256') ?? sha256Hex(req.body);
  const canonicalRequest = [
    req.method.toUpperCase(),
    canonicalUri(path),
    canonicalQuery(query),
    headerLines.join(''),
    auth.signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate ?? '', scope, sha256Hex(canonicalRequest)].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${secret}`, auth.date), auth.region), auth.service), 'aws4_request');
  const expected = createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest();
  const given = Buffer.from(auth.signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new DmsFault(
      'InvalidSignatureException',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
    );
  }
  if (payloadHash !== 'UNSIGNED-PAYLOAD' && payloadHash !== sha256Hex(req.body)) {
    throw new DmsFault('InvalidSignatureException', 'The provided x-amz-content-sha256 header does not match the request body.');
  }
  return auth.accessKeyId;
}
