import type { RecordType } from './catalogue.js';
import { buildWorkstream } from './build.js';
import { applyCarriedForward } from './carry.js';
import { applyTaskAdded, applyTaskUpdated, applyWorkstreamReset, applyWorkstreamUpdated } from './apply-update.js';
import { countStart, endTask, getTask, type Handler, invalid, moveTask, moveWorker, moveWorkerBy, moveWorkstream, noteRecovery, retryLater, str } from './apply-moves.js';
import type { MutableState, State } from './state.js';
import type { Envelope, LogRecord, WorkstreamSpec } from './types.js';
import { taskKey } from './types.js';

/**
 * apply(state, record): the one way a record changes the state — used by replay, by the live
 * scheduler and by `decide` on its draft, so a replay is exact by construction.
 *
 * It reads nothing but the state and the record (no clock, no I/O, no randomness) and changes the
 * state in place through `mut*`, which for a draft means a private copy. A record the transition
 * tables do not allow is never ignored: it throws LOG_INVALID naming its seq.
 */
export function apply(s: MutableState, r: LogRecord): void {
  if (s.seq === 0) s.mutMetrics().first_ts = r.ts;
  handlerOf(r).apply(s, r);
  s.setPosition(r.seq, r.crc, r.ts);
}

/**
 * A record as replay parses it: without `id` and `crc`, which the log scanner has checked in the
 * bytes and which no handler reads (a test applies every golden log through records that throw on
 * reading either).
 */
export type ReplayedRecord = Omit<Envelope, 'id' | 'crc'> & { [field: string]: unknown };

/** apply for replay: the same handlers, the record's crc given as the number the scanner verified. */
export function applyReplayed(s: State, r: ReplayedRecord, crc: number): void {
  const rec = r as LogRecord;
  const h = handlerOf(rec);
  // The same name, as the catalogue's own string: JSON.parse makes a new string per record, and a
  // property lookup by a new string must first find it in V8's string table (see canonicalState).
  rec.type = h.type;
  if (s.seq === 0) s.mutMetrics().first_ts = r.ts;
  h.apply(s, rec);
  s.setPositionCrc(r.seq, crc, r.ts);
}

function handlerOf(r: LogRecord): { apply: Handler; type: RecordType } {
  // One Map lookup finds the handler and proves the type known (replay calls this per record).
  const h = typeof r.type === 'string' ? HANDLER_OF.get(r.type) : undefined;
  if (h === undefined) invalid(r, `unknown record type ${JSON.stringify(r.type)}`);
  return h;
}

const HANDLERS: { readonly [T in RecordType]: Handler } = {
  workstream_submitted(s, r) {
    const spec = r.spec as WorkstreamSpec;
    if (s.workstream(spec.id)) invalid(r, `workstream ${spec.id} already exists`);
    const built = buildWorkstream(spec, r.ts, r.seq);
    s.putWorkstream(built.workstream);
    for (const t of built.tasks) s.putTask(t);
    s.setDependents(spec.id, built.dependents);
  },
  workstream_started: moveWorkstream,
  workstream_completed(s, r) {
    moveWorkstream(s, r);
    s.mutWorkstream(str(r, 'workstream_id')).finished_at = r.ts;
  },
  workstream_failed(s, r) {
    moveWorkstream(s, r);
    const ws = s.mutWorkstream(str(r, 'workstream_id'));
    ws.finished_at = r.ts;
    ws.failure = { reason: typeof r.failure === 'string' ? r.failure : 'failed', task_id: typeof r.task_id === 'string' ? r.task_id : null };
  },
  workstream_cancelled(s, r) {
    moveWorkstream(s, r);
    s.mutWorkstream(str(r, 'workstream_id')).finished_at = r.ts;
  },
  workstream_reopened(s, r) {
    moveWorkstream(s, r);
    const ws = s.mutWorkstream(str(r, 'workstream_id'));
    ws.finished_at = null;
    ws.failure = null;
  },
  workstream_rolled_back(s, r) {
    const id = str(r, 'workstream_id');
    if (!s.workstream(id)) invalid(r, `unknown workstream ${id}`);
    s.mutWorkstream(id).updated_seq = r.seq;
  },
  workstream_resumed(s, r) {
    const id = str(r, 'workstream_id');
    if (!s.workstream(id)) invalid(r, `unknown workstream ${id}`);
    const ws = s.mutWorkstream(id);
    const params = (r.params ?? {}) as Record<string, string>;
    ws.params = { ...ws.params, ...params };
    ws.updated_seq = r.seq;
  },
  workstream_updated: applyWorkstreamUpdated,
  workstream_reset: applyWorkstreamReset,
  task_queued(s, r) {
    const t = moveTask(s, r);
    t.queued_at = r.ts;
    t.retry_at = null;
    t.resource_warned = false;
  },
  task_blocked(s, r) {
    const t = moveTask(s, r);
    t.blocked_by = typeof r.blocked_by === 'string' ? r.blocked_by : null;
  },
  task_unblocked(s, r) {
    moveTask(s, r).blocked_by = null;
  },
  task_started(s, r) {
    const t = moveTask(s, r);
    const key = taskKey(t.workstream_id, t.id);
    countStart(s, t);
    t.attempt = r.attempt as number;
    t.worker_id = str(r, 'worker_id');
    t.pid = (r.pid ?? null) as number | null;
    t.pgid = (r.pgid ?? null) as number | null;
    t.process_start = (r.process_start ?? null) as string | null;
    t.scheduler_id = (r.scheduler_id ?? null) as string | null;
    t.started_at = r.ts;
    t.deadline = (r.deadline ?? null) as string | null;
    t.finished_at = null;
    // Set only for a cluster job, so a local task keeps its shape (and current.json its bytes).
    if (typeof r.job_id === 'string') {
      t.executor = 'slurm';
      t.job_id = r.job_id;
    } else if (t.job_id !== undefined) {
      t.executor = undefined;
      t.job_id = undefined;
    }
    for (const rid in t.resources) {
      if (!s.resource(rid)) invalid(r, `task ${key} takes undeclared resource ${rid}`);
      const res = s.mutResource(rid);
      res.holders[key] = t.resources[rid]!;
      res.updated_seq = r.seq;
    }
    const w = s.worker(t.worker_id);
    if (!w) invalid(r, `unknown worker ${t.worker_id}`);
    moveWorker(s, r, t.worker_id, 'busy');
    s.mutWorker(t.worker_id).task = key;
  },
  task_validating(s, r) {
    const t = moveTask(s, r);
    if (typeof r.pid === 'number') t.pid = r.pid;
  },
  task_completed: endTask,
  task_attempt_failed: retryLater,
  task_timed_out: retryLater,
  task_failed: endTask,
  task_validation_failed: endTask,
  task_adopted(s, r) {
    const t = moveTask(s, r);
    const key = taskKey(t.workstream_id, t.id);
    const prev = t.worker_id;
    if (prev !== null) {
      const old = s.worker(prev);
      if (old && old.task === key) {
        if (old.state !== 'shutdown') moveWorker(s, r, prev, old.state === 'busy' ? 'idle' : old.state);
        s.mutWorker(prev).task = null;
      }
    }
    t.worker_id = str(r, 'worker_id');
    if (!s.worker(t.worker_id)) invalid(r, `unknown worker ${t.worker_id}`);
    t.scheduler_id = (r.scheduler_id ?? null) as string | null;
    moveWorker(s, r, t.worker_id, 'busy');
    s.mutWorker(t.worker_id).task = key;
  },
  task_reassigned(s, r) {
    const t = moveTask(s, r);
    t.queued_at = r.ts;
    const m = s.mutMetrics();
    m.reassignments += 1;
    // The attempt's worker (or the scheduler) was lost: the attempt ends without an outcome.
    m.failures.worker_lost += 1;
  },
  task_cancelled(s, r) {
    const t = moveTask(s, r);
    t.cancel_trigger = typeof r.trigger === 'string' ? r.trigger : 'operator';
    t.finished_at = r.ts;
    t.retry_at = null;
  },
  task_skipped(s, r) {
    const t = moveTask(s, r);
    noteRecovery(s, r, t, t.finished_at);
    t.finished_at = r.ts;
    t.retry_at = null;
  },
  task_retried(s, r) {
    const t = moveTask(s, r);
    noteRecovery(s, r, t, t.finished_at);
    if (typeof r.timeout_seconds === 'number') t.timeout_seconds = r.timeout_seconds;
    if (typeof r.max_retries === 'number') t.max_retries = r.max_retries;
    if (typeof r.retry_count === 'number') t.retry_count = r.retry_count;
    t.retry_at = null;
    t.finished_at = null;
    t.cancel_trigger = null;
    t.blocked_by = null;
  },
  task_reset(s, r) {
    const t = moveTask(s, r);
    noteRecovery(s, r, t, t.finished_at);
    if (typeof r.retry_count === 'number') t.retry_count = r.retry_count;
    t.retry_at = null;
    t.cancel_trigger = null;
    t.blocked_by = null;
    if (t.state === 'pending') t.finished_at = null;
  },
  task_dependency_removed(s, r) {
    const t = getTask(s, r);
    const dep = str(r, 'dependency_id');
    if (!t.depends_on.includes(dep)) invalid(r, `task ${t.id} does not depend on ${dep}`);
    t.depends_on = t.depends_on.filter((d) => d !== dep);
    t.updated_seq = r.seq;
    const idx = new Map<string, string[]>();
    const ws = s.workstream(t.workstream_id)!;
    for (const id of ws.task_ids) {
      for (const d of s.task(ws.id, id)!.depends_on) {
        const list = idx.get(d);
        if (list) list.push(id);
        else idx.set(d, [id]);
      }
    }
    s.setDependents(ws.id, idx);
    s.mutWorkstream(ws.id).updated_seq = r.seq;
  },
  task_updated: applyTaskUpdated,
  task_added: applyTaskAdded,
  resource_declared(s, r) {
    const id = str(r, 'resource_id');
    if (s.resource(id)) invalid(r, `resource ${id} already exists`);
    s.putResource({ id, max_holders: (r.max_holders ?? null) as number | null, holders: {}, updated_seq: r.seq });
  },
  resource_limit_changed(s, r) {
    const id = str(r, 'resource_id');
    if (!s.resource(id)) invalid(r, `unknown resource ${id}`);
    const res = s.mutResource(id);
    res.max_holders = (r.max_holders ?? null) as number | null;
    res.updated_seq = r.seq;
  },
  resource_exhausted(s, r) {
    if (typeof r.task_id === 'string' && typeof r.workstream_id === 'string' && s.task(r.workstream_id, r.task_id)) {
      s.mutTask(r.workstream_id, r.task_id).resource_warned = true;
    }
  },
  worker_started(s, r) {
    const id = str(r, 'worker_id');
    const prev = s.worker(id);
    if (prev) moveWorkerBy(s, r, id, 'idle');
    const base = prev ? s.mutWorker(id) : undefined;
    const w = base ?? { id, state: 'idle' as const, pid: null, task: null, scheduler_id: null, started_at: r.ts, pending_request: null, updated_seq: r.seq };
    w.pid = (r.pid ?? null) as number | null;
    w.scheduler_id = (r.scheduler_id ?? null) as string | null;
    w.started_at = r.ts;
    w.task = null;
    w.pending_request = null;
    w.updated_seq = r.seq;
    if (!prev) s.putWorker(w);
  },
  worker_unresponsive(s, r) {
    moveWorkerBy(s, r, str(r, 'worker_id'), 'unresponsive');
  },
  worker_recovered(s, r) {
    const id = str(r, 'worker_id');
    const w = s.worker(id);
    if (!w) invalid(r, `unknown worker ${id}`);
    moveWorkerBy(s, r, id, w.task ? 'busy' : 'idle');
  },
  worker_shutdown(s, r) {
    const id = str(r, 'worker_id');
    if (!s.worker(id)) invalid(r, `unknown worker ${id}`);
    if (s.worker(id)!.task) invalid(r, `worker ${id} still runs ${s.worker(id)!.task}; its task must be reassigned first`);
    moveWorkerBy(s, r, id, 'shutdown');
    const w = s.mutWorker(id);
    w.pending_request = null;
    w.pid = null;
  },
  worker_restart_requested(s, r) {
    const id = str(r, 'worker_id');
    if (!s.worker(id)) invalid(r, `unknown worker ${id}`);
    s.mutWorker(id).pending_request = { kind: 'restart', reassign: true, seq: r.seq };
  },
  worker_shutdown_requested(s, r) {
    const id = str(r, 'worker_id');
    if (!s.worker(id)) invalid(r, `unknown worker ${id}`);
    s.mutWorker(id).pending_request = { kind: 'shutdown', reassign: r.reassign === true, seq: r.seq };
  },
  scheduler_started(s, r) {
    s.setScheduler({ id: str(r, 'scheduler_id'), pid: r.pid as number, process_start: (r.process_start ?? null) as string | null, started_at: r.ts });
  },
  scheduler_stopped(s, r) {
    // Records of older builds have no released_workers: their workers stay, shut down.
    const released = r.released_workers ?? [];
    if (!Array.isArray(released)) invalid(r, 'released_workers is not a list');
    for (const id of released as unknown[]) {
      const w = typeof id === 'string' ? s.worker(id) : undefined;
      if (!w) invalid(r, `released_workers names ${JSON.stringify(id)}, which is not a worker`);
      if (w.state !== 'shutdown') invalid(r, `released_workers names worker ${w.id}, which is ${w.state}, not shut down`);
    }
    for (const id of released as string[]) s.deleteWorker(id);
    s.setScheduler(null);
  },
  checkpoint_named(s, r) {
    // A name for a point already in the log: nothing in the state changes (not even updated_seq,
    // so an archived workstream's file stays the one its snapshot names).
    const id = str(r, 'workstream_id');
    if (!s.workstream(id)) invalid(r, `unknown workstream ${id}`);
    if (!Number.isSafeInteger(r.checkpoint_seq) || (r.checkpoint_seq as number) < 1 || (r.checkpoint_seq as number) >= r.seq) invalid(r, 'checkpoint_seq is not a seq before the record');
  },
  system_checkpoint_created(_s, r) {
    if (!Number.isSafeInteger(r.checkpoint_seq) || (r.checkpoint_seq as number) < 0 || (r.checkpoint_seq as number) >= r.seq) invalid(r, 'checkpoint_seq is not a seq before the record');
  },
  system_checkpoint_restored() {},
  state_restored() {},
  state_repaired() {},
  log_archived() {},
  record_lost() {},
  workstream_carried_forward: applyCarriedForward,
};

const HANDLER_OF: ReadonlyMap<string, { apply: Handler; type: RecordType }> = new Map(
  (Object.entries(HANDLERS) as [RecordType, Handler][]).map(([type, h]) => [type, { apply: h, type }]),
);
