import { resolveWorkstream } from '../model/resolve.js';
import { ACTIVE_TASK_STATES, TERMINAL_WORKSTREAM_STATES } from '../model/states.js';
import { isAlive } from '../runner/kill.js';
import type { Workstream } from '../model/types.js';
import { type CommonOptions, withStore } from './common.js';
import { type SlurmLive, slurmLive } from './slurm-live.js';
import { workstreamSummary } from './views.js';

export interface StatusOptions extends CommonOptions {
  workstreamId?: string;
  /** Include terminal (archived) workstreams too. */
  all?: boolean;
  /** Ask Slurm for the live state of running jobs (default true); false where nothing shows it. */
  slurmStates?: boolean;
}

/**
 * The state as one plain document: workstreams (with tasks), workers, resources, scheduler. The
 * scheduler the state records is checked by pid and process start time: one that is gone (killed,
 * crashed) is `alive: false`, and the tasks it left running are `orphaned` (the next `cairn run`
 * requeues them), because the log alone still says they run.
 */
export async function status(o: StatusOptions) {
  return withStore(o, { readOnly: true }, async (store) => {
    const sched = store.state.scheduler();
    const alive = sched === null || isAlive(sched.pid, sched.process_start);
    return withSlurmStates(statusOf(store.state, o, { seq: store.state.seq, source: store.source, warnings: store.warnings, schedulerAlive: alive }), o.slurmStates !== false);
  });
}

type StatusDoc = ReturnType<typeof statusOf>;
type StatusTask = NonNullable<StatusDoc['workstreams'][number]['tasks']>[number];

/** Each running or validating task on Slurm gains `slurm`: its job's live state, from one squeue for all of them. */
async function withSlurmStates(doc: StatusDoc, ask: boolean) {
  const onSlurm = (t: StatusTask) => ask && t.job_id !== undefined && ACTIVE_TASK_STATES.has(t.state);
  const ids = doc.workstreams.flatMap((ws) => (ws.tasks ?? []).filter(onSlurm).map((t) => t.job_id!));
  const live = await slurmLive(ids);
  return {
    ...doc,
    workstreams: doc.workstreams.map((ws) => ({
      ...ws,
      tasks: (ws.tasks ?? []).map((t): StatusTask & { slurm?: SlurmLive } => (onSlurm(t) ? { ...t, slurm: live.get(t.job_id!)! } : t)),
    })),
  };
}

/** `meta.schedulerAlive`: whether the recorded scheduler still runs (the live scheduler itself passes true). */
export function statusOf(s: import('../model/state.js').StateView, o: StatusOptions, meta: { seq: number; source: string; warnings: string[]; schedulerAlive?: boolean }) {
  // Every list in a stable order: the same state shows the same whether it was loaded from
  // current.json or replayed from the log (their maps are filled in different orders).
  const bySubmission = (a: Workstream, b: Workstream) => a.submitted_at.localeCompare(b.submitted_at) || a.id.localeCompare(b.id);
  const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const sched = s.scheduler();
  const gone = sched !== null && meta.schedulerAlive === false;
  const ids = o.workstreamId !== undefined ? [resolveWorkstream(s, o.workstreamId).id] : s.workstreamIds();
  const workstreams = ids
    .map((id) => s.workstream(id)!)
    .filter((ws) => o.all || o.workstreamId !== undefined || !TERMINAL_WORKSTREAM_STATES.has(ws.state))
    .sort(bySubmission)
    .map((ws) => workstreamSummary(s, ws, true, (t) => gone && ACTIVE_TASK_STATES.has(t.state)));
  const archived = s.workstreamIds().map((id) => s.workstream(id)!).filter((ws) => TERMINAL_WORKSTREAM_STATES.has(ws.state)).sort(bySubmission);
  return {
    seq: meta.seq,
    loaded_from: meta.source,
    warnings: meta.warnings,
    scheduler: sched === null ? null : {
      ...sched,
      alive: !gone,
      // What the next `cairn run` requeues (without spending a retry) after killing what is left of them.
      orphaned_tasks: gone ? activeTasks(s) : [],
    },
    workstreams,
    archived: archived.map((ws) => ({ id: ws.id, state: ws.state, finished_at: ws.finished_at })),
    workers: s.workerIds().map((id) => s.worker(id)!).filter((w) => w.state !== 'shutdown' || o.all).sort(byId),
    resources: s.resourceIds().map((id) => s.resource(id)!).sort(byId),
  };
}

/** `ws/task` of every running or validating task (what a dead scheduler left behind), sorted. */
function activeTasks(s: import('../model/state.js').StateView): string[] {
  const out: string[] = [];
  for (const id of s.workstreamIds()) {
    const ws = s.workstream(id)!;
    if (ws.counts.running + ws.counts.validating === 0) continue;
    for (const tid of ws.task_ids) if (ACTIVE_TASK_STATES.has(s.task(id, tid)!.state)) out.push(`${id}/${tid}`);
  }
  return out.sort();
}
