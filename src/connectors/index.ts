/**
 * The connectors' public surface for the control plane and the instance process: test an
 * endpoint's connection and list its schemas, whatever its engine family.
 */
import type { EndpointConnectionSpec } from '../engine/contracts.js';
import { engineInfo } from '../model/endpoint-settings.js';

// The database drivers (pg, mysql2) are loaded on first use: together they are ~30 MB of the
// control plane's memory, and an idle service tests no connection.
const postgres = () => import('./postgres/connection.js');
const mysql = () => import('./mysql/connection.js');

export { ConnectionError, classifyConnectionError, type ConnectionProblemKind } from './errors.js';

/**
 * Opens a real connection with the endpoint's settings, runs SELECT 1 and, for a source, checks
 * the capture prerequisites (PostgreSQL wal_level = logical and REPLICATION; MySQL log_bin ON and
 * binlog_format ROW). Resolves when all is well; rejects with a ConnectionError whose message a
 * person can act on and never contains the password.
 */
export async function testConnection(spec: EndpointConnectionSpec): Promise<void> {
  if (engineInfo(spec.engineName).family === 'postgres') await (await postgres()).testPostgres(spec);
  else await (await mysql()).testMysql(spec);
}

/** The schemas (PostgreSQL) or databases (MySQL) a user could migrate, system ones left out. */
export async function listSchemas(spec: EndpointConnectionSpec): Promise<string[]> {
  return engineInfo(spec.engineName).family === 'postgres' ? (await postgres()).listPostgresSchemas(spec) : (await mysql()).listMysqlSchemas(spec);
}
