/**
 * Runs one task from a JSON TaskSpec file in its own process, so tests can SIGKILL it like a
 * crashed replication instance. Reporter calls go to stdout as JSON lines; SIGTERM stops the
 * task cleanly (stop()) and exits.
 *
 *   node --import tsx test/helpers/run-task.ts /path/spec.json
 */
import { readFileSync } from 'node:fs';
import { startTask } from '../../src/engine/index.js';
import type { TaskSpec } from '../../src/engine/contracts.js';

const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as TaskSpec;
const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
const task = startTask(spec, {
  status: (outcome) => {
    out({ type: 'status', outcome });
    if (outcome.status !== 'running') setImmediate(() => process.exit(0));
  },
  progress: () => {},
  checkpoint: (checkpoint) => out({ type: 'checkpoint', checkpoint }),
  event: (message) => out({ type: 'event', message }),
});
process.on('SIGTERM', () => void task.stop());
