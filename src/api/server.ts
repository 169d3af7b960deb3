/**
 * The AWS JSON 1.1 front door: POST / with X-Amz-Target, SigV4-verified, validated against the
 * DMS model, dispatched to an operation handler, answered with x-amzn-RequestId. Every failure is
 * a fault object with a 4xx status; a handler bug is a 500 InternalFailure, never a crash.
 *
 * `buildServer` returns a node:http server that is not listening; only bin/ entry points listen.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { App } from '../control/app.js';
import { getOperation, TARGET_PREFIX } from '../model/api-model.js';
import { DmsFault } from '../model/faults.js';
import { EXTENSIONS_TARGET_PREFIX, extensionOperations } from './extensions/index.js';
import type { OperationTable } from './handler.js';
import { operations as defaultOperations } from './operations/index.js';
import { decodeInput, encodeOutput } from './shape-codec.js';
import { verifySignature } from './sigv4.js';

/** Largest request body accepted (table mappings and settings documents fit well inside). */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;
const JSON_CONTENT_TYPES = ['application/x-amz-json-1.1', 'application/x-amz-json-1.0', 'application/json'];

export interface ServerOptions {
  operations?: OperationTable;
}

export function buildServer(app: App, options: ServerOptions = {}): Server {
  const operations = options.operations ?? defaultOperations;
  const server = createServer((req, res) => {
    const requestId = randomUUID();
    handle(app, operations, req, res, requestId).catch((err: unknown) => {
      app.log.error({ err, requestId }, 'unhandled error while answering a request');
      if (!res.headersSent) send(res, requestId, 500, { __type: 'InternalFailure', message: 'internal error' });
      else res.destroy();
    });
  });
  // Slow or stuck clients must not pin sockets forever. Idle keep-alive sockets live longer than
  // the SDKs' own idle timeouts, so a client never reuses a socket the server is just closing
  // (node's 5 s default made busy clients see ECONNRESET).
  server.requestTimeout = 60_000;
  server.keepAliveTimeout = 61_000;
  server.headersTimeout = 62_000;
  return server;
}

function send(res: ServerResponse, requestId: string, status: number, body: unknown): void {
  const payload = Buffer.from(JSON.stringify(body));
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': payload.length,
    'x-amzn-requestid': requestId,
    date: new Date().toUTCString(),
  });
  res.end(payload);
}

function sendFault(res: ServerResponse, requestId: string, fault: DmsFault): void {
  send(res, requestId, fault.status, { __type: fault.code, message: fault.message, ...fault.extra });
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      reject(new DmsFault('RequestEntityTooLargeException', `Request body of ${declared} bytes exceeds the limit of ${limit} bytes.`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new DmsFault('RequestEntityTooLargeException', `Request body exceeds the limit of ${limit} bytes.`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function handle(app: App, operations: OperationTable, req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method === 'GET' && (path === '/healthz' || path === '/ping')) {
    send(res, requestId, 200, { status: 'ok' });
    return;
  }
  let operationName = '(unknown)';
  const started = process.hrtime.bigint();
  try {
    if (req.method !== 'POST' || path !== '/') {
      throw new DmsFault('UnknownOperationException', `Use POST / with an X-Amz-Target header; ${req.method} ${path} is not an operation.`);
    }
    const body = await readBody(req, MAX_BODY_BYTES);
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (!JSON_CONTENT_TYPES.includes(contentType)) {
      throw new DmsFault('SerializationException', `Unsupported Content-Type "${contentType}"; send application/x-amz-json-1.1.`);
    }
    const { credentials, region } = app.config;
    verifySignature(
      { method: req.method, url: req.url ?? '/', headers: req.headers, body },
      {
        region,
        service: 'dms',
        secretFor: (id) => (id === credentials.accessKeyId ? credentials.secretAccessKey : undefined),
      },
    );
    const target = String(req.headers['x-amz-target'] ?? '');
    const [prefix, name = ''] = target.split('.', 2);
    // Own properties only: a target such as `.__proto__` must not reach Object.prototype members.
    const extension = prefix === EXTENSIONS_TARGET_PREFIX && Object.hasOwn(extensionOperations, name) ? extensionOperations[name] : undefined;
    if (extension) {
      // opendms's own operations (src/api/extensions): not in the AWS model; they check their input.
      operationName = `${prefix}.${name}`;
      let raw: unknown;
      try {
        raw = body.length ? JSON.parse(body.toString('utf8')) : {};
      } catch {
        throw new DmsFault('SerializationException', 'The request body is not valid JSON.');
      }
      send(res, requestId, 200, await extension(raw, { app, requestId, log: app.log.child({ requestId, operation: operationName }) }));
      return;
    }
    const operation = prefix === TARGET_PREFIX ? getOperation(name) : undefined;
    if (!operation) {
      throw new DmsFault('UnknownOperationException', `Unknown operation "${target}"; expected ${TARGET_PREFIX}.<Operation>.`);
    }
    operationName = operation.name;
    let parsed: unknown;
    try {
      parsed = body.length ? JSON.parse(body.toString('utf8')) : {};
    } catch {
      throw new DmsFault('SerializationException', 'The request body is not valid JSON.');
    }
    const input = operation.input ? decodeInput(operation.input.shape, parsed) : {};
    const handler = operations[operation.name];
    if (!handler) {
      throw new DmsFault('InvalidOperationFault', `${operation.name} is not supported by opendms.`);
    }
    const result = await handler(input, { app, requestId, log: app.log.child({ requestId, operation: operation.name }) });
    send(res, requestId, 200, encodeOutput(operation.output?.shape, result));
    app.log.debug({ requestId, operation: operationName, ms: Number(process.hrtime.bigint() - started) / 1e6 }, 'request');
  } catch (err) {
    if (err instanceof DmsFault) {
      app.log.info({ requestId, operation: operationName, fault: err.code, message: err.message }, 'request refused');
      sendFault(res, requestId, err);
      return;
    }
    throw err;
  }
}
