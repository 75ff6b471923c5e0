import * as fs from 'node:fs';
import { monotonicFactory } from 'ulid';
import { CairnError } from '../src/errors.js';
import { encodeRecord } from '../src/log/codec.js';
import { apply } from '../src/model/apply.js';
import { RECORD_TYPES } from '../src/model/catalogue.js';
import { type Command, decide } from '../src/model/decide.js';
import { parseSpec } from '../src/model/spec.js';
import { State } from '../src/model/state.js';
import type { Draft, LogRecord, WorkstreamSpec } from '../src/model/types.js';

/**
 * Realistic logs for the benchmarks, written by the real decider and the real codec: every record
 * is what `decide` returns for a scheduler's command, stamped with seq, ULID, ts and a valid crc
 * chain, and applied to a State on the way (so a log that replays here replays in cairn).
 */

const START_MS = Date.parse('2025-03-01T08:00:00.000Z');

/**
 * A normalized spec of `n` tasks in layers of `width`: each task after the first layer depends on
 * one or two tasks of the layer before it. Commands, priorities and timeouts vary like a real one.
 */
export function layeredSpec(id: string, n: number, width: number, maxRetries = 3): WorkstreamSpec {
  const tasks: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const layer = Math.floor(i / width);
    const deps: string[] = [];
    if (layer > 0) {
      const prev = (layer - 1) * width;
      const prevWidth = Math.min(width, n - prev);
      deps.push(taskId((i * 7) % prevWidth + prev));
      const second = (i * 13 + 5) % prevWidth + prev;
      if (i % 3 === 0 && !deps.includes(taskId(second))) deps.push(taskId(second));
    }
    const t: Record<string, unknown> = {
      id: taskId(i),
      command: i % 2 === 0 ? `make -C services/part-${i % 97} build` : ['node', 'scripts/step.js', '--part', String(i)],
    };
    if (deps.length > 0) t.depends_on = deps;
    if (i % 5 === 0) t.timeout_seconds = 900;
    if (i % 11 === 0) t.priority = 2;
    tasks.push(t);
  }
  return parseSpec({ id, params: { channel: 'beta' }, defaults: { max_retries: maxRetries, timeout_seconds: 600 }, tasks }, { defaultId: () => id });
}

export function taskId(i: number): string {
  return `t${String(i).padStart(5, '0')}`;
}

/** The store's envelope (src/store/store.ts), so generated records carry exactly the fields cairn writes. */
function envelope(d: Draft, seq: number, id: string, ts: string): Omit<LogRecord, 'crc'> {
  const { type, severity, operator, reason, caused_by, ...rest } = d;
  const def = RECORD_TYPES[type];
  if (!def) throw new CairnError('INTERNAL', `unknown record type ${String(type)}`);
  return {
    seq, id, ts, type,
    severity: severity ?? def.severity,
    operator: operator ?? null,
    ...(reason !== undefined ? { reason } : {}),
    ...(caused_by !== undefined ? { caused_by } : {}),
    ...rest,
  } as Omit<LogRecord, 'crc'>;
}

/** Appends decided records to a log file through the real codec, applying each to `state`. */
export class LogBuilder {
  readonly state = new State();
  now = START_MS;
  records = 0;
  bytes = 0;
  private seq = 0;
  private crc = 0;
  private buf: string[] = [];
  private bufLen = 0;
  private readonly fd: number;
  // A seeded PRNG: the same log in every run (and no syscall per ULID character).
  private readonly ulid = monotonicFactory(prng(7));

  constructor(readonly file: string) {
    this.fd = fs.openSync(file, 'w', 0o600);
  }

  /** Decides `cmd` on the current state and appends the records; returns them. */
  do(cmd: Command): LogRecord[] {
    const drafts = decide(this.state, cmd, { now: this.now });
    // As the store writes a decision of several records: its first one carries `batch: n`.
    if (drafts.length > 1) drafts[0] = { ...drafts[0]!, batch: drafts.length };
    const ts = new Date(this.now).toISOString();
    const out: LogRecord[] = [];
    for (const d of drafts) {
      this.seq += 1;
      const enc = encodeRecord(envelope(d, this.seq, this.ulid(this.now), ts), this.crc);
      this.crc = enc.crc;
      apply(this.state, enc.record);
      out.push(enc.record);
      this.buf.push(enc.line);
      this.bufLen += enc.line.length;
      this.records += 1;
    }
    if (this.bufLen > 1 << 20) this.flush();
    return out;
  }

  private flush(): void {
    const b = Buffer.from(this.buf.join(''));
    fs.writeSync(this.fd, b);
    this.bytes += b.length;
    this.buf = [];
    this.bufLen = 0;
  }

  close(): void {
    this.flush();
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
  }
}

/** A small deterministic PRNG (mulberry32), so a log is the same in every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SimOptions {
  workstreamId: string;
  tasks: number;
  layerWidth: number;
  workers: number;
  /**
   * Records of churn to add: cycles of (task_started, worker_unresponsive, task_reassigned,
   * worker_recovered) spread evenly over the tasks, before each task's real attempts. Churn changes
   * the length of the log, not the shape of its final state.
   */
  churnRecords: number;
  /** Task i fails its first (i % 3 === 0 ? 2 : i % 3 === 1 ? 1 : 0) attempts and then succeeds. */
  failures?: (i: number) => number;
  /** Stop (leaving the workstream running) once this many records are written. */
  stopAfter?: number;
  seed?: number;
}

/**
 * Simulates a scheduler running a layered workstream on a few workers, with retries and lost
 * workers, and writes every record it decides. Runs to the end (workstream completed and the
 * scheduler stopped) unless `stopAfter` cuts it short.
 */
export function simulate(file: string, o: SimOptions): LogBuilder {
  const g = new LogBuilder(file);
  const rand = prng(o.seed ?? 42);
  const spec = layeredSpec(o.workstreamId, o.tasks, o.layerWidth);
  const failures = o.failures ?? ((i: number) => (i % 3 === 0 ? 2 : i % 3 === 1 ? 1 : 0));
  const cycles = Math.floor(o.churnRecords / 4);
  const churnLeft = new Map<string, number>();
  const failsLeft = new Map<string, number>();
  spec.tasks.forEach((t, i) => {
    churnLeft.set(t.id, Math.floor(cycles / o.tasks) + (i < cycles % o.tasks ? 1 : 0));
    failsLeft.set(t.id, failures(i));
  });
  const ws = o.workstreamId;
  const schedulerId = 'sched-01JN0000000000000000000000';
  const queue: string[] = [];
  const retrying = new Map<string, number>();
  const running = new Map<string, { task: string; end: number }>();
  const note = (recs: LogRecord[]) => {
    for (const r of recs) {
      if (r.to === 'queued' && typeof r.task_id === 'string') queue.push(r.task_id);
      if (r.to === 'retrying') retrying.set(r.task_id as string, Date.parse(r.retry_at as string));
    }
  };
  const stop = () => o.stopAfter !== undefined && g.records >= o.stopAfter;

  g.do({ kind: 'scheduler_start', scheduler_id: schedulerId, pid: 4242, process_start: '123456' });
  const workers: string[] = [];
  for (let w = 0; w < o.workers; w++) {
    workers.push(`w${w + 1}`);
    g.do({ kind: 'worker_start', worker_id: `w${w + 1}`, pid: 5000 + w, scheduler_id: schedulerId });
  }
  note(g.do({ kind: 'submit', spec, operator: null }));

  while (!stop()) {
    for (const [t, at] of retrying) {
      if (at <= g.now) {
        retrying.delete(t);
        note(g.do({ kind: 'retry_due', workstream_id: ws, task_id: t }));
      }
    }
    for (const w of workers) {
      if (running.has(w) || queue.length === 0 || stop()) continue;
      const t = queue.shift()!;
      const pid = 10000 + Math.floor(rand() * 50000);
      g.do({
        kind: 'task_start', workstream_id: ws, task_id: t, worker_id: w, pid, pgid: pid, process_start: String(900000 + g.records),
        scheduler_id: schedulerId, deadline: new Date(g.now + 600_000).toISOString(),
      });
      running.set(w, { task: t, end: g.now + 200 + Math.floor(rand() * 8000) });
    }
    if (running.size === 0 && retrying.size === 0 && queue.length === 0) break;
    let next = Infinity;
    let who: string | null = null;
    for (const [w, r] of running) if (r.end < next) { next = r.end; who = w; }
    for (const at of retrying.values()) if (at < next) { next = at; who = null; }
    g.now = Math.max(g.now, next);
    if (who === null || stop()) continue;
    const { task } = running.get(who)!;
    running.delete(who);
    const attempt = g.state.task(ws, task)!.attempt;
    if (churnLeft.get(task)! > 0) {
      churnLeft.set(task, churnLeft.get(task)! - 1);
      g.do({ kind: 'worker_unresponsive', worker_id: who, silent_ms: 30_000 + Math.floor(rand() * 1000) });
      note(g.do({ kind: 'reassign', workstream_id: ws, task_id: task, trigger: 'worker_lost' }));
      g.do({ kind: 'worker_recovered', worker_id: who });
    } else {
      const fail = failsLeft.get(task)! > 0;
      if (fail) failsLeft.set(task, failsLeft.get(task)! - 1);
      const duration = 200 + Math.floor(rand() * 8000);
      note(g.do({
        kind: 'task_outcome', workstream_id: ws, task_id: task, attempt, phase: 'command',
        outcome: { kind: 'exit', exit_code: fail ? 1 : 0, signal: null, duration_ms: duration, message: fail ? 'exit code 1' : null },
      }));
    }
  }
  if (!stop()) g.do({ kind: 'scheduler_stop', reason: 'idle' });
  g.close();
  return g;
}

/** Records a run of the simulation writes with no churn: the fixed part of a log's length. */
export function baseRecords(o: Omit<SimOptions, 'churnRecords'>, tmpFile: string): number {
  const g = simulate(tmpFile, { ...o, churnRecords: 0 });
  fs.unlinkSync(tmpFile);
  return g.records;
}
