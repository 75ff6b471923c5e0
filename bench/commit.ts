import * as fs from 'node:fs';
import * as path from 'node:path';
import { decide } from '../src/model/decide.js';
import { parseSpec } from '../src/model/spec.js';
import type { StateView } from '../src/model/state.js';
import type { Draft } from '../src/model/types.js';
import { initState } from '../src/store/init.js';
import { type Decide, Store } from '../src/store/store.js';
import { taskId } from './gen.js';
import { type BenchContext, type BenchResult, fmt, median, resultLine, timed } from './util.js';

/**
 * Issue 2, benchmarks 1 and 3: the cost of a durable commit.
 *
 * src/index.ts has no verb that appends one record (every verb is a whole command that also writes
 * the derived files), so commits go through `Store.commit` — the path every verb and the scheduler
 * use: state lock, catch-up read of the log, decide, encode, one write, fdatasync, apply, unlock.
 * Each commit is a real scheduler decision made by `decide`: start a task, fail its attempt, queue
 * its retry — one record each.
 */

const ROUNDS = 5;
const ROUND_MS = 1000;
const SCHEDULER = 'sched-bench';

/** A state folder with one running workstream of `tasks` queued tasks and `workers` idle workers. */
export async function prepareState(dir: string, tasks: number, workers: number): Promise<void> {
  initState(dir);
  const spec = parseSpec({
    id: 'bench-ws',
    defaults: { timeout_seconds: 600 },
    tasks: Array.from({ length: tasks }, (_, i) => ({ id: taskId(i), command: ['node', 'scripts/step.js', '--part', String(i)] })),
  }, { defaultId: () => 'bench-ws' });
  // The cycle below retries each task thousands of times, past what a spec may ask (max_retries
  // <= 100): the bench sets it on the parsed spec, which decide takes as given.
  for (const t of spec.tasks) t.max_retries = 1_000_000_000;
  // Setup only: a generous stale time, so that submitting 10,000 tasks on a heavily loaded machine
  // (seconds under the lock) is not refused as a stalled holder. Measured commits use the defaults.
  const store = await Store.open(dir, { config: { lock_stale_ms: 120_000, lock_timeout_ms: 180_000 } });
  try {
    await store.commit((s, now) => decide(s, { kind: 'scheduler_start', scheduler_id: SCHEDULER, pid: process.pid, process_start: null }, { now }));
    await store.commit((s, now) => decide(s, { kind: 'submit', spec }, { now }));
    for (let w = 0; w < workers; w++) {
      await store.commit((s, now) => decide(s, { kind: 'worker_start', worker_id: `w${w}`, pid: 1000 + w, scheduler_id: SCHEDULER }, { now }));
    }
  } finally {
    await store.close();
  }
}

/**
 * Decisions that move tasks round the cycle queued → running → retrying → queued, `size` tasks per
 * decision (task j of a group runs on worker j), each task one record per decision.
 */
export class Cycler {
  private group = 0;
  private step = 0;

  constructor(private readonly tasks: number, private readonly size: number) {}

  next(): Decide {
    const first = this.group * this.size;
    const n = Math.min(this.size, this.tasks - first);
    if (++this.step === 3) {
      this.step = 0;
      this.group = (first + this.size >= this.tasks) ? 0 : this.group + 1;
    }
    return (s, now) => {
      const out: Draft[] = [];
      for (let j = 0; j < n; j++) out.push(...decide(s, commandFor(s, taskId(first + j), `w${j}`), { now }));
      return out;
    };
  }
}

function commandFor(s: StateView, task: string, worker: string): Parameters<typeof decide>[1] {
  const t = s.task('bench-ws', task)!;
  switch (t.state) {
    case 'queued':
      return {
        kind: 'task_start', workstream_id: 'bench-ws', task_id: task, worker_id: worker, pid: 4242, pgid: 4242, process_start: '987654',
        scheduler_id: SCHEDULER, deadline: new Date(Date.now() + 600_000).toISOString(),
      };
    case 'running':
      return {
        kind: 'task_outcome', workstream_id: 'bench-ws', task_id: task, attempt: t.attempt, phase: 'command',
        outcome: { kind: 'exit', exit_code: 1, signal: null, duration_ms: 1234, message: 'exit code 1' },
      };
    case 'retrying':
      return { kind: 'retry_due', workstream_id: 'bench-ws', task_id: task };
    default:
      throw new Error(`bench task ${task} is ${t.state}`);
  }
}

/** A raw loop on the same disk: one write of `lineBytes` on an O_APPEND descriptor, then fdatasync. */
function rawLoop(file: string, lineBytes: number): () => void {
  const line = Buffer.alloc(lineBytes, 0x61);
  line[lineBytes - 1] = 0x0a;
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, 0o600);
  return () => {
    fs.writeSync(fd, line);
    fs.fdatasyncSync(fd);
  };
}

/** Average bytes per record of a state folder's log. */
function avgRecordBytes(dir: string, fromOffset: number, records: number): number {
  return Math.round((fs.statSync(path.join(dir, 'transitions.jsonl')).size - fromOffset) / records);
}

export async function benchCommit(ctx: BenchContext): Promise<BenchResult[]> {
  const single = path.join(ctx.scratch, 'commit-single');
  const batch = path.join(ctx.scratch, 'commit-batch');
  await prepareState(single, 30, 1);
  await prepareState(batch, 300, 100);
  const s1 = await Store.open(single);
  const s100 = await Store.open(batch);
  const cyc1 = new Cycler(30, 1);
  const cyc100 = new Cycler(300, 100);

  // Warm up (JIT, page cache) and learn the size of a typical record for the raw loop.
  const offset = s1.position.offset;
  for (let i = 0; i < 60; i++) await s1.commit(cyc1.next());
  const lineBytes = avgRecordBytes(single, offset, 60);
  for (let i = 0; i < 6; i++) await s100.commit(cyc100.next());
  const raw = rawLoop(path.join(ctx.scratch, 'raw-fdatasync.bin'), lineBytes);
  for (let i = 0; i < 60; i++) raw();

  const rawRates: number[] = [];
  const apiRates: number[] = [];
  const batchRates: number[] = [];
  const jobs: [number[], () => Promise<{ ops: number; ms: number }>, number][] = [
    [rawRates, () => timed(ROUND_MS, 50, raw), 1],
    [apiRates, () => timed(ROUND_MS, 50, () => s1.commit(cyc1.next())), 1],
    [batchRates, () => timed(ROUND_MS, 10, () => s100.commit(cyc100.next())), 100],
  ];
  try {
    for (let r = 0; r < ROUNDS; r++) {
      for (let i = 0; i < jobs.length; i++) {
        const [into, run, perOp] = jobs[(i + r) % jobs.length]!;
        const { ops, ms } = await run();
        into.push((ops * perOp) / (ms / 1000));
      }
      ctx.note(`commit round ${r + 1}: raw ${fmt(rawRates.at(-1)!)}, single ${fmt(apiRates.at(-1)!)}, batch ${fmt(batchRates.at(-1)!)} rec/s`);
    }
  } finally {
    await s1.close();
    await s100.close();
  }
  const rawRate = median(rawRates);
  const apiRate = median(apiRates);
  const batchRate = median(batchRates);
  return [
    resultLine('commit-single', `${fmt(apiRate)} rec/s via Store.commit (lock included) vs ${fmt(rawRate)} rec/s raw write+fdatasync of ${lineBytes} B`, apiRate / rawRate, { op: '>=', value: 0.5 }),
    resultLine('commit-batch', `${fmt(batchRate)} rec/s in commits of 100 records vs ${fmt(rawRate)} rec/s raw single-record write+fdatasync`, batchRate / rawRate, { op: '>=', value: 10 }),
  ];
}

/** Issue 2, benchmark 3: one commit with 10,000 active tasks against one with 100. */
export async function benchCommitScale(ctx: BenchContext): Promise<BenchResult[]> {
  const small = path.join(ctx.scratch, 'scale-100');
  const big = path.join(ctx.scratch, 'scale-10k');
  await prepareState(small, 100, 1);
  await prepareState(big, 10_000, 1);
  const stores = [await Store.open(small), await Store.open(big)] as const;
  const cyclers = [new Cycler(100, 1), new Cycler(10_000, 1)];
  const wall: [number[], number[]] = [[], []];
  const cpu: [number[], number[]] = [[], []];
  try {
    for (const k of [0, 1]) for (let i = 0; i < 60; i++) await stores[k].commit(cyclers[k]!.next());
    for (let r = 0; r < ROUNDS; r++) {
      for (const k of r % 2 === 0 ? [0, 1] : [1, 0]) {
        const c0 = process.cpuUsage();
        const { ops, ms } = await timed(ROUND_MS, 50, () => stores[k].commit(cyclers[k]!.next()));
        const c = process.cpuUsage(c0);
        wall[k]!.push(ms / ops);
        cpu[k]!.push((c.user + c.system) / ops);
      }
      ctx.note(`commit-scale round ${r + 1}: 100 tasks ${wall[0].at(-1)!.toFixed(3)} ms, 10k tasks ${wall[1].at(-1)!.toFixed(3)} ms per commit`);
    }
  } finally {
    for (const s of stores) await s.close();
  }
  const [a, b] = [median(wall[0]), median(wall[1])];
  const [ca, cb] = [median(cpu[0]), median(cpu[1])];
  return [
    resultLine('commit-scale', `${b.toFixed(3)} ms per commit with 10000 active tasks vs ${a.toFixed(3)} ms with 100 (cpu ${fmt(cb)} µs vs ${fmt(ca)} µs)`, b / a, { op: '<=', value: 1.5 }),
  ];
}
