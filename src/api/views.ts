import type { StateView } from '../model/state.js';
import type { Task, Workstream } from '../model/types.js';

/** A task's summary; the optional fields come last, in this order. */
export interface TaskSummary {
  id: string;
  workstream_id: string;
  state: Task['state'];
  attempt: number;
  retry_count: number;
  max_retries: number;
  critical: boolean;
  worker_id: string | null;
  started_at: string | null;
  finished_at: string | null;
  retry_at: string | null;
  blocked_by: Task['blocked_by'];
  cancel_trigger: Task['cancel_trigger'];
  last_outcome: Task['last_outcome'];
  executor?: Task['executor'];
  job_id?: Task['job_id'];
  orphaned?: boolean;
}

/**
 * The fields of a task an operator looks at first. Built as one literal and then extended (no
 * object spread): status builds one per task, 10,000 on a big state.
 */
export function taskSummary(t: Task, orphaned?: (t: Task) => boolean): TaskSummary {
  const out: TaskSummary = {
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
  };
  // A Slurm attempt's job, so status and show-task name it.
  if (t.job_id !== undefined) {
    out.executor = t.executor;
    out.job_id = t.job_id;
  }
  if (orphaned) out.orphaned = orphaned(t);
  return out;
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
