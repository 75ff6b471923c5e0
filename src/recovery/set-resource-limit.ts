import { CairnError } from '../errors.js';
import { SPEC_LIMITS } from '../schemas/workstream.js';
import { resolveResource } from '../model/resolve.js';
import type { StateView } from '../model/state.js';
import type { Draft } from '../model/types.js';
import { operatorDecision, type Operator } from './common.js';

/** set_resource_limit: change how many units of a resource may be held at once. */
export interface SetResourceLimitRequest extends Operator {
  resource: string;
  /** A whole number >= 1, or null for unlimited. */
  maxHolders: number | null;
}

/**
 * Records `resource_limit_changed`. Holders above a lowered limit keep what they hold; new tasks
 * wait until the resource is under the limit. The same limit again gives no records.
 */
export function decide(state: StateView, req: SetResourceLimitRequest, now: number): Draft[] {
  const r = resolveResource(state, req.resource);
  if (req.maxHolders !== null && !(Number.isInteger(req.maxHolders) && req.maxHolders >= 1 && req.maxHolders <= SPEC_LIMITS.holders)) {
    throw new CairnError('BAD_INPUT', `--max-holders must be a whole number from 1 to ${SPEC_LIMITS.holders}, or "unlimited", got ${String(req.maxHolders)}`);
  }
  if (r.max_holders === req.maxHolders) return [];
  const d = operatorDecision(state, now, req, 'set_resource_limit');
  d.emit({ type: 'resource_limit_changed', resource_id: r.id, max_holders: req.maxHolders });
  return d.out;
}

/** Units of a resource held now. */
export function heldUnits(state: StateView, resourceId: string): number {
  let n = 0;
  for (const u of Object.values(state.resource(resourceId)?.holders ?? {})) n += u;
  return n;
}
