import type { StateView } from '../model/state.js';
import type { Draft } from '../model/types.js';
import { assertReopenable, operatorDecision, reopen, resolveWorkstream, tasksOf, type Operator } from './common.js';

/** retry_failed_tasks: send only the failed tasks of a workstream back to pending. */
export interface RetryFailedTasksRequest extends Operator {
  workstream: string;
  /** Give each a fresh retry budget (retry_count 0); otherwise each gets one more attempt. */
  resetRetries?: boolean;
}

/**
 * Each failed task goes back to pending by `task_retried` (its blocked dependents follow). A failed
 * workstream is reopened, and the tasks its critical failure cancelled return to pending. No failed
 * task gives no records.
 */
export function decide(state: StateView, req: RetryFailedTasksRequest, now: number): Draft[] {
  const ws = resolveWorkstream(state, req.workstream);
  assertReopenable(ws, 'retry_failed_tasks');
  const failed = tasksOf(state, ws).filter((t) => t.state === 'failed');
  if (failed.length === 0) return [];
  const d = operatorDecision(state, now, req, 'retry_failed_tasks');
  reopen(d, ws.id, 'retry_failed_tasks');
  for (const t of failed) d.move(d.task(ws.id, t.id), 'task_retried', 'pending', { ...(req.resetRetries ? { retry_count: 0 } : {}), recovery: 'retry_failed_tasks' });
  return d.settle();
}
