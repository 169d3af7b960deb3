/** `opendms serve`: starts the control plane on its embedded store. */
import type { Command } from 'commander';
import type { ServeFlags } from '../config/server-config.js';

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
    .option('--quotas <Name=N,...>', 'raise or lower quotas, e.g. ReplicationTasks=2000,Endpoints=5000 (env OPENDMS_QUOTAS)')
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
      // Loaded on use: every other opendms command is an API client and must not pay for (or
      // depend on) the whole service at start-up.
      const { serve } = await import('./run-service.js');
      await serve(flags);
    });
}
