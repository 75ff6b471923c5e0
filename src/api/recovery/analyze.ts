import { resolveWorkstream } from '../../model/resolve.js';
import { analyze, type FailureReport } from '../../recovery/analyze.js';
import { liveScheduler } from '../../scheduler/liveness.js';
import { readRecords } from '../../store/records.js';
import { attemptLogs } from '../../store/tasklogs.js';
import { type CommonOptions, stateDirOf, withStore } from '../common.js';

/**
 * analyze_workstream_failure: for each failed or blocked task, how it failed, every attempt with its
 * time and the last lines of its log, then a recovery plan with the exact commands. Changes nothing.
 */
export async function analyzeWorkstreamFailure(o: CommonOptions & { workstream: string; logLines?: number }): Promise<FailureReport> {
  return withStore(o, { readOnly: true }, async (store) => {
    const ws = resolveWorkstream(store.state, o.workstream);
    const own = readRecords(store.io, store.paths.log, { workstreamId: ws.id }).records;
    const workers = readRecords(store.io, store.paths.log, { types: ['worker_unresponsive'] }).records;
    const records = [...own, ...workers].sort((a, b) => a.seq - b.seq);
    const logs = new Map<string, ReturnType<typeof attemptLogs>>();
    for (const id of ws.task_ids) {
      const t = store.state.task(ws.id, id)!;
      if (t.state === 'failed' || t.state === 'blocked') logs.set(`${ws.id}/${id}`, attemptLogs(stateDirOf(o), t, o.logLines ?? 10));
    }
    return analyze(store.state, { workstream: ws.id, records, logs, schedulerLive: (await liveScheduler(store)) !== null });
  });
}
