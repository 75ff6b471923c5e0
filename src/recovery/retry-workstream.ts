import type { StateView } from '../model/state.js';
import { TERMINAL_WORKSTREAM_STATES } from '../model/states.js';
import type { Draft } from '../model/types.js';
import { assertReopenable, operatorDecision, reopen, resolveWorkstream, settleAll, tasksOf, type Operator } from './common.js';

/** retry_workstream: run again everything of a workstream that did not finish well. */
export interface RetryWorkstreamRequest extends Operator {
  workstream: string;
}

/**
 * Every failed task, and every task its critical failure cancelled, goes back to pending with a
 * fresh retry budget (retry_count 0); their blocked dependents follow. Completed, skipped and
 * operator-cancelled tasks keep their state (their effects are applied, or an operator decided).
 * A failed or cancelled workstream is reopened. Nothing to retry gives no records; a completed
 * workstream is refused.
 */
export function decide(state: StateView, req: RetryWorkstreamRequest, now: number): Draft[] {
  const ws = resolveWorkstream(state, req.workstream);
  assertReopenable(ws, 'retry_workstream');
  const failed = tasksOf(state, ws).filter((t) => t.state === 'failed');
  if (failed.length === 0 && !TERMINAL_WORKSTREAM_STATES.has(ws.state)) return [];
  const d = operatorDecision(state, now, req, 'retry_workstream');
  reopen(d, ws.id, 'retry_workstream', { returnCancelled: true, resetRetries: true });
  for (const t of failed) d.move(d.task(ws.id, t.id), 'task_retried', 'pending', { retry_count: 0, recovery: 'retry_workstream' });
  return settleAll(d, ws.id);
}
