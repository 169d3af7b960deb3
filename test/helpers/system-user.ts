/**
 * PostgreSQL and MariaDB refuse to run as root, and CI runs as root: database servers started by
 * tests run as their system users (`postgres`, `mysql`) through runuser when we are root.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { chownSync } from 'node:fs';

export const isRoot = (): boolean => process.getuid?.() === 0;

function ids(user: string): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', user]).toString().trim());
  const gid = Number(execFileSync('id', ['-g', user]).toString().trim());
  return { uid, gid };
}

export function chownTo(user: string, path: string): void {
  if (!isRoot()) return;
  const { uid, gid } = ids(user);
  chownSync(path, uid, gid);
}

export function runAs(user: string, command: string, args: string[]): string {
  const [cmd, argv] = isRoot() ? ['runuser', ['-u', user, '--', command, ...args]] : [command, args];
  return execFileSync(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

/**
 * Spawns the server itself as `user` (uid/gid switch, no runuser in between), so the signals a
 * helper's stop() sends reach the server: runuser does not forward SIGINT, and a PostgreSQL
 * stopped with SIGINT through it kept running and hung the test's teardown.
 */
export function spawnAs(user: string, command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  return isRoot() ? spawn(command, args, { ...options, ...ids(user) }) : spawn(command, args, options);
}
