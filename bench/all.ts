import * as fs from 'node:fs';
import { benchCommit, benchCommitScale } from './commit.js';
import { benchReplay } from './replay.js';
import { benchDiff, benchStateAt } from './history.js';
import { benchRunScale, benchRunVsXargs } from './run.js';
import { benchSlurm } from './slurm.js';
import { benchRunIdeal, benchSchedulerMemory } from './run-capacity.js';
import { benchStatus } from './status.js';
import { benchServeGet, benchServeSse } from './serve.js';
import { type BenchContext, type BenchResult, makeScratch } from './util.js';

/**
 * `npm run bench`: every benchmark, one result line each on stdout (progress notes on stderr).
 * Figures are reported, not asserted: the exit code is 0 even when a target is missed, unless
 * `--strict` is given. Name benchmarks to run only those: `node dist/bench/all.js replay status`.
 * `--keep` leaves the scratch folder (generated logs and state folders) in place.
 */

type Bench = (ctx: BenchContext) => Promise<BenchResult[]>;

const BENCHES: [string, Bench][] = [
  ['commit', benchCommit],
  ['replay', benchReplay],
  ['commit-scale', benchCommitScale],
  ['status', benchStatus],
  ['run-vs-xargs', benchRunVsXargs],
  ['run-scale', benchRunScale],
  ['run-ideal', benchRunIdeal],
  ['scheduler-memory', benchSchedulerMemory],
  ['state-at', benchStateAt],
  ['diff', benchDiff],
  ['serve-sse', benchServeSse],
  ['serve-get', benchServeGet],
  ['slurm', benchSlurm],
];

async function main(argv: string[]): Promise<number> {
  const strict = argv.includes('--strict');
  const keep = argv.includes('--keep');
  const only = argv.filter((a) => !a.startsWith('--'));
  const unknown = only.filter((n) => !BENCHES.some(([name]) => name === n));
  if (unknown.length > 0) {
    console.error(`unknown benchmark ${unknown.join(', ')}; known: ${BENCHES.map(([n]) => n).join(', ')}`);
    return 2;
  }
  const scratch = makeScratch();
  const ctx: BenchContext = {
    scratch: scratch.dir,
    note: (m) => process.stderr.write(`  · ${m}\n`),
    cache: new Map(),
  };
  ctx.note(scratch.note);
  const results: BenchResult[] = [];
  const t0 = performance.now();
  try {
    for (const [name, bench] of BENCHES) {
      if (only.length > 0 && !only.includes(name)) continue;
      const b0 = performance.now();
      let got: BenchResult[];
      try {
        got = await bench(ctx);
      } catch (e) {
        // One broken benchmark (a loaded machine, a command that changed) must not hide the others.
        got = [{ name, line: `${name}: ERROR ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`, pass: false }];
        ctx.note(e instanceof Error ? e.stack ?? e.message : String(e));
      }
      for (const r of got) {
        results.push(r);
        console.log(r.line);
      }
      ctx.note(`${name} took ${((performance.now() - b0) / 1000).toFixed(1)} s`);
    }
  } finally {
    if (!keep) fs.rmSync(scratch.dir, { recursive: true, force: true });
  }
  const missed = results.filter((r) => r.pass === false);
  ctx.note(`${results.length} figures in ${((performance.now() - t0) / 1000).toFixed(0)} s; ${missed.length} missed${missed.length ? ': ' + missed.map((r) => r.name).join(', ') : ''}`);
  return strict && missed.length > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => {
    console.error(e instanceof Error ? e.stack ?? e.message : e);
    process.exitCode = 1;
  },
);
