import { CairnError } from '../errors.js';
import type { StateView } from './state.js';
import { TERMINAL_WORKSTREAM_STATES } from './states.js';
import type { Task, Workstream } from './types.js';

/** Edit distance, for "did you mean" suggestions. */
export function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/** Up to three known ids closest to `wanted`. */
export function closest(wanted: string, known: Iterable<string>): string[] {
  return [...known]
    .map((k) => ({ k, d: distance(wanted.toLowerCase(), k.toLowerCase()) }))
    .sort((x, y) => x.d - y.d || x.k.localeCompare(y.k))
    .slice(0, 3)
    .map((x) => x.k);
}

export function resolveWorkstream(s: StateView, id: string): Workstream {
  const ws = s.workstream(id);
  if (ws) return ws;
  const near = closest(id, s.workstreamIds());
  throw new CairnError('UNKNOWN_WORKSTREAM', `no workstream ${JSON.stringify(id)}`, {
    details: { workstream_id: id, closest: near },
    hint: near.length > 0 ? `Did you mean: ${near.join(', ')}?` : 'Run: cairn status to list workstreams',
  });
}

/**
 * Finds a task by `<workstream_id>/<task_id>`, or by its bare id when exactly one active workstream
 * (or, failing that, exactly one workstream at all) has it. An ambiguous bare id lists the candidates.
 */
export function resolveTask(s: StateView, ref: string, workstreamId?: string): Task {
  let wsId = workstreamId;
  let taskId = ref;
  const slash = ref.indexOf('/');
  if (slash >= 0) {
    wsId = ref.slice(0, slash);
    taskId = ref.slice(slash + 1);
  }
  if (wsId !== undefined) {
    const ws = resolveWorkstream(s, wsId);
    const t = s.task(ws.id, taskId);
    if (t) return t;
    const near = closest(taskId, ws.task_ids).map((x) => `${ws.id}/${x}`);
    throw unknownTask(ref, near);
  }
  const all: Task[] = [];
  for (const id of s.workstreamIds()) {
    const t = s.task(id, taskId);
    if (t) all.push(t);
  }
  const active = all.filter((t) => !TERMINAL_WORKSTREAM_STATES.has(s.workstream(t.workstream_id)!.state));
  const pool = active.length > 0 ? active : all;
  if (pool.length === 1) return pool[0]!;
  if (pool.length > 1) {
    const candidates = pool.map((t) => `${t.workstream_id}/${t.id}`).sort();
    throw new CairnError('AMBIGUOUS_TASK', `task id ${JSON.stringify(taskId)} exists in ${pool.length} workstreams`, {
      details: { task_id: taskId, candidates },
      hint: `Name one of: ${candidates.join(', ')}`,
    });
  }
  const known: string[] = [];
  for (const id of s.workstreamIds()) for (const t of s.workstream(id)!.task_ids) known.push(`${id}/${t}`);
  throw unknownTask(ref, closest(taskId, known.map((k) => k.slice(k.indexOf('/') + 1))).flatMap((n) => known.filter((k) => k.endsWith(`/${n}`)).slice(0, 1)));
}

function unknownTask(ref: string, near: string[]): CairnError {
  return new CairnError('UNKNOWN_TASK', `no task ${JSON.stringify(ref)}`, {
    details: { task: ref, closest: near },
    hint: near.length > 0 ? `Did you mean: ${near.join(', ')}?` : 'Run: cairn status to list tasks',
  });
}

export function resolveWorker(s: StateView, id: string) {
  const w = s.worker(id);
  if (w) return w;
  const near = closest(id, s.workerIds());
  throw new CairnError('UNKNOWN_WORKER', `no worker ${JSON.stringify(id)}`, {
    details: { worker_id: id, closest: near },
    // Workers are in the state only while their run lasts (released when it ends).
    hint: near.length > 0 ? `Did you mean: ${near.join(', ')}?` : 'No worker runs now: workers exist while cairn run runs. A finished run\'s workers are in the log: cairn events --worker-id <id>',
  });
}

export function resolveResource(s: StateView, id: string) {
  const r = s.resource(id);
  if (r) return r;
  const near = closest(id, s.resourceIds());
  throw new CairnError('UNKNOWN_RESOURCE', `no resource ${JSON.stringify(id)}`, {
    details: { resource_id: id, closest: near },
    hint: near.length > 0 ? `Did you mean: ${near.join(', ')}?` : 'Run: cairn show-resources',
  });
}
