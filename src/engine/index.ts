/**
 * The engine's entry point as the replication-instance process sees it: start a task from its spec.
 * PostgreSQL -> PostgreSQL runs in the task runner; other pairs fail at once with a clear message.
 */
import type { RunningTask, StartTask, TaskReporter, TaskSpec } from './contracts.js';
import { TaskRunner } from './task-runner.js';

const POSTGRES_ENGINES = new Set(['postgres', 'aurora-postgresql']);

export const startTask: StartTask = (spec: TaskSpec, reporter: TaskReporter): RunningTask => {
  if (POSTGRES_ENGINES.has(spec.source.engineName) && POSTGRES_ENGINES.has(spec.target.engineName)) {
    return new TaskRunner(spec, reporter);
  }
  queueMicrotask(() =>
    reporter.status({ status: 'failed', failureMessage: `engine for ${spec.source.engineName} -> ${spec.target.engineName} is not available in this build` }),
  );
  return {
    stop: async () => {},
    reloadTables: async () => {},
  };
};
