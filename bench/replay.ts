import * as fs from 'node:fs';
import * as path from 'node:path';
import type { State } from '../src/model/state.js';
import { baseRecords, type SimOptions, simulate } from './gen.js';
import { type BenchContext, type BenchResult, fmt, median, resultLine, runNodeJson } from './util.js';

/**
 * Issue 2, benchmark 2: replay of a 1,000,000-record log against a bare loop that JSON.parses each
 * line of the same file; and the peak memory of that replay against a 100,000-record log that ends
 * in the same final state (memory must grow with the state, not with the log).
 */

const ROUNDS = 3;
const SIM: Omit<SimOptions, 'churnRecords'> = { workstreamId: 'nightly-build', tasks: 300, layerWidth: 30, workers: 2 };

interface Measure {
  ms: number;
  records: number;
  maxRssKb: number;
}

/** What must be equal between the two logs' final states: every entity and its state, not counters. */
function shapeOf(s: State): string {
  const tasks = [...s.tasks.values()].map((t) => [t.workstream_id, t.id, t.state, t.retry_count, t.depends_on.join('+')]);
  const ws = [...s.workstreams.values()].map((w) => [w.id, w.state, JSON.stringify(w.counts), w.task_ids.length]);
  const workers = [...s.workers.values()].map((w) => [w.id, w.state, w.task]);
  return JSON.stringify({ tasks, ws, workers, resources: [...s.resources.keys()], scheduler: s.sched === null });
}

/** Generates the two logs once per run (each in its own state folder) and checks their final states agree. */
export function replayLogs(ctx: BenchContext): { big: string; small: string; bigRecords: number; smallRecords: number; bigBytes: number } {
  const cached = ctx.cache.get('replay-logs') as ReturnType<typeof replayLogs> | undefined;
  if (cached) return cached;
  const root = path.join(ctx.scratch, 'replay');
  fs.mkdirSync(root, { recursive: true });
  const base = baseRecords(SIM, path.join(root, 'base.jsonl'));
  const make = (name: string, total: number) => {
    const dir = path.join(root, name);
    fs.mkdirSync(dir, { mode: 0o700 });
    const t0 = performance.now();
    const g = simulate(path.join(dir, 'transitions.jsonl'), { ...SIM, churnRecords: total - base });
    ctx.note(`generated ${g.records} records (${(g.bytes / 1048576).toFixed(0)} MiB) in ${(performance.now() - t0).toFixed(0)} ms: ${dir}`);
    return { dir, g };
  };
  const small = make('log-100k', 100_000);
  const big = make('log-1m', 1_000_000);
  if (shapeOf(small.g.state) !== shapeOf(big.g.state)) throw new Error('the 100k and 1M logs do not end in the same state');
  const out = { big: big.dir, small: small.dir, bigRecords: big.g.records, smallRecords: small.g.records, bigBytes: big.g.bytes };
  ctx.cache.set('replay-logs', out);
  return out;
}

export async function benchReplay(ctx: BenchContext): Promise<BenchResult[]> {
  const logs = replayLogs(ctx);
  const bigFile = path.join(logs.big, 'transitions.jsonl');
  const replay: Measure[] = [];
  const bareStr: Measure[] = [];
  const bareBuf: Measure[] = [];
  const small: Measure[] = [];
  const bareSmall: Measure[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Rotate the order so that drift in the machine's load does not favour one side.
    const jobs: [Measure[], string, string][] = [
      [replay, 'replay', logs.big],
      [bareStr, 'bare-str', bigFile],
      [bareBuf, 'bare-buf', bigFile],
      [small, 'replay', logs.small],
      [bareSmall, 'bare-buf', path.join(logs.small, 'transitions.jsonl')],
    ];
    for (let i = 0; i < jobs.length; i++) {
      const [into, mode, target] = jobs[(i + r) % jobs.length]!;
      const m = await runNodeJson<Measure>('replay-child.js', [mode, target]);
      into.push(m);
    }
    ctx.note(`replay round ${r + 1}: replay ${fmt(replay.at(-1)!.ms)} ms, bare-str ${fmt(bareStr.at(-1)!.ms)} ms, bare-buf ${fmt(bareBuf.at(-1)!.ms)} ms`);
  }
  for (const m of replay) if (m.records !== logs.bigRecords) throw new Error(`replay read ${m.records} records, the log has ${logs.bigRecords}`);
  for (const m of [...bareStr, ...bareBuf]) if (m.records !== logs.bigRecords) throw new Error(`the bare loop read ${m.records} lines, the log has ${logs.bigRecords}`);

  const rate = (ms: Measure[]) => logs.bigRecords / (median(ms.map((m) => m.ms)) / 1000);
  const replayRate = rate(replay);
  // The baseline is the faster of the two honest bare loops.
  const strRate = rate(bareStr);
  const bufRate = rate(bareBuf);
  const bareRate = Math.max(strRate, bufRate);
  const bareName = strRate >= bufRate ? 'text split' : 'byte split';
  const bigRss = median(replay.map((m) => m.maxRssKb)) / 1024;
  const smallRss = median(small.map((m) => m.maxRssKb)) / 1024;
  // Context: how much the peak RSS of a stateless parse loop itself grows between the two lengths.
  const bareBig = median(bareBuf.map((m) => m.maxRssKb)) / 1024;
  const bareSmallRss = median(bareSmall.map((m) => m.maxRssKb)) / 1024;
  const mib = (logs.bigBytes / 1048576).toFixed(0);
  return [
    resultLine('replay-speed', `${fmt(replayRate)} rec/s replaying ${logs.bigRecords} records (${mib} MiB) vs ${fmt(bareRate)} rec/s bare JSON.parse loop (${bareName})`, replayRate / bareRate, { op: '>=', value: 0.8 }),
    withNote(
      resultLine('replay-memory', `peak RSS ${fmt(bigRss)} MiB replaying ${logs.bigRecords} records vs ${fmt(smallRss)} MiB replaying ${logs.smallRecords} (same final state)`, bigRss / smallRss, { op: '<=', value: 1.5 }),
      `[the bare loop alone: ${fmt(bareBig)} vs ${fmt(bareSmallRss)} MiB = ${(bareBig / bareSmallRss).toFixed(2)}]`,
    ),
  ];
}

function withNote(r: BenchResult, note: string): BenchResult {
  return { ...r, line: `${r.line} ${note}` };
}
