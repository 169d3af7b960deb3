/**
 * The engine's entry point as the replication-instance process sees it: start a task from its spec.
 *
 * PLACEHOLDER until the task runner lands: every task fails at once with a clear message.
 */
import type { RunningTask, StartTask, TaskReporter, TaskSpec } from './contracts.js';

export const startTask: StartTask = (spec: TaskSpec, reporter: TaskReporter): RunningTask => {
  queueMicrotask(() =>
    reporter.status({ status: 'failed', failureMessage: `engine for ${spec.source.engineName} -> ${spec.target.engineName} is not available in this build` }),
  );
  return {
    stop: async () => {},
    reloadTables: async () => {},
  };
};
