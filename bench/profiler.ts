/** A V8 CPU profile of this process over one phase of a benchmark (open the file in Chrome DevTools). */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

export async function startProfiler(): Promise<{ stop(file: string): Promise<string> }> {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 200 });
  await post('Profiler.start');
  return {
    async stop(file) {
      const { profile } = (await post('Profiler.stop')) as { profile: unknown };
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
      return file;
    },
  };
}

/**
 * A sampling heap profile of this process over one phase: `stop()` writes it (open it in Chrome
 * DevTools' Memory tab) and returns the functions that allocated most, as lines.
 */
export async function startHeapSampling(): Promise<{ stop(file: string): Promise<string[]> }> {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
  await post('HeapProfiler.enable');
  await post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  return {
    async stop(file) {
      interface Node {
        callFrame: { functionName: string; url: string; lineNumber: number };
        selfSize: number;
        children: Node[];
      }
      const { profile } = (await post('HeapProfiler.stopSampling')) as { profile: { head: Node } };
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
      const bySite = new Map<string, number>();
      let total = 0;
      const walk = (n: Node): void => {
        const site = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').slice(-2).join('/')}`;
        bySite.set(site, (bySite.get(site) ?? 0) + n.selfSize);
        total += n.selfSize;
        n.children.forEach(walk);
      };
      walk(profile.head);
      const mb = (b: number) => (b / 1e6).toFixed(1);
      return [`allocated (sampled): ${mb(total)} MB`, ...[...bySite].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([site, b]) => `  ${mb(b).padStart(6)} MB  ${site}`)];
    },
  };
}
