import { resolveTask } from '../model/resolve.js';
import type { StateView } from '../model/state.js';
import type { Task } from '../model/types.js';
import { attemptLogs } from '../store/tasklogs.js';
import { slurmLive } from './slurm-live.js';
import { type CommonOptions, stateDirOf, withStore } from './common.js';

export interface TaskRefOptions extends CommonOptions {
  task: string;
  workstreamId?: string;
}

/** Everything about one task: definition, live fields, dependencies, and optionally the tail of each attempt's log. */
export async function showTask(o: TaskRefOptions & { includeLogs?: boolean; logLines?: number; slurmStates?: boolean }) {
  return withStore(o, { readOnly: true }, async (store) => {
    const t = resolveTask(store.state, o.task, o.workstreamId);
    // The job of the current (or last) attempt, as Slurm sees it now (finished jobs stay listed for MinJobAge).
    const slurm = t.job_id !== undefined && o.slurmStates !== false ? (await slurmLive([t.job_id])).get(t.job_id)! : null;
    return {
      task: t,
      slurm,
      dependencies: dependencyView(store.state, t),
      logs: o.includeLogs ? attemptLogs(stateDirOf(o), t, o.logLines ?? 40) : undefined,
    };
  });
}

/** The dependencies of a task (with their states) and the tasks that depend on it. */
export async function showDependencies(o: TaskRefOptions) {
  return withStore(o, { readOnly: true }, async (store) => {
    const t = resolveTask(store.state, o.task, o.workstreamId);
    return { task: { id: t.id, workstream_id: t.workstream_id, state: t.state }, ...dependencyView(store.state, t) };
  });
}

export function dependencyView(s: StateView, t: Task) {
  const dep = (id: string) => {
    const d = s.task(t.workstream_id, id);
    return { id, state: d?.state ?? 'missing', critical: d?.critical ?? false };
  };
  return {
    depends_on: t.depends_on.map(dep),
    dependents: s.dependents(t.workstream_id, t.id).map(dep),
    waiting_on: t.depends_on.filter((id) => !['completed', 'skipped', 'cancelled'].includes(s.task(t.workstream_id, id)?.state ?? '')),
  };
}

