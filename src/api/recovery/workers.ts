import { setTimeout as sleep } from 'node:timers/promises';
import { resolveWorker } from '../../model/resolve.js';
import { ACTIVE_TASK_STATES } from '../../model/states.js';
import type { LogRecord, Worker } from '../../model/types.js';
import { checkWorker as verdict, type WorkerCheck } from '../../recovery/check-worker.js';
import { decide as forceDecide } from '../../recovery/force-shutdown-worker.js';
import { decide as restartDecide } from '../../recovery/restart-worker.js';
import { liveScheduler } from '../../scheduler/liveness.js';
import { readRecords } from '../../store/records.js';
import { readWorkersFile, workerLogTail, type WorkerHealth } from '../../store/recovery-files.js';
import type { Store } from '../../store/store.js';
import { type CommonOptions, withStore } from '../common.js';
import { slurmLive } from '../slurm-live.js';
import { actor, type ActionOptions, type ActionResult, runAction } from './action.js';

/** check_worker: the worker as the log knows it, its live health from the scheduler, and a verdict. */
export async function checkWorker(o: CommonOptions & { worker: string }) {
  return withStore(o, { readOnly: true }, async (store) => {
    const w = workerOf(store, o.worker);
    const sched = await liveScheduler(store);
    const file = sched ? readWorkersFile(store.io, store.paths) : null;
    const health: WorkerHealth | null = file?.workers.find((x) => x.id === w.id) ?? null;
    const task = w.task ? (() => {
      const [ws, id] = [w.task.slice(0, w.task.indexOf('/')), w.task.slice(w.task.indexOf('/') + 1)];
      const t = store.state.task(ws, id);
      return t ? { task: w.task, state: t.state, attempt: t.attempt, started_at: t.started_at, deadline: t.deadline, ...(t.job_id !== undefined ? { job_id: t.job_id } : {}) } : null;
    })() : null;
    // A Slurm worker is a slot: the executor's in-flight jobs (every slot's), with their live state from one squeue.
    const inFlight = slurmJobsInFlight(store);
    const live = await slurmLive(inFlight.map((j) => j.job_id));
    const jobs = inFlight.map((j) => ({ ...j, slurm: live.get(j.job_id)! }));
    const recent = readRecords(store.io, store.paths.log, { workerId: w.id, last: 10 }).records.map((r) => ({ seq: r.seq, ts: r.ts, type: r.type, trigger: r.trigger ?? null, task: r.task_id ? `${String(r.workstream_id)}/${String(r.task_id)}` : null }));
    const check: WorkerCheck = verdict(w, health, sched !== null, store.config);
    return {
      worker: { id: w.id, state: w.state, pid: w.pid, started_at: w.started_at, scheduler_id: w.scheduler_id, pending_request: w.pending_request },
      task, job: jobs.find((j) => j.worker_id === w.id)?.slurm ?? null, executor_jobs: jobs,
      scheduler: { live: sched !== null, pid: sched?.pid ?? null }, live: health ?? null, health_written_at: file?.written_at ?? null,
      recent, ...check,
    };
  });
}

/** Every running or validating task on Slurm: its job id and the slot (worker) that follows it, by task. */
function slurmJobsInFlight(store: Store): { task: string; worker_id: string | null; job_id: string }[] {
  const s = store.state;
  const out: { task: string; worker_id: string | null; job_id: string }[] = [];
  for (const wsId of s.workstreamIds()) {
    for (const id of s.workstream(wsId)!.task_ids) {
      const t = s.task(wsId, id)!;
      if (t.job_id !== undefined && ACTIVE_TASK_STATES.has(t.state)) out.push({ task: `${wsId}/${id}`, worker_id: t.worker_id, job_id: t.job_id });
    }
  }
  return out.sort((a, b) => (a.task < b.task ? -1 : a.task > b.task ? 1 : 0));
}

/** show_worker_logs: the tail of a worker's stderr log and its recent records. */
export async function showWorkerLogs(o: CommonOptions & { worker: string; lines?: number }) {
  return withStore(o, { readOnly: true }, async (store) => {
    const w = workerOf(store, o.worker);
    const log = workerLogTail(store.io, store.paths, w.id, o.lines ?? 50);
    const records = readRecords(store.io, store.paths.log, { workerId: w.id, last: o.lines ?? 50 }).records;
    return { worker_id: w.id, state: w.state, log_path: log?.path ?? store.paths.workerLog(w.id), log: log?.lines ?? null, bytes: log?.bytes ?? 0, records };
  });
}

/**
 * The worker as the state knows it; a worker of a finished run left the state when its scheduler
 * stopped (released_workers), so it is answered from its last worker_started and worker_shutdown
 * records. UNKNOWN_WORKER when neither the state nor the log knows it.
 */
function workerOf(store: Store, id: string): Worker {
  const w = store.state.worker(id);
  if (w) return w;
  const recs = readRecords(store.io, store.paths.log, { workerId: id, types: ['worker_started', 'worker_shutdown'], last: 2 }).records;
  const started = recs.findLast((r) => r.type === 'worker_started');
  const stopped = recs.at(-1);
  if (!started || stopped?.type !== 'worker_shutdown') return resolveWorker(store.state, id);
  const scheduler = typeof started.scheduler_id === 'string' ? started.scheduler_id : null;
  return { id, state: 'shutdown', pid: null, task: null, scheduler_id: scheduler, started_at: started.ts, pending_request: null, updated_seq: stopped.seq };
}

/** Waits (polling the log) until the scheduler records what a request asked for, or the time is up. */
async function awaitOutcome(store: Store, after: number, done: (r: LogRecord) => boolean, ms: number): Promise<LogRecord[] | null> {
  const until = Date.now() + ms;
  const seen: LogRecord[] = [];
  let from = after;
  while (Date.now() < until) {
    store.refresh();
    const got = readRecords(store.io, store.paths.log, { sinceSeq: from }).records;
    if (got.length > 0) from = got[got.length - 1]!.seq;
    for (const r of got) seen.push(r); // not push(...got): a long stretch of records would overflow the stack
    if (seen.some(done)) return seen;
    await sleep(50);
  }
  return null;
}

export interface WorkerRequestOptions extends ActionOptions {
  worker: string;
  /** How long to wait for the scheduler to act (0: do not wait). Default 10 s. */
  waitMs?: number;
}

/** restart_worker: asks the live scheduler to restart the worker (exit 1 when none runs) and waits for it. */
export function restartWorker(o: WorkerRequestOptions): Promise<ActionResult & { outcome?: string }> {
  const req = { ...actor(o), worker: o.worker };
  return runAction(o, {
    tool: 'restart_worker',
    needsScheduler: `no scheduler runs, so worker ${o.worker} has no process to restart`,
    decide: (s, now) => restartDecide(s, req, now),
    nothing: (s) => `a restart of worker ${o.worker} is already requested (seq ${s.worker(o.worker)?.pending_request?.seq ?? '?'}); the scheduler acts on it`,
    done: () => `request a restart of worker ${o.worker}`,
    after: async (store, recs, result) => {
      if ((o.waitMs ?? 10_000) <= 0 || recs.length === 0) return;
      const seq = recs[recs.length - 1]!.seq;
      const got = await awaitOutcome(store, seq, (r) => r.type === 'worker_started' && r.worker_id === o.worker, o.waitMs ?? 10_000);
      result.scheduler_acted = got !== null;
      if (got) result.message = `worker ${o.worker} restarted (seq ${got.find((r) => r.type === 'worker_started')!.seq})`;
      else {
        result.message = `restart of worker ${o.worker} requested (seq ${seq}); the scheduler has not restarted it within ${o.waitMs ?? 10_000} ms`;
        result.warnings.push('the scheduler did not act in time; check it with: cairn check-worker --worker-id ' + o.worker);
      }
    },
  });
}

/**
 * force_shutdown_worker: with a live scheduler, asks it to kill the worker (and waits); without one,
 * records the shutdown directly after killing what is left of its task. With reassign its task is
 * queued again without spending a retry; without, the attempt counts as failed.
 */
export function forceShutdownWorker(o: WorkerRequestOptions & { reassign?: boolean }): Promise<ActionResult> {
  const reassign = o.reassign === true;
  return runAction(o, {
    tool: 'force_shutdown_worker',
    decide: (s, now, live) => forceDecide(s, { ...actor(o), worker: o.worker, reassign, schedulerLive: live !== null }, now),
    nothing: (s) => s.worker(o.worker)?.state === 'shutdown' ? `worker ${o.worker} is already shut down` : `a shutdown of worker ${o.worker} is already requested`,
    done: (s, r) => {
      if (r.some((x) => x.type === 'worker_shutdown_requested')) return `request the shutdown of worker ${o.worker}${reassign ? ' (its task reassigned)' : ''}`;
      const t = r.find((x) => x.task_id !== undefined && x.from === 'running');
      return `shut down worker ${o.worker}${t ? `; its task ${String(t.workstream_id)}/${String(t.task_id)} is ${s.task(String(t.workstream_id), String(t.task_id))?.state}` : ''}`;
    },
    after: async (store, recs, result) => {
      if (!recs.some((r) => r.type === 'worker_shutdown_requested') || (o.waitMs ?? 10_000) <= 0) return;
      const got = await awaitOutcome(store, recs[recs.length - 1]!.seq, (r) => r.type === 'worker_shutdown' && r.worker_id === o.worker, o.waitMs ?? 10_000);
      result.scheduler_acted = got !== null;
      if (got) result.message = `worker ${o.worker} shut down by the scheduler (seq ${got.find((r) => r.type === 'worker_shutdown')!.seq})`;
      else result.warnings.push(`the scheduler has not shut worker ${o.worker} down within ${o.waitMs ?? 10_000} ms; check it with: cairn check-worker --worker-id ${o.worker}`);
    },
  });
}
