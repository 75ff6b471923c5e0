import { CairnError } from '../errors.js';
import { resolveWorker } from '../model/resolve.js';
import type { StateView } from '../model/state.js';
import { WORKER_TRANSITIONS, allowedTypes } from '../model/transitions.js';
import type { Draft } from '../model/types.js';
import { operatorDecision, type Operator } from './common.js';

/** restart_worker: ask the live scheduler to restart one worker. */
export interface RestartWorkerRequest extends Operator {
  worker: string;
}

/**
 * Records `worker_restart_requested`; the scheduler then stops the worker (its task is reassigned
 * without spending a retry), records worker_shutdown and starts a new worker with the same id.
 * A restart already requested gives no records; a worker that is shut down is refused.
 */
export function decide(state: StateView, req: RestartWorkerRequest, now: number): Draft[] {
  const w = resolveWorker(state, req.worker);
  if (w.state === 'shutdown') {
    throw new CairnError('ILLEGAL_REQUEST', `worker ${w.id} is shutdown; there is no process to restart`, {
      details: { worker_id: w.id, state: w.state, allowed: allowedTypes(WORKER_TRANSITIONS, w.state) },
      hint: 'The scheduler starts replacements by itself; see the live workers with: cairn status',
    });
  }
  if (w.pending_request?.kind === 'restart') return [];
  const d = operatorDecision(state, now, req, 'restart_worker');
  d.emit({ type: 'worker_restart_requested', worker_id: w.id });
  return d.out;
}
