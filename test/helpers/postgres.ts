/**
 * A throwaway PostgreSQL cluster for one test file: initdb into a temp directory, logical WAL on,
 * password auth over TCP (so wrong passwords are really refused), on a free port.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, waitFor } from './ports.js';
import { chownTo, runAs, spawnAs } from './system-user.js';

export interface PostgresCluster {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  dir: string;
  connectionString(database?: string): string;
  query<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[], database?: string): Promise<pg.QueryResult<T>>;
  createDatabase(name: string): Promise<void>;
  stop(): Promise<void>;
}

export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  if (!versions[0]) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (apt-get install postgresql)');
  return join(root, versions[0], 'bin');
}

export async function startPostgres(settings: Record<string, string | number> = {}): Promise<PostgresCluster> {
  const bin = postgresBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'opendms-pg-'));
  chmodSync(dir, 0o755);
  chownTo('postgres', dir);
  const data = join(dir, 'data');
  const password = 'opendms-test-pw';
  const pwfile = join(dir, 'pw');
  writeFileSync(pwfile, `${password}\n`);
  chownTo('postgres', pwfile);
  runAs('postgres', join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--pwfile', pwfile, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
  const port = await freePort();
  const conf: Record<string, string | number> = {
    port,
    listen_addresses: "'127.0.0.1'",
    unix_socket_directories: `'${dir}'`,
    wal_level: 'logical',
    max_wal_senders: 20,
    max_replication_slots: 20,
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    shared_buffers: "'128MB'",
    max_connections: 200,
    ...settings,
  };
  writeFileSync(join(data, 'postgresql.auto.conf'), Object.entries(conf).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n');
  writeFileSync(
    join(data, 'pg_hba.conf'),
    'local all all trust\nlocal replication all trust\nhost all all 127.0.0.1/32 scram-sha-256\nhost replication all 127.0.0.1/32 scram-sha-256\n',
  );
  const proc = spawnAs('postgres', join(bin, 'postgres'), ['-D', data], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const cluster: PostgresCluster = {
    host: '127.0.0.1',
    port,
    user: 'postgres',
    password,
    database: 'postgres',
    dir,
    connectionString: (database = 'postgres') => `postgres://postgres:${password}@127.0.0.1:${port}/${database}`,
    async query(sql, params, database) {
      const client = new pg.Client({ connectionString: cluster.connectionString(database) });
      await client.connect();
      try {
        return await client.query(sql, params as unknown[]);
      } finally {
        await client.end();
      }
    },
    async createDatabase(name) {
      await cluster.query(`CREATE DATABASE "${name}"`);
    },
    async stop() {
      if (proc.exitCode === null) {
        proc.kill('SIGINT');
        await new Promise((r) => proc.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor('postgres to accept connections', async () => {
      if (proc.exitCode !== null) throw new Error(`postgres exited: ${stderr}`);
      await cluster.query('SELECT 1');
      return true;
    }, 30_000, 100);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}
