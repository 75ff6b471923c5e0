import { CairnError } from '../errors.js';
import { resolveTask } from '../model/resolve.js';
import type { StateView } from '../model/state.js';
import type { Draft } from '../model/types.js';
import { TERMINAL_WORKSTREAM_STATES } from '../model/states.js';
import { key, operatorDecision, reopen, settleAll, type Operator } from './common.js';

/** remove_dependency: `from` stops depending on `to` (one depends_on edge is removed). */
export interface RemoveDependencyRequest extends Operator {
  /** The task that depends (`a` in `a -> b`). */
  from: string;
  /** The dependency it stops waiting for (`b`). */
  to: string;
  workstreamId?: string;
  /** Whether the log already holds this removal (a repeat is then not an error). */
  alreadyRemoved?: boolean;
}

/**
 * Records `task_dependency_removed`; the task is then re-checked (a pending task whose other
 * dependencies are done is queued, a blocked one whose failed dependency was removed is unblocked).
 * A blocked or pending task of a failed workstream reopens it (it may proceed now). A removal already made gives no records; a task that never depended on `to` is refused, naming the
 * dependencies it has.
 */
export function decide(state: StateView, req: RemoveDependencyRequest, now: number): Draft[] {
  const a = resolveTask(state, req.from, req.workstreamId);
  const b = resolveTask(state, req.to.includes('/') ? req.to : `${a.workstream_id}/${req.to}`);
  if (b.workstream_id !== a.workstream_id) {
    throw new CairnError('BAD_INPUT', `${key(a)} and ${key(b)} are in different workstreams; dependencies are within one workstream`);
  }
  if (!a.depends_on.includes(b.id)) {
    if (req.alreadyRemoved) return [];
    throw new CairnError('ILLEGAL_REQUEST', `task ${key(a)} does not depend on ${b.id}`, {
      details: { workstream_id: a.workstream_id, task_id: a.id, depends_on: a.depends_on },
      hint: a.depends_on.length > 0 ? `${a.id} depends on: ${a.depends_on.join(', ')}` : `${a.id} has no dependencies`,
    });
  }
  const d = operatorDecision(state, now, req, 'remove_dependency');
  // A task left waiting in a failed workstream may proceed now: the workstream is reopened for it.
  const ws = state.workstream(a.workstream_id)!;
  const reopens = TERMINAL_WORKSTREAM_STATES.has(ws.state) && (a.state === 'blocked' || a.state === 'pending');
  if (reopens) reopen(d, ws.id, 'remove_dependency');
  d.emit({ type: 'task_dependency_removed', workstream_id: a.workstream_id, task_id: a.id, dependency_id: b.id });
  return reopens ? settleAll(d, ws.id) : d.settle();
}
