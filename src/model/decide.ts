import { CairnError, unreachable } from '../errors.js';
import { Decision } from './decision.js';
import type { StateView } from './state.js';
import { ACTIVE_TASK_STATES } from './states.js';
import { WORKER_TRANSITIONS, allowedTargets } from './transitions.js';
import type { Draft, Task, TaskOutcome, WorkstreamSpec } from './types.js';

/** The commands the scheduler and `submit` give the core. Operator recoveries live in src/recovery/. */
export type Command =
  | { kind: 'submit'; spec: WorkstreamSpec; operator?: string | null }
  | { kind: 'scheduler_start'; scheduler_id: string; pid: number; process_start: string | null }
  | { kind: 'scheduler_stop'; reason?: string }
  | { kind: 'worker_start'; worker_id: string; pid: number; scheduler_id: string }
  | { kind: 'task_start'; workstream_id: string; task_id: string; worker_id: string; pid: number | null; pgid: number | null; process_start: string | null; scheduler_id: string; deadline: string | null; executor?: 'slurm'; job_id?: string }
  /** A new scheduler takes over the cluster job of a running task whose scheduler was lost (no new attempt). */
  | { kind: 'task_adopt'; workstream_id: string; task_id: string; worker_id: string; scheduler_id: string; job_id: string }
  | { kind: 'task_outcome'; workstream_id: string; task_id: string; attempt: number; phase: 'command' | 'validate'; outcome: TaskOutcome }
  /** A queued task's attempt could not even start (spawn_error): its start and its failure, decided together. */
  | { kind: 'task_start_failed'; workstream_id: string; task_id: string; worker_id: string; scheduler_id: string; outcome: TaskOutcome }
  | { kind: 'retry_due'; workstream_id: string; task_id: string }
  | { kind: 'reassign'; workstream_id: string; task_id: string; trigger: string }
  | { kind: 'worker_unresponsive'; worker_id: string; silent_ms: number }
  | { kind: 'worker_recovered'; worker_id: string }
  | { kind: 'worker_shutdown'; worker_id: string; trigger: string; reassign: boolean }
  | { kind: 'resource_wait_warn'; workstream_id: string; task_id: string; resource_id: string; waited_ms: number };

export interface Ctx {
  /** Milliseconds since the epoch; the only clock a decision sees. */
  now: number;
}

/**
 * decide(state, command, ctx) → the records that make it so, automatic follow-ups included
 * (dependents queued, the workstream completed or failed). Pure: the state is not changed, time
 * comes from ctx. Throws CairnError (ILLEGAL_TRANSITION, UNKNOWN_*, DUPLICATE_WORKSTREAM) when the
 * command cannot be carried out; late news about an attempt that is no longer running gives no records.
 */
export function decide(state: StateView, cmd: Command, ctx: Ctx): Draft[] {
  const d = new Decision(state, ctx.now, { operator: cmd.kind === 'submit' ? cmd.operator ?? null : null });
  switch (cmd.kind) {
    case 'submit': return submit(d, cmd.spec);
    case 'scheduler_start':
      d.emit({ type: 'scheduler_started', scheduler_id: cmd.scheduler_id, pid: cmd.pid, process_start: cmd.process_start });
      return d.out;
    case 'scheduler_stop':
      schedulerStopped(d, cmd.reason ? { trigger: cmd.reason } : {});
      return d.out;
    case 'worker_start': {
      const w = state.worker(cmd.worker_id);
      if (w && w.state !== 'shutdown') throw new CairnError('ILLEGAL_TRANSITION', `worker ${cmd.worker_id} is ${w.state}, not shut down`);
      d.emit({ type: 'worker_started', worker_id: cmd.worker_id, ...(w ? { from: w.state } : {}), to: 'idle', pid: cmd.pid, scheduler_id: cmd.scheduler_id });
      return d.out;
    }
    case 'task_start': return taskStart(d, cmd);
    case 'task_outcome': return taskOutcome(d, cmd);
    case 'task_adopt': return taskAdopt(d, cmd);
    case 'task_start_failed': {
      // One decision, so no other record (a worker shut down and its task reassigned) can come
      // between the start and its failure: the failed start always spends its retry.
      const { workstream_id, task_id, worker_id, scheduler_id, outcome } = cmd;
      taskStart(d, { kind: 'task_start', workstream_id, task_id, worker_id, pid: null, pgid: null, process_start: null, scheduler_id, deadline: null });
      const attempt = d.task(workstream_id, task_id).attempt;
      return taskOutcome(d, { kind: 'task_outcome', workstream_id, task_id, attempt, phase: 'command', outcome });
    }
    case 'retry_due': {
      const t = d.task(cmd.workstream_id, cmd.task_id);
      d.move(t, 'task_queued', 'queued', { trigger: 'retry_due' });
      return d.settle();
    }
    case 'reassign': {
      const t = d.task(cmd.workstream_id, cmd.task_id);
      d.move(t, 'task_reassigned', 'queued', { trigger: cmd.trigger, attempt: t.attempt, worker_id: t.worker_id ?? undefined });
      return d.settle();
    }
    case 'worker_unresponsive': return workerMove(d, cmd.worker_id, 'worker_unresponsive', 'unresponsive', { silent_ms: cmd.silent_ms });
    case 'worker_recovered': {
      const w = mustWorker(state, cmd.worker_id);
      return workerMove(d, cmd.worker_id, 'worker_recovered', w.task ? 'busy' : 'idle', {});
    }
    case 'worker_shutdown': return workerShutdown(d, cmd.worker_id, cmd.trigger, cmd.reassign);
    case 'resource_wait_warn': {
      const t = d.task(cmd.workstream_id, cmd.task_id);
      if (t.state !== 'queued' || t.resource_warned) return [];
      d.emit({ type: 'resource_exhausted', workstream_id: t.workstream_id, task_id: t.id, resource_id: cmd.resource_id, waited_ms: cmd.waited_ms });
      return d.out;
    }
    default: return unreachable(cmd);
  }
}

/** The records of a submission, onto decision `d`; `extra` goes on workstream_submitted (rerun_of). */
export function submit(d: Decision, spec: WorkstreamSpec, extra: { rerun_of?: string } = {}): Draft[] {
  if (spec.id.endsWith('_latest.json')) {
    // checkpoints/<ws>_latest.json would collide with the checkpoint folder of another workstream.
    throw new CairnError('BAD_ID', `workstream id ${spec.id} may not end with _latest.json`, { hint: 'Choose another workstream id.' });
  }
  if (d.draft.workstream(spec.id)) {
    throw new CairnError('DUPLICATE_WORKSTREAM', `a workstream ${spec.id} already exists (${d.draft.workstream(spec.id)!.state})`, {
      details: { workstream_id: spec.id },
      hint: `Give the spec another id, or run: cairn status --workstream-id ${spec.id}`,
    });
  }
  for (const [id, r] of Object.entries(spec.resources)) {
    if (!d.draft.resource(id)) d.emit({ type: 'resource_declared', resource_id: id, max_holders: r.max_holders });
  }
  d.emit({ type: 'workstream_submitted', workstream_id: spec.id, to: 'pending', spec, ...extra });
  for (const t of spec.tasks) {
    if (t.depends_on.length === 0) d.move(d.task(spec.id, t.id), 'task_queued', 'queued', { trigger: 'dependencies_met' });
  }
  d.settleWorkstream(spec.id);
  return d.out;
}

/** Units of `resourceId` free right now (Infinity when unlimited). */
export function freeUnits(state: StateView, resourceId: string): number {
  const r = state.resource(resourceId);
  if (!r) return 0;
  if (r.max_holders === null) return Infinity;
  let held = 0;
  for (const n of Object.values(r.holders)) held += n;
  return r.max_holders - held;
}

function taskStart(d: Decision, cmd: Extract<Parameters<typeof decide>[1], { kind: 'task_start' }>): Draft[] {
  const t = d.task(cmd.workstream_id, cmd.task_id);
  const w = mustWorker(d.draft, cmd.worker_id);
  if (!allowedTargets(WORKER_TRANSITIONS, w.state, 'task_started').includes('busy')) {
    throw new CairnError('ILLEGAL_TRANSITION', `worker ${w.id} is ${w.state}; only an idle worker can start a task`, { details: { worker_id: w.id, state: w.state } });
  }
  for (const [rid, units] of Object.entries(t.resources)) {
    if (freeUnits(d.draft, rid) < units) {
      throw new CairnError('ILLEGAL_REQUEST', `resource ${rid} has fewer than ${units} free units for ${t.workstream_id}/${t.id}`);
    }
  }
  d.move(t, 'task_started', 'running', {
    worker_id: w.id, attempt: t.attempt + 1, pid: cmd.pid, pgid: cmd.pgid, process_start: cmd.process_start,
    scheduler_id: cmd.scheduler_id, deadline: cmd.deadline,
    // Only a job outside a worker process names its executor: local records stay as they were.
    ...(cmd.job_id !== undefined ? { executor: cmd.executor ?? 'slurm', job_id: cmd.job_id } : {}),
  });
  return d.settle();
}

/** A new scheduler's worker takes over the job of a running task whose scheduler was lost (same attempt). */
export function taskAdopt(d: Decision, cmd: Extract<Parameters<typeof decide>[1], { kind: 'task_adopt' }>): Draft[] {
  const t = d.task(cmd.workstream_id, cmd.task_id);
  if (!ACTIVE_TASK_STATES.has(t.state) || t.job_id !== cmd.job_id) {
    throw new CairnError('ILLEGAL_TRANSITION', `task ${t.workstream_id}/${t.id} is ${t.state}${t.job_id ? ` with job ${t.job_id}` : ''}; only a running task's own job can be adopted`, {
      details: { state: t.state, job_id: t.job_id ?? null },
    });
  }
  const w = mustWorker(d.draft, cmd.worker_id);
  if (!allowedTargets(WORKER_TRANSITIONS, w.state, 'task_adopted').includes('busy')) {
    throw new CairnError('ILLEGAL_TRANSITION', `worker ${w.id} is ${w.state}; only an idle worker can adopt a job`, { details: { worker_id: w.id, state: w.state } });
  }
  d.move(t, 'task_adopted', t.state, {
    worker_id: w.id, attempt: t.attempt, scheduler_id: cmd.scheduler_id, executor: t.executor ?? 'slurm', job_id: cmd.job_id,
    ...(t.worker_id !== null ? { previous_worker_id: t.worker_id } : {}),
  });
  return d.settle();
}

/** Backoff before the next attempt: min(cap, base · 2^retry_count) seconds (DESIGN §2). */
export function backoffMs(t: Task): number {
  return Math.min(t.retry_cap_seconds, t.retry_base_seconds * 2 ** t.retry_count) * 1000;
}

function taskOutcome(d: Decision, cmd: Extract<Parameters<typeof decide>[1], { kind: 'task_outcome' }>): Draft[] {
  const t = d.task(cmd.workstream_id, cmd.task_id);
  // News about an attempt that is no longer the running one (cancelled, reassigned, rolled back).
  if (!ACTIVE_TASK_STATES.has(t.state) || t.attempt !== cmd.attempt) return [];
  const o = cmd.outcome;
  const ok = o.kind === 'exit' && o.exit_code === 0;
  const base = { attempt: t.attempt, worker_id: t.worker_id ?? undefined, outcome: o };
  if (cmd.phase === 'validate' || t.state === 'validating') {
    if (t.state !== 'validating') return [];
    if (ok) d.move(t, 'task_completed', 'completed', base);
    else failAttempt(d, t, { ...o, kind: 'validation' }, base);
    return d.settle();
  }
  if (o.kind === 'worker_lost') {
    d.move(t, 'task_reassigned', 'queued', base, { trigger: 'worker_lost' });
    return d.settle();
  }
  if (ok) {
    if (t.validate !== null) d.move(t, 'task_validating', 'validating', base);
    else d.move(t, 'task_completed', 'completed', base);
    return d.settle();
  }
  failAttempt(d, t, o, base);
  return d.settle();
}

/**
 * An attempt failed: retry later while retries are left, otherwise the task fails (and maybe its
 * workstream). An attempt that fails in its validate phase is a failed validation, whatever ended it
 * (the validate command, or its worker shut down without reassign: outcome worker_lost): the table
 * and DESIGN §2 have validating→failed, never validating→retrying, so it is not retried automatically.
 */
export function failAttempt(d: Decision, t: Task, o: TaskOutcome, base: Record<string, unknown>): void {
  if (t.state === 'validating') {
    d.move(t, 'task_validation_failed', 'failed', base, { outcome: o });
    if (t.critical) d.failCritical(t);
  } else if (t.retry_count < t.max_retries) {
    const retryAt = new Date(d.now + backoffMs(t)).toISOString();
    d.move(t, o.kind === 'timeout' ? 'task_timed_out' : 'task_attempt_failed', 'retrying', base, { outcome: o, retry_count: t.retry_count + 1, retry_at: retryAt });
  } else {
    d.move(t, 'task_failed', 'failed', base, { outcome: o });
    if (t.critical) d.failCritical(t);
  }
}

function mustWorker(state: StateView, id: string) {
  const w = state.worker(id);
  if (!w) throw new CairnError('UNKNOWN_WORKER', `no worker ${id}`, { details: { worker_id: id } });
  return w;
}

function workerMove(d: Decision, id: string, type: 'worker_unresponsive' | 'worker_recovered', to: 'unresponsive' | 'idle' | 'busy', extra: Record<string, unknown>): Draft[] {
  const w = mustWorker(d.draft, id);
  if (!allowedTargets(WORKER_TRANSITIONS, w.state, type).includes(to)) {
    throw new CairnError('ILLEGAL_TRANSITION', `worker ${id} is ${w.state}; ${type} is not allowed`, { details: { worker_id: id, state: w.state } });
  }
  d.emit({ type, worker_id: id, from: w.state, to, ...extra });
  return d.out;
}

/**
 * Triggers of a worker shutdown that is the normal end of its run (the scheduler finished, or was
 * stopped with Ctrl-C): recorded as info. Any other (unresponsive, forced, requested, its
 * scheduler lost, an error) keeps the catalogue's warning.
 */
export const RUN_END_TRIGGERS: ReadonlySet<string> = new Set(['done', 'interrupted']);

/**
 * Records a scheduler's stop (`fields`: trigger, scheduler_id). The workers shut down by then are
 * named in `released_workers` and leave the state with it: once a run has ended, current.json and
 * status list no worker of it (their records stay in the log, where check-worker finds them).
 */
export function schedulerStopped(d: Decision, fields: { trigger?: string; scheduler_id?: string }): void {
  const released = d.draft.workerIds().filter((id) => d.draft.worker(id)!.state === 'shutdown').sort();
  d.emit({ type: 'scheduler_stopped', ...(released.length > 0 ? { ...fields, released_workers: released } : fields) });
}

/** Shuts a worker down; its task is reassigned (no retry spent) or, without reassign, counts as a failed attempt. */
export function workerShutdown(d: Decision, id: string, trigger: string, reassign: boolean): Draft[] {
  const w = mustWorker(d.draft, id);
  if (w.state === 'shutdown') return [];
  if (w.task) {
    const [ws, tid] = [w.task.slice(0, w.task.indexOf('/')), w.task.slice(w.task.indexOf('/') + 1)];
    const t = d.task(ws, tid);
    if (ACTIVE_TASK_STATES.has(t.state)) {
      const base = { attempt: t.attempt, worker_id: id };
      if (reassign) d.move(t, 'task_reassigned', 'queued', base, { trigger: 'worker_lost' });
      else failAttempt(d, t, { kind: 'worker_lost', exit_code: null, signal: null, duration_ms: 0, message: `worker ${id} was shut down (${trigger})` }, base);
    }
  }
  const now = d.draft.worker(id)!;
  d.emit({ type: 'worker_shutdown', worker_id: id, from: now.state, to: 'shutdown', trigger, ...(RUN_END_TRIGGERS.has(trigger) ? { severity: 'info' as const } : {}) });
  return d.settle();
}
