#!/usr/bin/env node
/** Entry point of the `opendms` command. */
import { buildProgram } from '../cli/program.js';

buildProgram()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    process.stderr.write(`opendms: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
