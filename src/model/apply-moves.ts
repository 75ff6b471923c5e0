import { CairnError } from '../errors.js';
import { appendMs, type MutableState } from './state.js';
import { ACTIVE_TASK_STATES, TASK_STATES, type TaskState, type WorkerState, WORKSTREAM_STATES, type WorkstreamState } from './states.js';
import { TASK_TRANSITIONS, WORKER_TRANSITIONS, WORKSTREAM_TRANSITIONS, allowedTargets } from './transitions.js';
import type { FailureKind, LogRecord, Task, TaskOutcome } from './types.js';
import { taskKey } from './types.js';

/**
 * The moves apply.ts's handlers are made of: an entity along its transition table, with the
 * bookkeeping that goes with it (counts, a worker's task, resource holders, metrics). Each checks
 * the record against the tables and throws LOG_INVALID naming its seq when they do not allow it.
 */

/**
 * A state named by a record, as the one string of that name in the tables (or undefined when it
 * names no state). States become keys of property lookups (the transition tables, a workstream's
 * counts); keeping the tables' own strings in the state makes those lookups cheap, and a Map finds
 * them without that cost.
 */
function canonicalState<S extends string>(names: ReadonlyMap<string, S>, v: unknown): S | undefined {
  return typeof v === 'string' ? names.get(v) : undefined;
}

export type Handler = (s: MutableState, r: LogRecord) => void;

export function invalid(r: LogRecord, msg: string): never {
  throw new CairnError('LOG_INVALID', `record seq ${r.seq} (${r.type}): ${msg}`, {
    details: { seq: r.seq, type: r.type },
    hint: 'Run: cairn validate-state, then cairn repair-state --dry-run',
  });
}

export function str(r: LogRecord, k: string): string {
  const v = r[k];
  if (typeof v !== 'string') invalid(r, `field ${k} must be a string`);
  return v;
}

export function getTask(s: MutableState, r: LogRecord): Task {
  const ws = str(r, 'workstream_id');
  const id = str(r, 'task_id');
  const t = s.mutTaskIfAny(ws, id);
  if (!t) invalid(r, `unknown task ${ws}/${id}`);
  return t;
}

/** Moves a task along TASK_TRANSITIONS, keeping the workstream's counts, and returns it. */
export function moveTask(s: MutableState, r: LogRecord): Task {
  const t = getTask(s, r);
  const from = t.state;
  const to = canonicalState(TASK_STATE_OF, r.to);
  if (r.from !== undefined && r.from !== from) invalid(r, `task ${t.workstream_id}/${t.id} is ${from}, record says from ${String(r.from)}`);
  if (to === undefined || !allowedTargets(TASK_TRANSITIONS, from, r.type).includes(to)) {
    invalid(r, `task ${t.workstream_id}/${t.id} may not go from ${from} to ${String(r.to)} by ${r.type}`);
  }
  const ws = s.mutWorkstream(t.workstream_id);
  ws.counts[from] -= 1;
  ws.counts[to] += 1;
  ws.last_task_seq = r.seq;
  ws.last_task_at = r.ts;
  ws.updated_seq = r.seq;
  t.state = to;
  t.updated_seq = r.seq;
  if (ACTIVE_TASK_STATES.has(from) && !ACTIVE_TASK_STATES.has(to)) leaveWorker(s, t, r);
  return t;
}

export function moveWorkstream(s: MutableState, r: LogRecord): void {
  const id = str(r, 'workstream_id');
  if (!s.workstream(id)) invalid(r, `unknown workstream ${id}`);
  const ws = s.mutWorkstream(id);
  const to = canonicalState(WORKSTREAM_STATE_OF, r.to);
  if (r.from !== undefined && r.from !== ws.state) invalid(r, `workstream ${id} is ${ws.state}, record says from ${String(r.from)}`);
  if (to === undefined || !allowedTargets(WORKSTREAM_TRANSITIONS, ws.state, r.type).includes(to)) {
    invalid(r, `workstream ${id} may not go from ${ws.state} to ${String(r.to)} by ${r.type}`);
  }
  ws.state = to;
  ws.updated_seq = r.seq;
}

export function moveWorker(s: MutableState, r: LogRecord, id: string, to: WorkerState): void {
  const w = s.mutWorker(id);
  if (!allowedTargets(WORKER_TRANSITIONS, w.state, r.type).includes(to)) {
    invalid(r, `worker ${id} may not go from ${w.state} to ${to} by ${r.type}`);
  }
  w.state = to;
  w.updated_seq = r.seq;
}

/** A worker record moves its worker: the record's own from and to must agree with the worker. */
export function moveWorkerBy(s: MutableState, r: LogRecord, id: string, to: WorkerState): void {
  const w = s.worker(id);
  if (!w) invalid(r, `unknown worker ${id}`);
  if (r.from !== undefined && r.from !== w.state) invalid(r, `worker ${id} is ${w.state}, record says from ${String(r.from)}`);
  if (r.to !== undefined && r.to !== to) invalid(r, `worker ${id} becomes ${to}, record says to ${String(r.to)}`);
  moveWorker(s, r, id, to);
}

/** The task left running/validating: free its resources and its worker. */
export function leaveWorker(s: MutableState, t: Task, r: LogRecord): void {
  const key = taskKey(t.workstream_id, t.id);
  for (const rid in t.resources) {
    const res = s.resource(rid);
    if (res && res.holders[key] !== undefined) {
      const m = s.mutResource(rid);
      delete m.holders[key];
      m.updated_seq = r.seq;
    }
  }
  const wid = t.worker_id;
  if (wid !== null) {
    const w = s.worker(wid);
    if (w && w.task === key) {
      const next: WorkerState = w.state === 'busy' ? 'idle' : w.state;
      if (w.state !== 'shutdown') moveWorker(s, r, wid, next);
      s.mutWorker(wid).task = null;
    }
  }
  t.pid = null;
  t.pgid = null;
  t.process_start = null;
  t.deadline = null;
}

/**
 * The recovery awaiting a task's outcome ends at the task's next end: a task_completed settles it
 * as succeeded, a record that leaves the task failed as failed — exactly as `cairn metrics`
 * (history/metrics.ts) settles it, so metrics.json and `cairn metrics` over the whole log agree.
 * Other ways into completed (a rollback's task_reset to completed) are no end of an attempt and
 * settle nothing.
 */
export function settleRecovery(s: MutableState, t: Task, how: 'succeeded' | 'failed', at: string): void {
  const key = taskKey(t.workstream_id, t.id);
  const pending = s.metrics().recovery_targets[key];
  if (pending === undefined) return;
  const m = s.mutMetrics();
  delete m.recovery_targets[key];
  const r = (m.recoveries[pending.kind] ??= { count: 0, succeeded: 0, failed: 0, ttr_ms: '' });
  r[how] += 1;
  if (how === 'succeeded' && pending.failed_at !== null) r.ttr_ms = appendMs(r.ttr_ms, Date.parse(at) - Date.parse(pending.failed_at));
}

/**
 * A record made by a recovery tool (its `recovery` field names it): counted, and awaiting the
 * task's next end. `finishedAt` is the task's finished_at before the record changed it: when the
 * task was failed, the time of the failure the recovery answers.
 */
export function noteRecovery(s: MutableState, r: LogRecord, t: Task, finishedAt: string | null): void {
  const kind = r.recovery;
  if (typeof kind !== 'string') return;
  const m = s.mutMetrics();
  (m.recoveries[kind] ??= { count: 0, succeeded: 0, failed: 0, ttr_ms: '' }).count += 1;
  m.recovery_targets[taskKey(t.workstream_id, t.id)] = { kind, failed_at: r.from === 'failed' ? finishedAt : null };
}

export function finish(s: MutableState, t: Task, r: LogRecord): void {
  const outcome = (r.outcome ?? null) as TaskOutcome | null;
  const m = s.mutMetrics();
  if (outcome) {
    t.last_outcome = outcome;
    m.task_duration_ms_total += outcome.duration_ms;
    if (outcome.kind === 'timeout') m.timeouts += 1;
  }
  if (r.type === 'task_completed') {
    m.completed += 1;
    if (t.started_at !== null) s.addDuration(t.workstream_id, Date.parse(r.ts) - Date.parse(t.started_at));
    settleRecovery(s, t, 'succeeded', r.ts);
  } else {
    // task_attempt_failed, task_timed_out, task_failed, task_validation_failed: an attempt ended badly.
    const kind: FailureKind = r.type === 'task_validation_failed' ? 'validation' : outcome?.kind ?? 'exit';
    m.failures[kind] += 1;
    if (kind === 'exit' && typeof outcome?.exit_code === 'number') m.exit_codes[outcome.exit_code] = (m.exit_codes[outcome.exit_code] ?? 0) + 1;
    if (t.state === 'failed') {
      m.tasks_failed += 1;
      settleRecovery(s, t, 'failed', r.ts);
    }
  }
  t.finished_at = r.ts;
}

export function retryLater(s: MutableState, r: LogRecord): void {
  const t = moveTask(s, r);
  finish(s, t, r);
  t.finished_at = null;
  t.retry_count = r.retry_count as number;
  t.retry_at = str(r, 'retry_at');
  s.mutMetrics().retries += 1;
}

export function endTask(s: MutableState, r: LogRecord): void {
  const t = moveTask(s, r);
  finish(s, t, r);
  s.mutMetrics().tasks_finished += 1;
}

/** A task_started: how many tasks started once, twice, … moves one task up by one. */
export function countStart(s: MutableState, t: Task): void {
  const m = s.mutMetrics();
  m.attempts += 1;
  // t.attempt is the number of the task's previous task_started records (attempt numbers go on: never reset).
  const before = String(t.attempt);
  const after = String(t.attempt + 1);
  if (t.attempt > 0) {
    const n = (m.attempts_per_task[before] ?? 0) - 1;
    if (n > 0) m.attempts_per_task[before] = n;
    else delete m.attempts_per_task[before];
  }
  m.attempts_per_task[after] = (m.attempts_per_task[after] ?? 0) + 1;
}

const TASK_STATE_OF: ReadonlyMap<string, TaskState> = new Map(TASK_STATES.map((x) => [x, x]));
const WORKSTREAM_STATE_OF: ReadonlyMap<string, WorkstreamState> = new Map(WORKSTREAM_STATES.map((x) => [x, x]));
