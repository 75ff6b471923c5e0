import * as fs from 'node:fs';
import * as path from 'node:path';
import { Store } from '../src/store/store.js';
import { replayLogs } from './replay.js';
import { type BenchContext, type BenchResult, fmt, median, REPO, resultLine, runChild } from './util.js';

/**
 * Issue 12, "Fast": on the 1,000,000-record log of the replay benchmark,
 * - state-at: `cairn state --at <the middle seq> --json` (a fresh process: start, nearest snapshot,
 *   short replay, output) against a full replay of that log in a fresh process (replay-child.js:
 *   node's start and cairn's replay, without the CLI's own start-up, so the baseline is the lighter
 *   one), warm (snapshots built by a first query, which is reported as the cold figure); target <= 0.2;
 * - diff: `cairn diff <mid> <mid+1000> --json` against `cairn status --json` on the same folder
 *   (current.json written, as a command leaves it), both fresh processes; target <= 1.5.
 */

const ROUNDS = 5;
const cairnBin = path.join(REPO, 'bin', 'cairn.js');

async function cli(args: string[]): Promise<{ ms: number; stdout: string }> {
  const r = await runChild(process.execPath, [cairnBin, ...args]);
  if (r.code !== 0) throw new Error(`cairn ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r;
}

export async function benchStateAt(ctx: BenchContext): Promise<BenchResult[]> {
  const logs = replayLogs(ctx);
  const dir = logs.big;
  const mid = Math.floor(logs.bigRecords / 2);
  fs.rmSync(path.join(dir, 'snapshots'), { recursive: true, force: true });
  const args = ['state', '--at', String(mid), '--json', '--state-dir', dir];
  const cold = await cli(args);
  const doc = JSON.parse(cold.stdout) as { at: { seq: number }; loaded_from: string };
  if (doc.at.seq < mid) throw new Error(`state --at ${mid} answered seq ${doc.at.seq}`);
  const made = fs.readdirSync(path.join(dir, 'snapshots')).filter((f) => f.endsWith('.json'));
  const bytes = made.reduce((n, f) => n + fs.statSync(path.join(dir, 'snapshots', f)).size, 0);
  ctx.note(`state --at ${mid} cold: ${fmt(cold.ms)} ms, wrote ${made.length} snapshots (${fmt(bytes / 1048576)} MiB)`);
  const warm: number[] = [];
  const full: number[] = [];
  const inner: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const w = await cli(args);
    if (!/^snapshot \d+$/.test((JSON.parse(w.stdout) as { loaded_from: string }).loaded_from)) throw new Error('the warm query did not start from a snapshot');
    warm.push(w.ms);
    if (r < 3) {
      const run = await runChild(process.execPath, [path.join(REPO, 'dist', 'bench', 'replay-child.js'), 'replay', dir]);
      if (run.code !== 0) throw new Error(`replay-child exited ${run.code}: ${run.stderr.trim()}`);
      full.push(run.ms);
      inner.push((JSON.parse(run.stdout.trim().split('\n').pop()!) as { ms: number }).ms);
    }
  }
  const w = median(warm);
  const f = median(full);
  return [
    resultLine('state-at', `${fmt(w)} ms for cairn state --at ${mid} --json (warm; cold first query ${fmt(cold.ms)} ms = ${(cold.ms / f).toFixed(2)}) vs ${fmt(f)} ms for a process replaying all ${logs.bigRecords} records (${fmt(median(inner))} ms of it the replay)`, w / f, { op: '<=', value: 0.2 }),
  ];
}

export async function benchDiff(ctx: BenchContext): Promise<BenchResult[]> {
  const logs = replayLogs(ctx);
  const dir = logs.big;
  const mid = Math.floor(logs.bigRecords / 2);
  if (!fs.existsSync(path.join(dir, 'current.json'))) {
    // Setup only: current.json as a command leaves it, so status loads it and replays nothing.
    const store = await Store.open(dir, { config: { lock_stale_ms: 120_000, lock_timeout_ms: 180_000 } });
    await store.close();
  }
  const diffArgs = ['diff', String(mid), String(mid + 1000), '--json', '--state-dir', dir];
  const statusArgs = ['status', '--json', '--state-dir', dir];
  const first = await cli(diffArgs); // builds the snapshots it needs when state-at did not run first
  ctx.note(`diff ${mid} ${mid + 1000} first run: ${fmt(first.ms)} ms`);
  const d: number[] = [];
  const s: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const k of r % 2 === 0 ? [0, 1] : [1, 0]) (k === 0 ? d : s).push((await cli(k === 0 ? diffArgs : statusArgs)).ms);
  }
  const dm = median(d);
  const sm = median(s);
  return [resultLine('diff', `${fmt(dm)} ms for cairn diff ${mid} ${mid + 1000} --json vs ${fmt(sm)} ms for cairn status --json on the ${logs.bigRecords}-record log`, dm / sm, { op: '<=', value: 1.5 })];
}
