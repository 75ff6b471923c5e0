import { CairnError } from '../errors.js';
import { SPEC_LIMITS } from '../schemas/workstream.js';
import { resolveTask } from '../model/resolve.js';
import type { StateView } from '../model/state.js';
import type { Draft } from '../model/types.js';
import { assertTaskMove, key, type Operator, operatorDecision, reopen } from './common.js';

/** retry_task: send one task back to pending, optionally with a new timeout, retry limit or retry count. */
export interface RetryTaskRequest extends Operator {
  task: string;
  workstreamId?: string;
  /** New attempt time limit in seconds (--timeout). */
  timeoutSeconds?: number;
  /** New retry limit (--max-retries). */
  maxRetries?: number;
  /** Start over with retry_count 0 (--reset-retries). */
  resetRetries?: boolean;
}

/**
 * The task goes back to pending (then queued when its dependencies allow) by `task_retried`. A task
 * of a failed workstream reopens it, and the tasks its critical failure cancelled return to pending.
 * A task already waiting to run (pending or queued) with nothing to change is left alone.
 */
export function decide(state: StateView, req: RetryTaskRequest, now: number): Draft[] {
  checkNumbers(req);
  const t = resolveTask(state, req.task, req.workstreamId);
  const changes = req.timeoutSeconds !== undefined || req.maxRetries !== undefined || req.resetRetries === true;
  if ((t.state === 'pending' || t.state === 'queued') && !changes) return [];
  assertTaskMove(t, 'task_retried', 'pending');
  if (t.state === 'blocked') {
    throw new CairnError('ILLEGAL_REQUEST', `task ${key(t)} is blocked by its failed dependency ${t.blocked_by ?? '?'}; retrying it alone would block it again`, {
      details: { workstream_id: t.workstream_id, task_id: t.id, state: t.state, blocked_by: t.blocked_by },
      hint: `Retry the dependency: cairn retry-task --task-id ${t.workstream_id}/${t.blocked_by ?? '<dependency>'} (this task follows by itself), or skip it: cairn skip-task --task-id ${t.workstream_id}/${t.blocked_by ?? '<dependency>'}`,
    });
  }
  const d = operatorDecision(state, now, req, 'retry_task');
  reopen(d, t.workstream_id, 'retry_task');
  d.move(d.task(t.workstream_id, t.id), 'task_retried', 'pending', {
    ...(req.timeoutSeconds !== undefined ? { timeout_seconds: req.timeoutSeconds } : {}),
    ...(req.maxRetries !== undefined ? { max_retries: req.maxRetries } : {}),
    ...(req.resetRetries ? { retry_count: 0 } : {}),
    recovery: 'retry_task',
  });
  return d.settle();
}

function checkNumbers(req: RetryTaskRequest): void {
  // The same bounds as a spec's (schemas/workstream.ts says why): a huge timeout would overflow the timer.
  if (req.timeoutSeconds !== undefined && !(Number.isFinite(req.timeoutSeconds) && req.timeoutSeconds > 0 && req.timeoutSeconds <= SPEC_LIMITS.timeout_seconds)) {
    throw new CairnError('BAD_INPUT', `--timeout must be a positive number of seconds, at most ${SPEC_LIMITS.timeout_seconds} (7 days), got ${req.timeoutSeconds}`);
  }
  if (req.maxRetries !== undefined && !(Number.isInteger(req.maxRetries) && req.maxRetries >= 0 && req.maxRetries <= SPEC_LIMITS.max_retries)) {
    throw new CairnError('BAD_INPUT', `--max-retries must be a whole number from 0 to ${SPEC_LIMITS.max_retries}, got ${req.maxRetries}`);
  }
}
