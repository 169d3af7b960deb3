/**
 * Instance processes a previous control plane left behind. An instance exits by itself when its
 * control socket closes, but only after stopping its tasks (up to STOP_TIMEOUT_MS), and a frozen
 * or busy one may not notice at all. A control plane killed and restarted within that time would
 * otherwise start a second process for the same instance, and both would run its tasks (same
 * replication slot, same target rows). So before an instance is launched at start-up, the process
 * its pid file names is ended, if it is still that instance's process.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { INSTANCE_ENV, INSTANCE_PID_FILE } from '../instance/protocol.js';

const POLL_MS = 50;

/** The pid in the work dir's pid file when that process still runs as this instance, else undefined. */
export function leftoverPid(workDir: string, instanceArn: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(join(workDir, INSTANCE_PID_FILE), 'utf8').trim());
  } catch {
    return undefined; // no pid file: the last process exited cleanly, or none ever ran
  }
  if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) return undefined;
  // The pid may have been reused by an unrelated process: only one launched for this instance counts.
  try {
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    return environ.includes(`${INSTANCE_ENV.instanceArn}=${instanceArn}`) && running(pid) ? pid : undefined;
  } catch {
    return undefined; // gone, or not ours to read
  }
}

/** Running, not a zombie waiting for a parent (a killed control plane's orphans are reaped by init, maybe late). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * Ends a leftover process: SIGTERM (it stops its tasks and exits), SIGKILL after `graceMs`.
 * Resolves once it is gone.
 */
export async function endLeftover(pid: number, graceMs: number): Promise<void> {
  const signal = (name: NodeJS.Signals): void => {
    try {
      process.kill(pid, name);
    } catch {
      // already gone
    }
  };
  // A stopped process handles no signal but SIGKILL; SIGCONT lets it act on the SIGTERM.
  signal('SIGTERM');
  signal('SIGCONT');
  const deadline = Date.now() + graceMs;
  while (running(pid)) {
    if (Date.now() >= deadline) {
      signal('SIGKILL');
      if (Date.now() >= deadline + graceMs) return; // unkillable (uninterruptible sleep): give up waiting
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
