/**
 * The AWS JSON 1.1 front door: authentication faults, malformed input, request ids. Drives the
 * real service process with the AWS SDK v3 client and with hand-built requests.
 */
import { DescribeReplicationTasksCommand } from '@aws-sdk/client-database-migration-service';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { rawRequest } from '../helpers/raw-request.js';
import { startService, TEST_KEYS, type RunningService } from '../helpers/service.js';

let svc: RunningService;
beforeAll(async () => {
  svc = await startService();
});
afterAll(async () => {
  await svc?.destroy();
});

const TARGET = 'AmazonDMSv20160101.DescribeAccountAttributes';

describe('authentication', () => {
  it('refuses an unsigned request with MissingAuthenticationTokenException (403)', async () => {
    const r = await rawRequest(svc.url, { target: TARGET, sign: false });
    expect(r.status).toBe(403);
    expect(r.json.__type).toBe('MissingAuthenticationTokenException');
    expect(r.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses an unknown access key with UnrecognizedClientException', async () => {
    const client = svc.client({ accessKeyId: 'AKODNOBODY', secretAccessKey: 'x' });
    await expect(client.send(new DescribeReplicationTasksCommand({}))).rejects.toMatchObject({ name: 'UnrecognizedClientException' });
  });

  it('refuses a wrong secret with InvalidSignatureException', async () => {
    const client = svc.client({ accessKeyId: 'AKODTESTKEY000000001', secretAccessKey: 'wrong-secret' });
    await expect(client.send(new DescribeReplicationTasksCommand({}))).rejects.toMatchObject({ name: 'InvalidSignatureException' });
  });

  it('refuses a signature scoped to another region', async () => {
    const r = await rawRequest(svc.url, { target: TARGET, region: 'eu-west-1' });
    expect(r.status).toBe(403);
    expect(r.json.__type).toBe('InvalidSignatureException');
    expect(String(r.json.message)).toContain('us-east-1');
  });

  it('refuses a request signed more than 15 minutes ago', async () => {
    const r = await rawRequest(svc.url, { target: TARGET, signingDate: new Date(Date.now() - 20 * 60 * 1000) });
    expect(r.status).toBe(403);
    expect(r.json.__type).toBe('InvalidSignatureException');
    expect(String(r.json.message)).toMatch(/expired/i);
  });

  it('refuses a body altered after signing', async () => {
    const r = await rawRequest(svc.url, { target: 'AmazonDMSv20160101.DescribeReplicationTasks', body: '{}', sendBody: '{"MaxRecords":20}' });
    expect(r.status).toBe(403);
    expect(r.json.__type).toBe('InvalidSignatureException');
  });
});

describe('malformed requests get 4xx faults, never a 500', () => {
  it('unknown operation', async () => {
    const r = await rawRequest(svc.url, { target: 'AmazonDMSv20160101.DropEverything' });
    expect(r.status).toBe(400);
    expect(r.json.__type).toBe('UnknownOperationException');
  });

  it('wrong target prefix', async () => {
    const r = await rawRequest(svc.url, { target: 'DynamoDB_20120810.ListTables' });
    expect(r.json.__type).toBe('UnknownOperationException');
  });

  it('malformed JSON', async () => {
    const r = await rawRequest(svc.url, { target: 'AmazonDMSv20160101.DescribeReplicationTasks', body: '{"Filters": [' });
    expect(r.status).toBe(400);
    expect(r.json.__type).toBe('SerializationException');
  });

  it('a JSON body that is not an object', async () => {
    const r = await rawRequest(svc.url, { target: 'AmazonDMSv20160101.DescribeReplicationTasks', body: '[1,2]' });
    expect(r.status).toBe(400);
    expect(r.json.__type).toBe('InvalidParameterValueException');
  });

  it('wrong member types name the field', async () => {
    const r = await rawRequest(svc.url, { target: 'AmazonDMSv20160101.DescribeReplicationTasks', body: '{"MaxRecords": "many"}' });
    expect(r.status).toBe(400);
    expect(r.json.__type).toBe('InvalidParameterValueException');
    expect(String(r.json.message)).toContain('MaxRecords');
  });

  it('wrong content type', async () => {
    const r = await rawRequest(svc.url, { target: TARGET, contentType: 'text/plain' });
    expect(r.status).toBe(400);
    expect(r.json.__type).toBe('SerializationException');
  });

  it('a huge body', async () => {
    const r = await rawRequest(svc.url, { target: TARGET, body: Buffer.alloc(9 * 1024 * 1024, 32), sign: false });
    expect(r.status).toBe(413);
    expect(r.json.__type).toBe('RequestEntityTooLargeException');
  });

  it('GET / is not an operation', async () => {
    const res = await fetch(`${svc.url}/`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { __type: string }).__type).toBe('UnknownOperationException');
  });

  it('a target naming an Object.prototype member is an unknown operation, for both prefixes', async () => {
    for (const target of ['OpenDmsExtensions20261101.__proto__', 'OpenDmsExtensions20261101.constructor', 'AmazonDMSv20160101.toString']) {
      const r = await rawRequest(svc.url, { target });
      expect(r.status, target).toBe(400);
      expect(r.json.__type, target).toBe('UnknownOperationException');
    }
  });

  it('a signed header named like an Object.prototype member is a signature fault, not a 500', async () => {
    const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
    for (const name of ['__proto__', 'constructor']) {
      const res = await fetch(`${svc.url}/`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': TARGET,
          'x-amz-date': amzDate,
          authorization: `AWS4-HMAC-SHA256 Credential=${TEST_KEYS.accessKeyId}/${amzDate.slice(0, 8)}/us-east-1/dms/aws4_request, SignedHeaders=${name};host, Signature=00`,
        },
        body: '{}',
      });
      expect(res.status, name).toBe(403);
      expect(((await res.json()) as { __type: string }).__type, name).toBe('InvalidSignatureException');
    }
  });

  it('a client that goes away in the middle of its body does not hurt the service', async () => {
    const { port } = new URL(svc.url);
    await new Promise<void>((resolve) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: 1000\r\n\r\n{"Ma');
        setTimeout(() => socket.destroy(), 100);
      });
      socket.on('close', () => resolve());
      socket.on('error', () => resolve());
    });
    const r = await rawRequest(svc.url, { target: TARGET });
    expect(r.status).toBe(200);
  });

  it('the service is still healthy after all of the above', async () => {
    const res = await fetch(`${svc.url}/healthz`);
    expect(res.status).toBe(200);
    expect(svc.process.exitCode).toBeNull();
  });
});
