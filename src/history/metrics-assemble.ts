import type { FailureKind, Metrics } from '../model/types.js';
import type { MetricsFigures, RecoveryFigures } from './metrics.js';
import { msBetween, spread } from './metrics-figures.js';

/**
 * The figures of `cairn metrics` from what was counted, pure. Both counters build them here: the
 * streaming fold over a window (history/metrics.ts) and the counters `apply` keeps in the state
 * for metrics.json (figuresOfMetrics), so over the whole log the two cannot differ in form.
 */

/** What a counter counted, before rounding and percentiles. */
export interface FigureParts {
  records: number;
  first: { seq: number; ts: string } | null;
  last: { seq: number; ts: string } | null;
  /** The span's ends (the window's points, or the first and last record counted). */
  fromTs: string | null;
  toTs: string | null;
  recoveries: [string, { count: number; succeeded: number; failed: number; ttr: readonly number[] }][];
  byKind: Record<FailureKind, number>;
  exitCodes: Record<string, number>;
  tasksFailed: number;
  /** How many tasks started 1, 2, … times. */
  attemptsPerTask: Record<string, number>;
  durations: [string, readonly number[]][];
  completed: number;
}

const KINDS: readonly FailureKind[] = ['exit', 'timeout', 'signal', 'spawn_error', 'worker_lost', 'validation', 'cancelled'];
const round3 = (x: number) => Math.round(x * 1000) / 1000;

export function assembleFigures(p: FigureParts): MetricsFigures {
  const recoveries: Record<string, RecoveryFigures> = {};
  for (const [kind, r] of [...p.recoveries].sort(([a], [b]) => a.localeCompare(b))) {
    recoveries[kind] = {
      count: r.count, succeeded: r.succeeded, failed: r.failed, pending: r.count - r.succeeded - r.failed,
      success_rate: r.count === 0 ? null : round3(r.succeeded / r.count),
      time_to_recover_ms: r.ttr.length === 0 ? null : spread(r.ttr),
    };
  }
  const perTask = Object.entries(p.attemptsPerTask).map(([n, tasks]) => [Number(n), tasks] as const).filter(([, tasks]) => tasks > 0).sort(([a], [b]) => a - b);
  const tasks = perTask.reduce((a, [, k]) => a + k, 0);
  const total = perTask.reduce((a, [n, k]) => a + n * k, 0);
  const distribution: Record<string, number> = {};
  for (const [n, k] of perTask) distribution[String(n)] = k;
  const durations: MetricsFigures['durations'] = {};
  for (const [ws, list] of [...p.durations].filter(([, l]) => l.length > 0).sort(([a], [b]) => a.localeCompare(b))) durations[ws] = { count: list.length, ...spread(list) };
  const ms = p.fromTs !== null && p.toTs !== null ? msBetween(p.fromTs, p.toTs) : null;
  const rate = (unit: number) => (ms === null || ms <= 0 ? null : round3(p.completed / (ms / unit)));
  const exitCodes: Record<string, number> = {};
  for (const code of Object.keys(p.exitCodes).sort((a, b) => Number(a) - Number(b))) exitCodes[code] = p.exitCodes[code]!;
  return {
    records: p.records,
    first_seq: p.first?.seq ?? null,
    last_seq: p.last?.seq ?? null,
    span: { from: p.fromTs, to: p.toTs, ms },
    recoveries,
    failures: { total: KINDS.reduce((a, k) => a + p.byKind[k], 0), by_kind: { ...p.byKind }, exit_codes: exitCodes, tasks_failed: p.tasksFailed },
    attempts: {
      tasks, total,
      mean: tasks === 0 ? null : round3(total / tasks),
      max: perTask.length === 0 ? null : perTask[perTask.length - 1]![0],
      distribution,
    },
    durations,
    throughput: { completed: p.completed, per_hour: rate(3_600_000), per_minute: rate(60_000) },
  };
}

/** A comma-separated list of milliseconds (Metrics' form) as numbers. */
export function msList(text: string): number[] {
  return text === '' ? [] : text.split(',').map(Number);
}

/**
 * The figures of the whole log from the counters `apply` keeps (State.metricsData): what
 * `cairn metrics` gives with no window, for metrics.json. `seq` and `lastTs` are the state's.
 */
export function figuresOfMetrics(m: Metrics, seq: number, lastTs: string): MetricsFigures {
  const some = seq > 0 && m.first_ts !== null;
  return assembleFigures({
    records: seq,
    first: some ? { seq: 1, ts: m.first_ts! } : null,
    last: some ? { seq, ts: lastTs } : null,
    fromTs: some ? m.first_ts : null,
    toTs: some ? lastTs : null,
    recoveries: Object.entries(m.recoveries).map(([kind, r]) => [kind, { count: r.count, succeeded: r.succeeded, failed: r.failed, ttr: msList(r.ttr_ms) }]),
    byKind: m.failures, exitCodes: m.exit_codes, tasksFailed: m.tasks_failed,
    attemptsPerTask: m.attempts_per_task,
    durations: Object.entries(m.durations_ms).map(([ws, text]) => [ws, msList(text)]),
    completed: m.completed,
  });
}
