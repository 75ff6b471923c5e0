import { CairnError } from '../errors.js';
import type { RecordType } from '../model/catalogue.js';
import { assertTaskTransition, Decision } from '../model/decision.js';
import { resolveWorkstream } from '../model/resolve.js';
import type { StateView } from '../model/state.js';
import { TERMINAL_WORKSTREAM_STATES } from '../model/states.js';
import { TASK_TRANSITIONS, WORKSTREAM_TRANSITIONS, allowedTargets, allowedTypes } from '../model/transitions.js';
import type { TaskState } from '../model/states.js';
import type { Draft, Task, Workstream } from '../model/types.js';

/**
 * What every recovery module shares. Each module is a pure `decide(state, request, now) → records`:
 * no I/O, no clock, the given state untouched. It throws a CairnError (UNKNOWN_*, AMBIGUOUS_TASK,
 * ILLEGAL_TRANSITION, ILLEGAL_REQUEST, BAD_INPUT) when the request cannot be carried out, and returns
 * no records when it is already done (a repeated skip, a second retry of a queued task).
 */

/** Who asks and why; every record of the decision carries them, with the tool name as `action`. */
export interface Operator {
  operator: string;
  reason?: string;
}

/** The names of the recovery tools, as written in each record's `action` and in interventions.log. */
export type ToolName =
  | 'retry_task' | 'skip_task' | 'cancel_task' | 'retry_workstream' | 'retry_failed_tasks' | 'resume_workstream'
  | 'rollback_workstream' | 'restart_worker' | 'force_shutdown_worker' | 'set_resource_limit' | 'remove_dependency'
  | 'repair_state' | 'update_task' | 'submit_update' | 'rerun_workstream' | 'reset_workstream'
  | 'checkpoint' | 'system_checkpoint_create' | 'system_checkpoint_restore';

/** The operator commands that make each manual task change (the transition tables name record types). */
const COMMAND_FOR: Partial<Record<RecordType, string>> = {
  task_retried: 'retry-task',
  task_skipped: 'skip-task',
  task_cancelled: 'cancel-task',
  task_reset: 'rollback-workstream',
};

/**
 * Refuses a task change the transition table does not allow: ILLEGAL_TRANSITION naming the task's
 * state, and the operator commands that are allowed from it.
 */
export function assertTaskMove(t: Task, type: RecordType, to: TaskState): void {
  try {
    assertTaskTransition(t, type, to);
  } catch (e) {
    if (!(e instanceof CairnError) || e.code !== 'ILLEGAL_TRANSITION') throw e;
    const commands = allowedTypes(TASK_TRANSITIONS, t.state).flatMap((r) => (COMMAND_FOR[r] ? [`cairn ${COMMAND_FOR[r]}`] : []));
    throw new CairnError('ILLEGAL_TRANSITION', e.message, {
      details: { ...e.details, allowed_commands: commands },
      hint: commands.length > 0 ? `From ${t.state} an operator may: ${commands.join(', ')}` : `${t.state} is final: no operator command changes it`,
    });
  }
}

/** A decision stamped with the operator, the reason and the tool (severity warning for what would be info). */
export function operatorDecision(state: StateView, now: number, who: Operator, tool: ToolName): Decision {
  return new Decision(state, now, { operator: who.operator, reason: who.reason ?? defaultReason(tool), action: tool });
}

function defaultReason(tool: ToolName): string {
  return `${tool} by operator`;
}

/**
 * Refuses a recovery on a workstream that can never be reopened (a completed one): ILLEGAL_REQUEST
 * naming its state and what is allowed from it.
 */
export function assertReopenable(ws: Workstream, what: string): void {
  if (!TERMINAL_WORKSTREAM_STATES.has(ws.state)) return;
  if (allowedTargets(WORKSTREAM_TRANSITIONS, ws.state, 'workstream_reopened').length > 0) return;
  const allowed = allowedTypes(WORKSTREAM_TRANSITIONS, ws.state);
  throw new CairnError('ILLEGAL_REQUEST', `workstream ${ws.id} is ${ws.state}; ${what} is not allowed on a ${ws.state} workstream`, {
    details: { workstream_id: ws.id, state: ws.state, allowed },
    hint: allowed.length > 0 ? `From ${ws.state} the allowed changes are: ${allowed.join(', ')}` : `${ws.state} is final: every effect is applied. Submit a new workstream to run it again.`,
  });
}

/**
 * Brings a failed or cancelled workstream back (workstream_reopened). With `returnCancelled`, the
 * tasks cancelled by its critical failure return to pending (DESIGN §2); tasks an operator cancelled
 * stay cancelled; the one named `target` carries the `recovery` field. Does nothing to a workstream
 * that is not terminal. Returns whether it reopened.
 */
export function reopen(d: Decision, wsId: string, recovery: ToolName, opts: { returnCancelled: boolean; resetRetries?: boolean; target?: string } = { returnCancelled: true }): boolean {
  const ws = d.draft.workstream(wsId)!;
  assertReopenable(ws, recovery);
  const to = allowedTargets(WORKSTREAM_TRANSITIONS, ws.state, 'workstream_reopened')[0];
  if (to === undefined) return false;
  d.emit({ type: 'workstream_reopened', workstream_id: wsId, from: ws.state, to, recovery });
  if (!opts.returnCancelled) return true;
  for (const id of ws.task_ids) {
    const t = d.draft.task(wsId, id)!;
    if (t.state === 'cancelled' && t.cancel_trigger === 'critical_failure') {
      // The task the operator named (opts.target) is what the recovery acted on: metrics count it under its tool.
      d.move(t, 'task_reset', 'pending', { trigger: 'reopened', retry_count: opts.resetRetries ? 0 : t.retry_count, ...(t.id === opts.target ? { recovery } : {}) });
    }
  }
  return true;
}

/**
 * Settles what the decision touched and then the workstream itself, even when no task record was
 * emitted (a reopen alone must still end as running, completed or failed again).
 */
export function settleAll(d: Decision, wsId: string): Draft[] {
  d.settle();
  d.settleWorkstream(wsId);
  return d.out;
}

/** The tasks `t` depends on, directly or not (its ancestors), in definition order. */
export function ancestors(s: StateView, t: Task): Task[] {
  const seen = new Set<string>();
  const stack = [...t.depends_on];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    const dep = s.task(t.workstream_id, id);
    if (dep) stack.push(...dep.depends_on);
  }
  return s.workstream(t.workstream_id)!.task_ids.filter((id) => seen.has(id)).map((id) => s.task(t.workstream_id, id)!);
}

/** The tasks that depend on `t`, directly or not, in definition order. */
export function descendants(s: StateView, t: Task): Task[] {
  const seen = new Set<string>();
  const stack = [...s.dependents(t.workstream_id, t.id)];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...s.dependents(t.workstream_id, id));
  }
  return s.workstream(t.workstream_id)!.task_ids.filter((id) => seen.has(id)).map((id) => s.task(t.workstream_id, id)!);
}

/** The tasks of a workstream in definition order. */
export function tasksOf(s: StateView, ws: Workstream): Task[] {
  return ws.task_ids.map((id) => s.task(ws.id, id)!);
}

export function key(t: Task): string {
  return `${t.workstream_id}/${t.id}`;
}

export { resolveWorkstream };
export type { Draft };
