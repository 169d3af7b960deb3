/** Every operation and waiter of the model is a command whose options are the input members, named like `aws dms`. */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { configureProgram, registerApiCommands } from '../../src/cli/api-commands.js';
import { waiterNames } from '../../src/cli/cli-model.js';
import { kebabName } from '../../src/cli/names.js';
import { getOperation, getShape, operationNames } from '../../src/model/api-model.js';

function program(argv: string[]): Command {
  const p = new Command('opendms');
  configureProgram(p);
  registerApiCommands(p, argv);
  return p;
}

describe('API commands', () => {
  it('has one command per model operation, each with an option per input member', () => {
    const ops = operationNames();
    expect(ops.length).toBeGreaterThan(100);
    const p = program(ops.map(kebabName));
    for (const op of ops) {
      const cmd = p.commands.find((c) => c.name() === kebabName(op));
      expect(cmd, op).toBeDefined();
      const flags = new Set(cmd!.options.map((o) => o.long));
      const input = getOperation(op)!.input?.shape;
      for (const [member, ref] of Object.entries(input ? (getShape(input).members ?? {}) : {})) {
        expect(flags, `${op}.${member}`).toContain(`--${kebabName(member)}`);
        if (getShape(ref.shape).type === 'boolean') expect(flags).toContain(`--no-${kebabName(member)}`);
      }
      for (const global of ['--endpoint-url', '--region', '--profile', '--output', '--query']) expect(flags).toContain(global);
      if (input) expect(flags).toContain('--cli-input-json');
    }
  });

  it('builds options only for the command being run, so start-up stays fast', () => {
    const p = program(['describe-endpoints']);
    expect(p.commands.find((c) => c.name() === 'describe-endpoints')!.options.length).toBeGreaterThan(5);
    expect(p.commands.find((c) => c.name() === 'create-endpoint')!.options).toHaveLength(0);
  });

  it('has a wait subcommand per model waiter with --delay and --max-attempts', () => {
    const wait = program(['wait']).commands.find((c) => c.name() === 'wait')!;
    expect(wait.commands.map((c) => c.name()).sort()).toEqual(waiterNames().map(kebabName).sort());
    const stopped = wait.commands.find((c) => c.name() === 'replication-task-stopped')!;
    expect(stopped.options.map((o) => o.long)).toEqual(expect.arrayContaining(['--filters', '--delay', '--max-attempts', '--without-settings']));
  });
});
