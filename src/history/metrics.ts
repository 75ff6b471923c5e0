import type { FailureKind, LogRecord, TaskOutcome } from '../model/types.js';
import { distribution, msBetween, type Spread } from './metrics-figures.js';
import { assembleFigures } from './metrics-assemble.js';

/**
 * `cairn metrics`, pure: a fold over the log's records, oldest first, that counts what happened in
 * a window (the records with low < seq <= high). Every record before the window is folded too, but
 * only for context (when the attempt a completion ends started, which failure a recovery answered),
 * so a window that starts in the middle of an attempt or a recovery is measured exactly. Memory
 * grows with the tasks and the completions in the window, never with the log.
 */

/** What `cairn metrics` counts, each figure defined in one line (the same text as --help and the README). */
export const METRIC_DEFINITIONS: Record<string, string> = {
  window: 'the records after --since (seq, time or git:<rev>) up to and including --until; by default the whole log',
  recoveries: 'per kind (the tool named in a task record\'s recovery field: retry_task, retry_failed_tasks, skip_task, …), each task an operator action acted on in the window',
  succeeded: 'the recovered task\'s next end (up to the window\'s end) was completed',
  failed: 'its next end was failed; pending: neither yet',
  success_rate: 'succeeded / count (as metrics.json), null when count is 0',
  time_to_recover_ms: 'from the failure the recovery answered (the record that made the task failed) to the task\'s completion, over the succeeded recoveries of a failed task',
  failures: 'failed attempts ended in the window, by kind: exit (non-zero exit code, counted by code in exit_codes), timeout, signal, spawn_error, worker_lost (its worker or scheduler was lost, or shut down), validation (validate failed); tasks_failed: records that left a task failed',
  attempts: 'task_started records in the window per task that started at least once in it: mean, max and how many tasks took 1, 2, … attempts',
  durations: 'per workstream, for each task completed in the window, the time from the start of its completing attempt to its completion (records\' ts): p50, p95 (nearest rank) and max',
  throughput: 'tasks completed in the window per hour and per minute of the window\'s span (from the --since point, or the first record counted, to the --until point, or the last record counted)',
};

export type { FailureKind };

export interface RecoveryFigures {
  count: number;
  succeeded: number;
  failed: number;
  pending: number;
  success_rate: number | null;
  time_to_recover_ms: Spread | null;
}

export interface MetricsFigures {
  records: number;
  first_seq: number | null;
  last_seq: number | null;
  span: { from: string | null; to: string | null; ms: number | null };
  recoveries: Record<string, RecoveryFigures>;
  failures: { total: number; by_kind: Record<FailureKind, number>; exit_codes: Record<string, number>; tasks_failed: number };
  attempts: { tasks: number; total: number; mean: number | null; max: number | null; distribution: Record<string, number> };
  durations: Record<string, Spread & { count: number }>;
  throughput: { completed: number; per_hour: number | null; per_minute: number | null };
}

export interface MetricsWindow {
  /** Records with seq > low count (0: from the start). */
  low: number;
  /** Records with seq <= high count. */
  high: number;
  /** Only this workstream's records. */
  workstreamId?: string;
  /** The span's ends when the window was given as points: their ts. */
  fromTs?: string | null;
  toTs?: string | null;
}

interface Pending {
  kind: string;
  failedAt: string | null;
  counted: boolean;
}

interface Track {
  startedAt: string | null;
  failedAt: string | null;
  recovery: Pending | null;
  attempts: number;
}

const ENDS_ATTEMPT_BADLY = new Set(['task_attempt_failed', 'task_timed_out', 'task_failed', 'task_validation_failed']);
const KINDS: readonly FailureKind[] = ['exit', 'timeout', 'signal', 'spawn_error', 'worker_lost', 'validation', 'cancelled'];

/** The fold: `visit` every record oldest first (the whole log up to the window's end), then `figures()`. */
export class MetricsFold {
  private readonly tasks = new Map<string, Track>();
  private readonly rec = new Map<string, { count: number; succeeded: number; failed: number; ttr: number[] }>();
  private readonly byKind = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<FailureKind, number>;
  private readonly exitCodes: Record<string, number> = {};
  private readonly durations = new Map<string, number[]>();
  private failedTasks = 0;
  private completed = 0;
  private counted = 0;
  private first: LogRecord | null = null;
  private last: LogRecord | null = null;

  constructor(private readonly w: MetricsWindow) {}

  /** Folds one record; false once the record is past the window (the reader may stop). */
  visit(r: LogRecord): boolean {
    if (r.seq > this.w.high) return false;
    if (this.w.workstreamId !== undefined && r.workstream_id !== this.w.workstreamId) return true;
    const inside = r.seq > this.w.low;
    if (inside) {
      this.counted += 1;
      this.first ??= r;
      this.last = r;
    }
    if (typeof r.task_id !== 'string' || typeof r.workstream_id !== 'string') return true;
    const key = `${r.workstream_id}/${r.task_id}`;
    let t = this.tasks.get(key);
    if (!t) this.tasks.set(key, (t = { startedAt: null, failedAt: null, recovery: null, attempts: 0 }));
    if (typeof r.recovery === 'string') {
      t.recovery = { kind: r.recovery, failedAt: r.from === 'failed' ? t.failedAt : null, counted: inside };
      if (inside) this.recovery(r.recovery).count += 1;
    }
    if (r.type === 'task_started') {
      t.startedAt = r.ts;
      if (inside) t.attempts += 1;
    } else if (r.type === 'task_completed') {
      if (inside) this.complete(r, t);
      this.settle(t, 'succeeded', r.ts);
      t.failedAt = null;
    } else if (ENDS_ATTEMPT_BADLY.has(r.type)) {
      if (inside) this.fail(r);
      if (r.to === 'failed') {
        t.failedAt = r.ts;
        if (inside) this.failedTasks += 1;
        this.settle(t, 'failed', r.ts);
      }
    } else if (r.type === 'task_reassigned') {
      // The attempt's worker (or the scheduler) was lost: the attempt ends without an outcome.
      if (inside) this.byKind.worker_lost += 1;
    }
    return true;
  }

  figures(): MetricsFigures {
    const counts = [...this.tasks.values()].map((t) => t.attempts).filter((n) => n > 0);
    return assembleFigures({
      records: this.counted,
      first: this.first, last: this.last,
      fromTs: this.w.fromTs ?? this.first?.ts ?? null,
      toTs: this.w.toTs ?? this.last?.ts ?? null,
      recoveries: [...this.rec].map(([kind, r]) => [kind, { count: r.count, succeeded: r.succeeded, failed: r.failed, ttr: r.ttr }]),
      byKind: this.byKind, exitCodes: this.exitCodes, tasksFailed: this.failedTasks,
      attemptsPerTask: distribution(counts),
      durations: [...this.durations],
      completed: this.completed,
    });
  }

  private recovery(kind: string) {
    let r = this.rec.get(kind);
    if (!r) this.rec.set(kind, (r = { count: 0, succeeded: 0, failed: 0, ttr: [] }));
    return r;
  }

  private complete(r: LogRecord, t: Track): void {
    this.completed += 1;
    if (t.startedAt === null) return;
    const ws = String(r.workstream_id);
    let list = this.durations.get(ws);
    if (!list) this.durations.set(ws, (list = []));
    list.push(msBetween(t.startedAt, r.ts));
  }

  private fail(r: LogRecord): void {
    const o = r.outcome as TaskOutcome | undefined;
    const kind: FailureKind = r.type === 'task_validation_failed' ? 'validation' : o?.kind ?? 'exit';
    this.byKind[kind] += 1;
    if (kind === 'exit' && typeof o?.exit_code === 'number') this.exitCodes[o.exit_code] = (this.exitCodes[o.exit_code] ?? 0) + 1;
  }

  /** The task's pending recovery ends at its next end: task_completed, or a record that leaves it failed (apply settles it the same way for metrics.json). */
  private settle(t: Track, how: 'succeeded' | 'failed', at: string): void {
    const p = t.recovery;
    t.recovery = null;
    if (!p || !p.counted) return;
    const r = this.recovery(p.kind);
    r[how] += 1;
    if (how === 'succeeded' && p.failedAt !== null) r.ttr.push(msBetween(p.failedAt, at));
  }
}
