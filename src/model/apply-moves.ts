import { CairnError } from '../errors.js';
import type { MutableState } from './state.js';
import { ACTIVE_TASK_STATES, TASK_STATES, type TaskState, type WorkerState, WORKSTREAM_STATES, type WorkstreamState } from './states.js';
import { TASK_TRANSITIONS, WORKER_TRANSITIONS, WORKSTREAM_TRANSITIONS, allowedTargets } from './transitions.js';
import type { LogRecord, Task, TaskOutcome } from './types.js';
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
  if (to === 'completed' || to === 'failed') settleRecovery(s, t, to);
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

export function settleRecovery(s: MutableState, t: Task, to: 'completed' | 'failed'): void {
  const key = taskKey(t.workstream_id, t.id);
  const kind = s.metrics().recovery_targets[key];
  if (kind === undefined) return;
  const m = s.mutMetrics();
  delete m.recovery_targets[key];
  if (to === 'completed') (m.recoveries[kind] ??= { count: 0, succeeded: 0 }).succeeded += 1;
}

export function noteRecovery(s: MutableState, r: LogRecord, t: Task): void {
  const kind = r.recovery;
  if (typeof kind !== 'string') return;
  const m = s.mutMetrics();
  (m.recoveries[kind] ??= { count: 0, succeeded: 0 }).count += 1;
  m.recovery_targets[taskKey(t.workstream_id, t.id)] = kind;
}

export function finish(s: MutableState, t: Task, r: LogRecord): void {
  const outcome = (r.outcome ?? null) as TaskOutcome | null;
  if (outcome) {
    t.last_outcome = outcome;
    const m = s.mutMetrics();
    m.task_duration_ms_total += outcome.duration_ms;
    if (outcome.kind === 'timeout') m.timeouts += 1;
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

const TASK_STATE_OF: ReadonlyMap<string, TaskState> = new Map(TASK_STATES.map((x) => [x, x]));
const WORKSTREAM_STATE_OF: ReadonlyMap<string, WorkstreamState> = new Map(WORKSTREAM_STATES.map((x) => [x, x]));
