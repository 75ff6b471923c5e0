import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { taskId } from './gen.js';
import { runUntil } from './run.js';
import { type BenchContext, type BenchResult, fmt, median, REPO, resultLine, runChild } from './util.js';

/**
 * Issue 15's scheduler benchmarks, through the real binary:
 *
 * - run-ideal: 200 tasks that each sleep 50 ms (`sleep 0.05`, no shell) on 8 workers, against the
 *   ideal schedule: the total work divided by 8, plus one task. The run is timed from its log, from
 *   the first task_started to the last task_completed, so what is measured is how well the
 *   scheduler keeps 8 workers busy; the CLI's and the workers' start-up are reported beside it
 *   (run-vs-xargs measures them).
 * - scheduler-memory: peak RSS of the `cairn run` process (the scheduler; its workers are separate
 *   processes) on a workstream of 100,000 tasks against one of 10,000. Each is submitted first, then
 *   run until 200 tasks completed and stopped with SIGINT, so loading, planning, committing, the
 *   snapshots written while it runs and the final one are all in the peak. Linear or better: ≤ 10×.
 */

const CAIRN = path.join(REPO, 'bin', 'cairn.js');
const IDEAL_TASKS = 200;
const IDEAL_WORKERS = 8;
const SLEEP_MS = 50;

function writeSpec(file: string, id: string, tasks: number, command: string[]): void {
  const spec = { id, tasks: Array.from({ length: tasks }, (_, i) => ({ id: taskId(i), command })) };
  fs.writeFileSync(file, JSON.stringify(spec));
}

/** ms from the first task_started to the last task_completed of a log. */
function makespan(logFile: string): number {
  let first = Infinity;
  let last = -Infinity;
  for (const line of fs.readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.includes('"type":"task_started"') && !line.includes('"type":"task_completed"')) continue;
    const r = JSON.parse(line) as { type: string; ts: string };
    const at = Date.parse(r.ts);
    if (r.type === 'task_started') first = Math.min(first, at);
    else last = Math.max(last, at);
  }
  if (!Number.isFinite(first) || !Number.isFinite(last)) throw new Error(`${logFile} has no started and completed tasks`);
  return last - first;
}

export async function benchRunIdeal(ctx: BenchContext): Promise<BenchResult[]> {
  const spec = path.join(ctx.scratch, 'run-ideal.json');
  writeSpec(spec, 'bench-ideal', IDEAL_TASKS, ['sleep', String(SLEEP_MS / 1000)]);
  const ideal = (IDEAL_TASKS * SLEEP_MS) / IDEAL_WORKERS + SLEEP_MS;
  const spans: number[] = [];
  const walls: number[] = [];
  for (let r = 0; r < 3; r++) {
    const dir = path.join(ctx.scratch, `run-ideal-${r}`);
    const run = await runChild(process.execPath, [CAIRN, 'run', spec, '--workers', String(IDEAL_WORKERS), '--state-dir', dir, '--json']);
    if (run.code !== 0) throw new Error(`cairn run exited ${run.code ?? run.signal}: ${run.stderr.trim().slice(0, 500)}`);
    spans.push(makespan(path.join(dir, 'transitions.jsonl')));
    walls.push(run.ms);
    ctx.note(`run-ideal round ${r + 1}: ${fmt(spans.at(-1)!)} ms from the first start to the last completion (ideal ${ideal} ms), ${fmt(run.ms)} ms for the whole process`);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const m = median(spans);
  const r = resultLine('run-ideal', `${fmt(m)} ms for ${IDEAL_TASKS} tasks of ${SLEEP_MS} ms on ${IDEAL_WORKERS} workers vs ${fmt(ideal)} ms ideal (work / ${IDEAL_WORKERS} + one task)`, m / ideal, { op: '<=', value: 1.15 });
  return [{ ...r, line: `${r.line} [whole process, start-up included: ${fmt(median(walls))} ms]` }];
}

/** Peak RSS in bytes of `cairn run` resuming the workstream submitted in `dir`, stopped after 200 completions. */
async function schedulerPeak(ctx: BenchContext, tasks: number): Promise<number> {
  const dir = path.join(ctx.scratch, `sched-mem-${tasks}`);
  const spec = path.join(ctx.scratch, `sched-mem-${tasks}.json`);
  writeSpec(spec, `bench-mem-${tasks}`, tasks, ['true']);
  const t0 = performance.now();
  const init = await runChild(process.execPath, [CAIRN, 'init', '--state-dir', dir, '--json']);
  if (init.code !== 0) throw new Error(`cairn init exited ${init.code ?? init.signal}: ${init.stderr.trim().slice(0, 500)}`);
  // A generous stale time, as in status.ts: one decision of 100,000 tasks (the submit) or one snapshot
  // of them holds the state lock for seconds on a busy host, longer than half the default 10 s.
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ lock_stale_ms: 120_000, lock_timeout_ms: 180_000 }));
  const sub = await runChild(process.execPath, [CAIRN, 'submit', spec, '--state-dir', dir, '--json']);
  if (sub.code !== 0) throw new Error(`cairn submit exited ${sub.code ?? sub.signal}: ${sub.stderr.trim().slice(0, 500)}`);
  const rssFile = path.join(ctx.scratch, `sched-mem-${tasks}.rss`);
  const probe = pathToFileURL(path.join(REPO, 'dist', 'bench', 'rss-probe.js')).href;
  const t1 = performance.now();
  await runUntil(dir, null, 200, { nodeArgs: ['--import', probe], env: { CAIRN_BENCH_RSS_FILE: rssFile } });
  const peak = Number(fs.readFileSync(rssFile, 'utf8'));
  ctx.note(`scheduler-memory: ${tasks} tasks submitted in ${fmt(t1 - t0)} ms; the scheduler ran 200 of them and stopped in ${fmt(performance.now() - t1)} ms, peak RSS ${fmt(peak / 2 ** 20)} MiB`);
  fs.rmSync(dir, { recursive: true, force: true });
  return peak;
}

export async function benchSchedulerMemory(ctx: BenchContext): Promise<BenchResult[]> {
  const small = await schedulerPeak(ctx, 10_000);
  const big = await schedulerPeak(ctx, 100_000);
  return [resultLine('scheduler-memory', `scheduler peak RSS ${fmt(big / 2 ** 20)} MiB with 100000 tasks vs ${fmt(small / 2 ** 20)} MiB with 10000`, big / small, { op: '<=', value: 10 })];
}
