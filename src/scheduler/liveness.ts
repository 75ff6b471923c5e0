import type { SchedulerInfo, Task } from '../model/types.js';
import { cancelSlurmJob, isAlive, killOrphanGroup, type OrphanKillResult } from '../runner/index.js';
import type { Store } from '../store/store.js';

/**
 * The scheduler that runs this state folder now, or null. It must be recorded in the state, hold
 * the scheduler lock, and be alive with the recorded start time (a reused pid is not it).
 */
export async function liveScheduler(store: Store): Promise<SchedulerInfo | null> {
  const info = store.state.scheduler();
  if (!info) return null;
  if (!(await store.schedulerLockHeld())) return null;
  if (!isAlive(info.pid, info.process_start)) return null;
  return info;
}

/**
 * Kills what is left of a task's process group after its scheduler died, checked by start time so
 * a reused pid is never touched. Safe to call when nothing is left.
 */
export async function killOrphanTask(t: Task, graceMs: number): Promise<OrphanKillResult> {
  // A Slurm job outlives its scheduler: cancel it, or requeueing its task would run it twice.
  if (t.job_id !== undefined) return (await cancelSlurmJob(t.job_id)) ? 'killed' : 'gone';
  if (t.pgid === null) return 'gone';
  return killOrphanGroup(t.pgid, t.process_start, { graceMs });
}
