/** The `opendms` command: `serve`, plus one subcommand per API operation (named like `aws dms`). */
import { Command } from 'commander';
import { configureProgram, registerApiCommands } from './api-commands.js';
import { registerEngineCommand } from './engine-command.js';
import { registerServe } from './serve.js';

export function buildProgram(): Command {
  const program = new Command('opendms')
    .description('opendms: self-hosted database migration and replication, driven by the AWS DMS API.')
    .showHelpAfterError();
  configureProgram(program);
  registerServe(program);
  registerEngineCommand(program);
  registerApiCommands(program);
  return program;
}
