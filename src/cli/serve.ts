/** `opendms serve`: starts the control plane on its embedded store. */
import type { Command } from 'commander';
import { createLogger } from '../config/logger.js';
import { resolveServerConfig, type ServeFlags } from '../config/server-config.js';
import { buildServer } from '../api/server.js';
import { App } from '../control/app.js';
import { openStore } from '../store/index.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Run the opendms control plane (AWS DMS API) on its embedded SQLite store.')
    .option('--host <host>', 'address to listen on (default 127.0.0.1, env OPENDMS_HOST)')
    .option('--port <port>', 'port to listen on (default 9329, env OPENDMS_PORT)')
    .option('--data-dir <dir>', 'where metadata, credentials and instance work dirs live (default ~/.opendms, env OPENDMS_DATA_DIR)')
    .option('--region <region>', 'region in ARNs and SigV4 scope (default us-east-1, env OPENDMS_REGION)')
    .option('--account-id <id>', '12-digit account id in ARNs (default 123456789012, env OPENDMS_ACCOUNT_ID)')
    .option('--access-key-id <id>', 'API access key id (env OPENDMS_ACCESS_KEY_ID); generated on first start when not given')
    .option('--secret-access-key <secret>', 'API secret access key (env OPENDMS_SECRET_ACCESS_KEY)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (default info, env OPENDMS_LOG_LEVEL)')
    .addHelpText(
      'after',
      `
Examples:
  opendms serve
  OPENDMS_DATA_DIR=/var/lib/opendms opendms serve --port 9329
  AWS_SHARED_CREDENTIALS_FILE=~/.opendms/credentials aws --profile opendms --region us-east-1 \\
    --endpoint-url http://127.0.0.1:9329 dms describe-replication-instances`,
    )
    .action(async (flags: ServeFlags) => {
      await serve(flags);
    });
}

export async function serve(flags: ServeFlags): Promise<void> {
  const config = resolveServerConfig(flags);
  const log = createLogger(config.logLevel, 'opendms');
  const store = openStore(config.dataDir);
  const app = new App(config, store, log);
  const server = buildServer(app);
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
