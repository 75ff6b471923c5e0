import { CairnError } from '../errors.js';
import { Decision } from '../model/decision.js';
import { taskAdopt, workerShutdown } from '../model/decide.js';
import { ACTIVE_TASK_STATES } from '../model/states.js';
import type { Task } from '../model/types.js';
import { taskKey } from '../model/types.js';
import { findStrayJobs, SlurmPool, slurmInstalled, type TaskExecutor } from '../runner/index.js';
import type { Config, ExecutorConfig } from '../schemas/config.js';
import type { Engine } from './engine.js';

/** Refuses (SLURM_UNAVAILABLE, exit 2) when the Slurm client programs are not on PATH. */
export function assertSlurm(): void {
  if (!slurmInstalled()) {
    throw new CairnError('SLURM_UNAVAILABLE', 'the slurm executor needs sbatch, squeue and scancel on PATH, and they are not there', {
      hint: 'Install the Slurm client (Debian: apt-get install slurm-client) and its munge key, or run with --executor local.',
    });
  }
}

/** The Slurm executor of a run; refuses at once (exit 2) when the Slurm programs are not here. */
export function slurmExecutor(executor: ExecutorConfig, cfg: Config, schedulerId: string, now: () => number): TaskExecutor {
  assertSlurm();
  return new SlurmPool({ heartbeatMs: cfg.heartbeat_ms, graceMs: cfg.kill_grace_ms, config: executor, schedulerId, now });
}

/** Running or validating tasks whose attempt is a Slurm job a lost scheduler started. */
function jobsToAdopt(e: Engine): Task[] {
  const s = e.store.state;
  const out: Task[] = [];
  for (const wsId of s.workstreamIds()) {
    for (const id of s.workstream(wsId)!.task_ids) {
      const t = s.task(wsId, id)!;
      if (ACTIVE_TASK_STATES.has(t.state) && t.job_id !== undefined && t.scheduler_id !== e.id) out.push(t);
    }
  }
  return out;
}

/**
 * After a scheduler crash (DESIGN §11): each job it left is adopted by one of this scheduler's idle
 * workers, in one decision with the shutdown of the lost scheduler's worker: no second run, no retry
 * spent. The pool then follows the job like its own: still pending or running, it is waited for; its
 * exit file already there, that status is applied; unknown to Slurm with no exit file, the task is
 * requeued (outcome worker_lost).
 */
export async function adoptJobs(e: Engine): Promise<void> {
  const tasks = jobsToAdopt(e);
  const free = [...e.rt.workers.values()].filter((w) => w.key === null && w.phase === 'up');
  const pairs = tasks.slice(0, free.length).map((t, i) => ({ t, w: free[i]! }));
  if (pairs.length === 0) return;
  await e.store.commit((state, now) => {
    const d = new Decision(state, now);
    for (const { t, w } of pairs) {
      const prev = t.worker_id;
      taskAdopt(d, { kind: 'task_adopt', workstream_id: t.workstream_id, task_id: t.id, worker_id: w.id, scheduler_id: e.id, job_id: t.job_id! });
      if (prev !== null && d.draft.worker(prev) && d.draft.worker(prev)!.state !== 'shutdown') workerShutdown(d, prev, 'scheduler_lost', true);
    }
    return d.settle();
  });
  for (const { t, w } of pairs) {
    const cur = e.store.state.task(t.workstream_id, t.id);
    if (!cur || cur.worker_id !== w.id) continue;
    w.key = taskKey(t.workstream_id, t.id);
    w.attempt = cur.attempt;
    w.holds = { ...cur.resources };
    w.killing = null;
    w.pgid = null;
    // The deadline stays the one recorded at the start: a crash does not give the job more time.
    w.deadline = cur.deadline !== null ? Date.parse(cur.deadline) : null;
    e.pool.adoptJob!(w.id, { key: w.key, attempt: cur.attempt, jobId: cur.job_id!, logPath: e.store.paths.taskLog(t.workstream_id, t.id, cur.attempt) });
  }
  e.opts.onNote?.(`adopted ${pairs.length} Slurm job(s) a lost scheduler left (${pairs.map((p) => `${taskKey(p.t.workstream_id, p.t.id)} job ${p.t.job_id}`).join(', ')}): no second run, no retry spent`);
}

/** How many jobs begin() must have workers for. */
adoptJobs.count = (e: Engine): number => jobsToAdopt(e).length;


/**
 * Jobs a lost scheduler submitted but did not live to record (killed between sbatch and its
 * task_started): found by their name (cairn.<ws>.<task>.a<next attempt>) and comment (the lost
 * scheduler's id), they are recorded as started now and followed like any other, so the attempt
 * runs once (rwth-i6/sisyphus #281: a retried submission ran twice). Extra copies are cancelled.
 */
export async function adoptStrayJobs(e: Engine, lostSchedulers: string[]): Promise<void> {
  if (lostSchedulers.length === 0) return;
  const s = e.store.state;
  const wanted = new Map<string, Task>();
  for (const wsId of s.workstreamIds()) {
    for (const id of s.workstream(wsId)!.task_ids) {
      const t = s.task(wsId, id)!;
      if (t.state === 'queued') wanted.set(`cairn.${wsId}.${id}.a${t.attempt + 1}`, t);
    }
  }
  if (wanted.size === 0) return;
  const found = await findStrayJobs(new Set(wanted.keys()), lostSchedulers.map((id) => `cairn:${id}`));
  if (found === null || found.size === 0) return;
  const free = [...e.rt.workers.values()].filter((w) => w.key === null && w.phase === 'up');
  const adopted: string[] = [];
  for (const [name, jobId] of found) {
    const t = wanted.get(name)!;
    const w = free.shift();
    if (!w) break;
    const key = taskKey(t.workstream_id, t.id);
    const deadline = t.timeout_seconds !== null ? e.clock() + t.timeout_seconds * 1000 : null;
    try {
      await e.commit({ kind: 'task_start', workstream_id: t.workstream_id, task_id: t.id, worker_id: w.id, pid: null, pgid: null, process_start: null, scheduler_id: e.id, deadline: deadline === null ? null : new Date(deadline).toISOString(), executor: 'slurm', job_id: jobId });
    } catch {
      free.unshift(w);
      continue;
    }
    const cur = e.store.state.task(t.workstream_id, t.id)!;
    Object.assign(w, { key, attempt: cur.attempt, holds: { ...cur.resources }, killing: null, pgid: null, deadline });
    e.pool.adoptJob!(w.id, { key, attempt: cur.attempt, jobId, logPath: e.store.paths.taskLog(t.workstream_id, t.id, cur.attempt) });
    adopted.push(`${key} job ${jobId}`);
  }
  if (adopted.length > 0) e.opts.onNote?.(`found ${adopted.length} Slurm job(s) a lost scheduler submitted but never recorded (${adopted.join(', ')}): recorded as started and followed, not submitted again`);
}
