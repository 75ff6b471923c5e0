import { CairnError } from '../errors.js';
import { resolveResource, resolveTask } from '../model/resolve.js';
import type { StateView } from '../model/state.js';
import { ENV_NAME_PATTERN } from '../model/ids.js';
import { defChanges, type DefChange, defOf } from '../model/task-def.js';
import { TASK_DEFINITION_CHANGES } from '../model/transitions.js';
import type { Command, Draft, Task, TaskDef } from '../model/types.js';
import { SPEC_LIMITS } from '../schemas/workstream.js';
import { key, type Operator, operatorDecision } from './common.js';

/** The changes update-task takes (undefined: leave the field as it is). */
export interface TaskChanges {
  command?: Command;
  /** The validate command; null removes it. */
  validate?: Command | null;
  timeoutSeconds?: number;
  maxRetries?: number;
  /** Variables set (merged over the task's env). */
  env?: Record<string, string>;
  /** The working directory; null runs in cairn's own. */
  cwd?: string | null;
  /** The resources it takes, one unit each (replacing the old ones). */
  resources?: string[];
}

/** update_task: change the definition of a task that has not completed; its next attempt uses it. */
export interface UpdateTaskRequest extends Operator, TaskChanges {
  task: string;
  workstreamId?: string;
}

/**
 * Refuses what cannot take a new definition: a task of a completed workstream or a completed task
 * (its effects are applied: rerun-workstream or reset-workstream run it again), and a task whose
 * attempt runs (cancel-task first: the running attempt already has its command). Exit 2 for both.
 */
export function assertDefinitionChangeable(state: StateView, t: Task): void {
  const ws = state.workstream(t.workstream_id)!;
  if (ws.state === 'completed' || t.state === 'completed') {
    const what = t.state === 'completed' ? `task ${key(t)} is completed` : `workstream ${ws.id} is completed`;
    throw new CairnError('ILLEGAL_REQUEST', `${what}: its work is done, so its definition can no longer change`, {
      details: { workstream_id: ws.id, task_id: t.id, state: t.state, workstream_state: ws.state },
      hint: `To run it again: cairn rerun-workstream --workstream-id ${ws.id} (a new workstream${ws.state === 'completed' ? '' : ', once this one is finished'}), or cairn reset-workstream --workstream-id ${ws.id} (the same one, every task pending again, once finished)`,
    });
  }
  if (!TASK_DEFINITION_CHANGES[t.state]) {
    throw new CairnError('ILLEGAL_REQUEST', `task ${key(t)} is ${t.state} (attempt ${t.attempt} on ${t.worker_id ?? '?'}); a running attempt keeps the definition it started with`, {
      details: { workstream_id: ws.id, task_id: t.id, state: t.state },
      hint: `Wait for the attempt to end, or stop it: cairn cancel-task --task-id ${key(t)}; then update it and run it again with cairn retry-task --task-id ${key(t)}`,
    });
  }
}

/** The task's definition with the request's changes, checked as a spec's would be. */
export function updatedDefinition(state: StateView, t: Task, req: UpdateTaskRequest): TaskDef {
  const def = defOf(t);
  if (req.command !== undefined) def.command = checkCommand('--command', req.command);
  if (req.validate !== undefined) def.validate = req.validate === null ? null : checkCommand('--validate', req.validate);
  if (req.timeoutSeconds !== undefined) {
    if (!(Number.isFinite(req.timeoutSeconds) && req.timeoutSeconds > 0 && req.timeoutSeconds <= SPEC_LIMITS.timeout_seconds)) {
      throw new CairnError('BAD_INPUT', `--timeout must be a positive number of seconds, at most ${SPEC_LIMITS.timeout_seconds} (7 days), got ${req.timeoutSeconds}`);
    }
    def.timeout_seconds = req.timeoutSeconds;
  }
  if (req.maxRetries !== undefined) {
    if (!(Number.isInteger(req.maxRetries) && req.maxRetries >= 0 && req.maxRetries <= SPEC_LIMITS.max_retries)) {
      throw new CairnError('BAD_INPUT', `--max-retries must be a whole number from 0 to ${SPEC_LIMITS.max_retries}, got ${req.maxRetries}`);
    }
    def.max_retries = req.maxRetries;
  }
  if (req.env !== undefined) {
    for (const [k, v] of Object.entries(req.env)) {
      if (!ENV_NAME_PATTERN.test(k)) throw new CairnError('BAD_INPUT', `--env ${JSON.stringify(k)}: a variable name matches ^[A-Za-z_][A-Za-z0-9_]*$ and does not start with CAIRN_ (reserved)`, { hint: 'e.g. --env LOG_LEVEL=debug' });
      if (v.includes('\0')) throw new CairnError('BAD_INPUT', `--env ${k}: the value contains a NUL character`);
    }
    def.env = { ...def.env, ...req.env };
  }
  if (req.cwd !== undefined) {
    if (req.cwd !== null && (req.cwd === '' || req.cwd.includes('\0'))) throw new CairnError('BAD_INPUT', '--cwd must be a folder path (or "" for none)');
    def.cwd = req.cwd;
  }
  if (req.resources !== undefined) {
    // Each must exist: an undeclared resource could never be taken, and the task would wait for ever.
    def.resources = Object.fromEntries(req.resources.map((r) => [resolveResource(state, r).id, 1]));
  }
  return def;
}

function checkCommand(flag: string, c: Command): Command {
  const empty = Array.isArray(c) ? c.length === 0 || c[0] === '' : c.trim() === '';
  if (empty) throw new CairnError('BAD_INPUT', `${flag} is empty`, { hint: `Give the command to run, e.g. ${flag} "make build"` });
  if ((Array.isArray(c) ? c : [c]).some((x) => x.includes('\0'))) throw new CairnError('BAD_INPUT', `${flag} contains a NUL character`);
  return c;
}

/** What the request changes: field by field, old → new (empty when the task already is so). */
export function plannedChanges(state: StateView, req: UpdateTaskRequest): { task: Task; changes: DefChange[]; next: TaskDef } {
  const given = [req.command, req.validate, req.timeoutSeconds, req.maxRetries, req.env, req.cwd, req.resources].some((x) => x !== undefined);
  if (!given) {
    throw new CairnError('BAD_INPUT', 'update-task needs at least one change: --command, --validate, --timeout, --max-retries, --env, --cwd or --resources', {
      hint: 'e.g. cairn update-task --task-id ws/build --command "make build" (see cairn update-task --help)',
    });
  }
  const t = resolveTask(state, req.task, req.workstreamId);
  assertDefinitionChangeable(state, t);
  const next = updatedDefinition(state, t, req);
  return { task: t, changes: defChanges(t, next), next };
}

/**
 * One `task_updated` record holding the old and the new definition and the names of the fields that
 * changed. The task's state stays: a pending, queued or retrying task runs its next attempt with the
 * new definition; a failed, cancelled or skipped one needs retry-task. A request that changes
 * nothing gives no records.
 */
export function decide(state: StateView, req: UpdateTaskRequest, now: number): Draft[] {
  const { task: t, changes, next } = plannedChanges(state, req);
  if (changes.length === 0) return [];
  const d = operatorDecision(state, now, req, 'update_task');
  d.emit({ type: 'task_updated', workstream_id: t.workstream_id, task_id: t.id, old: defOf(t), new: next, fields: changes.map((c) => c.field) });
  return d.settle();
}
