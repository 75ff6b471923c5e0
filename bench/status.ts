import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initState } from '../src/store/init.js';
import { Store } from '../src/store/store.js';
import { simulate } from './gen.js';
import { type BenchContext, type BenchResult, fmt, median, REPO, resultLine, runChild } from './util.js';

/**
 * Issue 2, benchmark 4: `cairn status --json` on a state of 10,000 tasks against `node -e 0`, both
 * as fresh processes with stdout read through a pipe. The state is a workstream part-way through a
 * run (tasks completed, running, retrying, queued, pending), with current.json written as a command
 * leaves it, so status loads the snapshot and replays nothing.
 */

const ROUNDS = 9;
const TASKS = 10_000;

/** A state folder with a 10,000-task workstream part-way through its run; returns the folder. */
export async function bigState(ctx: BenchContext): Promise<string> {
  const cached = ctx.cache.get('big-state') as string | undefined;
  if (cached) return cached;
  const dir = path.join(ctx.scratch, 'status-10k');
  initState(dir);
  fs.rmSync(path.join(dir, 'current.json'));
  const t0 = performance.now();
  const g = simulate(path.join(dir, 'transitions.jsonl'), {
    workstreamId: 'big-release', tasks: TASKS, layerWidth: 400, workers: 8, churnRecords: 0, stopAfter: 30_000,
  });
  // Setup only: a generous stale time, as in commit.ts's prepareState.
  const store = await Store.open(dir, { config: { lock_stale_ms: 120_000, lock_timeout_ms: 180_000 } });
  await store.close(); // writes current.json, checkpoints, metrics as a command does when it ends
  const counts = g.state.workstream('big-release')!.counts;
  ctx.note(`status state: ${g.records} records, ${TASKS} tasks (${Object.entries(counts).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`).join(', ')}) in ${(performance.now() - t0).toFixed(0)} ms`);
  ctx.cache.set('big-state', dir);
  return dir;
}

/** Medians of fresh `cairn status --json` processes and of `node -e 0`, run alternately. */
async function timeStatus(statusArgs: string[]): Promise<{ s: number; b: number }> {
  const status: number[] = [];
  const bare: number[] = [];
  await runChild(process.execPath, ['-e', '0']);
  for (let r = 0; r < ROUNDS; r++) {
    for (const k of r % 2 === 0 ? [0, 1] : [1, 0]) {
      const run = await runChild(process.execPath, k === 0 ? statusArgs : ['-e', '0']);
      if (run.code !== 0) throw new Error(`exit ${run.code}: ${run.stderr.trim()}`);
      (k === 0 ? status : bare).push(run.ms);
    }
  }
  return { s: median(status), b: median(bare) };
}

/** A state folder holding one submitted 10-task workstream (a chain of `true`). */
function smallState(ctx: BenchContext, cairn: string): string {
  const dir = path.join(ctx.scratch, 'status-10');
  const spec = path.join(ctx.scratch, 'status-10.json');
  fs.writeFileSync(spec, JSON.stringify({ id: 'small', tasks: Array.from({ length: 10 }, (_, i) => ({ id: `t${i}`, command: 'true', ...(i > 0 ? { depends_on: [`t${i - 1}`] } : {}) })) }));
  const r = spawnSync(process.execPath, [cairn, 'submit', spec, '--state-dir', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cairn submit exited ${r.status}: ${r.stderr}`);
  return dir;
}

export async function benchStatus(ctx: BenchContext): Promise<BenchResult[]> {
  const dir = await bigState(ctx);
  const cairn = path.join(REPO, 'bin', 'cairn.js');
  if (!fs.existsSync(cairn)) return [{ name: 'status', line: `status: not measured: ${cairn} does not exist yet`, pass: null }];
  const statusArgs = [cairn, 'status', '--json', '--state-dir', dir];

  // Check once that the command works and prints the whole state (this first run also writes the
  // bundle's code cache when there is none, as any first command after a build does).
  const first = await runChild(process.execPath, statusArgs);
  if (first.code !== 0) throw new Error(`cairn status exited ${first.code}: ${first.stderr.trim()}`);
  const doc = JSON.parse(first.stdout) as { workstreams: { tasks: unknown[] }[] };
  const shown = doc.workstreams.reduce((n, w) => n + w.tasks.length, 0);
  if (shown !== TASKS) throw new Error(`cairn status showed ${shown} tasks, expected ${TASKS}`);
  ctx.note(`status --json prints ${(first.stdout.length / 1048576).toFixed(1)} MiB`);
  const big = await timeStatus(statusArgs);

  const small = smallState(ctx, cairn);
  const few = await timeStatus([cairn, 'status', '--json', '--state-dir', small]);
  return [
    resultLine('status', `${fmt(big.s)} ms for cairn status --json on ${TASKS} tasks vs ${fmt(big.b)} ms for node -e 0`, big.s / big.b, { op: '<=', value: 3.0 }),
    resultLine('status-small', `${fmt(few.s)} ms for cairn status --json on 10 tasks vs ${fmt(few.b)} ms for node -e 0`, few.s / few.b, { op: '<=', value: 1.8 }),
  ];
}
