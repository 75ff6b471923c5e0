import { CairnError } from '../errors.js';
import type { StateView } from '../model/state.js';
import { ACTIVE_TASK_STATES, type TaskState } from '../model/states.js';
import { WORKSTREAM_TRANSITIONS, allowedTypes } from '../model/transitions.js';
import type { Draft } from '../model/types.js';
import { operatorDecision, reopen, resolveWorkstream, settleAll, tasksOf, type Operator } from './common.js';

/** The part of a checkpoint a rollback reads: each task's state and retry count as of `seq`. */
export interface CheckpointTasks {
  workstream_id: string;
  seq: number;
  tasks: Record<string, { state: string; retry_count: number }>;
}

/** rollback_workstream: reset a workstream's tasks to a checkpoint (DESIGN §6). */
export interface RollbackRequest extends Operator {
  workstream: string;
  checkpoint: CheckpointTasks;
}

/** The state DESIGN §6 gives a task that is not completed now: the checkpoint's if completed or skipped, else pending. */
export function rollbackTarget(cp: CheckpointTasks, taskId: string): { to: TaskState; retry_count: number } {
  const c = cp.tasks[taskId];
  const to: TaskState = c && (c.state === 'completed' || c.state === 'skipped') ? c.state : 'pending';
  return { to, retry_count: c?.retry_count ?? 0 };
}

/**
 * DESIGN §6, in this order: a failed or cancelled workstream is reopened; one `workstream_rolled_back`
 * record names the checkpoint; running and validating tasks are cancelled (trigger `rollback`: the
 * scheduler kills them, or the caller does when none runs), which releases every resource the
 * workstream holds; every task that is not completed now is reset to the checkpoint's state if that
 * was completed or skipped, else to pending, with the checkpoint's retry_count; completed tasks stay
 * completed. Then the usual automatic moves follow (pending tasks whose dependencies are done are
 * queued). A completed workstream cannot be rolled back.
 */
export function decide(state: StateView, req: RollbackRequest, now: number): Draft[] {
  const ws = resolveWorkstream(state, req.workstream);
  if (ws.state === 'completed') {
    throw new CairnError('ILLEGAL_REQUEST', `workstream ${ws.id} is completed; a completed workstream cannot be rolled back (its effects are applied)`, {
      details: { workstream_id: ws.id, state: ws.state, allowed: allowedTypes(WORKSTREAM_TRANSITIONS, ws.state) },
      hint: 'Submit a new workstream to run its tasks again.',
    });
  }
  if (req.checkpoint.workstream_id !== ws.id) {
    throw new CairnError('BAD_INPUT', `the checkpoint belongs to workstream ${req.checkpoint.workstream_id}, not ${ws.id}`);
  }
  const d = operatorDecision(state, now, req, 'rollback_workstream');
  reopen(d, ws.id, 'rollback_workstream', { returnCancelled: false });
  d.emit({ type: 'workstream_rolled_back', workstream_id: ws.id, checkpoint_seq: req.checkpoint.seq, recovery: 'rollback_workstream' });
  for (const t of tasksOf(d.draft, ws)) {
    if (ACTIVE_TASK_STATES.has(t.state)) d.move(t, 'task_cancelled', 'cancelled', { trigger: 'rollback', attempt: t.attempt, ...(t.worker_id ? { worker_id: t.worker_id } : {}) });
  }
  for (const t of tasksOf(d.draft, ws)) {
    if (t.state === 'completed') continue;
    const target = rollbackTarget(req.checkpoint, t.id);
    if (t.state === target.to && t.retry_count === target.retry_count) continue;
    d.move(t, 'task_reset', target.to, { trigger: 'rollback', retry_count: target.retry_count, recovery: 'rollback_workstream' });
  }
  return settleAll(d, ws.id);
}
