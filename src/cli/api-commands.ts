/**
 * One `opendms` subcommand per operation of the DMS model, named like `aws dms`, plus
 * `opendms wait <waiter>`. Only the command being run gets its options built (the model has 119
 * operations; building them all would slow down every invocation), the rest are listed by name.
 */
import { Option, type Command } from 'commander';
import jmespath from 'jmespath';
import { CredentialsNotFoundError, resolveCliConfig } from '../config/cli-config.js';
import { getOperation, operationNames } from '../model/api-model.js';
import { getWaiter, operationDocumentation, operationSummary, paginatorFor, waiterNames } from './cli-model.js';
import { connect, faultCode, type OperationCall } from './client.js';
import { EXIT, UsageError } from './errors.js';
import { examplesFor, GROUP_ORDER, groupOf, skeleton, waiterExample } from './help.js';
import { kebabName } from './names.js';
import { addGlobalOptions, addInputOptions, buildInput, checkQuery, outputFormat, type GlobalOptions } from './options.js';
import { formatOutput } from './output.js';
import { paginate } from './paginate.js';
import { runWaiter, WaiterError, type CallOutcome } from './waiters.js';

/**
 * Program-wide settings; call before any subcommand is added so they inherit the exit mapping.
 * Global options may come before the command (`opendms --output text describe-...`) or after it.
 */
export function configureProgram(program: Command): void {
  program
    .enablePositionalOptions()
    .exitOverride((err) => {
      // Commander's own errors (unknown option, missing value) are usage errors: the AWS CLI's 252.
      process.exit(err.exitCode === 0 ? 0 : EXIT.usage);
    })
    .commandsGroup('Service:');
  addGlobalOptions(program);
}

export function registerApiCommands(program: Command, argv: string[] = process.argv.slice(2)): void {
  const wanted = new Set(argv);
  const ops = operationNames().sort((a, b) => GROUP_ORDER.indexOf(groupOf(a)) - GROUP_ORDER.indexOf(groupOf(b)) || a.localeCompare(b));
  for (const op of ops) {
    const name = kebabName(op);
    const cmd = program.command(name).summary(operationSummary(op)).helpGroup(`${groupOf(op)}:`);
    if (wanted.has(name)) defineOperationCommand(cmd, op);
  }
  const wait = program
    .command('wait')
    .summary('wait until a resource reaches a state, e.g. opendms wait replication-task-stopped --filters ...')
    .helpGroup('Waiters:');
  if (wanted.has('wait')) defineWaiters(wait);
}

function usageHint(cmd: Command): string {
  const path = commandPath(cmd);
  return `usage: ${path} [options]\nTo see help text, run: ${path} --help`;
}

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

function defineOperationCommand(cmd: Command, op: string): void {
  const mapping = addInputOptions(cmd, op);
  const paginator = paginatorFor(op);
  addGlobalOptions(cmd);
  if (paginator) {
    cmd.addOption(new Option('--no-paginate', `return one page only (by default all pages are fetched, following ${paginator.output_token})`).helpGroup('Pagination options:'));
    cmd.addOption(new Option('--max-items <n>', 'stop after n items in total and print a NextToken to resume from').helpGroup('Pagination options:'));
    cmd.addOption(new Option('--starting-token <token>', 'resume from the NextToken of a previous --max-items call').helpGroup('Pagination options:'));
    cmd.addOption(new Option('--page-size <n>', `items per request (${paginator.limit_key}) while paginating`).helpGroup('Pagination options:'));
  }
  cmd
    .description(`${operationDocumentation(op)}\n\nCalls the ${op} API operation.`)
    .showHelpAfterError(usageHint(cmd))
    .addHelpText('after', `\nExamples:\n${examplesFor(op, getOperation(op)?.input?.shape).map((e) => `  ${e}`).join('\n')}\n`)
    .action(async () => {
      if (printedSkeleton(cmd, op)) return;
      await runCommand(cmd, op, async (call, opts) => {
        const input = buildInput(op, mapping, opts);
        if (!paginator || opts.paginate === false || input[paginator.input_token] !== undefined || input[paginator.limit_key] !== undefined) {
          return call(op, input);
        }
        return paginate((pageInput) => call(op, pageInput), paginator, input, {
          maxItems: positiveInt(opts.maxItems, '--max-items'),
          pageSize: positiveInt(opts.pageSize, '--page-size'),
          startingToken: opts.startingToken as string | undefined,
        });
      });
    });
}

function defineWaiters(wait: Command): void {
  wait.description('Wait until a resource reaches a state. Each waiter polls an operation until one of its acceptors matches.');
  for (const name of waiterNames()) {
    const waiter = getWaiter(name)!;
    const sub = wait.command(kebabName(name));
    const mapping = addInputOptions(sub, waiter.operation);
    addGlobalOptions(sub);
    sub
      .addOption(new Option('--delay <seconds>', `seconds between attempts (default ${waiter.delay})`).helpGroup('Waiter options:'))
      .addOption(new Option('--max-attempts <n>', `attempts before giving up (default ${waiter.maxAttempts})`).helpGroup('Waiter options:'))
      .summary(waiter.description ?? '')
      .description(
        `${waiter.description ?? ''} Polls ${kebabName(waiter.operation)} every ${waiter.delay} seconds until it succeeds; ` +
          `exits 255 after ${waiter.maxAttempts} failed checks or on a terminal failure state.`,
      )
      .showHelpAfterError(usageHint(sub))
      .addHelpText('after', `\nExample:\n  ${waiterExample(name, waiter.operation, getOperation(waiter.operation)?.input?.shape)}\n`)
      .action(async () => {
        if (printedSkeleton(sub, waiter.operation)) return;
        await runCommand(sub, waiter.operation, async (call, opts) => {
          const input = buildInput(waiter.operation, mapping, opts);
          const attempt = async (): Promise<CallOutcome> => {
            try {
              return { output: await call(waiter.operation, input) };
            } catch (error) {
              const errorCode = faultCode(error);
              if (errorCode === undefined) throw error;
              return { errorCode, error };
            }
          };
          await runWaiter(name, waiter, attempt, {
            delay: nonNegative(opts.delay, '--delay'),
            maxAttempts: positiveInt(opts.maxAttempts, '--max-attempts'),
          });
          return undefined;
        });
      });
  }
}

/** `--generate-cli-skeleton` prints the input template instead of calling anything. */
function printedSkeleton(cmd: Command, op: string): boolean {
  if (!cmd.opts().generateCliSkeleton) return false;
  const inputShape = getOperation(op)?.input?.shape;
  process.stdout.write(`${JSON.stringify(inputShape ? skeleton(inputShape) : {}, null, 4)}\n`);
  return true;
}

function positiveInt(v: unknown, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag}: expected a positive integer, got "${String(v)}"`);
  return n;
}

function nonNegative(v: unknown, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`${flag}: expected a number of seconds, got "${String(v)}"`);
  return n;
}

/** Resolves config, runs `body`, prints its result, and maps every failure to the AWS CLI's message and exit code. */
async function runCommand(
  cmd: Command,
  op: string,
  body: (call: OperationCall, opts: Record<string, unknown>) => Promise<unknown>,
): Promise<void> {
  const opts = cmd.optsWithGlobals<Record<string, unknown> & GlobalOptions>();
  try {
    checkQuery(opts.query);
    const config = await resolveCliConfig(opts);
    const debug = opts.debug ? (line: string): boolean => process.stderr.write(`opendms: ${line}\n`) : undefined;
    debug?.(`endpoint ${config.endpointUrl}, region ${config.region}${config.profile ? `, profile ${config.profile}` : ''}`);
    const send = await connect(config);
    const call: OperationCall = async (operation, input) => {
      const started = Date.now();
      try {
        return await send(operation, input);
      } finally {
        debug?.(`${operation} took ${Date.now() - started} ms; credentials from ${config.credentialSource() ?? 'nowhere'}`);
      }
    };
    const result = await body(call, opts);
    if (result === undefined) return;
    const shown = opts.query !== undefined ? applyQuery(result, opts.query) : result;
    if (opts.query === undefined && isEmptyObject(shown)) return; // the AWS CLI prints nothing for an empty response
    process.stdout.write(formatOutput(shown, outputFormat(opts), op, process.stdout.columns || 80));
  } catch (err) {
    process.exitCode = report(err, cmd, op, opts.endpointUrl);
  }
}

function applyQuery(result: unknown, query: string): unknown {
  try {
    return jmespath.search(result as never, query) as unknown;
  } catch (err) {
    // A valid expression can still fail on this result (a function given the wrong type).
    throw new Error(`--query: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

function isEmptyObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;
}

function report(err: unknown, cmd: Command, op: string, endpointUrl: string | undefined): number {
  const code = faultCode(err);
  if (code !== undefined) {
    process.stderr.write(`\nAn error occurred (${code}) when calling the ${op} operation: ${(err as Error).message}\n`);
    return EXIT.fault;
  }
  if (err instanceof UsageError) {
    process.stderr.write(`${usageHint(cmd)}\n\n${commandPath(cmd)}: error: ${err.message}\n`);
    return EXIT.usage;
  }
  if (err instanceof CredentialsNotFoundError || (err as Error | undefined)?.name === 'CredentialsNotFoundError') {
    process.stderr.write(`\n${(err as Error).message}\n`);
    return EXIT.credentials;
  }
  if (err instanceof WaiterError) {
    process.stderr.write(`\n${err.message}\n`);
    return EXIT.other;
  }
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ECONNREFUSED' || e?.code === 'ENOTFOUND' || e?.code === 'ECONNRESET') {
    process.stderr.write(`\nCould not connect to the endpoint URL: "${endpointUrl ?? 'http://127.0.0.1:9329'}" (${e.code}). Is opendms serve running?\n`);
    return EXIT.other;
  }
  process.stderr.write(`\n${e instanceof Error ? e.message : String(err)}\n`);
  return EXIT.other;
}
