/**
 * Connection checks against a PostgreSQL endpoint (TestConnection, DescribeSchemas): a real
 * connection opened the way the engine opens its own (./pool.ts), bounded in time, with driver
 * errors turned into messages a person can act on.
 */
import type pg from 'pg';
import type { EndpointConnectionSpec } from '../../engine/contracts.js';
import { classifyConnectionError, prerequisiteError } from '../errors.js';
import { connectPostgres } from './pool.js';

export const CONNECT_TIMEOUT_MS = 10_000;

/** A short-lived connection for a check: bounded connect and statement time, driver errors classified. */
async function connectForCheck(spec: EndpointConnectionSpec): Promise<pg.Client> {
  try {
    return await connectPostgres(spec, { connectTimeoutMs: CONNECT_TIMEOUT_MS, statementTimeoutMs: CONNECT_TIMEOUT_MS, applicationNameSuffix: 'check' });
  } catch (err) {
    throw classifyConnectionError(err, spec);
  }
}

/** Connects, runs SELECT 1, and for a source checks what logical decoding needs (wal_level, REPLICATION). */
export async function testPostgres(spec: EndpointConnectionSpec): Promise<void> {
  const client = await connectForCheck(spec);
  try {
    await client.query('SELECT 1');
    if (spec.endpointType === 'source') {
      const wal = await client.query<{ wal_level: string }>('SHOW wal_level');
      const level = wal.rows[0]?.wal_level;
      if (level !== 'logical') {
        throw prerequisiteError(
          spec,
          `wal_level is "${level}", but change data capture needs wal_level = logical. Run ALTER SYSTEM SET wal_level = logical on the source and restart PostgreSQL.`,
        );
      }
      const role = await client.query<{ ok: boolean }>('SELECT rolsuper OR rolreplication AS ok FROM pg_roles WHERE rolname = current_user');
      if (!role.rows[0]?.ok) {
        throw prerequisiteError(
          spec,
          `user "${spec.username ?? ''}" has neither SUPERUSER nor REPLICATION, which change data capture needs. Run ALTER ROLE "${spec.username ?? ''}" REPLICATION on the source.`,
        );
      }
    }
  } catch (err) {
    throw classifyConnectionError(err, spec);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Non-system schemas, for DescribeSchemas. */
export async function listPostgresSchemas(spec: EndpointConnectionSpec): Promise<string[]> {
  const client = await connectForCheck(spec);
  try {
    const r = await client.query<{ name: string }>(
      `SELECT nspname AS name FROM pg_namespace
       WHERE nspname <> 'information_schema' AND nspname NOT LIKE 'pg\\_%' ORDER BY nspname`,
    );
    return r.rows.map((row) => row.name);
  } catch (err) {
    throw classifyConnectionError(err, spec);
  } finally {
    await client.end().catch(() => {});
  }
}
