import type { Metrics, Resource, SchedulerInfo, Task, Worker, Workstream } from './types.js';
import { taskKey } from './types.js';

/** Read access to the whole state, as `decide`, the scheduler and the CLI see it. */
export interface StateView {
  readonly seq: number;
  readonly crc: string;
  /** `ts` of the last record applied (NO_RECORD_TS before the first): derived files are stamped with it, never with the clock. */
  readonly lastTs: string;
  workstream(id: string): Workstream | undefined;
  task(workstreamId: string, taskId: string): Task | undefined;
  worker(id: string): Worker | undefined;
  resource(id: string): Resource | undefined;
  scheduler(): SchedulerInfo | null;
  metrics(): Metrics;
  /** Ids of the tasks that depend on this one. */
  dependents(workstreamId: string, taskId: string): readonly string[];
  workstreamIds(): string[];
  workerIds(): string[];
  resourceIds(): string[];
}

/**
 * Write access used by `apply`. `mut*` returns an object the caller may change in place: the live
 * object for the real state, a private copy for a decision draft, so `decide` never touches the state
 * it was given.
 */
export interface MutableState extends StateView {
  setPosition(seq: number, crc: string, lastTs: string): void;
  putWorkstream(ws: Workstream): void;
  mutWorkstream(id: string): Workstream;
  putTask(task: Task): void;
  mutTask(workstreamId: string, taskId: string): Task;
  /** mutTask, or undefined when there is no such task (one lookup: replay calls this per record). */
  mutTaskIfAny(workstreamId: string, taskId: string): Task | undefined;
  setDependents(workstreamId: string, index: Map<string, string[]>): void;
  putWorker(worker: Worker): void;
  mutWorker(id: string): Worker;
  /** Removes a worker from the state (a shut-down worker released when its scheduler stopped). */
  deleteWorker(id: string): void;
  putResource(resource: Resource): void;
  mutResource(id: string): Resource;
  setScheduler(info: SchedulerInfo | null): void;
  mutMetrics(): Metrics;
  /** Replaces the metrics (a draft's own copy, put into the state it was drafted on). */
  putMetrics(m: Metrics): void;
  /**
   * Appends one completion's duration to metrics' durations_ms of a workstream. MUST: the only
   * writer of durations_ms, which a draft shares with its base instead of copying (a copy per
   * decision cost O(workstreams)): a draft keeps its own durations apart until commitTo.
   */
  addDuration(workstreamId: string, ms: number): void;
}

/** One more number on a comma-separated list of milliseconds (a string concatenation: no copy). */
export function appendMs(list: string, ms: number): string {
  return list === '' ? String(ms) : `${list},${ms}`;
}

/** The `lastTs` of a state no record was applied to yet (an empty log). */
export const NO_RECORD_TS = '1970-01-01T00:00:00.000Z';

export function emptyMetrics(): Metrics {
  return {
    attempts: 0, retries: 0, timeouts: 0, reassignments: 0, task_duration_ms_total: 0, tasks_finished: 0,
    recoveries: {}, recovery_targets: {},
    failures: { exit: 0, timeout: 0, signal: 0, spawn_error: 0, worker_lost: 0, validation: 0, cancelled: 0 },
    exit_codes: {}, tasks_failed: 0, attempts_per_task: {}, completed: 0, durations_ms: {}, first_ts: null,
  };
}

function must<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new Error(`internal: ${what} does not exist`);
  return v;
}

/** The live state: maps keyed by id, changed in place by `apply`. */
export class State implements MutableState {
  seq = 0;
  lastTs = NO_RECORD_TS;
  private crcText = '00000000';
  /** The crc as a number when set by replay and not yet read: hex is made only when asked for. */
  private crcValue = -1;
  readonly workstreams = new Map<string, Workstream>();
  /** Every task by `<workstream>/<task>`; add tasks with putTask only, which keeps byWs in step. */
  readonly tasks = new Map<string, Task>();
  /** The same tasks by workstream, then id: a lookup without building the key (replay does one per record). */
  private readonly byWs = new Map<string, Map<string, Task>>();
  readonly workers = new Map<string, Worker>();
  readonly resources = new Map<string, Resource>();
  readonly deps = new Map<string, Map<string, string[]>>();
  sched: SchedulerInfo | null = null;
  metricsData: Metrics = emptyMetrics();

  workstream(id: string) { return this.workstreams.get(id); }
  task(ws: string, id: string) { return this.byWs.get(ws)?.get(id); }
  worker(id: string) { return this.workers.get(id); }
  resource(id: string) { return this.resources.get(id); }
  scheduler() { return this.sched; }
  metrics() { return this.metricsData; }
  dependents(ws: string, id: string): readonly string[] { return this.deps.get(ws)?.get(id) ?? []; }
  workstreamIds() { return [...this.workstreams.keys()]; }
  workerIds() { return [...this.workers.keys()]; }
  resourceIds() { return [...this.resources.keys()]; }

  get crc(): string {
    if (this.crcValue >= 0) {
      this.crcText = this.crcValue.toString(16).padStart(8, '0');
      this.crcValue = -1;
    }
    return this.crcText;
  }
  set crc(v: string) { this.crcText = v; this.crcValue = -1; }
  setPosition(seq: number, crc: string, lastTs: string) { this.seq = seq; this.crc = crc; this.lastTs = lastTs; }
  /** setPosition with the crc as a number (0 to 2^32 - 1), for replay. */
  setPositionCrc(seq: number, crc: number, lastTs: string) { this.seq = seq; this.crcValue = crc; this.lastTs = lastTs; }
  putWorkstream(ws: Workstream) { this.workstreams.set(ws.id, ws); }
  mutWorkstream(id: string) { return must(this.workstreams.get(id), `workstream ${id}`); }
  putTask(t: Task) {
    this.tasks.set(taskKey(t.workstream_id, t.id), t);
    let inner = this.byWs.get(t.workstream_id);
    if (!inner) this.byWs.set(t.workstream_id, (inner = new Map()));
    inner.set(t.id, t);
  }
  mutTask(ws: string, id: string) { return must(this.task(ws, id), `task ${ws}/${id}`); }
  mutTaskIfAny(ws: string, id: string) { return this.byWs.get(ws)?.get(id); }
  setDependents(ws: string, index: Map<string, string[]>) { this.deps.set(ws, index); }
  putWorker(w: Worker) { this.workers.set(w.id, w); }
  mutWorker(id: string) { return must(this.workers.get(id), `worker ${id}`); }
  deleteWorker(id: string) { this.workers.delete(id); }
  putResource(r: Resource) { this.resources.set(r.id, r); }
  mutResource(id: string) { return must(this.resources.get(id), `resource ${id}`); }
  setScheduler(info: SchedulerInfo | null) { this.sched = info; }
  mutMetrics() { return this.metricsData; }
  putMetrics(m: Metrics) { this.metricsData = m; }
  addDuration(ws: string, ms: number) {
    const d = this.metricsData.durations_ms;
    d[ws] = appendMs(d[ws] ?? '', ms);
  }
}

/**
 * A copy-on-write view over a state: `decide` applies its own events here to see their consequences
 * (dependents to queue, a workstream that completes) without changing the state it was given.
 *
 * Its maps are made on first write and tasks are kept by workstream, then id, like State's: a
 * batch commit makes a draft per decision (two for the last one), and five eager Maps and a
 * `ws/task` key string per lookup were a tenth of a batch's JavaScript.
 */
export class DraftState implements MutableState {
  private ws: Map<string, Workstream> | null = null;
  private ts: Map<string, Map<string, Task>> | null = null;
  private wk: Map<string, Worker> | null = null;
  /** Workers of the base this draft removed (not in wk). */
  private goneWk: Set<string> | null = null;
  private rs: Map<string, Resource> | null = null;
  private dp: Map<string, Map<string, string[]>> | null = null;
  private sched: SchedulerInfo | null | undefined = undefined;
  private met: Metrics | undefined = undefined;
  /** Durations this draft added (workstream, ms), in order: durations_ms itself is the base's, shared. */
  private durs: [string, number][] | null = null;
  seq: number;
  crc: string;
  lastTs: string;

  constructor(private readonly base: StateView) {
    this.seq = base.seq;
    this.crc = base.crc;
    this.lastTs = base.lastTs;
  }

  workstream(id: string) { return this.ws?.get(id) ?? this.base.workstream(id); }
  task(w: string, id: string) { return this.ts?.get(w)?.get(id) ?? this.base.task(w, id); }
  worker(id: string) { return this.wk?.get(id) ?? (this.goneWk?.has(id) ? undefined : this.base.worker(id)); }
  resource(id: string) { return this.rs?.get(id) ?? this.base.resource(id); }
  scheduler() { return this.sched === undefined ? this.base.scheduler() : this.sched; }
  metrics() { return this.met ?? this.base.metrics(); }
  dependents(w: string, id: string): readonly string[] {
    const own = this.dp?.get(w);
    return own ? own.get(id) ?? [] : this.base.dependents(w, id);
  }
  workstreamIds() { return union(this.base.workstreamIds(), this.ws?.keys()); }
  workerIds() {
    const ids = union(this.base.workerIds(), this.wk?.keys());
    const gone = this.goneWk;
    return gone ? ids.filter((id) => !gone.has(id)) : ids;
  }
  resourceIds() { return union(this.base.resourceIds(), this.rs?.keys()); }

  setPosition(seq: number, crc: string, lastTs: string) { this.seq = seq; this.crc = crc; this.lastTs = lastTs; }
  putWorkstream(w: Workstream) { (this.ws ??= new Map()).set(w.id, w); }
  mutWorkstream(id: string) {
    let w = this.ws?.get(id);
    if (!w) {
      const b = must(this.base.workstream(id), `workstream ${id}`);
      // task_ids is fixed at submission and never changed in place, so the draft shares it: copying
      // it made every task transition of a decision O(tasks in the workstream). Fields written
      // out, not `{ ...b }`: see copyTask.
      w = {
        id: b.id, state: b.state, params: b.params, submitted_at: b.submitted_at, finished_at: b.finished_at, task_ids: b.task_ids,
        counts: { ...b.counts }, last_task_seq: b.last_task_seq, last_task_at: b.last_task_at, failure: b.failure, updated_seq: b.updated_seq,
      };
      (this.ws ??= new Map()).set(id, w);
    }
    return w;
  }
  putTask(t: Task) { this.ownTasks(t.workstream_id).set(t.id, t); }
  mutTask(w: string, id: string) {
    return must(this.mutTaskIfAny(w, id), `task ${taskKey(w, id)}`);
  }
  mutTaskIfAny(w: string, id: string) {
    let t = this.ts?.get(w)?.get(id);
    if (!t) {
      const b = this.base.task(w, id);
      if (!b) return undefined;
      t = copyTask(b);
      this.ownTasks(w).set(id, t);
    }
    return t;
  }
  private ownTasks(w: string): Map<string, Task> {
    const all = (this.ts ??= new Map());
    let inner = all.get(w);
    if (!inner) all.set(w, (inner = new Map()));
    return inner;
  }
  setDependents(w: string, index: Map<string, string[]>) { (this.dp ??= new Map()).set(w, index); }
  putWorker(x: Worker) {
    (this.wk ??= new Map()).set(x.id, x);
    this.goneWk?.delete(x.id);
  }
  mutWorker(id: string) {
    let x = this.wk?.get(id);
    if (!x) {
      const b = must(this.goneWk?.has(id) ? undefined : this.base.worker(id), `worker ${id}`);
      // Written out, not `{ ...b }`: see copyTask.
      x = { id: b.id, state: b.state, pid: b.pid, task: b.task, scheduler_id: b.scheduler_id, started_at: b.started_at, pending_request: b.pending_request, updated_seq: b.updated_seq };
      (this.wk ??= new Map()).set(id, x);
    }
    return x;
  }
  deleteWorker(id: string) {
    this.wk?.delete(id);
    (this.goneWk ??= new Set()).add(id);
  }
  putResource(r: Resource) { (this.rs ??= new Map()).set(r.id, r); }
  mutResource(id: string) {
    let r = this.rs?.get(id);
    if (!r) {
      const b = must(this.base.resource(id), `resource ${id}`);
      r = { id: b.id, max_holders: b.max_holders, holders: { ...b.holders }, updated_seq: b.updated_seq };
      (this.rs ??= new Map()).set(id, r);
    }
    return r;
  }
  setScheduler(info: SchedulerInfo | null) { this.sched = info; }
  putMetrics(m: Metrics) { this.met = m; }
  addDuration(w: string, ms: number) { (this.durs ??= []).push([w, ms]); }
  mutMetrics() {
    if (!this.met) {
      const b = this.base.metrics();
      // Every map is one level of numbers, strings or replaced-never-changed objects: copied by
      // hand, since structuredClone costs more than the rest of a task transition's apply.
      // durations_ms is shared, not copied: only addDuration writes it. Fields written out, not
      // `{ ...b, … }`: see copyTask.
      const recoveries: Metrics['recoveries'] = {};
      for (const k in b.recoveries) {
        const v = b.recoveries[k]!;
        recoveries[k] = { count: v.count, succeeded: v.succeeded, failed: v.failed, ttr_ms: v.ttr_ms };
      }
      this.met = {
        attempts: b.attempts, retries: b.retries, timeouts: b.timeouts, reassignments: b.reassignments,
        task_duration_ms_total: b.task_duration_ms_total, tasks_finished: b.tasks_finished,
        recoveries, recovery_targets: { ...b.recovery_targets },
        failures: { ...b.failures }, exit_codes: { ...b.exit_codes }, tasks_failed: b.tasks_failed,
        attempts_per_task: { ...b.attempts_per_task }, completed: b.completed, durations_ms: b.durations_ms, first_ts: b.first_ts,
      };
    }
    return this.met;
  }

  /**
   * Puts everything this draft changed into `target` (which its base chain must end at): after
   * `apply` of some records on the draft, `target` ends up as if they had been applied to it, and
   * the draft's copies become the target's objects (a record-by-record apply would redo the work).
   */
  commitTo(target: MutableState): void {
    if (this.ws) for (const w of this.ws.values()) target.putWorkstream(w);
    if (this.ts) for (const inner of this.ts.values()) for (const t of inner.values()) target.putTask(t);
    if (this.goneWk) for (const id of this.goneWk) target.deleteWorker(id);
    if (this.wk) for (const x of this.wk.values()) target.putWorker(x);
    if (this.rs) for (const r of this.rs.values()) target.putResource(r);
    if (this.dp) for (const [w, index] of this.dp) target.setDependents(w, index);
    if (this.sched !== undefined) target.setScheduler(this.sched);
    if (this.met) target.putMetrics(this.met);
    if (this.durs) for (const [w, ms] of this.durs) target.addDuration(w, ms);
    target.setPosition(this.seq, this.crc, this.lastTs);
  }
}

/**
 * A draft's own copy of a task, every field written out: `{ ...t }` of a task takes V8's slow
 * generic path (measured ~2 µs a copy in a batch commit, a tenth of its JavaScript), a literal
 * of known keys does not. TypeScript refuses the literal if Task gains a field it lacks.
 */
function copyTask(t: Task): Task {
  const c: Task = {
    id: t.id, command: t.command, depends_on: [...t.depends_on], resources: t.resources, critical: t.critical,
    priority: t.priority, timeout_seconds: t.timeout_seconds, max_retries: t.max_retries,
    retry_base_seconds: t.retry_base_seconds, retry_cap_seconds: t.retry_cap_seconds, validate: t.validate,
    cwd: t.cwd, env: t.env, workstream_id: t.workstream_id, state: t.state, order: t.order,
    path_length: t.path_length, retry_count: t.retry_count, attempt: t.attempt, worker_id: t.worker_id,
    pid: t.pid, pgid: t.pgid, process_start: t.process_start, scheduler_id: t.scheduler_id,
    started_at: t.started_at, deadline: t.deadline, retry_at: t.retry_at, queued_at: t.queued_at,
    finished_at: t.finished_at, last_outcome: t.last_outcome, cancel_trigger: t.cancel_trigger,
    blocked_by: t.blocked_by, resource_warned: t.resource_warned, updated_seq: t.updated_seq,
  };
  // Optional fields (TypeScript does not ask for them): only tasks that have them pay for them.
  if (t.cpus !== undefined) c.cpus = t.cpus;
  if (t.memory_mb !== undefined) c.memory_mb = t.memory_mb;
  if (t.gpus !== undefined) c.gpus = t.gpus;
  if (t.job_id !== undefined) {
    c.executor = t.executor;
    c.job_id = t.job_id;
  }
  return c;
}

function union(a: string[], b: Iterable<string> | undefined): string[] {
  if (!b) return a;
  const s = new Set(a);
  for (const x of b) s.add(x);
  return [...s];
}
