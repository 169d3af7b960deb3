/** Runs the control plane process: opens the store, starts services, listens, handles signals. */
import type { Server } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createLogger } from '../config/logger.js';
import { resolveServerConfig, type ServeFlags } from '../config/server-config.js';
import { buildServer } from '../api/server.js';
import { App } from '../control/app.js';
import { openStore } from '../store/index.js';

export async function serve(flags: ServeFlags): Promise<void> {
  const config = resolveServerConfig(flags);
  const log = createLogger(config.logLevel, 'opendms');
  const store = openStore(config.dataDir);
  const app = new App(config, store, log);
  const server = buildServer(app);
  collectGarbageWhenIdle(server);
  await app.start();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  log.info({ host: config.host, port, dataDir: config.dataDir }, 'opendms control plane listening');
  if (config.credentialsGenerated) {
    process.stderr.write(
      `opendms: generated API credentials in ${config.credentialsFile} (profile "opendms").\n` +
        `  AWS_SHARED_CREDENTIALS_FILE=${config.credentialsFile} aws --profile opendms --region ${config.region} ` +
        `--endpoint-url http://${config.host}:${port} dms describe-replication-instances\n`,
    );
  }
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    server.close();
    server.closeAllConnections();
    app
      .stop()
      .catch((err: unknown) => log.error({ err }, 'error while stopping services'))
      .finally(() => {
        store.close();
        process.exit(0);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

/**
 * A daemon that served a burst of requests keeps the heap V8 grew for it until memory pressure
 * says otherwise; an idle control plane should not hold 40 MB it no longer needs. Ten seconds
 * after the last request of a burst, one full collection returns it (once per burst).
 */
function collectGarbageWhenIdle(server: Server, idleMs = 10_000): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (() => void) | undefined;
  if (typeof gc !== 'function') return;
  let timer: NodeJS.Timeout | undefined;
  server.on('request', () => {
    if (timer) timer.refresh();
    else timer = setTimeout(() => {
      timer = undefined;
      gc();
    }, idleMs).unref();
  });
}
