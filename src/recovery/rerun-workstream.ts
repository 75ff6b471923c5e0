import { CairnError } from '../errors.js';
import { submit } from '../model/decide.js';
import { checkId } from '../model/ids.js';
import type { StateView } from '../model/state.js';
import { defOf } from '../model/task-def.js';
import type { Draft, WorkstreamSpec } from '../model/types.js';
import { type Operator, operatorDecision, resolveWorkstream, tasksOf } from './common.js';
import { checkParams } from './resume-workstream.js';

/** rerun_workstream: a new workstream with the same spec and params (params may be overridden). */
export interface RerunWorkstreamRequest extends Operator {
  workstream: string;
  /** Params to override (--param k=v), merged over the origin's. */
  params?: Record<string, string>;
}

const RERUN_SUFFIX = /-rerun-\d+$/;

/**
 * The id of a rerun: `<origin>-rerun-<n>`, n the smallest number from 2 up that no workstream has.
 * A rerun of a rerun continues its origin's numbering (`w-rerun-2` -> `w-rerun-3`); the record's
 * rerun_of names the workstream it was actually made from.
 */
export function rerunId(state: StateView, origin: string): string {
  const base = origin.replace(RERUN_SUFFIX, '');
  for (let n = 2; ; n++) {
    const id = `${base}-rerun-${n}`;
    if (!state.workstream(id)) return id;
  }
}

/** The spec a rerun submits: the origin's tasks as they are defined now (updates included), its params, its resources. */
export function rerunSpec(state: StateView, req: RerunWorkstreamRequest): { spec: WorkstreamSpec; origin: string } {
  const ws = resolveWorkstream(state, req.workstream);
  const id = rerunId(state, ws.id);
  try {
    checkId('workstream', id);
  } catch (e) {
    throw new CairnError('BAD_ID', `the rerun of ${ws.id} would be named ${id}, which is not a valid workstream id (too long)`, {
      details: { workstream_id: ws.id, rerun_id: id, cause: (e as Error).message },
      hint: 'Submit its spec under a shorter id instead: cairn submit <spec.json>',
    });
  }
  const tasks = tasksOf(state, ws).map((t) => defOf(t));
  const resources: WorkstreamSpec['resources'] = {};
  for (const t of tasks) for (const r of Object.keys(t.resources)) resources[r] = { max_holders: state.resource(r)?.max_holders ?? null };
  const params = { ...ws.params, ...checkParams(req.params ?? {}) };
  return { spec: { id, params, resources, tasks }, origin: ws.id };
}

/**
 * A `workstream_submitted` with `rerun_of` naming the origin, and its first tasks queued, exactly
 * as a submit of the same spec. The origin is not changed (it may even still run).
 */
export function decide(state: StateView, req: RerunWorkstreamRequest, now: number): Draft[] {
  const { spec, origin } = rerunSpec(state, req);
  const d = operatorDecision(state, now, req, 'rerun_workstream');
  return submit(d, spec, { rerun_of: origin });
}
