import { CairnError } from '../errors.js';
import type { StateView } from '../model/state.js';
import { TERMINAL_WORKSTREAM_STATES } from '../model/states.js';
import type { Draft } from '../model/types.js';
import { type Operator, operatorDecision, resolveWorkstream, settleAll } from './common.js';

/** reset_workstream: start a finished workstream over under the same id. */
export interface ResetWorkstreamRequest extends Operator {
  workstream: string;
}

/**
 * One `workstream_reset` (completed, failed or cancelled -> pending): every task pending again with
 * retry_count 0; attempt numbers go on (each attempt keeps its own log file) and the earlier
 * attempts stay in the log. Then the tasks without dependencies are queued as at submit.
 */
export function decide(state: StateView, req: ResetWorkstreamRequest, now: number): Draft[] {
  const ws = resolveWorkstream(state, req.workstream);
  if (!TERMINAL_WORKSTREAM_STATES.has(ws.state)) {
    throw new CairnError('ILLEGAL_REQUEST', `workstream ${ws.id} is ${ws.state}; only a finished (completed, failed or cancelled) workstream can be reset`, {
      details: { workstream_id: ws.id, state: ws.state },
      hint: `To run failed tasks again: cairn retry-workstream --workstream-id ${ws.id}; to go back to a checkpoint: cairn rollback-workstream --workstream-id ${ws.id}`,
    });
  }
  const d = operatorDecision(state, now, req, 'reset_workstream');
  d.emit({ type: 'workstream_reset', workstream_id: ws.id, from: ws.state, to: 'pending' });
  for (const id of ws.task_ids) d.touch(ws.id, id);
  return settleAll(d, ws.id);
}
