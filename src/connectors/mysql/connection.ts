/**
 * Opening a MySQL / MariaDB connection from an endpoint's spec (SslMode mapped onto mysql2's TLS
 * options, a bounded connect time) and the checks TestConnection and DescribeSchemas run on it,
 * with driver errors turned into messages a person can act on.
 */
import mysql from 'mysql2/promise';
import type { EndpointConnectionSpec } from '../../engine/contracts.js';
import { classifyConnectionError, prerequisiteError } from '../errors.js';

export const CONNECT_TIMEOUT_MS = 10_000;

/** mysql2's `ssl` option for an SslMode: `require` encrypts without checking the certificate, `verify-ca` checks the chain, `verify-full` also the host name. */
export function mysqlSsl(sslMode: EndpointConnectionSpec['sslMode']): mysql.SslOptions | undefined {
  switch (sslMode) {
    case 'none':
      return undefined;
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
      return { rejectUnauthorized: true, verifyIdentity: false };
    case 'verify-full':
      return { rejectUnauthorized: true, verifyIdentity: true };
  }
}

/** mysql2 connection options for an endpoint (the password included: never log this object). */
export function mysqlConnectionOptions(spec: EndpointConnectionSpec, overrides: mysql.ConnectionOptions = {}): mysql.ConnectionOptions {
  const ssl = mysqlSsl(spec.sslMode);
  return {
    host: spec.serverName,
    port: spec.port,
    user: spec.username,
    password: spec.password ?? '',
    ...(spec.databaseName ? { database: spec.databaseName } : {}),
    ...(ssl ? { ssl } : {}),
    connectTimeout: CONNECT_TIMEOUT_MS,
    ...overrides,
  };
}

/** Opens a connection; driver errors come back classified (ConnectionError). */
export async function connectMysql(spec: EndpointConnectionSpec, overrides: mysql.ConnectionOptions = {}): Promise<mysql.Connection> {
  let conn: mysql.Connection | undefined;
  try {
    conn = await mysql.createConnection(mysqlConnectionOptions(spec, overrides));
    // A connection that breaks later must not crash the process through an unhandled 'error' event.
    conn.on('error', () => {});
    return conn;
  } catch (err) {
    await conn?.end().catch(() => {});
    throw classifyConnectionError(err, spec);
  }
}

/** Connects, runs SELECT 1, and for a source checks what binlog capture needs (log_bin=ON, binlog_format=ROW). */
export async function testMysql(spec: EndpointConnectionSpec): Promise<void> {
  const conn = await connectMysql(spec);
  try {
    await conn.query({ sql: 'SELECT 1', timeout: CONNECT_TIMEOUT_MS });
    if (spec.endpointType === 'source') {
      const [rows] = await conn.query({ sql: 'SELECT @@log_bin AS log_bin, @@binlog_format AS binlog_format', timeout: CONNECT_TIMEOUT_MS });
      const row = (rows as { log_bin: number | string; binlog_format: string }[])[0];
      if (!row || !['1', 'ON'].includes(String(row.log_bin).toUpperCase())) {
        throw prerequisiteError(spec, 'binary logging is off (log_bin=OFF), but change data capture reads the binlog. Start the server with log-bin, server-id and binlog_format=ROW.');
      }
      if (String(row.binlog_format).toUpperCase() !== 'ROW') {
        throw prerequisiteError(spec, `binlog_format is ${row.binlog_format}, but change data capture needs ROW. Set binlog_format=ROW (SET GLOBAL binlog_format = 'ROW' and in the server configuration).`);
      }
    }
  } catch (err) {
    throw classifyConnectionError(err, spec);
  } finally {
    await conn.end().catch(() => {});
  }
}

const SYSTEM_DATABASES = new Set(['information_schema', 'performance_schema', 'mysql', 'sys']);

/** User databases (MySQL's schemas), for DescribeSchemas. */
export async function listMysqlSchemas(spec: EndpointConnectionSpec): Promise<string[]> {
  const conn = await connectMysql(spec);
  try {
    const [rows] = await conn.query({ sql: 'SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME', timeout: CONNECT_TIMEOUT_MS });
    return (rows as { name: string }[]).map((r) => r.name).filter((n) => !SYSTEM_DATABASES.has(n.toLowerCase()));
  } catch (err) {
    throw classifyConnectionError(err, spec);
  } finally {
    await conn.end().catch(() => {});
  }
}
