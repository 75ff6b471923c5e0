import { Decision } from '../model/decision.js';
import { schedulerStopped, workerShutdown } from '../model/decide.js';
import { ACTIVE_TASK_STATES, TERMINAL_WORKSTREAM_STATES } from '../model/states.js';
import type { Task } from '../model/types.js';
import type { Store } from '../store/store.js';
import { killOrphanTask } from './liveness.js';

/**
 * On start (DESIGN §5): remove temp files of dead writers; kill any process group still alive from
 * tasks a dead scheduler left `running` (checked by start time, never a reused pid); requeue those
 * tasks without spending a retry; mark the dead scheduler's workers shut down and the scheduler
 * stopped (which releases its workers from the state). The caller holds the scheduler lock, so a
 * scheduler the state names is dead. Nothing left behind gives no records.
 */
export async function recoverOrphans(store: Store, graceMs: number, now: () => number, keep?: (t: Task) => boolean): Promise<{ requeued: string[]; killed: string[]; notes: string[] }> {
  const notes: string[] = [];
  for (const f of store.removeStaleTemps()) notes.push(`removed a temp file left by a dead process: ${f}`);
  const orphans: Task[] = [];
  // Tasks the caller takes over (Slurm jobs to adopt): left running, and their workers with them.
  const kept: Task[] = [];
  const s = store.state;
  for (const wsId of s.workstreamIds()) {
    const ws = s.workstream(wsId)!;
    if (TERMINAL_WORKSTREAM_STATES.has(ws.state) && ws.counts.running + ws.counts.validating === 0) continue;
    for (const id of ws.task_ids) {
      const t = s.task(wsId, id)!;
      if (ACTIVE_TASK_STATES.has(t.state)) (keep?.(t) ? kept : orphans).push(t);
    }
  }
  const killed: string[] = [];
  for (const t of orphans) {
    const r = await killOrphanTask(t, graceMs);
    if (r === 'killed') killed.push(`${t.workstream_id}/${t.id}`);
    if (r === 'stuck') notes.push(`task ${t.workstream_id}/${t.id}: process group ${t.pgid} did not die after SIGKILL`);
    if (r === 'reused') notes.push(`task ${t.workstream_id}/${t.id}: pid ${t.pgid} now belongs to another process; left alone`);
  }
  const keptWorkers = new Set(kept.map((t) => t.worker_id));
  const workers = s.workerIds().filter((id) => s.worker(id)!.state !== 'shutdown' && !keptWorkers.has(id));
  const requeued: string[] = [];
  if (orphans.length > 0 || workers.length > 0 || s.scheduler() !== null) {
    await store.commit((state) => {
      const d = new Decision(state, now());
      for (const o of orphans) {
        const t = d.draft.task(o.workstream_id, o.id)!;
        if (!ACTIVE_TASK_STATES.has(t.state)) continue;
        d.move(t, 'task_reassigned', 'queued', { trigger: 'scheduler_lost', attempt: t.attempt, worker_id: t.worker_id ?? undefined });
        requeued.push(`${t.workstream_id}/${t.id}`);
      }
      for (const id of workers) workerShutdown(d, id, 'scheduler_lost', true);
      d.settle();
      const dead = d.draft.scheduler();
      if (dead) schedulerStopped(d, { scheduler_id: dead.id, trigger: 'scheduler_lost' });
      return d.out;
    });
  }
  return { requeued, killed, notes };
}
