import { resolveTask } from '../model/resolve.js';
import type { StateView } from '../model/state.js';
import type { Draft } from '../model/types.js';
import { assertTaskMove, type Operator, operatorDecision, reopen } from './common.js';

/** skip_task: mark a task skipped so its dependents proceed. */
export interface SkipTaskRequest extends Operator {
  task: string;
  workstreamId?: string;
}

/**
 * The task becomes skipped (a running one is killed: by the scheduler, or by the caller when none
 * runs) and its dependents proceed. Skipping the failed task of a failed workstream reopens it and
 * returns the tasks its critical failure cancelled to pending. A skipped task gives no records.
 */
export function decide(state: StateView, req: SkipTaskRequest, now: number): Draft[] {
  const t = resolveTask(state, req.task, req.workstreamId);
  if (t.state === 'skipped') return [];
  assertTaskMove(t, 'task_skipped', 'skipped');
  const d = operatorDecision(state, now, req, 'skip_task');
  reopen(d, t.workstream_id, 'skip_task');
  d.move(d.task(t.workstream_id, t.id), 'task_skipped', 'skipped', { recovery: 'skip_task' });
  return d.settle();
}
