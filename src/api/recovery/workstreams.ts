import { resolveWorkstream } from '../../model/resolve.js';
import type { StateView } from '../../model/state.js';
import { countsOf } from './views.js';
import { decide as resumeDecide } from '../../recovery/resume-workstream.js';
import { decide as retryFailedDecide } from '../../recovery/retry-failed-tasks.js';
import { decide as retryWsDecide } from '../../recovery/retry-workstream.js';
import { decide as rollbackDecide, rollbackTarget } from '../../recovery/rollback-workstream.js';
import { withStore } from '../common.js';
import { actor, type ActionOptions, type ActionResult, runAction } from './action.js';
import { checkpointFor } from './checkpoints.js';
import { namesReader, resolveWhich } from './named.js';

function wsState(s: StateView, id: string): string {
  const ws = resolveWorkstream(s, id);
  return `workstream ${ws.id} is ${ws.state} (${countsOf(ws.counts)})`;
}

/** retry_workstream: everything that did not finish well runs again, with fresh retry budgets. */
export function retryWorkstream(o: ActionOptions & { workstream: string }): Promise<ActionResult> {
  const req = { ...actor(o), workstream: o.workstream };
  return runAction(o, {
    tool: 'retry_workstream',
    decide: (s, now) => retryWsDecide(s, req, now),
    nothing: (s) => `${wsState(s, o.workstream)}; nothing failed, nothing to retry`,
    done: (s, r) => `retry ${r.filter((x) => x.type === 'task_retried' || (x.type === 'task_reset' && x.to === 'pending')).length} task(s); ${wsState(s, o.workstream)}`,
  });
}

/** retry_failed_tasks: only the failed tasks go back to pending. */
export function retryFailedTasks(o: ActionOptions & { workstream: string; resetRetries?: boolean }): Promise<ActionResult> {
  const req = { ...actor(o), workstream: o.workstream, resetRetries: o.resetRetries };
  return runAction(o, {
    tool: 'retry_failed_tasks',
    decide: (s, now) => retryFailedDecide(s, req, now),
    nothing: (s) => `${wsState(s, o.workstream)}; no task failed, nothing to retry`,
    done: (s, r) => `retry ${r.filter((x) => x.type === 'task_retried').map((x) => x.task_id).join(', ')}; ${wsState(s, o.workstream)}`,
  });
}

/** resume_workstream: carry on after a manual fix, from a task and with changed params if given. */
export function resumeWorkstream(o: ActionOptions & { workstream: string; fromTask?: string; params?: Record<string, string> }): Promise<ActionResult> {
  const req = { ...actor(o), workstream: o.workstream, fromTask: o.fromTask, params: o.params };
  return runAction(o, {
    tool: 'resume_workstream',
    decide: (s, now) => resumeDecide(s, req, now),
    nothing: (s) => `${wsState(s, o.workstream)}; nothing to resume`,
    done: (s, r) => {
      const skipped = r.filter((x) => x.type === 'task_skipped').map((x) => x.task_id);
      return `resume${o.fromTask ? ` from ${o.fromTask}` : ''}${skipped.length ? ` (skipped as done by hand: ${skipped.join(', ')})` : ''}; ${wsState(s, o.workstream)}`;
    },
  });
}

export interface RollbackOptions extends ActionOptions {
  workstream: string;
  /** `latest`, the seq of any point at which a task of the workstream changed state, or a name given with `cairn checkpoint` (see: cairn checkpoints). */
  toCheckpoint?: string;
}

/**
 * rollback_workstream: the workstream's tasks go back to a checkpoint (DESIGN §6), computed from the
 * log (DESIGN §10): any point its tasks moved at, whether or not a checkpoint file was written for it.
 */
export async function rollbackWorkstream(o: RollbackOptions): Promise<ActionResult & { checkpoint: { seq: number; checkpoint_at: string; targets: Record<string, string>; name: string | null } }> {
  const text = o.toCheckpoint ?? 'latest';
  let named = false;
  // Read before the action's own store opens: the replay of a long log runs outside the state lock.
  const cp = await withStore(o, { readOnly: true }, async (store) => {
    const id = resolveWorkstream(store.state, o.workstream).id;
    const which = resolveWhich(text, '--to-checkpoint', id, namesReader(o));
    named = which !== 'latest' && String(which) !== text;
    return checkpointFor(store, id, which);
  });
  const req = { ...actor(o), workstream: o.workstream, checkpoint: cp };
  const r = await runAction(o, {
    tool: 'rollback_workstream',
    decide: (s, now) => rollbackDecide(s, req, now),
    nothing: (s) => `${wsState(s, o.workstream)}; already as checkpoint ${cp.seq} says`,
    done: (s, recs) => `roll back to checkpoint ${cp.seq}${named ? ` "${text}"` : ''} (${cp.checkpoint_at}): ${recs.filter((x) => x.type === 'task_cancelled').length} running task(s) cancelled, ${recs.filter((x) => x.type === 'task_reset').length} task(s) reset; ${wsState(s, o.workstream)}`,
  });
  const targets: Record<string, string> = {};
  for (const id of Object.keys(cp.tasks)) targets[id] = rollbackTarget(cp, id).to;
  return { ...r, checkpoint: { seq: cp.seq, checkpoint_at: cp.checkpoint_at, targets, name: named ? text : null } };
}
