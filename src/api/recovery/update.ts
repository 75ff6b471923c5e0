import { resolveTask, resolveWorkstream } from '../../model/resolve.js';
import type { StateView } from '../../model/state.js';
import type { DefChange } from '../../model/task-def.js';
import type { WorkstreamSpec } from '../../model/types.js';
import { decide as rerunDecide, rerunSpec } from '../../recovery/rerun-workstream.js';
import { decide as resetDecide } from '../../recovery/reset-workstream.js';
import { decide as updateWsDecide, planUpdate, type UpdatePlan } from '../../recovery/submit-update.js';
import { decide as updateTaskDecide, plannedChanges, type TaskChanges } from '../../recovery/update-task.js';
import { withStore } from '../common.js';
import { loadSpec } from '../submit.js';
import { actor, type ActionOptions, type ActionResult, runAction } from './action.js';
import { countsOf } from './views.js';
import type { TaskTarget } from './tasks.js';

function wsState(s: StateView, id: string): string {
  const ws = resolveWorkstream(s, id);
  return `workstream ${ws.id} is ${ws.state} (${countsOf(ws.counts)})`;
}

export type { TaskChanges } from '../../recovery/update-task.js';

/**
 * update_task: one task_updated record with the old and the new definition. The task keeps its
 * state; its next attempt uses the new definition (a failed one after retry-task). `definition`
 * lists the difference field by field (also on a dry run).
 */
export async function updateTask(o: ActionOptions & TaskTarget & TaskChanges): Promise<ActionResult & { task: string; definition: DefChange[] }> {
  const req = { ...actor(o), task: o.task, workstreamId: o.workstreamId, command: o.command, validate: o.validate, timeoutSeconds: o.timeoutSeconds, maxRetries: o.maxRetries, env: o.env, cwd: o.cwd, resources: o.resources };
  const before = await withStore(o, { readOnly: true }, async (store) => {
    const p = plannedChanges(store.state, req);
    return { task: `${p.task.workstream_id}/${p.task.id}`, definition: p.changes };
  });
  const r = await runAction(o, {
    tool: 'update_task',
    decide: (s, now) => updateTaskDecide(s, req, now),
    nothing: (s) => `task ${taskLine(s, o)} already has that definition; nothing changed`,
    done: (s) => {
      const t = resolveTask(s, o.task, o.workstreamId);
      const after = t.state === 'failed' || t.state === 'cancelled' || t.state === 'skipped'
        ? `it stays ${t.state}: run it with cairn retry-task --task-id ${t.workstream_id}/${t.id}`
        : `its next attempt uses it`;
      return `update ${t.workstream_id}/${t.id} (${before.definition.map((c) => c.field).join(', ')}); ${after}`;
    },
  });
  return { ...r, ...before };
}

function taskLine(s: StateView, o: TaskTarget): string {
  const t = resolveTask(s, o.task, o.workstreamId);
  return `${t.workstream_id}/${t.id} (${t.state})`;
}

/**
 * submit --update: applies a changed spec (a file, read and checked as at submit) to the workstream
 * of its id, which has not completed. `plan` says, task by task, what the update does.
 */
export async function submitUpdate(o: ActionOptions & { spec: string | WorkstreamSpec }): Promise<ActionResult & { workstream_id: string; plan: UpdatePlan }> {
  const spec = typeof o.spec === 'string' ? loadSpec(o.spec) : o.spec;
  const req = { ...actor(o), spec };
  const plan = await withStore(o, { readOnly: true }, async (store) => planUpdate(store.state, spec));
  const r = await runAction(o, {
    tool: 'submit_update',
    decide: (s, now) => updateWsDecide(s, req, now),
    nothing: (s) => `${wsState(s, spec.id)}; the spec is what it runs already, nothing to update`,
    done: (s) => {
      const n = (c: string) => plan.tasks.filter((t) => t.change === c).length;
      const failed = plan.tasks.filter((t) => t.change === 'changed' && t.state === 'failed').length;
      return `update ${spec.id}: ${n('changed')} changed, ${n('added')} added, ${n('unchanged')} unchanged${n('kept') ? `, ${n('kept')} completed kept` : ''}${n('removed') ? `, ${n('removed')} left out` : ''}${plan.params ? ', params changed' : ''}; ${wsState(s, spec.id)}${failed ? `; ${failed} changed task(s) failed: run them with cairn retry-failed-tasks --workstream-id ${spec.id}` : ''}`;
    },
  });
  return { ...r, warnings: [...r.warnings, ...plan.warnings], workstream_id: spec.id, plan };
}

/** rerun_workstream: a new workstream `<origin>-rerun-<n>` with the origin's spec and params (overrides allowed). */
export async function rerunWorkstream(o: ActionOptions & { workstream: string; params?: Record<string, string> }): Promise<ActionResult & { workstream_id: string; rerun_of: string }> {
  const req = { ...actor(o), workstream: o.workstream, params: o.params };
  const ids = await withStore(o, { readOnly: true }, async (store) => {
    const { spec, origin } = rerunSpec(store.state, req);
    return { workstream_id: spec.id, rerun_of: origin };
  });
  const r = await runAction(o, {
    tool: 'rerun_workstream',
    decide: (s, now) => rerunDecide(s, req, now),
    nothing: () => 'nothing to rerun',
    done: (s, recs) => {
      const id = String(recs.find((x) => x.type === 'workstream_submitted')?.workstream_id ?? ids.workstream_id);
      return `rerun ${ids.rerun_of} as ${id}; ${wsState(s, id)}`;
    },
  });
  const made = r.records.find((x) => x.type === 'workstream_submitted');
  return { ...r, workstream_id: made ? String(made.workstream_id) : ids.workstream_id, rerun_of: ids.rerun_of };
}

/** reset_workstream: every task of a finished workstream back to pending, retry counts 0. */
export function resetWorkstream(o: ActionOptions & { workstream: string }): Promise<ActionResult> {
  const req = { ...actor(o), workstream: o.workstream };
  return runAction(o, {
    tool: 'reset_workstream',
    decide: (s, now) => resetDecide(s, req, now),
    nothing: (s) => `${wsState(s, o.workstream)}; nothing to reset`,
    done: (s, r) => `reset ${String(r[0]?.workstream_id)}: every task pending again, retry counts 0 (earlier attempts stay in the log); ${wsState(s, String(r[0]?.workstream_id))}`,
  });
}
