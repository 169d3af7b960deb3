/** Runs the cluster's pgbench without blocking the event loop (the engine under test may run in this process). */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { postgresBinDir, type PostgresCluster } from '../test/helpers/postgres.js';

export function pgbench(c: PostgresCluster, args: string[], database = 'postgres'): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(join(postgresBinDir(), 'pgbench'), ['-h', c.host, '-p', String(c.port), '-U', c.user, ...args, database], {
      env: { ...process.env, PGPASSWORD: c.password },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    p.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`pgbench ${args.join(' ')} failed: ${err}`))));
  });
}
