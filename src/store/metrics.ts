import type { State } from '../model/state.js';
import { emptyCounts } from '../model/states.js';
import { isArchived } from './snapshot.js';
import { figuresOfMetrics } from '../history/metrics-assemble.js';

/**
 * metrics.json (DESIGN §4): counts by state and workers, then the figures `cairn metrics --json`
 * gives over the whole log (recoveries, failures, attempts, durations, throughput: the same names
 * and shape), then retries, timeouts and reassignments. `generatedAt` is the ts of the state's last record when written, never the clock, so the
 * committed file changes only when a record changed it.
 */
export function metricsDoc(s: State, generatedAt: string): Record<string, unknown> {
  const tasks = emptyCounts();
  const workstreams: Record<string, number> = { pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0 };
  for (const ws of s.workstreams.values()) {
    workstreams[ws.state] = (workstreams[ws.state] ?? 0) + 1;
    for (const [k, n] of Object.entries(ws.counts)) tasks[k as keyof typeof tasks] += n;
  }
  const workers: Record<string, number> = { idle: 0, busy: 0, unresponsive: 0, shutdown: 0 };
  for (const w of s.workers.values()) workers[w.state] = (workers[w.state] ?? 0) + 1;
  const m = s.metricsData;
  return {
    generated_at: generatedAt,
    seq: s.seq,
    workstreams,
    archived_workstreams: [...s.workstreams.values()].filter(isArchived).length,
    tasks,
    workers,
    // The figures of `cairn metrics --json` over the whole log, same names and shape.
    ...figuresOfMetrics(m, s.seq, s.lastTs),
    retries: m.retries,
    timeouts: m.timeouts,
    reassignments: m.reassignments,
    tasks_finished: m.tasks_finished,
    task_duration_ms_total: m.task_duration_ms_total,
    task_duration_ms_mean: m.tasks_finished === 0 ? null : Math.round(m.task_duration_ms_total / m.tasks_finished),
  };
}
