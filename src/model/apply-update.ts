import { graphOf, newTask } from './build.js';
import { getTask, invalid, moveWorkstream, str } from './apply-moves.js';
import type { MutableState } from './state.js';
import { ACTIVE_TASK_STATES, emptyCounts } from './states.js';
import { defChanges, isTaskDef } from './task-def.js';
import { TASK_DEFINITION_CHANGES } from './transitions.js';
import type { LogRecord, TaskDef } from './types.js';

/**
 * The handlers of the records that change what was submitted: a task's definition (task_updated),
 * a new task (task_added), a workstream's params (workstream_updated), and a finished workstream
 * started over (workstream_reset). Like every handler they refuse what the tables do not allow with
 * LOG_INVALID naming the seq.
 */

function defIn(r: LogRecord, field: 'new' | 'old' | 'definition', taskId: string): TaskDef {
  const d = r[field];
  if (!isTaskDef(d)) invalid(r, `field ${field} must be a task definition`);
  if (d.id !== taskId) invalid(r, `field ${field} defines task ${d.id}, not ${taskId}`);
  return d;
}

function checkResources(s: MutableState, r: LogRecord, def: TaskDef): void {
  for (const rid in def.resources) if (!s.resource(rid)) invalid(r, `task ${def.id} takes undeclared resource ${rid}`);
}

/** Rebuilds a workstream's dependents index and path lengths after its graph changed. */
function regraph(s: MutableState, wsId: string): void {
  const ws = s.workstream(wsId)!;
  const tasks = ws.task_ids.map((id) => s.task(wsId, id)!);
  const { dependents, pathLength } = graphOf(tasks);
  s.setDependents(wsId, dependents);
  for (const t of tasks) {
    const n = pathLength.get(t.id) ?? 1;
    if (t.path_length !== n) s.mutTask(wsId, t.id).path_length = n;
  }
}

export function applyTaskUpdated(s: MutableState, r: LogRecord): void {
  const t = getTask(s, r);
  if (!TASK_DEFINITION_CHANGES[t.state]) invalid(r, `task ${t.workstream_id}/${t.id} is ${t.state}; its definition may not change`);
  const next = defIn(r, 'new', t.id);
  // Like `from` on a move: the old definition must be the one the task has (a log mixed up is caught here).
  if (r.old !== undefined && defChanges(t, defIn(r, 'old', t.id)).length > 0) invalid(r, `task ${t.workstream_id}/${t.id}: field old is not the definition the task has`);
  checkResources(s, r, next);
  const graph = defChanges(t, next).some((c) => c.field === 'depends_on');
  t.command = next.command;
  t.validate = next.validate;
  t.depends_on = [...next.depends_on];
  t.resources = next.resources;
  t.critical = next.critical;
  t.priority = next.priority;
  t.timeout_seconds = next.timeout_seconds;
  t.max_retries = next.max_retries;
  t.retry_base_seconds = next.retry_base_seconds;
  t.retry_cap_seconds = next.retry_cap_seconds;
  t.cwd = next.cwd;
  t.env = next.env;
  t.updated_seq = r.seq;
  s.mutWorkstream(t.workstream_id).updated_seq = r.seq;
  if (graph) regraph(s, t.workstream_id);
}

export function applyTaskAdded(s: MutableState, r: LogRecord): void {
  const wsId = str(r, 'workstream_id');
  const id = str(r, 'task_id');
  const base = s.workstream(wsId);
  if (!base) invalid(r, `unknown workstream ${wsId}`);
  if (base.state === 'completed') invalid(r, `workstream ${wsId} is completed; no task may be added to it`);
  if (s.task(wsId, id)) invalid(r, `task ${wsId}/${id} already exists`);
  if (r.to !== undefined && r.to !== 'pending') invalid(r, `a new task starts pending, record says to ${String(r.to)}`);
  const def = defIn(r, 'definition', id);
  checkResources(s, r, def);
  const ws = s.mutWorkstream(wsId);
  s.putTask(newTask(def, wsId, ws.task_ids.length, 1, r.seq));
  // A new array: a draft shares task_ids with the state it was made from.
  ws.task_ids = [...ws.task_ids, id];
  ws.counts.pending += 1;
  ws.last_task_seq = r.seq;
  ws.last_task_at = r.ts;
  ws.updated_seq = r.seq;
  regraph(s, wsId);
}

export function applyWorkstreamUpdated(s: MutableState, r: LogRecord): void {
  const id = str(r, 'workstream_id');
  if (!s.workstream(id)) invalid(r, `unknown workstream ${id}`);
  const ws = s.mutWorkstream(id);
  if (r.params !== undefined) {
    if (r.params === null || typeof r.params !== 'object' || Array.isArray(r.params)) invalid(r, 'params must be an object');
    ws.params = { ...(r.params as Record<string, string>) };
  }
  ws.updated_seq = r.seq;
}

export function applyWorkstreamReset(s: MutableState, r: LogRecord): void {
  moveWorkstream(s, r);
  const id = str(r, 'workstream_id');
  const ws = s.mutWorkstream(id);
  ws.finished_at = null;
  ws.failure = null;
  ws.last_task_seq = r.seq;
  ws.last_task_at = r.ts;
  const counts = emptyCounts();
  counts.pending = ws.task_ids.length;
  ws.counts = counts;
  for (const tid of ws.task_ids) {
    const t = s.mutTask(id, tid);
    if (ACTIVE_TASK_STATES.has(t.state)) invalid(r, `task ${id}/${tid} is ${t.state}; a workstream with an attempt running cannot be reset`);
    t.state = 'pending';
    // A fresh start, but attempt numbers go on: logs/<ws>/<task>.<attempt>.log are never overwritten.
    t.retry_count = 0;
    t.retry_at = null;
    t.queued_at = null;
    t.started_at = null;
    t.finished_at = null;
    t.worker_id = null;
    t.last_outcome = null;
    t.cancel_trigger = null;
    t.blocked_by = null;
    t.resource_warned = false;
    t.updated_seq = r.seq;
  }
}
