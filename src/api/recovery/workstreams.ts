import { resolveWorkstream } from '../../model/resolve.js';
import type { StateView } from '../../model/state.js';
import { countsOf } from './views.js';
import { decide as resumeDecide } from '../../recovery/resume-workstream.js';
import { decide as retryFailedDecide } from '../../recovery/retry-failed-tasks.js';
import { decide as retryWsDecide } from '../../recovery/retry-workstream.js';
import { decide as rollbackDecide, rollbackTarget } from '../../recovery/rollback-workstream.js';
import { listCheckpoints as listCkpts, readCheckpoint } from '../../store/recovery-files.js';
import type { CheckpointDoc } from '../../store/snapshot.js';
import { type CommonOptions, withStore } from '../common.js';
import { actor, type ActionOptions, type ActionResult, runAction } from './action.js';

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
  /** `latest` or a checkpoint seq. */
  toCheckpoint?: string;
}

/** rollback_workstream: the workstream's tasks go back to a checkpoint (DESIGN §6). */
export async function rollbackWorkstream(o: RollbackOptions): Promise<ActionResult & { checkpoint: { seq: number; checkpoint_at: string; targets: Record<string, string> } }> {
  const which = o.toCheckpoint ?? 'latest';
  const cp = await withStore(o, { readOnly: true }, async (store) => readCheckpoint(store.io, store.paths, resolveWorkstream(store.state, o.workstream).id, which));
  const req = { ...actor(o), workstream: o.workstream, checkpoint: cp };
  const r = await runAction(o, {
    tool: 'rollback_workstream',
    decide: (s, now) => rollbackDecide(s, req, now),
    nothing: (s) => `${wsState(s, o.workstream)}; already as checkpoint ${cp.seq} says`,
    done: (s, recs) => `roll back to checkpoint ${cp.seq} (${cp.checkpoint_at}): ${recs.filter((x) => x.type === 'task_cancelled').length} running task(s) cancelled, ${recs.filter((x) => x.type === 'task_reset').length} task(s) reset; ${wsState(s, o.workstream)}`,
  });
  const targets: Record<string, string> = {};
  for (const id of Object.keys(cp.tasks)) targets[id] = rollbackTarget(cp, id).to;
  return { ...r, checkpoint: { seq: cp.seq, checkpoint_at: cp.checkpoint_at, targets } };
}

/** checkpoints: a workstream's checkpoints with seq, time, hash status and task counts. */
export async function listCheckpoints(o: CommonOptions & { workstream: string }) {
  return withStore(o, { readOnly: true }, async (store) => {
    const ws = resolveWorkstream(store.state, o.workstream);
    const list = listCkpts(store.io, store.paths, ws.id).map((c) => ({
      name: c.name, file: c.file, seq: c.seq, checkpoint_at: c.checkpoint_at, hash_ok: c.hash_ok, error: c.error,
      ...(c.doc ? summary(c.doc) : {}),
    }));
    return { workstream_id: ws.id, state: ws.state, last_task_seq: ws.last_task_seq, checkpoints: list };
  });
}

function summary(d: CheckpointDoc) {
  return { completed: d.completed_tasks.length, failed: d.failed_tasks.length, pending: d.pending_tasks.length, tasks: Object.keys(d.tasks).length };
}
