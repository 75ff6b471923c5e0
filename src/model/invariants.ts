import { ACTIVE_TASK_STATES, SATISFIED_TASK_STATES, TERMINAL_WORKSTREAM_STATES, emptyCounts, type TaskState, type WorkstreamState } from './states.js';
import type { State } from './state.js';
import { taskKey } from './types.js';

/** A broken invariant of DESIGN §2, with the command that fixes it when one does. */
export interface Violation {
  code: string;
  message: string;
  fix?: string;
}

/**
 * Every invariant of DESIGN §2 that a state must keep: counts match the tasks, resources are held
 * exactly by running tasks and never beyond max_holders, workers and tasks point at each other,
 * blocked tasks have a failed dependency, queued ones have none pending, pending ones are neither
 * ready nor blocked, an open workstream can make progress and has no task left cancelled by its
 * critical failure, a finished one has no task waiting or running, no dependency cycle.
 */
export function checkInvariants(s: State): Violation[] {
  const out: Violation[] = [];
  for (const ws of s.workstreams.values()) {
    const counts = emptyCounts();
    for (const id of ws.task_ids) {
      const t = s.tasks.get(taskKey(ws.id, id));
      if (!t) {
        out.push({ code: 'TASK_MISSING', message: `workstream ${ws.id} lists task ${id}, which does not exist` });
        continue;
      }
      counts[t.state] += 1;
      const key = taskKey(ws.id, id);
      if (ACTIVE_TASK_STATES.has(t.state)) {
        if (t.worker_id === null) out.push({ code: 'RUNNING_WITHOUT_WORKER', message: `task ${key} is ${t.state} without a worker` });
        for (const rid of Object.keys(t.resources)) {
          if (s.resources.get(rid)?.holders[key] === undefined) out.push({ code: 'RESOURCE_NOT_HELD', message: `task ${key} is ${t.state} but does not hold ${rid}` });
        }
      }
      if (t.state === 'retrying' && t.retry_at === null) out.push({ code: 'RETRY_WITHOUT_TIME', message: `task ${key} is retrying without retry_at` });
      const deps = t.depends_on.map((d) => s.tasks.get(taskKey(ws.id, d)));
      if (t.state === 'blocked' && !deps.some((d) => d?.state === 'failed')) {
        out.push({ code: 'BLOCKED_WITHOUT_FAILURE', message: `task ${key} is blocked but none of its dependencies failed`, fix: `cairn retry-task --task-id ${key}` });
      }
      if (t.state === 'queued' && deps.some((d) => d && !SATISFIED_TASK_STATES.has(d.state))) {
        out.push({ code: 'QUEUED_TOO_EARLY', message: `task ${key} is queued while a dependency is not finished` });
      }
      if (ACTIVE_TASK_STATES.has(t.state) && t.worker_id !== null && s.workers.get(t.worker_id)?.task !== key) {
        out.push({ code: 'TASK_WORKER_MISMATCH', message: `task ${key} is ${t.state} on worker ${t.worker_id}, which says it runs ${s.workers.get(t.worker_id)?.task ?? 'nothing'}` });
      }
      checkOpenTask(ws.id, ws.state, key, t.state, t.cancel_trigger, deps.map((d) => d?.state), out);
    }
    for (const [k, n] of Object.entries(counts)) {
      if (ws.counts[k as keyof typeof counts] !== n) out.push({ code: 'COUNTS_WRONG', message: `workstream ${ws.id} counts ${ws.counts[k as keyof typeof counts]} ${k} tasks, there are ${n}` });
    }
    if (ws.state === 'completed' && counts.completed + counts.skipped + counts.cancelled !== ws.task_ids.length) {
      out.push({ code: 'COMPLETED_TOO_EARLY', message: `workstream ${ws.id} is completed with unfinished tasks` });
    }
    const active = counts.queued + counts.running + counts.validating + counts.retrying;
    const done = counts.completed + counts.skipped + counts.cancelled;
    if (!TERMINAL_WORKSTREAM_STATES.has(ws.state) && active === 0 && done < ws.task_ids.length) {
      out.push({ code: 'WORKSTREAM_STALLED', message: `workstream ${ws.id} is ${ws.state} but nothing runs or waits to run (${counts.failed} failed, ${counts.blocked} blocked, ${counts.pending} pending)`, fix: `cairn analyze-workstream-failure --workstream-id ${ws.id}` });
    }
    const cycle = findCycle(s, ws.id);
    if (cycle) out.push({ code: 'DAG_CYCLE', message: `workstream ${ws.id} has a dependency cycle: ${cycle.join(' -> ')}`, fix: `cairn remove-dependency --workstream-id ${ws.id} --from ${cycle[0]} --to ${cycle[1]}` });
  }
  for (const r of s.resources.values()) {
    let held = 0;
    for (const [key, units] of Object.entries(r.holders)) {
      held += units;
      const t = s.tasks.get(key);
      if (!t || !ACTIVE_TASK_STATES.has(t.state)) {
        out.push({ code: 'RESOURCE_HELD_BY_IDLE_TASK', message: `resource ${r.id} is held by ${key}, which is ${t?.state ?? 'missing'}`, fix: 'cairn repair-state --yes' });
      }
    }
    if (r.max_holders !== null && held > r.max_holders) out.push({ code: 'RESOURCE_OVERCOMMITTED', message: `resource ${r.id} has ${held} units held, max_holders is ${r.max_holders}` });
  }
  for (const w of s.workers.values()) {
    if (w.state === 'busy' && w.task === null) out.push({ code: 'BUSY_WITHOUT_TASK', message: `worker ${w.id} is busy without a task` });
    if (w.task !== null) {
      const t = s.tasks.get(w.task);
      if (!t || t.worker_id !== w.id || !ACTIVE_TASK_STATES.has(t.state)) out.push({ code: 'WORKER_TASK_MISMATCH', message: `worker ${w.id} says it runs ${w.task}, which is ${t?.state ?? 'missing'} on ${t?.worker_id ?? 'no worker'}` });
    }
  }
  return out;
}

/** What must hold of one task given its workstream's state (DESIGN §2: automatic moves, reopen). */
function checkOpenTask(wsId: string, wsState: WorkstreamState, key: string, state: TaskState, cancelTrigger: string | null, deps: (TaskState | undefined)[], out: Violation[]): void {
  const terminal = TERMINAL_WORKSTREAM_STATES.has(wsState);
  if (terminal) {
    if (state === 'queued' || state === 'retrying' || ACTIVE_TASK_STATES.has(state)) {
      out.push({ code: 'ACTIVE_TASK_IN_FINISHED_WORKSTREAM', message: `task ${key} is ${state} in workstream ${wsId}, which is ${wsState}`, fix: `cairn rollback-workstream --workstream-id ${wsId} --to-checkpoint latest --yes` });
    }
    return;
  }
  if (state === 'cancelled' && cancelTrigger === 'critical_failure') {
    out.push({ code: 'CANCELLED_TASK_NOT_RETURNED', message: `task ${key} is still cancelled by a critical failure, but workstream ${wsId} is ${wsState} again`, fix: `cairn retry-task --task-id ${key}` });
  }
  if (state !== 'pending') return;
  const present = deps.filter((d): d is TaskState => d !== undefined);
  if (present.includes('failed')) {
    out.push({ code: 'PENDING_BUT_BLOCKED', message: `task ${key} is pending although a dependency failed (it should be blocked)`, fix: `cairn retry-task --task-id ${key} --reset-retries` });
  } else if (present.every((d) => SATISFIED_TASK_STATES.has(d))) {
    out.push({ code: 'PENDING_BUT_READY', message: `task ${key} is pending although every dependency is done (it should be queued)`, fix: `cairn retry-task --task-id ${key} --reset-retries` });
  }
}

/** A dependency cycle of a workstream spelled as task ids (first repeated at the end), or null. */
export function findCycle(s: State, wsId: string): string[] | null {
  const ws = s.workstreams.get(wsId)!;
  const color = new Map<string, number>();
  const stack: string[] = [];
  const visit = (id: string): string[] | null => {
    color.set(id, 1);
    stack.push(id);
    for (const d of s.tasks.get(taskKey(wsId, id))?.depends_on ?? []) {
      const c = color.get(d) ?? 0;
      if (c === 1) return [...stack.slice(stack.indexOf(d)), d];
      if (c === 0 && s.tasks.has(taskKey(wsId, d))) {
        const found = visit(d);
        if (found) return found;
      }
    }
    stack.pop();
    color.set(id, 2);
    return null;
  };
  for (const id of ws.task_ids) {
    if ((color.get(id) ?? 0) === 0) {
      const found = visit(id);
      if (found) return found;
    }
  }
  return null;
}
