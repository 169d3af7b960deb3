/**
 * `npm run bench`: runs the benchmarks in this folder, each side by side with its anchor in one
 * run, and prints ratios. Pick some with `npm run bench -- <name> ...`; default: all.
 *
 * Benchmarks are never part of `npm test`: numbers depend on the machine and its load.
 */
import { readdirSync } from 'node:fs';
import { basename } from 'node:path';
import { pathToFileURL } from 'node:url';

const here = import.meta.dirname;
const wanted = process.argv.slice(2);
const all = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => basename(f, '.bench.ts'))
  .sort();
const chosen = wanted.length ? wanted : all;
for (const name of chosen) {
  if (!all.includes(name)) {
    console.error(`unknown benchmark "${name}"; available: ${all.join(', ')}`);
    process.exit(2);
  }
}
for (const name of chosen) {
  console.log(`\n== ${name} ==`);
  const mod = (await import(pathToFileURL(`${here}/${name}.bench.ts`).href)) as { run(): Promise<void> };
  await mod.run();
}
