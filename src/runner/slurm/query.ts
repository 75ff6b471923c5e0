import { onPath } from '../which.js';
import { ACTIVE_JOB_STATES, cancelJobs, listJobs } from './commands.js';
import { jobNameCopies } from './stray.js';

/** Whether the Slurm client programs the executor needs are on PATH. */
export function slurmInstalled(): boolean {
  return onPath('sbatch') !== null && onPath('squeue') !== null && onPath('scancel') !== null;
}

/**
 * Cancels a job a lost scheduler left (its task is about to be requeued, so it must not run on).
 * True when Slurm still had it active. Never throws: with no Slurm here there is nothing to cancel.
 */
export async function cancelSlurmJob(id: string): Promise<boolean> {
  if (!slurmInstalled()) return false;
  const listed = await listJobs(10_000);
  const active = 'jobs' in listed && ACTIVE_JOB_STATES.has(listed.jobs.get(id)?.state ?? '');
  await cancelJobs([id]);
  return active;
}

/** A job's live Slurm state for the status views. */
export interface SlurmJobState {
  state: string;
  /** Why it waits (Resources, Priority, …); null when Slurm gives none. */
  reason: string | null;
  /** Where it runs; null while it is pending. */
  node: string | null;
}

/**
 * The Slurm state of each job (PENDING, RUNNING, COMPLETED, …; absent when Slurm no longer knows it),
 * for status views: ONE squeue for all of them, whatever their number. An error string when Slurm
 * does not answer (or is not installed here): a view says so and never fails for it.
 */
export async function slurmJobStates(ids: string[]): Promise<Map<string, SlurmJobState> | string> {
  if (!slurmInstalled()) return 'the Slurm client programs (squeue) are not installed here';
  const listed = await listJobs(10_000);
  if ('error' in listed) return listed.error;
  const out = new Map<string, SlurmJobState>();
  for (const id of ids) {
    const j = listed.jobs.get(id);
    if (j) out.set(id, { state: j.state, reason: j.reason && j.reason !== 'None' ? j.reason : null, node: j.node && j.node !== '(null)' ? j.node : null });
  }
  return out;
}

/**
 * Jobs whose name is one of `names` and whose comment is one of `comments` (a lost scheduler's
 * submissions), name → job id; when Slurm has several copies of one name, the others are cancelled.
 * Null when Slurm does not answer.
 */
export async function findStrayJobs(names: Set<string>, comments: string[]): Promise<Map<string, string> | null> {
  const listed = await listJobs(30_000);
  if ('error' in listed) return null;
  const { keep, extra } = jobNameCopies([...listed.jobs.values()], names, new Set(comments));
  await cancelJobs(extra);
  return keep;
}
