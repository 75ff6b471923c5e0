import { resolveWorkstream } from '../../model/resolve.js';
import { analyze, type FailureReport } from '../../recovery/analyze.js';
import { liveScheduler } from '../../scheduler/liveness.js';
import type { LogRecord } from '../../model/types.js';
import { streamRecords } from '../../store/records.js';
import type { Store } from '../../store/store.js';
import { attemptLogs } from '../../store/tasklogs.js';
import { type CommonOptions, stateDirOf, withStore } from '../common.js';
import { slurmLive } from '../slurm-live.js';

/**
 * analyze_workstream_failure: for each failed or blocked task, how it failed, every attempt with its
 * time and the last lines of its log, then a recovery plan with the exact commands. Changes nothing.
 */
export async function analyzeWorkstreamFailure(o: CommonOptions & { workstream: string; logLines?: number }): Promise<FailureReport> {
  return withStore(o, { readOnly: true }, async (store) => {
    const ws = resolveWorkstream(store.state, o.workstream);
    const records = await relevantRecords(store, ws.id, (id) => {
      const state = store.state.task(ws.id, id)?.state;
      return state === 'failed' || state === 'blocked';
    });
    const logs = new Map<string, ReturnType<typeof attemptLogs>>();
    for (const id of ws.task_ids) {
      const t = store.state.task(ws.id, id)!;
      if (t.state === 'failed' || t.state === 'blocked') logs.set(`${ws.id}/${id}`, attemptLogs(stateDirOf(o), t, o.logLines ?? 10));
    }
    const report = analyze(store.state, { workstream: ws.id, records, logs, schedulerLive: (await liveScheduler(store)) !== null });
    // What Slurm says now of each attempt's job (FAILED, OUT_OF_MEMORY, CANCELLED with its reason, …): one squeue for all.
    const live = await slurmLive(report.tasks.flatMap((t) => t.attempts.flatMap((a) => (a.job_id !== undefined ? [a.job_id] : []))));
    for (const t of report.tasks) for (const a of t.attempts) if (a.job_id !== undefined) a.slurm = live.get(a.job_id)!;
    return report;
  });
}

/**
 * What analyze reads from the log, streamed so a log of any size fits: every record of the tasks
 * it diagnoses, and the first sign of each lost worker and exhausted resource (all the systemic
 * causes ask is which ones), oldest first. Memory grows with the failures, not with the log.
 */
async function relevantRecords(store: Store, wsId: string, diagnosed: (taskId: string) => boolean): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  const seen = new Set<string>();
  const first = (key: string) => (seen.has(key) ? false : (seen.add(key), true));
  await streamRecords(store.io, store.paths.log, {}, (batch) => {
    for (const r of batch) {
      const own = r.workstream_id === wsId;
      if (own && typeof r.task_id === 'string' && diagnosed(r.task_id)) out.push(r);
      else if (r.type === 'worker_unresponsive' && first(`u:${String(r.worker_id)}`)) out.push(r);
      else if (own && r.type === 'task_reassigned' && r.trigger === 'worker_lost' && first(`l:${String(r.worker_id)}`)) out.push(r);
      else if (own && r.type === 'resource_exhausted' && first(`x:${String(r.resource_id)}`)) out.push(r);
    }
    return true;
  });
  return out;
}
