/** Driver errors classified into actionable, password-free messages (no database needed). */
import { describe, expect, it } from 'vitest';
import { classifyConnectionError, ConnectionError, failureText, prerequisiteError } from '../../src/connectors/errors.js';
import type { EndpointConnectionSpec } from '../../src/engine/contracts.js';

const spec: EndpointConnectionSpec = {
  endpointArn: 'arn:aws:dms:us-east-1:123456789012:endpoint:X',
  endpointIdentifier: 'orders-src',
  endpointType: 'source',
  engineName: 'mariadb',
  serverName: 'db.internal',
  port: 3306,
  databaseName: 'orders',
  username: 'app',
  password: 'hunter2-secret',
  sslMode: 'none',
  settings: {},
};

const err = (props: Record<string, unknown>): Error => Object.assign(new Error(String(props.message ?? 'driver error')), props);

describe('classifyConnectionError', () => {
  it('names the endpoint, the engine and the address in every message', () => {
    const e = classifyConnectionError(err({ code: 'ECONNREFUSED' }), spec);
    expect(e).toBeInstanceOf(ConnectionError);
    expect(e.message).toMatch(/^MariaDB endpoint orders-src at db.internal:3306: connection refused/);
    expect(e).toMatchObject({ kind: 'unreachable', retryable: true });
  });

  it('turns authentication failures of both drivers into the same sentence', () => {
    for (const raw of [err({ code: '28P01' }), err({ errno: 1045, code: 'ER_ACCESS_DENIED_ERROR' })]) {
      const e = classifyConnectionError(raw, spec);
      expect(e.message).toContain('password authentication failed for user "app"');
      expect(e).toMatchObject({ kind: 'authentication', retryable: false });
    }
  });

  it('classifies unknown databases, DNS, timeouts and TLS', () => {
    expect(classifyConnectionError(err({ code: '3D000' }), spec)).toMatchObject({ kind: 'unknown-database', message: expect.stringContaining('"orders" does not exist') });
    expect(classifyConnectionError(err({ code: 'ENOTFOUND' }), spec)).toMatchObject({ kind: 'dns' });
    expect(classifyConnectionError(err({ message: 'Connection terminated due to connection timeout' }), spec)).toMatchObject({ kind: 'timeout', retryable: true });
    expect(classifyConnectionError(err({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT', message: 'self-signed certificate' }), spec)).toMatchObject({ kind: 'tls' });
  });

  it('never lets the password through, whatever the driver said', () => {
    const e = classifyConnectionError(err({ message: 'could not connect to mysql://app:hunter2-secret@db.internal/orders' }), spec);
    expect(e.message).not.toContain('hunter2-secret');
    expect(e.message).toContain('[redacted]');
    expect(prerequisiteError(spec, 'needs hunter2-secret').message).not.toContain('hunter2-secret');
  });

  it('passes an already classified error through unchanged', () => {
    const p = prerequisiteError(spec, 'binlog_format is MIXED');
    expect(classifyConnectionError(p, spec)).toBe(p);
    expect(p).toMatchObject({ kind: 'prerequisite', retryable: false });
  });
});

describe('failureText', () => {
  it('is the text of any thrown value, without the password', () => {
    expect(failureText(new Error('connect postgres://u:hunter22@db/x failed'), 'hunter22')).toBe('connect postgres://u:[redacted]@db/x failed');
    expect(failureText('plain hunter22', 'hunter22')).toBe('plain [redacted]');
  });
});
