/**
 * A throwaway MariaDB server for one test file: mariadb-install-db into a temp directory, binlog
 * on (ROW, FULL image), root with a password over TCP, on a free port.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { freePort, waitFor } from './ports.js';
import { chownTo, isRoot, runAs, spawnAs } from './system-user.js';

export interface MariaDbServer {
  host: string;
  port: number;
  user: string;
  password: string;
  dir: string;
  query(sql: string, params?: unknown[]): Promise<unknown>;
  stop(): Promise<void>;
}

export async function startMariaDb(): Promise<MariaDbServer> {
  const dir = mkdtempSync(join(tmpdir(), 'opendms-mariadb-'));
  chmodSync(dir, 0o755);
  chownTo('mysql', dir);
  const data = join(dir, 'data');
  const password = 'opendms-test-pw';
  runAs('mysql', 'mariadb-install-db', ['--no-defaults', `--datadir=${data}`, '--auth-root-authentication-method=normal', '--skip-test-db']);
  const init = join(dir, 'init.sql');
  writeFileSync(
    init,
    `ALTER USER 'root'@'localhost' IDENTIFIED BY '${password}';\n` +
      `CREATE OR REPLACE USER 'root'@'127.0.0.1' IDENTIFIED BY '${password}';\n` +
      `GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;\nFLUSH PRIVILEGES;\n`,
  );
  chownTo('mysql', init);
  const port = await freePort();
  const args = [
    '--no-defaults',
    `--datadir=${data}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    `--socket=${join(dir, 'mysqld.sock')}`,
    `--pid-file=${join(dir, 'mysqld.pid')}`,
    `--init-file=${init}`,
    '--server-id=1',
    `--log-bin=${join(dir, 'binlog')}`,
    '--binlog-format=ROW',
    '--binlog-row-image=FULL',
    '--innodb-flush-log-at-trx-commit=2',
    '--skip-name-resolve',
    ...(isRoot() ? ['--user=mysql'] : []),
  ];
  const proc = spawnAs('mysql', '/usr/sbin/mariadbd', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const server: MariaDbServer = {
    host: '127.0.0.1',
    port,
    user: 'root',
    password,
    dir,
    async query(sql, params) {
      const conn = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', password });
      try {
        const [rows] = await conn.query(sql, params);
        return rows;
      } finally {
        await conn.end();
      }
    },
    async stop() {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        await new Promise((r) => proc.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor('mariadb to accept connections', async () => {
      if (proc.exitCode !== null) throw new Error(`mariadbd exited: ${stderr}`);
      await server.query('SELECT 1');
      return true;
    }, 60_000, 200);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}
