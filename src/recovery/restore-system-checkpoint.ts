import type { StateView } from '../model/state.js';
import { TERMINAL_TASK_STATES, TERMINAL_WORKSTREAM_STATES } from '../model/states.js';
import { defChanges } from '../model/task-def.js';
import type { Draft } from '../model/types.js';
import { operatorDecision, type Operator, settleAll, tasksOf } from './common.js';
import { type CheckpointTasks, decide as rollbackDecide, rollbackTarget } from './rollback-workstream.js';

/**
 * system-checkpoint restore: the whole state goes back to a system checkpoint at seq S, the way every
 * cairn recovery goes back: by appending records, never by cutting the log (the records after S
 * stay, and so does everything they say happened). In one decision:
 *
 * - every workstream that existed at S and is not as S left it is rolled back to its own point at
 *   S by the rules of rollback-workstream (DESIGN §6): running tasks are killed and cancelled; a
 *   task that is not completed now takes its state at S if that was completed or skipped, else
 *   pending, with its retry count at S; a completed task stays completed (its effects are applied
 *   and cannot be taken back); a workstream completed now stays completed;
 * - every workstream submitted after S has its unfinished tasks cancelled (trigger rollback; the
 *   tasks it completed stay completed), so nothing of it runs any more; one already finished is
 *   left as it is;
 * - every resource limit changed after S goes back to its value at S.
 *
 * What it cannot undo is listed in `left`: completed work, and task definitions changed after S
 * (update-task, submit --update), which keep their new form.
 */
export interface SystemRestoreRequest extends Operator {
  name: string;
  /** The system checkpoint's seq. */
  seq: number;
  /** The state at that seq (a replay of the log up to it). */
  at: StateView;
}

/** What the restore will do, workstream by workstream (the dry run shows it). */
export interface SystemRestorePlan {
  rolled_back: { workstream_id: string; checkpoint_seq: number }[];
  cancelled: string[];
  resources: { resource_id: string; from: number | null; to: number | null }[];
  left: string[];
}

const TOOL = 'system_checkpoint_restore';

/** The part of a checkpoint a rollback reads, taken from the state at S. */
export function checkpointTasksAt(at: StateView, wsId: string): CheckpointTasks {
  const ws = at.workstream(wsId)!;
  const tasks: CheckpointTasks['tasks'] = {};
  for (const t of tasksOf(at, ws)) tasks[t.id] = { state: t.state, retry_count: t.retry_count };
  return { workstream_id: wsId, seq: ws.last_task_seq, tasks };
}

/**
 * Whether rolling `wsId` back to `cp` is called for: something of it changed since S (a task's
 * state or retry count, or the workstream's state: a workstream untouched since S is left alone,
 * even failed), and the rollback would change something (a task it moves, a workstream it reopens).
 */
function differs(state: StateView, at: StateView, wsId: string, cp: CheckpointTasks): boolean {
  const ws = state.workstream(wsId)!;
  const then = at.workstream(wsId)!;
  const tasks = tasksOf(state, ws);
  const changed = ws.state !== then.state || tasks.some((t) => {
    const b = at.task(wsId, t.id);
    return !b || b.state !== t.state || b.retry_count !== t.retry_count;
  });
  if (!changed) return false;
  if (TERMINAL_WORKSTREAM_STATES.has(ws.state)) return true;
  return tasks.some((t) => {
    if (t.state === 'completed') return false;
    const target = rollbackTarget(cp, t.id);
    // Queued is pending whose dependencies are done: a rollback would queue it again at once.
    const state = t.state === 'queued' ? 'pending' : t.state;
    return state !== target.to || t.retry_count !== target.retry_count;
  });
}

/** The plan, from the state now and the state at S. */
export function planRestore(state: StateView, req: SystemRestoreRequest): SystemRestorePlan {
  const plan: SystemRestorePlan = { rolled_back: [], cancelled: [], resources: [], left: [] };
  for (const id of state.workstreamIds()) {
    const now = state.workstream(id)!;
    const then = req.at.workstream(id);
    if (!then) {
      if (TERMINAL_WORKSTREAM_STATES.has(now.state)) plan.left.push(`workstream ${id} was submitted after the checkpoint and is ${now.state}: left as it is`);
      else plan.cancelled.push(id);
      continue;
    }
    for (const t of tasksOf(state, now)) {
      const before = req.at.task(id, t.id);
      if (before && t.state === 'completed' && before.state !== 'completed') plan.left.push(`task ${id}/${t.id} completed after the checkpoint: it stays completed (its effects are applied)`);
      const changed = before ? defChanges(before, t).map((c) => c.field) : [];
      if (!before) plan.left.push(`task ${id}/${t.id} was added after the checkpoint (submit --update): it stays, as pending unless completed`);
      else if (changed.length > 0) plan.left.push(`task ${id}/${t.id}: its definition changed after the checkpoint (${changed.join(', ')}) and keeps the new one`);
    }
    if (now.state === 'completed') {
      if (then.state !== 'completed') plan.left.push(`workstream ${id} completed after the checkpoint: a completed workstream stays completed`);
      continue;
    }
    const cp = checkpointTasksAt(req.at, id);
    if (differs(state, req.at, id, cp)) plan.rolled_back.push({ workstream_id: id, checkpoint_seq: cp.seq });
  }
  for (const rid of req.at.resourceIds()) {
    const now = state.resource(rid);
    const then = req.at.resource(rid)!;
    if (now && now.max_holders !== then.max_holders) plan.resources.push({ resource_id: rid, from: now.max_holders, to: then.max_holders });
  }
  return plan;
}

/** The records of the restore; none when the state already is as the checkpoint left it (as far as a restore can make it). */
export function decide(state: StateView, req: SystemRestoreRequest, now: number): Draft[] {
  const plan = planRestore(state, req);
  if (plan.rolled_back.length === 0 && plan.cancelled.length === 0 && plan.resources.length === 0) return [];
  const d = operatorDecision(state, now, req, TOOL);
  d.emit({
    type: 'system_checkpoint_restored', name: req.name, checkpoint_seq: req.seq,
    rolled_back_workstreams: plan.rolled_back.map((r) => r.workstream_id), cancelled_workstreams: plan.cancelled, left: plan.left,
  });
  for (const r of plan.resources) d.emit({ type: 'resource_limit_changed', resource_id: r.resource_id, max_holders: r.to });
  for (const { workstream_id: id } of plan.rolled_back) {
    const who = { operator: req.operator, ...(req.reason !== undefined ? { reason: req.reason } : {}) };
    for (const x of rollbackDecide(d.draft, { ...who, workstream: id, checkpoint: checkpointTasksAt(req.at, id) }, now)) {
      // One decision, one tool: interventions.log and `cairn log` show a single system restore.
      x.action = TOOL;
      d.emit(x);
    }
  }
  for (const id of plan.cancelled) {
    const ws = d.draft.workstream(id)!;
    for (const t of tasksOf(d.draft, ws)) {
      if (TERMINAL_TASK_STATES.has(t.state)) continue;
      d.move(t, 'task_cancelled', 'cancelled', { trigger: 'rollback', ...(t.worker_id && (t.state === 'running' || t.state === 'validating') ? { attempt: t.attempt, worker_id: t.worker_id } : {}) });
    }
    settleAll(d, id);
  }
  return d.out;
}
