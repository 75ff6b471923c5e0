import { CairnError } from '../../errors.js';
import { resolveResource, resolveTask } from '../../model/resolve.js';
import { decide as removeDecide } from '../../recovery/remove-dependency.js';
import { decide as limitDecide, heldUnits } from '../../recovery/set-resource-limit.js';
import { resourcesView } from '../../recovery/show-resources.js';
import { visualize, type DagFormat } from '../../recovery/visualize-dag.js';
import { readRecords } from '../../store/records.js';
import { type CommonOptions, withStore } from '../common.js';
import { actor, type ActionOptions, type ActionResult, runAction } from './action.js';

/** show_resources: limits, holders and waiters of every resource (or one). */
export async function showResources(o: CommonOptions & { resource?: string }) {
  return withStore(o, { readOnly: true }, async (store) => ({ resources: resourcesView(store.state, (o.clock ?? Date.now)(), o.resource) }));
}

/** set_resource_limit: changes max_holders; waiting tasks start when the scheduler sees room. */
export function setResourceLimit(o: ActionOptions & { resource: string; maxHolders: number | null }): Promise<ActionResult> {
  const req = { ...actor(o), resource: o.resource, maxHolders: o.maxHolders };
  const lim = (n: number | null) => (n === null ? 'unlimited' : String(n));
  return runAction(o, {
    tool: 'set_resource_limit',
    decide: (s, now) => limitDecide(s, req, now),
    nothing: (s) => `resource ${o.resource} already has max_holders ${lim(resolveResource(s, o.resource).max_holders)}`,
    done: (s) => {
      const held = heldUnits(s, o.resource);
      const over = o.maxHolders !== null && held > o.maxHolders;
      return `set max_holders of ${o.resource} to ${lim(o.maxHolders)} (${held} unit(s) held now${over ? '; holders above the new limit keep theirs, new tasks wait' : ''})`;
    },
  });
}

/** visualize_dag: the dependency graph with each task's state, as text, dot or mermaid. */
export async function visualizeDag(o: CommonOptions & { workstream: string; format?: DagFormat }) {
  const format = o.format ?? 'text';
  if (!['text', 'dot', 'mermaid'].includes(format)) throw new CairnError('BAD_INPUT', `--format must be text, dot or mermaid, got ${JSON.stringify(format)}`);
  return withStore(o, { readOnly: true }, async (store) => ({ format, ...visualize(store.state, o.workstream, format) }));
}

/** remove_dependency: `from` stops depending on `to`; repeating it is harmless. */
export async function removeDependency(o: ActionOptions & { from: string; to: string; workstreamId?: string }): Promise<ActionResult> {
  const already = await withStore(o, { readOnly: true }, async (store) => {
    const a = resolveTask(store.state, o.from, o.workstreamId);
    const to = o.to.includes('/') ? o.to.slice(o.to.indexOf('/') + 1) : o.to;
    return readRecords(store.io, store.paths.log, { types: ['task_dependency_removed'], workstreamId: a.workstream_id, taskId: a.id }).records.some((r) => r.dependency_id === to);
  });
  const req = { ...actor(o), from: o.from, to: o.to, workstreamId: o.workstreamId, alreadyRemoved: already };
  return runAction(o, {
    tool: 'remove_dependency',
    decide: (s, now) => removeDecide(s, req, now),
    nothing: () => `${o.from} no longer depends on ${o.to} (removed before); nothing changed`,
    done: (s) => {
      const t = resolveTask(s, o.from, o.workstreamId);
      return `remove the dependency ${t.id} -> ${o.to.slice(o.to.indexOf('/') + 1)}; ${t.workstream_id}/${t.id} is ${t.state}, depends on ${t.depends_on.join(', ') || 'nothing'}`;
    },
  });
}
