import { CairnError } from '../errors.js';
import type { StateView } from '../model/state.js';
import { SATISFIED_TASK_STATES, TERMINAL_WORKSTREAM_STATES, type TaskState } from '../model/states.js';
import { defChanges, type DefChange, defOf } from '../model/task-def.js';
import { TASK_DEFINITION_CHANGES } from '../model/transitions.js';
import type { Draft, Task, TaskDef, WorkstreamSpec } from '../model/types.js';
import { key, type Operator, operatorDecision, tasksOf } from './common.js';

/** submit --update: apply a changed spec to a workstream that has not completed. */
export interface SubmitUpdateRequest extends Operator {
  /** The changed spec, parsed and checked as at submit (schema, missing dependencies, cycles, resources). */
  spec: WorkstreamSpec;
}

/** What the update does to one task. */
export interface TaskPlan {
  task_id: string;
  /**
   * changed: takes the new definition; added: new, pending; unchanged: as it was; kept: completed,
   * so a changed definition is not applied; removed: not in the spec, and already finished or
   * cancelled, so it stays as it is (never runs again).
   */
  change: 'changed' | 'added' | 'unchanged' | 'kept' | 'removed';
  /** The task's state now (null for an added task). */
  state: TaskState | null;
  fields: DefChange[];
}

export interface UpdatePlan {
  workstream_id: string;
  tasks: TaskPlan[];
  params: { from: Record<string, string>; to: Record<string, string> } | null;
  /** Resources the spec declares that do not exist yet (declared by the update). */
  new_resources: string[];
  warnings: string[];
}

/** A removed task must not run any more: it may be left out only when it is completed, skipped or cancelled. */
const REMOVABLE: ReadonlySet<TaskState> = new Set(['completed', 'skipped', 'cancelled']);

/**
 * The difference between the workstream and the changed spec, task by task; refuses (nothing is
 * written) a completed or unknown workstream, a removed task that could still run (listing every
 * one with the command that cancels it) and a changed task whose attempt runs.
 */
export function planUpdate(state: StateView, spec: WorkstreamSpec): UpdatePlan {
  const ws = state.workstream(spec.id);
  if (!ws) {
    throw new CairnError('UNKNOWN_WORKSTREAM', `no workstream ${JSON.stringify(spec.id)} to update`, {
      details: { workstream_id: spec.id },
      hint: 'submit --update changes a workstream submitted before; submit a new one without --update',
    });
  }
  if (ws.state === 'completed') {
    throw new CairnError('ILLEGAL_REQUEST', `workstream ${ws.id} is completed: its work is done, so its spec can no longer change`, {
      details: { workstream_id: ws.id, state: ws.state },
      hint: `To run it again: cairn rerun-workstream --workstream-id ${ws.id} (a new workstream with its spec), or cairn reset-workstream --workstream-id ${ws.id} (every task pending again); to run a changed spec, submit it under a new id`,
    });
  }
  const wanted = new Map(spec.tasks.map((d) => [d.id, d]));
  const tasks: TaskPlan[] = [];
  const stillRunnable: Task[] = [];
  const running: Task[] = [];
  const warnings: string[] = [];
  for (const t of tasksOf(state, ws)) {
    const def = wanted.get(t.id);
    if (!def) {
      if (!REMOVABLE.has(t.state)) stillRunnable.push(t);
      tasks.push({ task_id: t.id, change: 'removed', state: t.state, fields: [] });
      continue;
    }
    const fields = defChanges(t, def);
    if (fields.length === 0) tasks.push({ task_id: t.id, change: 'unchanged', state: t.state, fields });
    else if (t.state === 'completed') {
      tasks.push({ task_id: t.id, change: 'kept', state: t.state, fields });
      warnings.push(`task ${key(t)} is completed: its changed definition (${fields.map((f) => f.field).join(', ')}) is not applied`);
    } else {
      if (!TASK_DEFINITION_CHANGES[t.state]) running.push(t);
      tasks.push({ task_id: t.id, change: 'changed', state: t.state, fields });
    }
  }
  for (const def of spec.tasks) if (!state.task(ws.id, def.id)) tasks.push({ task_id: def.id, change: 'added', state: null, fields: [] });
  if (stillRunnable.length > 0) {
    const list = stillRunnable.map((t) => `${t.id} (${t.state})`).join(', ');
    // cancel-task refuses on a failed or cancelled workstream (nothing of it runs): skip-task is the way there.
    const how = TERMINAL_WORKSTREAM_STATES.has(ws.state)
      ? (t: Task) => `cairn skip-task --task-id ${key(t)} --reason "removed from the spec"`
      : (t: Task) => `cairn cancel-task --task-id ${key(t)}`;
    throw new CairnError('ILLEGAL_REQUEST', `the spec leaves out ${stillRunnable.length} task(s) of ${ws.id} that could still run: ${list}; cancel (or skip) them first`, {
      details: { workstream_id: ws.id, removed: stillRunnable.map((t) => ({ task_id: t.id, state: t.state })) },
      hint: stillRunnable.map(how).join('; ') + '; then submit --update again',
    });
  }
  if (running.length > 0) {
    throw new CairnError('ILLEGAL_REQUEST', `the spec changes ${running.length} task(s) whose attempt runs now: ${running.map((t) => `${t.id} (${t.state})`).join(', ')}; a running attempt keeps the definition it started with`, {
      details: { workstream_id: ws.id, running: running.map((t) => t.id) },
      hint: `Wait for them to end and submit --update again, or stop them first: ${running.map((t) => `cairn cancel-task --task-id ${key(t)}`).join('; ')}`,
    });
  }
  checkUnits(state, spec, warnings);
  checkCycle(state, ws.id, tasks, wanted);
  const paramsChanged = JSON.stringify(sorted(ws.params)) !== JSON.stringify(sorted(spec.params));
  return {
    workstream_id: ws.id,
    tasks,
    params: paramsChanged ? { from: { ...ws.params }, to: { ...spec.params } } : null,
    new_resources: Object.keys(spec.resources).filter((r) => !state.resource(r)),
    warnings,
  };
}

/**
 * One decision: new resources declared, then `workstream_updated` naming the changed and added
 * tasks (and the new params), a `task_updated` per changed task, a `task_added` per new one. A
 * queued or retrying task that now depends on an unfinished task goes back to pending (task_reset).
 * Then readiness is settled as after any change. States stay otherwise: a failed task needs
 * retry-task (or retry-failed-tasks) to run its new definition.
 */
export function decide(state: StateView, req: SubmitUpdateRequest, now: number): Draft[] {
  const plan = planUpdate(state, req.spec);
  const changed = plan.tasks.filter((t) => t.change === 'changed');
  const added = plan.tasks.filter((t) => t.change === 'added');
  if (changed.length === 0 && added.length === 0 && plan.params === null) return [];
  const wsId = plan.workstream_id;
  const defs = new Map(req.spec.tasks.map((d) => [d.id, d]));
  const d = operatorDecision(state, now, req, 'submit_update');
  for (const r of plan.new_resources) d.emit({ type: 'resource_declared', resource_id: r, max_holders: req.spec.resources[r]!.max_holders });
  d.emit({
    type: 'workstream_updated', workstream_id: wsId, changed_tasks: changed.map((t) => t.task_id), added_tasks: added.map((t) => t.task_id),
    ...(plan.params ? { params: plan.params.to, old_params: plan.params.from } : {}),
  });
  for (const p of changed) {
    const t = d.task(wsId, p.task_id);
    d.emit({ type: 'task_updated', workstream_id: wsId, task_id: t.id, old: defOf(t), new: defs.get(t.id)!, fields: p.fields.map((f) => f.field) });
  }
  for (const p of added) d.emit({ type: 'task_added', workstream_id: wsId, task_id: p.task_id, to: 'pending', definition: defs.get(p.task_id)! });
  for (const p of changed) {
    const t = d.task(wsId, p.task_id);
    if ((t.state === 'queued' || t.state === 'retrying') && !t.depends_on.every((dep) => SATISFIED_TASK_STATES.has(d.task(wsId, dep).state))) {
      d.move(t, 'task_reset', 'pending', { trigger: 'dependencies_changed', retry_count: t.retry_count });
    }
  }
  return d.settle();
}

function sorted(o: Record<string, string>): [string, string][] {
  return Object.entries(o).sort(([a], [b]) => a.localeCompare(b));
}

/** A resource that exists keeps its limit (set-resource-limit changes it): a task must fit in it. */
function checkUnits(state: StateView, spec: WorkstreamSpec, warnings: string[]): void {
  for (const [rid, r] of Object.entries(spec.resources)) {
    const have = state.resource(rid);
    if (have && have.max_holders !== r.max_holders) {
      warnings.push(`resource ${rid} exists with max_holders ${have.max_holders ?? 'unlimited'}; the spec's ${r.max_holders ?? 'unlimited'} is not applied (cairn set-resource-limit changes it)`);
    }
  }
  for (const def of spec.tasks) {
    for (const [rid, units] of Object.entries(def.resources)) {
      const max = state.resource(rid)?.max_holders;
      if (max !== undefined && max !== null && units > max) {
        throw new CairnError('BAD_INPUT', `task ${def.id} takes ${units} units of ${rid}, which has max_holders ${max}: it could never start`, {
          hint: `Ask for at most ${max}, or raise the limit: cairn set-resource-limit --resource-id ${rid} --max-holders ${units}`,
        });
      }
    }
  }
}

/**
 * The spec itself has no cycle (checked when it was read), but the workstream keeps the old
 * dependencies of its completed and removed tasks: together they must not close one either.
 */
function checkCycle(state: StateView, wsId: string, plan: TaskPlan[], wanted: Map<string, TaskDef>): void {
  const edges = new Map<string, readonly string[]>();
  for (const p of plan) {
    const keepsOld = p.change === 'kept' || p.change === 'removed';
    edges.set(p.task_id, keepsOld ? state.task(wsId, p.task_id)!.depends_on : wanted.get(p.task_id)!.depends_on);
  }
  // Only tasks that keep their old dependencies can close a cycle the spec does not have.
  if (!plan.some((p) => p.change === 'removed' || (p.change === 'kept' && p.fields.some((f) => f.field === 'depends_on')))) return;
  const cycle = findCycle(edges);
  if (cycle) {
    throw new CairnError('DAG_CYCLE', `with the tasks it keeps as they were (completed or removed), the updated workstream ${wsId} would have a dependency cycle: ${cycle.join(' -> ')}`, {
      details: { workstream_id: wsId, cycle },
      hint: 'Change depends_on in the spec so that no task depends, directly or not, on a task that depends on it; nothing was written.',
    });
  }
}

/** A cycle along the edges as [a, b, …, a], or null; iterative, so a long chain cannot overflow the stack. */
function findCycle(edges: Map<string, readonly string[]>): string[] | null {
  const done = new Set<string>();
  for (const root of edges.keys()) {
    if (done.has(root)) continue;
    const path: string[] = [root];
    const onPath = new Set([root]);
    const next: number[] = [0];
    while (path.length > 0) {
      const node = path[path.length - 1]!;
      const deps = edges.get(node) ?? [];
      const i = next[next.length - 1]!;
      if (i >= deps.length) {
        path.pop();
        next.pop();
        onPath.delete(node);
        done.add(node);
        continue;
      }
      next[next.length - 1] = i + 1;
      const dep = deps[i]!;
      if (onPath.has(dep)) return [...path.slice(path.indexOf(dep)), dep];
      if (done.has(dep) || !edges.has(dep)) continue;
      path.push(dep);
      onPath.add(dep);
      next.push(0);
    }
  }
  return null;
}
