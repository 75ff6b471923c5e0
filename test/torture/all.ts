/**
 * Runs every torture suite and prints one line of figures per suite (`npm run torture` runs the full
 * size: `node dist/test/torture/all.js --full`). Flags: `--full` (default: the CI size), `--seed=N`
 * (default 42; every failure is reproducible from the seed it prints), `--only=kill-loop,fuzz`,
 * `--json=<file>` to keep the figures. Exits 1 when any suite broke its promise.
 */
import * as fs from 'node:fs';
import { cliOptions, type Figures, figureLine, type Suite } from './common.js';
import { faults } from './faults.js';
import { fuzz } from './fuzz.js';
import { hostile } from './hostile.js';
import { killLoop } from './kill-loop.js';
import { lockSuite } from './lock.js';
import { powerLoss } from './power-loss.js';
import { syscalls } from './syscalls.js';

export const SUITES: readonly (readonly [string, Suite])[] = [
  ['kill-loop', killLoop],
  ['power-loss', powerLoss],
  ['syscalls', syscalls],
  ['faults', faults],
  ['lock', lockSuite],
  ['fuzz', fuzz],
  ['hostile', hostile],
];

const argv = process.argv.slice(2);
const opts = cliOptions(argv, { size: 'ci', seed: 42 });
const only = argv.find((a) => a.startsWith('--only='))?.slice(7).split(',');
const jsonOut = argv.find((a) => a.startsWith('--json='))?.slice(7);
const unknown = only?.filter((n) => !SUITES.some(([k]) => k === n)) ?? [];
if (unknown.length > 0) {
  console.error(`unknown suite(s): ${unknown.join(', ')}; the suites are ${SUITES.map(([k]) => k).join(', ')}`);
  process.exit(2);
}
console.log(`cairn torture: ${opts.size} size, seed ${opts.seed}, node ${process.version}, ${new Date().toISOString()}`);
const results: Figures[] = [];
for (const [name, suite] of SUITES) {
  if (only && !only.includes(name)) continue;
  try {
    results.push(await suite(opts));
  } catch (e) {
    console.log(`${name}: CRASHED: ${(e as Error).stack ?? String(e)}`);
    results.push({ name, seed: opts.seed, size: opts.size, counts: {}, failures: [`crashed: ${(e as Error).message}`], ms: 0 });
  }
}
console.log('\nsummary');
for (const f of results) console.log(`${f.failures.length === 0 ? 'ok  ' : 'FAIL'} ${figureLine(f)}`);
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({ size: opts.size, seed: opts.seed, node: process.version, at: new Date().toISOString(), results }, null, 2));
process.exit(results.some((f) => f.failures.length > 0) ? 1 : 0);
