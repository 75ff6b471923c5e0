import { workerShutdown } from '../model/decide.js';
import { resolveWorker } from '../model/resolve.js';
import type { StateView } from '../model/state.js';
import type { Draft } from '../model/types.js';
import { operatorDecision, type Operator } from './common.js';

/** force_shutdown_worker: shut a worker down, its task reassigned (no retry spent) or counted as a failed attempt. */
export interface ForceShutdownRequest extends Operator {
  worker: string;
  reassign: boolean;
  /** Whether a scheduler runs now: it then gets a request; without one the state is changed directly. */
  schedulerLive: boolean;
}

/**
 * With a live scheduler: `worker_shutdown_requested` (the scheduler kills the worker and records the
 * outcome). Without one the worker's process is gone with its scheduler, so the shutdown is recorded
 * at once: its task reassigned (or failed over, without --reassign) and `worker_shutdown`. A worker
 * already shut down, or already asked to, gives no records.
 */
export function decide(state: StateView, req: ForceShutdownRequest, now: number): Draft[] {
  const w = resolveWorker(state, req.worker);
  if (w.state === 'shutdown') return [];
  const d = operatorDecision(state, now, req, 'force_shutdown_worker');
  if (req.schedulerLive) {
    if (w.pending_request?.kind === 'shutdown' && w.pending_request.reassign === req.reassign) return [];
    d.emit({ type: 'worker_shutdown_requested', worker_id: w.id, reassign: req.reassign });
    return d.out;
  }
  return workerShutdown(d, w.id, 'operator', req.reassign);
}
