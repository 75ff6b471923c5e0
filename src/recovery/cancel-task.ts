import { CairnError } from '../errors.js';
import { resolveTask } from '../model/resolve.js';
import type { StateView } from '../model/state.js';
import { TERMINAL_WORKSTREAM_STATES } from '../model/states.js';
import { TASK_TRANSITIONS, allowedTargets } from '../model/transitions.js';
import type { Draft } from '../model/types.js';
import { assertTaskMove, descendants, key, type Operator, operatorDecision } from './common.js';

/** cancel_task: cancel a task; its dependents proceed, or are cancelled too with `cascade`. */
export interface CancelTaskRequest extends Operator {
  task: string;
  workstreamId?: string;
  cascade?: boolean;
}

/**
 * The task becomes cancelled with trigger `operator` (a running one is killed). Without cascade its
 * dependents proceed (a cancelled dependency counts as satisfied); with cascade every task that
 * depends on it, directly or not, and is not finished is cancelled with trigger `cascade`.
 * A cancelled task (without cascade, or with no dependent left to cancel) gives no records.
 */
export function decide(state: StateView, req: CancelTaskRequest, now: number): Draft[] {
  const t = resolveTask(state, req.task, req.workstreamId);
  const ws = state.workstream(t.workstream_id)!;
  const cascade = req.cascade ? descendants(state, t).filter((x) => allowedTargets(TASK_TRANSITIONS, x.state, 'task_cancelled').length > 0) : [];
  if (t.state === 'cancelled' && cascade.length === 0) return [];
  if (t.state !== 'cancelled') assertTaskMove(t, 'task_cancelled', 'cancelled');
  if (TERMINAL_WORKSTREAM_STATES.has(ws.state)) {
    throw new CairnError('ILLEGAL_REQUEST', `workstream ${ws.id} is ${ws.state}: nothing of it runs, so cancelling ${key(t)} changes nothing`, {
      details: { workstream_id: ws.id, state: ws.state, task_id: t.id, task_state: t.state },
      hint: `To go on without this task: cairn skip-task --task-id ${key(t)}; to see what failed: cairn analyze-workstream-failure --workstream-id ${ws.id}`,
    });
  }
  const d = operatorDecision(state, now, req, 'cancel_task');
  if (t.state !== 'cancelled') d.move(t, 'task_cancelled', 'cancelled', { trigger: 'operator' });
  for (const x of cascade) {
    const cur = d.task(x.workstream_id, x.id);
    if (allowedTargets(TASK_TRANSITIONS, cur.state, 'task_cancelled').length > 0) d.move(cur, 'task_cancelled', 'cancelled', { trigger: 'cascade' });
  }
  return d.settle();
}
