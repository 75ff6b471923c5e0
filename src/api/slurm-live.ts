/*
 * The live Slurm state of the jobs a view shows (status, show-task, check-worker,
 * analyze-workstream-failure): one batched squeue for all of them, never one per job. A view never
 * fails because Slurm is down or not installed: each job then says so in `note`.
 */

/** A job as a view shows it: its id and what Slurm says of it now. */
export interface SlurmLive {
  job_id: string;
  /** PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, OUT_OF_MEMORY, …; null when Slurm did not say. */
  state: string | null;
  /** Why a job waits or ended (Resources, Priority, …); null when Slurm gives none. */
  reason: string | null;
  /** The node it runs on; null while pending or unknown. */
  node: string | null;
  /** Set when there is no state: "not known to Slurm" (purged after MinJobAge), or why squeue did not answer. */
  note: string | null;
}

/** The live state of each job id (deduplicated; nothing is spawned for an empty list). */
export async function slurmLive(ids: readonly string[]): Promise<Map<string, SlurmLive>> {
  const out = new Map<string, SlurmLive>();
  const unique = [...new Set(ids)];
  if (unique.length === 0) return out;
  // Loaded only when a view has a Slurm job to show: the CLI's start-up does not pay for it.
  const { slurmJobStates } = await import('../runner/slurm/query.js');
  const states = await slurmJobStates(unique);
  for (const id of unique) {
    if (typeof states === 'string') {
      out.set(id, { job_id: id, state: null, reason: null, node: null, note: `Slurm does not answer: ${states}` });
      continue;
    }
    const s = states.get(id);
    out.set(id, s ? { job_id: id, ...s, note: null } : { job_id: id, state: null, reason: null, node: null, note: 'not known to Slurm (finished and purged, or never accepted)' });
  }
  return out;
}

/** One line for a human: "RUNNING on node1", "PENDING (Resources)", "not known to Slurm …". */
export function slurmLiveText(j: SlurmLive): string {
  if (j.state === null) return `job ${j.job_id}: ${j.note ?? 'no state'}`;
  return `job ${j.job_id}: ${j.state}${j.node ? ` on ${j.node}` : ''}${j.reason ? ` (${j.reason})` : ''}`;
}
