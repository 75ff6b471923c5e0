import type { StateView } from '../model/state.js';
import type { Task, Workstream } from '../model/types.js';

/** The fields of a task an operator looks at first. */
export function taskSummary(t: Task, orphaned?: (t: Task) => boolean) {
  return {
    id: t.id,
    workstream_id: t.workstream_id,
    state: t.state,
    attempt: t.attempt,
    retry_count: t.retry_count,
    max_retries: t.max_retries,
    critical: t.critical,
    worker_id: t.worker_id,
    started_at: t.started_at,
    finished_at: t.finished_at,
    retry_at: t.retry_at,
    blocked_by: t.blocked_by,
    cancel_trigger: t.cancel_trigger,
    last_outcome: t.last_outcome,
    // A Slurm attempt's job, so status and show-task name it.
    ...(t.job_id !== undefined ? { executor: t.executor, job_id: t.job_id } : {}),
    ...(orphaned ? { orphaned: orphaned(t) } : {}),
  };
}

/** `orphaned`, when given, adds that field to each task summary (status). */
export function workstreamSummary(s: StateView, ws: Workstream, withTasks: boolean, orphaned?: (t: Task) => boolean) {
  return {
    id: ws.id,
    state: ws.state,
    submitted_at: ws.submitted_at,
    finished_at: ws.finished_at,
    failure: ws.failure,
    params: ws.params,
    counts: ws.counts,
    total: ws.task_ids.length,
    ...(withTasks ? { tasks: ws.task_ids.map((id) => taskSummary(s.task(ws.id, id)!, orphaned)) } : {}),
  };
}
