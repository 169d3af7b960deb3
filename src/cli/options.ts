/**
 * Options shared by every API command (connection and output, as the AWS CLI's global options)
 * and the model-derived options of one operation's input members.
 */
import { Option, type Command } from 'commander';
import jmespath from 'jmespath';
import { getOperation, getShape } from '../model/api-model.js';
import { firstSentence, memberDocumentation } from './cli-model.js';
import { UsageError } from './errors.js';
import { typeHint } from './help.js';
import { convertCliInputJson, convertOption, type RawOption } from './input.js';
import { kebabName } from './names.js';
import { OUTPUT_FORMATS, type OutputFormat } from './output.js';

export interface GlobalOptions {
  endpointUrl?: string;
  region?: string;
  profile?: string;
  dataDir?: string;
  output?: string;
  query?: string;
  debug?: boolean;
}

/** Connection and output options. Defined on the program too, so they may come before the command. */
export function addGlobalOptions(cmd: Command): void {
  const opts = [
    new Option('--endpoint-url <url>', 'the opendms API (default http://127.0.0.1:9329, env OPENDMS_ENDPOINT_URL)'),
    new Option('--region <region>', 'region to sign for (default AWS_REGION, AWS_DEFAULT_REGION, the profile\'s region, us-east-1)'),
    new Option('--profile <name>', 'credentials profile from ~/.aws/credentials or ~/.aws/config (env AWS_PROFILE)'),
    new Option('--data-dir <dir>', 'local service data dir whose credentials file is the last resort (default ~/.opendms, env OPENDMS_DATA_DIR)'),
    new Option('--output <format>', 'json (default), text or table').choices(OUTPUT_FORMATS),
    new Option('--query <jmespath>', 'JMESPath expression applied to the result, e.g. \'ReplicationTasks[].Status\''),
    new Option('--debug', 'print the endpoint, region, where the credentials came from (never the secret) and each request to stderr'),
  ];
  for (const o of opts) cmd.addOption(o.helpGroup('Global options:'));
  // Accepted so lines copied from aws scripts run unchanged; opendms never pages.
  cmd.addOption(new Option('--no-cli-pager').hideHelp());
}

export function outputFormat(opts: GlobalOptions): OutputFormat {
  return (opts.output as OutputFormat | undefined) ?? 'json';
}

/** Fails early, before any request, on a JMESPath syntax error. */
export function checkQuery(query: string | undefined): void {
  if (query === undefined) return;
  try {
    // compile() is in jmespath's exports though not in its type definitions; searching an empty
    // document instead would also reject valid queries whose functions dislike null.
    (jmespath as unknown as { compile(expression: string): unknown }).compile(query);
  } catch (err) {
    throw new UsageError(`--query: invalid JMESPath expression: ${(err as Error).message}`);
  }
}

/** Maps each commander attribute to the input member it fills. */
export type MemberOptions = Map<string, { member: string; shape: string; flag: string }>;

export function addInputOptions(cmd: Command, operation: string): MemberOptions {
  const mapping: MemberOptions = new Map();
  const inputShape = getOperation(operation)?.input?.shape;
  if (!inputShape) return mapping;
  const shape = getShape(inputShape);
  const required = new Set(shape.required ?? []);
  for (const [member, ref] of Object.entries(shape.members ?? {})) {
    const flag = kebabName(member);
    const memberShape = getShape(ref.shape);
    const doc = firstSentence(memberDocumentation(inputShape, member));
    const description = `[${typeHint(ref.shape)}]${required.has(member) ? ' (required)' : ''} ${doc}`.trim();
    let option: Option;
    if (memberShape.type === 'boolean') {
      option = new Option(`--${flag}`, description);
      cmd.addOption(option);
      cmd.addOption(new Option(`--no-${flag}`, `sets ${member} to false`));
    } else {
      option = new Option(memberShape.type === 'list' ? `--${flag} <values...>` : `--${flag} <value>`, description);
      cmd.addOption(option);
    }
    mapping.set(option.attributeName(), { member, shape: ref.shape, flag: `--${flag}` });
  }
  cmd.addOption(new Option('--cli-input-json <json>', 'the whole input as JSON (or file://input.json); options given as well override its members'));
  cmd.addOption(new Option('--generate-cli-skeleton', 'print a JSON template of the input for --cli-input-json and exit'));
  return mapping;
}

/** Builds the SDK input from --cli-input-json and the member options, then checks required members. */
export function buildInput(operation: string, mapping: MemberOptions, opts: Record<string, unknown>): Record<string, unknown> {
  const inputShape = getOperation(operation)?.input?.shape;
  if (!inputShape) return {};
  const input: Record<string, unknown> = typeof opts.cliInputJson === 'string' ? convertCliInputJson(opts.cliInputJson, inputShape) : {};
  for (const [attr, { member, shape, flag }] of mapping) {
    const raw = opts[attr] as RawOption | undefined;
    if (raw !== undefined) input[member] = convertOption(raw, shape, flag);
  }
  const missing = (getShape(inputShape).required ?? []).filter((m) => input[m] === undefined);
  if (missing.length) {
    throw new UsageError(`the following arguments are required: ${missing.map((m) => `--${kebabName(m)}`).join(', ')}`);
  }
  return input;
}
