/**
 * Driver errors classified once, at the connector boundary: every pg / mysql2 / socket / TLS
 * error becomes a `ConnectionError` with a kind, whether retrying can help, and a message a person
 * can act on ("password authentication failed for user "app" ...: check the endpoint's Username
 * and Password"). The password never appears in a message, whatever the driver put there.
 */
import type { EndpointConnectionSpec } from '../engine/contracts.js';
import { ENGINES } from '../model/endpoint-settings.js';

export type ConnectionProblemKind =
  | 'authentication'
  | 'unknown-database'
  | 'unreachable'
  | 'timeout'
  | 'dns'
  | 'tls'
  | 'prerequisite'
  | 'other';

export class ConnectionError extends Error {
  constructor(
    message: string,
    readonly kind: ConnectionProblemKind,
    /** True when the same attempt may succeed later (network, server starting); false for configuration errors. */
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'ConnectionError';
  }
}

interface DriverError {
  code?: string;
  errno?: number;
  message?: string;
}

const TLS_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HANDSHAKE_NO_SSL_SUPPORT',
  'EPROTO',
]);

function engineLabel(spec: EndpointConnectionSpec): string {
  return ENGINES.find((e) => e.engineName === spec.engineName)?.displayName ?? spec.engineName;
}

/** An error's text as it may be recorded or shown (LastFailureMessage, logs): never with the password. */
export function failureText(err: unknown, password: string | undefined): string {
  return scrubSecret(err instanceof Error ? err.message : String(err), password);
}

/** Removes the password from any text that might carry it (driver messages sometimes echo connection strings). */
export function scrubSecret(text: string, password: string | undefined): string {
  if (!password || password.length < 4) return text;
  return text.split(password).join('[redacted]');
}

/** A problem found after connecting (e.g. wal_level is not logical): not retryable, told as is. */
export function prerequisiteError(spec: EndpointConnectionSpec, problem: string): ConnectionError {
  return new ConnectionError(scrubSecret(`${where(spec)}: ${problem}`, spec.password), 'prerequisite', false);
}

function where(spec: EndpointConnectionSpec): string {
  return `${engineLabel(spec)} endpoint ${spec.endpointIdentifier} at ${spec.serverName}:${spec.port}`;
}

/** Classifies a driver error into a ConnectionError with an actionable message. */
export function classifyConnectionError(err: unknown, spec: EndpointConnectionSpec): ConnectionError {
  if (err instanceof ConnectionError) return err;
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as DriverError;
  const code = e.code ?? '';
  const raw = scrubSecret(e.message ?? String(err), spec.password);
  const at = where(spec);
  const user = spec.username ?? '';
  const make = (kind: ConnectionProblemKind, retryable: boolean, text: string): ConnectionError =>
    new ConnectionError(scrubSecret(`${at}: ${text}`, spec.password), kind, retryable);

  // PostgreSQL SQLSTATEs: 28P01 invalid_password, 28000 invalid_authorization_specification (pg_hba), 3D000 invalid_catalog_name.
  if (code === '28P01' || e.errno === 1045 || code === 'ER_ACCESS_DENIED_ERROR') {
    return make('authentication', false, `password authentication failed for user "${user}". Check the endpoint's Username and Password.`);
  }
  if (code === '28000') return make('authentication', false, `${raw}. Allow this client in the server's pg_hba.conf or use another user.`);
  if (code === '3D000' || e.errno === 1049 || code === 'ER_BAD_DB_ERROR') {
    return make('unknown-database', false, `database "${spec.databaseName ?? ''}" does not exist. Check the endpoint's DatabaseName.`);
  }
  if (code === 'ECONNREFUSED') {
    return make('unreachable', true, 'connection refused: nothing accepts connections on that host and port. Check ServerName and Port, and that the server is running and listens on TCP.');
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return make('dns', code === 'EAI_AGAIN', `the host name "${spec.serverName}" cannot be resolved. Check ServerName.`);
  }
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ECONNRESET') {
    return make('unreachable', true, `the server cannot be reached (${code}). Check ServerName, Port and the network path.`);
  }
  if (code === 'ETIMEDOUT' || /timeout|timed out/i.test(raw)) {
    return make('timeout', true, 'no answer from the server within 10 seconds. Check ServerName, Port and any firewall in between.');
  }
  if (TLS_CODES.has(code) || /ssl|tls|certificate/i.test(raw)) {
    return make('tls', false, `TLS problem with SslMode ${spec.sslMode}: ${raw}. Use an SslMode the server supports (none, require, verify-ca, verify-full) or fix the server's certificate.`);
  }
  return make('other', false, raw);
}
