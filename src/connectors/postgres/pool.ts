/**
 * pg client options from an endpoint: host, port, database, credentials, SslMode, and the session
 * settings every opendms connection carries (application_name `opendms`, statement timeout from the
 * endpoint's ExecuteTimeout). Bulk work (COPY, index builds) asks for no statement timeout.
 */
import pg from 'pg';
import type { ConnectionOptions } from 'node:tls';
import type { EndpointConnectionSpec } from '../../engine/contracts.js';

export const APPLICATION_NAME = 'opendms';

export interface PostgresClientOptions {
  /** Statement timeout in ms; 0 disables it. Default: the endpoint's ExecuteTimeout (60 s). */
  statementTimeoutMs?: number;
  /** application_name suffix, e.g. `opendms:task-x:load-3`, to find our sessions in pg_stat_activity. */
  applicationNameSuffix?: string;
  connectTimeoutMs?: number;
}

/** SslMode -> node tls options. `verify-ca` checks the chain but not the host name, as libpq does. */
export function sslOptions(mode: EndpointConnectionSpec['sslMode']): false | ConnectionOptions {
  switch (mode) {
    case 'none':
      return false;
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
      return { rejectUnauthorized: true, checkServerIdentity: () => undefined };
    case 'verify-full':
      return { rejectUnauthorized: true };
  }
}

function executeTimeoutMs(spec: EndpointConnectionSpec): number {
  const raw = spec.settings['ExecuteTimeout'];
  const seconds = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : 60;
  return Number.isFinite(seconds) && seconds >= 0 ? Math.round(seconds * 1000) : 60_000;
}

export function postgresClientConfig(spec: EndpointConnectionSpec, opts: PostgresClientOptions = {}): pg.ClientConfig {
  const config: pg.ClientConfig = {
    host: spec.serverName,
    port: spec.port,
    database: spec.databaseName ?? 'postgres',
    application_name: opts.applicationNameSuffix ? `${APPLICATION_NAME}:${opts.applicationNameSuffix}`.slice(0, 63) : APPLICATION_NAME,
    ssl: sslOptions(spec.sslMode),
    statement_timeout: opts.statementTimeoutMs ?? executeTimeoutMs(spec),
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 30_000,
    keepAlive: true,
  };
  if (spec.username !== undefined) config.user = spec.username;
  if (spec.password !== undefined) config.password = spec.password;
  return config;
}

/** A connected client. An 'error' listener is attached so a dropped socket fails the next query instead of crashing the process. */
export async function connectPostgres(spec: EndpointConnectionSpec, opts: PostgresClientOptions = {}): Promise<pg.Client> {
  const client = new pg.Client(postgresClientConfig(spec, opts));
  client.on('error', () => {});
  await client.connect();
  return client;
}
