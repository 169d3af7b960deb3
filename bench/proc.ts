/** Process figures read from /proc, shared by the benchmarks (Linux only, like the machine they run on). */
import { readdirSync, readFileSync } from 'node:fs';

/** Resident set size of a process, in MB. */
export function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return kb / 1024;
}

/** PIDs whose parent is `pid`. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // the process went away while we looked
    }
  }
  return out;
}

/** CPU seconds (user + system) used so far by each child of `pid`, keyed by `pid command line`. */
export function childCpuSeconds(pid: number): Map<string, number> {
  const hz = 100; // USER_HZ, 100 on Linux x86_64
  const out = new Map<string, number>();
  for (const child of childrenOf(pid)) {
    try {
      const stat = readFileSync(`/proc/${child}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmd = readFileSync(`/proc/${child}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      out.set(`${child} ${cmd}`, (Number(fields[11]) + Number(fields[12])) / hz);
    } catch {
      // gone
    }
  }
  return out;
}

/** What each child of `pid` used between two `childCpuSeconds` readings, biggest first, above `min` seconds. */
export function cpuSince(before: Map<string, number>, after: Map<string, number>, min = 0.05): { name: string; seconds: number }[] {
  return [...after]
    .map(([name, s]) => ({ name: name.replace(/^\d+ /, ''), seconds: s - (before.get(name) ?? 0) }))
    .filter((x) => x.seconds >= min)
    .sort((a, b) => b.seconds - a.seconds);
}

/**
 * CPU of a process's children over a phase, sampled every `everyMs` until stopped: each child's
 * last reading is kept, so a backend that exited before the end (a connection closed mid-phase)
 * still counts, minus at most one interval. Children are named by their first command line (a
 * PostgreSQL backend's changes with what it does). `stop()` returns what each used, by name.
 */
export function sampleChildCpu(pid: number, everyMs = 100): { stop(): Map<string, number> } {
  const first = new Map<number, { name: string; seconds: number }>();
  const last = new Map<number, number>();
  const take = (initial: boolean) => {
    for (const [k, v] of childCpuSeconds(pid)) {
      const child = Number(k.slice(0, k.indexOf(' ')));
      if (!first.has(child)) first.set(child, { name: k, seconds: initial ? v : 0 });
      last.set(child, v);
    }
  };
  take(true);
  const timer = setInterval(() => take(false), everyMs);
  return {
    stop() {
      clearInterval(timer);
      take(false);
      const used = new Map<string, number>();
      for (const [child, f] of first) used.set(f.name, (last.get(child) ?? f.seconds) - f.seconds);
      return used;
    },
  };
}

/** CPU milliseconds of each thread of this process so far, keyed by `tid:name` (Linux). */
export function threadCpuMs(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(`${tid}:${name}`, (Number(f[11]) + Number(f[12])) * 10);
    } catch {
      // the thread ended
    }
  }
  return out;
}

/**
 * What each thread used between two `threadCpuMs` readings, as one line: the main thread (the
 * first) and V8's helper threads (compilation, concurrent and parallel GC) apart.
 */
export function threadCpuSince(before: Map<string, number>): string {
  const parts: string[] = [];
  let helpers = 0;
  let first = true;
  for (const [k, v] of threadCpuMs()) {
    const used = v - (before.get(k) ?? 0);
    if (first) parts.push(`main thread ${used} ms`);
    else helpers += used;
    first = false;
  }
  parts.push(`other threads ${helpers} ms`);
  return parts.join(', ');
}
