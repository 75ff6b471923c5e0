import { schedulerStopped, workerShutdown } from '../model/decide.js';
import type { StateView } from '../model/state.js';
import { ACTIVE_TASK_STATES } from '../model/states.js';
import type { Draft, Task } from '../model/types.js';
import { carryForward, type CarrySource } from './carry-forward.js';
import { key, operatorDecision, tasksOf, type Operator } from './common.js';

/** The state part of repair_state: what a dead scheduler left behind, plus the list of file repairs. */
export interface RepairRequest extends Operator {
  /** What was done to the files (log tail set aside, derived files rebuilt, stale lock cleared), one line each. */
  fileActions: string[];
  /** Workstreams newer derived files hold, for what the log lost (see carry-forward.ts). */
  carry?: readonly CarrySource[];
}

/** Tasks recorded running or validating: with no live scheduler nothing runs them. */
export function orphanedTasks(state: StateView): Task[] {
  const out: Task[] = [];
  for (const id of state.workstreamIds()) {
    const ws = state.workstream(id)!;
    if (ws.counts.running + ws.counts.validating === 0) continue;
    for (const t of tasksOf(state, ws)) if (ACTIVE_TASK_STATES.has(t.state)) out.push(t);
  }
  return out;
}

/**
 * Called only when no scheduler runs. Every orphaned task is requeued (`task_reassigned`, trigger
 * `scheduler_lost`, no retry spent; its resources are released); every worker not shut down is
 * (its process died with its scheduler); a scheduler still recorded as running is recorded stopped.
 * Then workstreams a newer derived file holds are carried forward where the log lost them, and one
 * `state_repaired` lists every action, the file repairs first. Nothing to do gives no records.
 */
export function decide(state: StateView, req: RepairRequest, now: number): Draft[] {
  const d = operatorDecision(state, now, req, 'repair_state');
  const actions = [...req.fileActions];
  for (const t of orphanedTasks(state)) {
    const cur = d.task(t.workstream_id, t.id);
    d.move(cur, 'task_reassigned', 'queued', { trigger: 'scheduler_lost', attempt: cur.attempt, ...(cur.worker_id ? { worker_id: cur.worker_id } : {}) });
    actions.push(`${key(t)} back to queued: it was ${t.state} under a scheduler that is gone (no retry spent${Object.keys(t.resources).length ? `; released ${Object.keys(t.resources).join(', ')}` : ''})`);
  }
  for (const id of state.workerIds()) {
    if (d.draft.worker(id)!.state === 'shutdown') continue;
    workerShutdown(d, id, 'scheduler_lost', true);
    actions.push(`worker ${id} recorded shut down: its scheduler is gone`);
  }
  const sched = state.scheduler();
  if (sched) {
    schedulerStopped(d, { scheduler_id: sched.id, trigger: 'scheduler_lost' });
    actions.push(`scheduler pid ${sched.pid} recorded stopped: it no longer runs`);
  }
  // After the requeues: a carried workstream never meets a task or worker of the dead scheduler.
  actions.push(...carryForward(d, d.draft, req.carry ?? []));
  if (actions.length === 0) return [];
  d.settle();
  d.emit({ type: 'state_repaired', actions });
  return d.out;
}
