import { CairnError } from '../errors.js';
import { apply } from './apply.js';
import { RECORD_TYPES, type RecordType } from './catalogue.js';
import { DraftState, type StateView } from './state.js';
import { SATISFIED_TASK_STATES, TERMINAL_WORKSTREAM_STATES, type TaskState } from './states.js';
import { TASK_TRANSITIONS, allowedTargets, allowedTypes } from './transitions.js';
import { isoTime } from './time.js';
import type { Draft, LogRecord, Task } from './types.js';

/** Who asked, and why: stamped on every record of an operator's decision. */
export interface Actor {
  operator: string | null;
  reason?: string;
  /** The recovery tool's name (skip_task, …), written as `action` so interventions.log can be rebuilt. */
  action?: string;
}

/**
 * One decision in progress: records are emitted onto a private draft of the state, so each next
 * step (and `settle`) sees the consequences of the previous ones. The state given to the
 * constructor is never changed.
 */
export class Decision {
  readonly draft: DraftState;
  readonly out: Draft[] = [];
  private readonly ts: string;
  private readonly touched = new Set<string>();

  constructor(base: StateView, readonly now: number, readonly actor: Actor = { operator: null }) {
    this.draft = new DraftState(base);
    this.ts = isoTime(now);
  }

  /** Appends a record to the decision and applies it to the draft. */
  emit(d: Draft): void {
    // MUST (speed, V8): no object literal here may *start* with a spread and go on with more keys
    // (`{ ...x, k: v }`), nor may keys be added to a spread copy afterwards: with the mix of record
    // shapes a decision makes, V8 then builds hidden classes afresh (0.8–6 µs a record, measured).
    // Literal keys first and one spread last stays on the cached path (~0.16 µs); key order is
    // irrelevant (the codec writes KEY_ORDER). The record's own severity and operator, when it
    // has them, win over the envelope's defaults by coming later.
    let full = d;
    if (this.actor.operator !== null && d.operator === undefined) {
      // Records of a fresh literal are the caller's to give away; this one is changed, so copied.
      full = { type: d.type, ...(d as object) } as Draft;
      full.operator = this.actor.operator;
      if (this.actor.reason !== undefined && full.reason === undefined) full.reason = this.actor.reason;
      if (this.actor.action !== undefined && full.action === undefined) full.action = this.actor.action;
      full.severity ??= RECORD_TYPES[d.type].severity === 'info' ? 'warning' : RECORD_TYPES[d.type].severity;
    }
    const rec = {
      seq: this.draft.seq + 1, id: '', ts: this.ts, type: full.type, severity: RECORD_TYPES[d.type].severity, operator: null, crc: '00000000',
      ...(full as object),
    } as LogRecord;
    apply(this.draft, rec);
    this.out.push(full);
    if (typeof d.workstream_id === 'string' && typeof d.task_id === 'string') this.touched.add(`${d.workstream_id}\u0000${d.task_id}`);
  }

  /** Marks a task for `settle`, for records that change tasks without naming one (a carried-forward workstream). */
  touch(ws: string, id: string): void {
    this.touched.add(`${ws}\u0000${id}`);
  }

  task(ws: string, id: string): Task {
    const t = this.draft.task(ws, id);
    if (!t) throw new CairnError('UNKNOWN_TASK', `no task ${ws}/${id}`);
    return t;
  }

  /**
   * Moves a task by `type` to `to`, refusing with ILLEGAL_TRANSITION (naming the current state and
   * what is allowed from it) when the table does not allow it. `more` overrides `fields` (so callers
   * need no `{ ...base, k: v }`, see emit).
   */
  move(t: Task, type: RecordType, to: TaskState, fields: Record<string, unknown> = {}, more?: Record<string, unknown>): void {
    assertTaskTransition(t, type, to);
    this.emit({ type, workstream_id: t.workstream_id, task_id: t.id, from: t.state, to, ...fields, ...more });
  }

  /** Applies every automatic transition implied by what this decision changed (DESIGN §2). */
  settle(): Draft[] {
    const seenWs = new Set<string>();
    while (this.touched.size > 0) {
      const batch = [...this.touched];
      this.touched.clear();
      for (const k of batch) {
        const [ws, id] = k.split('\u0000') as [string, string];
        seenWs.add(ws);
        this.settleTask(ws, id);
      }
    }
    for (const ws of seenWs) this.settleWorkstream(ws);
    return this.out;
  }

  private settleTask(wsId: string, id: string): void {
    const ws = this.draft.workstream(wsId);
    if (!ws || TERMINAL_WORKSTREAM_STATES.has(ws.state)) return;
    const t = this.draft.task(wsId, id)!;
    this.settleReadiness(t);
    for (const depId of this.draft.dependents(wsId, id)) this.settleReadiness(this.draft.task(wsId, depId)!);
  }

  /** pending→queued when every dependency is satisfied, pending→blocked when one failed, blocked→pending when none is. */
  private settleReadiness(t: Task): void {
    if (t.state !== 'pending' && t.state !== 'blocked') return;
    let failed: string | null = null;
    let ready = true;
    for (const d of t.depends_on) {
      const dep = this.draft.task(t.workstream_id, d);
      if (!dep) continue; // removed from the spec: nothing to wait for
      if (dep.state === 'failed') failed ??= d;
      if (!SATISFIED_TASK_STATES.has(dep.state)) ready = false;
    }
    if (t.state === 'blocked') {
      if (failed !== null) return;
      this.move(t, 'task_unblocked', 'pending');
      t = this.draft.task(t.workstream_id, t.id)!;
    }
    if (failed !== null) this.move(t, 'task_blocked', 'blocked', { blocked_by: failed });
    else if (ready) this.move(t, 'task_queued', 'queued', { trigger: 'dependencies_met' });
  }

  /** Starts, completes or fails the workstream as its task counts now say. */
  settleWorkstream(wsId: string): void {
    const ws = this.draft.workstream(wsId);
    if (!ws || TERMINAL_WORKSTREAM_STATES.has(ws.state)) return;
    const c = ws.counts;
    const total = ws.task_ids.length;
    const active = c.queued + c.running + c.validating + c.retrying;
    if (ws.state === 'pending' && active > 0) {
      this.emit({ type: 'workstream_started', workstream_id: wsId, from: 'pending', to: 'running' });
    }
    const done = c.completed + c.skipped + c.cancelled;
    const now = this.draft.workstream(wsId)!;
    if (done === total && c.cancelled === total) {
      // Nothing was done at all: calling that "completed" would tell a dashboard or a script the work happened.
      this.emit({ type: 'workstream_cancelled', workstream_id: wsId, from: now.state, to: 'cancelled', trigger: 'all_tasks_cancelled' });
    } else if (done === total) {
      this.emit({ type: 'workstream_completed', workstream_id: wsId, from: now.state, to: 'completed' });
    } else if (active === 0) {
      // Nothing runs or waits for a worker, and the rest cannot start: stuck behind a failure.
      const failure = c.failed + c.blocked > 0 ? 'task_failed' : 'stalled';
      this.emit({ type: 'workstream_failed', workstream_id: wsId, from: now.state, to: 'failed', trigger: failure, failure: `${c.failed} failed, ${c.blocked} blocked, ${c.pending} pending tasks cannot make progress` });
    }
  }

  /** A critical task failed: the workstream fails at once and its other unfinished tasks are cancelled. */
  failCritical(t: Task): void {
    const ws = this.draft.workstream(t.workstream_id)!;
    if (TERMINAL_WORKSTREAM_STATES.has(ws.state)) return;
    this.emit({ type: 'workstream_failed', workstream_id: ws.id, task_id: t.id, from: ws.state, to: 'failed', trigger: 'critical_failure', failure: `critical task ${t.id} failed` });
    for (const id of ws.task_ids) {
      const other = this.draft.task(ws.id, id)!;
      if (allowedTargets(TASK_TRANSITIONS, other.state, 'task_cancelled').length > 0) {
        this.move(other, 'task_cancelled', 'cancelled', { trigger: 'critical_failure' });
      }
    }
  }
}

export function assertTaskTransition(t: Task, type: RecordType, to: TaskState): void {
  if (!allowedTargets(TASK_TRANSITIONS, t.state, type).includes(to)) {
    const allowed = allowedTypes(TASK_TRANSITIONS, t.state);
    throw new CairnError('ILLEGAL_TRANSITION', `task ${t.workstream_id}/${t.id} is ${t.state}; ${type} to ${to} is not allowed from ${t.state}`, {
      details: { workstream_id: t.workstream_id, task_id: t.id, state: t.state, requested: type, allowed },
      hint: allowed.length > 0 ? `From ${t.state} the allowed changes are: ${allowed.join(', ')}` : `${t.state} is final for this kind of change`,
    });
  }
}
