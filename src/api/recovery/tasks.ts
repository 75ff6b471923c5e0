import { CairnError } from '../../errors.js';
import { resolveTask } from '../../model/resolve.js';
import type { StateView } from '../../model/state.js';
import { ACTIVE_TASK_STATES } from '../../model/states.js';
import { decide as cancelDecide } from '../../recovery/cancel-task.js';
import { decide as retryDecide } from '../../recovery/retry-task.js';
import { decide as skipDecide } from '../../recovery/skip-task.js';
import { runForeground, type ForegroundResult } from '../../runner/foreground.js';
import { taskEnv } from '../../scheduler/effects.js';
import { type CommonOptions, withStore } from '../common.js';
import { actor, type ActionOptions, type ActionResult, runAction, type RecordView } from './action.js';

/** A task named as `<workstream>/<task>`, or by its bare id (with `workstreamId`, or when unambiguous). */
export interface TaskTarget {
  task: string;
  workstreamId?: string;
}

function wsLine(s: StateView, records: readonly RecordView[]): string {
  const ids = new Set(records.map((r) => r.workstream_id).filter((x): x is string => typeof x === 'string'));
  return [...ids].map((id) => `workstream ${id} is ${s.workstream(id)?.state ?? 'gone'}`).join('; ');
}

function taskName(s: StateView, o: TaskTarget): string {
  const t = resolveTask(s, o.task, o.workstreamId);
  return `${t.workstream_id}/${t.id}`;
}

function taskState(s: StateView, o: TaskTarget): string {
  const t = resolveTask(s, o.task, o.workstreamId);
  return `${t.workstream_id}/${t.id}: ${t.state}`;
}

/** retry_task: the task goes back to pending (reopening a failed workstream), with new limits if given. */
export function retryTask(o: ActionOptions & TaskTarget & { timeoutSeconds?: number; maxRetries?: number; resetRetries?: boolean }): Promise<ActionResult> {
  const req = { ...actor(o), task: o.task, workstreamId: o.workstreamId, timeoutSeconds: o.timeoutSeconds, maxRetries: o.maxRetries, resetRetries: o.resetRetries };
  return runAction(o, {
    tool: 'retry_task',
    decide: (s, now) => retryDecide(s, req, now),
    nothing: (s) => `task ${taskState(s, o)} already waits to run; nothing to retry`,
    done: (s, r) => {
      const t = resolveTask(s, o.task, o.workstreamId);
      const left = t.max_retries - t.retry_count;
      return `retry ${t.workstream_id}/${t.id}: now ${t.state}, ${left > 0 ? `${left} automatic retr${left === 1 ? 'y' : 'ies'} left` : 'one attempt, no automatic retry left (--reset-retries or --max-retries for more)'}; ${wsLine(s, r)}`;
    },
  });
}

/** skip_task: the task is skipped, its dependents proceed. */
export function skipTask(o: ActionOptions & TaskTarget): Promise<ActionResult> {
  if (o.reason === undefined || o.reason.trim() === '') {
    throw new CairnError('BAD_INPUT', 'skip-task needs --reason: say why the task may be skipped', { hint: 'cairn skip-task --task-id <id> --reason "why it is safe to skip"' });
  }
  const req = { ...actor(o), task: o.task, workstreamId: o.workstreamId };
  return runAction(o, {
    tool: 'skip_task',
    decide: (s, now) => skipDecide(s, req, now),
    nothing: (s) => `task ${taskName(s, o)} is already skipped; nothing changed`,
    done: (s, r) => `skip ${taskState(s, o)}; ${wsLine(s, r)}`,
  });
}

/** cancel_task: the task is cancelled; its dependents proceed, or are cancelled too with cascade. */
export function cancelTask(o: ActionOptions & TaskTarget & { cascade?: boolean }): Promise<ActionResult> {
  const req = { ...actor(o), task: o.task, workstreamId: o.workstreamId, cascade: o.cascade };
  return runAction(o, {
    tool: 'cancel_task',
    decide: (s, now) => cancelDecide(s, req, now),
    nothing: (s) => `task ${taskName(s, o)} is already cancelled; nothing changed`,
    done: (s, r) => {
      const cascaded = r.filter((x) => x.type === 'task_cancelled' && x.trigger === 'cascade').length;
      return `cancel ${taskState(s, o)}${cascaded ? ` and ${cascaded} dependent task(s)` : ''}; ${wsLine(s, r)}`;
    },
  });
}

export interface DebugResult extends ForegroundResult {
  task: string;
  state: string;
  command: string | string[];
  cwd: string | null;
  /** The variables cairn sets (the task's own env and CAIRN_*). */
  env: Record<string, string>;
  warnings: string[];
  validate: ForegroundResult | null;
  ok: boolean;
}

/**
 * debug_task: runs the task's command once in the foreground with the environment, cwd and attempt
 * number its next attempt would get on a worker, streaming its output; with `validate`, then its
 * validate command. Changes no state.
 */
export async function debugTask(o: CommonOptions & TaskTarget & { interactive?: boolean; validate?: boolean; stdout?: 'stdout' | 'stderr'; onStart?: (d: Omit<DebugResult, keyof ForegroundResult | 'validate' | 'ok'>) => void }): Promise<DebugResult> {
  const { t, params, grace } = await withStore(o, { readOnly: true }, async (store) => {
    const t = resolveTask(store.state, o.task, o.workstreamId);
    return { t, params: store.state.workstream(t.workstream_id)!.params, grace: store.config.kill_grace_ms };
  });
  const env = taskEnv(t, params, t.attempt + 1);
  const warnings = ACTIVE_TASK_STATES.has(t.state) ? [`${t.workstream_id}/${t.id} is ${t.state} on worker ${t.worker_id ?? '?'} right now; this debug run is a second, separate process`] : [];
  const head = { task: `${t.workstream_id}/${t.id}`, state: t.state, command: t.command, cwd: t.cwd, env, warnings };
  o.onStart?.(head);
  const fg = { cwd: t.cwd, env, interactive: o.interactive === true, stdout: o.stdout ?? 'stdout', graceMs: grace } as const;
  const r = await runForeground(t.command, fg);
  const passed = (x: ForegroundResult) => x.spawn_error === null && x.exit_code === 0;
  const v = o.validate && passed(r) && t.validate !== null ? await runForeground(t.validate, fg) : null;
  return { ...head, ...r, validate: v, ok: passed(r) && (v === null || passed(v)) };
}

