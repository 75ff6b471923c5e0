import type { StateView } from '../model/state.js';
import { TERMINAL_WORKSTREAM_STATES, type TaskState, type WorkstreamState } from '../model/states.js';
import type { LogRecord } from '../model/types.js';

/*
 * What changed between two states (DESIGN §10, `cairn diff`). Pure: the states and the records
 * between them come in as arguments; reading them is the store's job. Works in either direction:
 * diffing a later state against an earlier one shows the reverse (submitted becomes removed).
 */

/** One task whose state, attempt or retry count differs; null where the task does not exist. */
export interface TaskChange {
  id: string;
  from: TaskState | null;
  to: TaskState | null;
  attempts: [number, number];
  retries: [number, number];
}

/**
 * - submitted: absent at `from`, present at `to`; removed: the reverse (only in a reversed diff);
 * - finished: terminal at `to` and not at `from`; reopened: terminal at `from` and not at `to`
 *   (both, when it is terminal at both points but changed: it was reopened and finished again);
 * - changed: any other difference in its tasks or state.
 */
export type WorkstreamChangeKind = 'submitted' | 'removed' | 'finished' | 'reopened' | 'changed';

export interface WorkstreamChange {
  id: string;
  /** Every kind that applies, in this order: submitted/removed, then finished/reopened, else changed. */
  kinds: WorkstreamChangeKind[];
  from: WorkstreamState | null;
  to: WorkstreamState | null;
  tasks: TaskChange[];
  /** Tasks that changed state, and attempts started (the sum of attempt increases). */
  stat: { tasks_changed: number; attempts: number };
}

export interface ResourceChange {
  id: string;
  /** max_holders (null: unlimited); undefined where the resource does not exist. */
  from: number | null | undefined;
  to: number | null | undefined;
  held: [number, number];
}

/** One manual action (a decision by an operator), as interventions.log groups them. */
export interface Intervention {
  seq: [number, number];
  ts: string;
  operator: string;
  /** The tool that acted (retry_task, skip_task, …) as the records name it. */
  tool: string | null;
  reason: string | null;
  ids: string[];
}

export interface StateDiff {
  workstreams: WorkstreamChange[];
  submitted: string[];
  finished: { id: string; state: WorkstreamState }[];
  reopened: string[];
  removed: string[];
  resources: ResourceChange[];
  workers: { id: string; from: string | null; to: string | null }[];
  scheduler: { from: number | null; to: number | null } | null;
}

const isTerminal = (s: WorkstreamState | null): boolean => s !== null && TERMINAL_WORKSTREAM_STATES.has(s);

/** The difference between state `a` (from) and state `b` (to); `only` limits it to one workstream. */
export function diffStates(a: StateView, b: StateView, only?: string): StateDiff {
  const ids = union(a.workstreamIds(), b.workstreamIds()).filter((id) => only === undefined || id === only);
  const order = (id: string) => (b.workstream(id) ?? a.workstream(id))!.submitted_at;
  ids.sort((x, y) => order(x).localeCompare(order(y)) || (x < y ? -1 : x > y ? 1 : 0));
  const workstreams: WorkstreamChange[] = [];
  for (const id of ids) {
    const c = workstreamChange(a, b, id);
    if (c) workstreams.push(c);
  }
  const has = (k: WorkstreamChangeKind) => workstreams.filter((w) => w.kinds.includes(k));
  return {
    workstreams,
    submitted: has('submitted').map((w) => w.id),
    finished: has('finished').map((w) => ({ id: w.id, state: w.to! })),
    reopened: has('reopened').map((w) => w.id),
    removed: has('removed').map((w) => w.id),
    resources: only === undefined ? resourceChanges(a, b) : [],
    workers: only === undefined ? workerChanges(a, b) : [],
    scheduler: only === undefined ? schedulerChange(a, b) : null,
  };
}

function workstreamChange(a: StateView, b: StateView, id: string): WorkstreamChange | null {
  const wa = a.workstream(id);
  const wb = b.workstream(id);
  const from = wa?.state ?? null;
  const to = wb?.state ?? null;
  const tasks: TaskChange[] = [];
  let attempts = 0;
  for (const tid of union(wa?.task_ids ?? [], wb?.task_ids ?? [])) {
    const ta = a.task(id, tid);
    const tb = b.task(id, tid);
    const c: TaskChange = {
      id: tid,
      from: ta?.state ?? null,
      to: tb?.state ?? null,
      attempts: [ta?.attempt ?? 0, tb?.attempt ?? 0],
      retries: [ta?.retry_count ?? 0, tb?.retry_count ?? 0],
    };
    if (c.from === c.to && c.attempts[0] === c.attempts[1] && c.retries[0] === c.retries[1]) continue;
    tasks.push(c);
    attempts += Math.max(0, c.attempts[1] - c.attempts[0]);
  }
  const kinds: WorkstreamChangeKind[] = [];
  if (!wa) kinds.push('submitted');
  if (!wb) kinds.push('removed');
  if (isTerminal(to) && !isTerminal(from)) kinds.push('finished');
  if (isTerminal(from) && wb && !isTerminal(to)) kinds.push('reopened');
  // Terminal at both points yet different: it was reopened and finished again in between.
  if (isTerminal(from) && isTerminal(to) && (from !== to || tasks.length > 0)) kinds.push('reopened', 'finished');
  if (kinds.length === 0 && (from !== to || tasks.length > 0)) kinds.push('changed');
  if (kinds.length === 0) return null;
  return { id, kinds, from, to, tasks, stat: { tasks_changed: tasks.filter((t) => t.from !== t.to).length, attempts } };
}

function resourceChanges(a: StateView, b: StateView): ResourceChange[] {
  const held = (s: StateView, id: string) => Object.values(s.resource(id)?.holders ?? {}).reduce((n, u) => n + u, 0);
  const out: ResourceChange[] = [];
  for (const id of union(a.resourceIds(), b.resourceIds()).sort()) {
    const ra = a.resource(id);
    const rb = b.resource(id);
    const c: ResourceChange = { id, from: ra?.max_holders, to: rb?.max_holders, held: [held(a, id), held(b, id)] };
    if (c.from !== c.to || c.held[0] !== c.held[1]) out.push(c);
  }
  return out;
}

function workerChanges(a: StateView, b: StateView): StateDiff['workers'] {
  const out: StateDiff['workers'] = [];
  for (const id of union(a.workerIds(), b.workerIds()).sort()) {
    const from = a.worker(id)?.state ?? null;
    const to = b.worker(id)?.state ?? null;
    if (from !== to) out.push({ id, from, to });
  }
  return out;
}

function schedulerChange(a: StateView, b: StateView): StateDiff['scheduler'] {
  const from = a.scheduler()?.pid ?? null;
  const to = b.scheduler()?.pid ?? null;
  return from === to && a.scheduler()?.id === b.scheduler()?.id ? null : { from, to };
}

/**
 * The manual actions among `records` (operator set), one per decision of one operator and tool,
 * oldest first. `only` keeps those that touched that workstream.
 */
export function interventionsOf(records: readonly LogRecord[], only?: string): Intervention[] {
  const out: (Intervention & { key: string })[] = [];
  let cur: (Intervention & { key: string }) | null = null;
  for (const r of records) {
    // A manual action names its operator and its tool; a submission names its operator only.
    if (r.operator === null || r.operator === undefined || typeof r.action !== 'string') {
      cur = null;
      continue;
    }
    const tool: string | null = r.action;
    const key = `${r.ts}\u0000${r.operator}\u0000${tool ?? r.type}`;
    if (!cur || cur.key !== key) {
      cur = { key, seq: [r.seq, r.seq], ts: r.ts, operator: r.operator, tool, reason: r.reason ?? null, ids: [] };
      out.push(cur);
    }
    cur.seq[1] = r.seq;
    const ws = typeof r.workstream_id === 'string' ? r.workstream_id : null;
    const id = r.task_id !== undefined && r.task_id !== null ? `${ws}/${String(r.task_id)}` : ws ?? (r.worker_id ? `worker:${String(r.worker_id)}` : r.resource_id ? `resource:${String(r.resource_id)}` : null);
    if (id !== null && !cur.ids.includes(id)) cur.ids.push(id);
  }
  const kept = only === undefined ? out : out.filter((i) => i.ids.some((id) => id === only || id.startsWith(`${only}/`)));
  return kept.map(({ key: _key, ...i }) => ({ ...i, ids: i.ids.sort() }));
}

function union(a: readonly string[], b: readonly string[]): string[] {
  const seen = new Set(a);
  const out = [...a];
  for (const x of b) if (!seen.has(x)) {
    seen.add(x);
    out.push(x);
  }
  return out;
}
