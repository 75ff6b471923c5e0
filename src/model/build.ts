import { emptyCounts } from './states.js';
import type { Task, TaskDef, Workstream, WorkstreamSpec } from './types.js';

/**
 * Builds a new workstream and its tasks from a normalized spec: definition order, the dependents
 * index and each task's longest remaining path (the second readiness tie-breaker) are derived here,
 * deterministically, so replay builds exactly what the live run built.
 */
export function buildWorkstream(spec: WorkstreamSpec, ts: string, seq: number): {
  workstream: Workstream;
  tasks: Task[];
  dependents: Map<string, string[]>;
} {
  const { dependents, pathLength } = graphOf(spec.tasks);
  const tasks: Task[] = spec.tasks.map((def, order) => newTask(def, spec.id, order, pathLength.get(def.id) ?? 1, seq));
  const counts = emptyCounts();
  counts.pending = tasks.length;
  const workstream: Workstream = {
    id: spec.id,
    state: 'pending',
    params: { ...spec.params },
    submitted_at: ts,
    finished_at: null,
    task_ids: spec.tasks.map((t) => t.id),
    counts,
    last_task_seq: seq,
    last_task_at: ts,
    failure: null,
    updated_seq: seq,
  };
  return { workstream, tasks, dependents };
}

/**
 * The dependents index and each task's longest remaining path of a workstream's tasks (in definition
 * order): built at submission, and again when a task is added or its depends_on changes.
 */
export function graphOf(tasks: readonly Pick<TaskDef, 'id' | 'depends_on'>[]): { dependents: Map<string, string[]>; pathLength: Map<string, number> } {
  const dependents = new Map<string, string[]>();
  for (const t of tasks) {
    for (const d of t.depends_on) {
      const list = dependents.get(d);
      if (list) list.push(t.id);
      else dependents.set(d, [t.id]);
    }
  }
  return { dependents, pathLength: longestPaths(tasks, dependents) };
}

/** A task as submission makes it: pending, no attempt yet. */
export function newTask(def: TaskDef, workstreamId: string, order: number, pathLength: number, seq: number): Task {
  // Every field written out, never `{ ...def, k: v, … }`: V8 (Node 20) builds that with a fresh
  // hidden class per added key and ends with a dictionary-mode object — ~100 µs a task (a second
  // for a 10,000-task submit or its replay), and every later read and copy of the task slower.
  // (TypeScript refuses the literal if TaskDef gains a required field.)
  return {
    id: def.id,
    command: def.command,
    depends_on: [...def.depends_on],
    resources: def.resources,
    critical: def.critical,
    priority: def.priority,
    timeout_seconds: def.timeout_seconds,
    max_retries: def.max_retries,
    retry_base_seconds: def.retry_base_seconds,
    retry_cap_seconds: def.retry_cap_seconds,
    validate: def.validate,
    cwd: def.cwd,
    env: def.env,
    ...allocation(def),
    workstream_id: workstreamId,
    state: 'pending',
    order,
    path_length: pathLength,
    retry_count: 0,
    attempt: 0,
    worker_id: null,
    pid: null,
    pgid: null,
    process_start: null,
    scheduler_id: null,
    started_at: null,
    deadline: null,
    retry_at: null,
    queued_at: null,
    finished_at: null,
    last_outcome: null,
    cancel_trigger: null,
    blocked_by: null,
    resource_warned: false,
    updated_seq: seq,
  };
}

/** The resources a task asks of an allocating executor, only those the spec sets (most specs set none). */
function allocation(def: TaskDef): Pick<TaskDef, 'cpus' | 'memory_mb' | 'gpus'> {
  if (def.cpus === undefined && def.memory_mb === undefined && def.gpus === undefined) return {};
  return {
    ...(def.cpus !== undefined ? { cpus: def.cpus } : {}),
    ...(def.memory_mb !== undefined ? { memory_mb: def.memory_mb } : {}),
    ...(def.gpus !== undefined ? { gpus: def.gpus } : {}),
  };
}

/** Longest path from each task to a sink, counting tasks (Kahn's order from the sinks; cycle-safe). */
function longestPaths(tasks: readonly Pick<TaskDef, 'id' | 'depends_on'>[], dependents: Map<string, string[]>): Map<string, number> {
  const out = new Map<string, number>();
  const remaining = new Map<string, number>();
  for (const t of tasks) remaining.set(t.id, (dependents.get(t.id) ?? []).length);
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const stack = tasks.filter((t) => remaining.get(t.id) === 0).map((t) => t.id);
  while (stack.length > 0) {
    const id = stack.pop()!;
    let best = 0;
    for (const d of dependents.get(id) ?? []) best = Math.max(best, out.get(d) ?? 0);
    out.set(id, best + 1);
    for (const dep of byId.get(id)?.depends_on ?? []) {
      const n = (remaining.get(dep) ?? 0) - 1;
      remaining.set(dep, n);
      if (n === 0) stack.push(dep);
    }
  }
  return out;
}
