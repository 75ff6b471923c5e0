import { CairnError } from '../errors.js';
import { PARAM_NAME_PATTERN } from '../model/ids.js';
import { resolveTask } from '../model/resolve.js';
import type { StateView } from '../model/state.js';
import { ACTIVE_TASK_STATES, TERMINAL_WORKSTREAM_STATES } from '../model/states.js';
import { TASK_TRANSITIONS, allowedTargets } from '../model/transitions.js';
import type { Draft, Task } from '../model/types.js';
import { ancestors, assertReopenable, assertTaskMove, key, type Operator, operatorDecision, reopen, resolveWorkstream, settleAll, tasksOf } from './common.js';

/** resume_workstream: carry on after a manual fix, optionally from a task and with changed params. */
export interface ResumeWorkstreamRequest extends Operator {
  workstream: string;
  /** The task to resume from: its unfinished dependencies count as done by hand (skipped). */
  fromTask?: string;
  /** Params to change (--param k=v), merged over the old ones; tasks started from now on see them. */
  params?: Record<string, string>;
}

/**
 * Records `workstream_resumed` (with the changed params and the task resumed from), reopens a failed
 * or cancelled workstream (the tasks its critical failure cancelled return to pending) and sends
 * every failed task back to pending. With `fromTask` T: every dependency of T, direct or not, that
 * is not completed or skipped is skipped (the operator did that work by hand), and T itself goes
 * back to pending unless it is already waiting or running. A running workstream with nothing failed
 * and nothing to change gives no records.
 */
export function decide(state: StateView, req: ResumeWorkstreamRequest, now: number): Draft[] {
  const ws = resolveWorkstream(state, req.workstream);
  assertReopenable(ws, 'resume_workstream');
  const params = checkParams(req.params ?? {});
  const from = req.fromTask !== undefined ? resolveTask(state, req.fromTask, ws.id) : null;
  if (from && from.workstream_id !== ws.id) throw new CairnError('BAD_INPUT', `task ${key(from)} is not in workstream ${ws.id}`);
  const before = from ? ancestors(state, from).filter((t) => t.state !== 'completed' && t.state !== 'skipped') : [];
  const busy = before.filter((t) => ACTIVE_TASK_STATES.has(t.state));
  if (busy.length > 0) {
    throw new CairnError('ILLEGAL_REQUEST', `cannot resume from ${key(from!)}: its dependency ${busy.map(key).join(', ')} is ${busy[0]!.state}`, {
      details: { workstream_id: ws.id, from_task: from!.id, running: busy.map((t) => t.id) },
      hint: `Wait for it to finish, or stop it first: cairn cancel-task --task-id ${key(busy[0]!)}`,
    });
  }
  if (from && needsRetry(from)) assertTaskMove(from, 'task_retried', 'pending');
  const failed = tasksOf(state, ws).filter((t) => t.state === 'failed' && !before.includes(t) && t !== from);
  const nothing = !TERMINAL_WORKSTREAM_STATES.has(ws.state) && failed.length === 0 && Object.keys(params).length === 0 && before.length === 0 && !(from && needsRetry(from));
  if (nothing) return [];

  const d = operatorDecision(state, now, req, 'resume_workstream');
  reopen(d, ws.id, 'resume_workstream', { returnCancelled: true, ...(from ? { target: from.id } : {}) });
  d.emit({ type: 'workstream_resumed', workstream_id: ws.id, ...(Object.keys(params).length > 0 ? { params } : {}), ...(from ? { from_task: from.id } : {}), recovery: 'resume_workstream' });
  for (const t of before) {
    const cur = d.task(ws.id, t.id);
    if (allowedTargets(TASK_TRANSITIONS, cur.state, 'task_skipped').length > 0 && cur.state !== 'skipped') d.move(cur, 'task_skipped', 'skipped', { trigger: 'resume_from_task', recovery: 'resume_workstream' });
  }
  if (from) {
    const cur = d.task(ws.id, from.id);
    if (needsRetry(cur)) d.move(cur, 'task_retried', 'pending', { recovery: 'resume_workstream' });
  }
  for (const t of failed) d.move(d.task(ws.id, t.id), 'task_retried', 'pending', { recovery: 'resume_workstream' });
  return settleAll(d, ws.id);
}

/** A task to resume from must be made pending unless it already waits for or holds a worker. */
function needsRetry(t: Task): boolean {
  return !['pending', 'queued', 'running', 'validating', 'retrying'].includes(t.state);
}

export function checkParams(p: Record<string, string>): Record<string, string> {
  for (const [k, v] of Object.entries(p)) {
    if (!PARAM_NAME_PATTERN.test(k)) {
      throw new CairnError('BAD_INPUT', `invalid param name ${JSON.stringify(k)}: param names match ${PARAM_NAME_PATTERN.source}`, { hint: 'Pass --param name=value, e.g. --param channel=beta' });
    }
    if (typeof v !== 'string' || v.includes('\0')) throw new CairnError('BAD_INPUT', `param ${k} must be a string without NUL characters`);
  }
  return p;
}
