#!/usr/bin/env node
/**
 * Entry point of a replication-instance process. Launched by the control plane's
 * InstanceSupervisor (never by hand): `node --max-old-space-size=<class memory> instance.js` with
 * the instance's identity in the environment (src/instance/protocol.ts INSTANCE_ENV).
 */
import { readInstanceConfig } from '../instance/instance-config.js';
import { createInstanceLogger } from '../instance/logger.js';
import { InstanceRuntime } from '../instance/runtime.js';

const config = readInstanceConfig();
const log = createInstanceLogger(config);
const runtime = new InstanceRuntime(config, log, (code) => process.exit(code));

// Signals from a terminal or init: stop tasks cleanly, like a shutdown from the control plane.
process.on('SIGTERM', () => void runtime.shutdown('SIGTERM', 0));
process.on('SIGINT', () => void runtime.shutdown('SIGINT', 0));
process.on('uncaughtException', (err) => {
  log.fatal({ err }, 'uncaught exception');
  void runtime.shutdown('uncaught exception', 1);
});

runtime.start().catch((err: unknown) => {
  log.fatal({ err }, 'cannot connect to the control plane');
  process.exit(1);
});
