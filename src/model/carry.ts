import { invalid, str } from './apply-moves.js';
import type { MutableState } from './state.js';
import { ACTIVE_TASK_STATES, TASK_STATES, WORKSTREAM_STATES, emptyCounts } from './states.js';
import type { LogRecord, Task, Workstream } from './types.js';
import { taskKey } from './types.js';

/**
 * apply of `workstream_carried_forward`: repair_state puts back a workstream as a newer derived
 * file held it (DESIGN §9). The record holds the whole workstream in current.json's form; the
 * workstream and its tasks are replaced by it, the derived counts and dependents recomputed.
 * MUST: the state stays consistent without a scheduler: no carried task runs (decide turns running
 * ones back to queued), so it holds no resource and no worker; a worker still naming one of the
 * workstream's tasks is refused (repair requeues orphaned tasks and shuts their workers down first).
 */
export function applyCarriedForward(s: MutableState, r: LogRecord): void {
  const id = str(r, 'workstream_id');
  const doc = r.workstream as Record<string, unknown> | undefined;
  if (!doc || typeof doc !== 'object' || doc.id !== id || !WORKSTREAM_STATES.includes(doc.state as never)) invalid(r, 'the carried workstream is malformed');
  if (!Array.isArray(doc.task_ids) || typeof doc.tasks !== 'object' || doc.tasks === null) invalid(r, 'the carried workstream has no task_ids or tasks');
  const old = s.workstream(id);
  const ids = doc.task_ids as string[];
  if (old && (old.task_ids.length !== ids.length || old.task_ids.some((t, i) => t !== ids[i]))) invalid(r, `workstream ${id} has other tasks in the state than in the carried file`);
  for (const wid of s.workerIds()) {
    const t = s.worker(wid)!.task;
    if (t && t.startsWith(`${id}/`)) invalid(r, `worker ${wid} still runs ${t}`);
  }
  for (const [rid, max] of Object.entries((r.resources ?? {}) as Record<string, number | null>)) {
    if (!s.resource(rid)) s.putResource({ id: rid, max_holders: max, holders: {}, updated_seq: r.seq });
  }
  const counts = emptyCounts();
  const dependents = new Map<string, string[]>();
  const tasks = doc.tasks as Record<string, Task>;
  for (const tid of ids) {
    const t = tasks[tid];
    if (!t || typeof t !== 'object' || t.id !== tid || t.workstream_id !== id || !TASK_STATES.includes(t.state)) invalid(r, `task ${tid} of the carried workstream is malformed`);
    if (ACTIVE_TASK_STATES.has(t.state)) invalid(r, `task ${tid} is carried as ${t.state}; a repaired task never runs`);
    if (!Array.isArray(t.depends_on) || typeof t.resources !== 'object' || t.resources === null) invalid(r, `task ${tid} of the carried workstream is malformed`);
    for (const rid of Object.keys(t.resources)) if (!s.resource(rid)) invalid(r, `task ${tid} uses resource ${rid}, which is not declared`);
    const copy: Task = { ...t, depends_on: [...t.depends_on], resources: { ...t.resources }, env: { ...t.env }, updated_seq: r.seq };
    counts[copy.state] += 1;
    s.putTask(copy);
    for (const d of copy.depends_on) {
      const list = dependents.get(d);
      if (list) list.push(tid);
      else dependents.set(d, [tid]);
    }
    for (const rid of Object.keys(copy.resources)) {
      if (s.resource(rid)!.holders[taskKey(id, tid)] !== undefined) delete s.mutResource(rid).holders[taskKey(id, tid)];
    }
  }
  const ws: Workstream = {
    id,
    state: doc.state as Workstream['state'],
    params: { ...(doc.params as Record<string, string>) },
    submitted_at: String(doc.submitted_at ?? r.ts),
    finished_at: (doc.finished_at ?? null) as string | null,
    task_ids: [...ids],
    counts,
    last_task_seq: r.seq,
    last_task_at: r.ts,
    failure: (doc.failure ?? null) as Workstream['failure'],
    updated_seq: r.seq,
  };
  s.putWorkstream(ws);
  s.setDependents(id, dependents);
}
