// A start that failed (spawn_error) is decided as one batch: the attempt's start and its failure,
// so nothing (a worker shut down, its task reassigned) can come between them and undo the retry.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TaskOutcome } from '../src/model/types.js';
import { T0, World, picture, spec } from './helpers/model.js';

const e2big: TaskOutcome = { kind: 'spawn_error', exit_code: null, signal: null, duration_ms: 3, message: 'cannot start "true": too large (E2BIG)', errno: 'E2BIG' };

function world(maxRetries: number): World {
  const w = new World();
  w.worker('w1');
  w.submit(spec({ id: 'ws', tasks: [{ id: 'a', command: ['true'], max_retries: maxRetries, critical: true }] }));
  return w;
}

const cmd = { kind: 'task_start_failed', workstream_id: 'ws', task_id: 'a', worker_id: 'w1', scheduler_id: 'sched-1', outcome: e2big } as const;

describe('task_start_failed', () => {
  it('records the start without a process and the failed attempt together, spending a retry', () => {
    const w = world(2);
    const then = w.when(cmd);
    assert.deepEqual(picture(then), ['task_started ws/a→running', 'task_attempt_failed ws/a→retrying']);
    assert.equal(then[0]!.pid, null);
    assert.equal(then[1]!.retry_count, 1);
    assert.deepEqual(then[1]!.outcome, e2big, 'the errno is kept in the record');
    w.given(then);
    assert.equal(w.task('ws', 'a').attempt, 1);
    assert.equal(w.state.worker('w1')!.state, 'idle', 'the worker is free again at once');
  });

  it('fails the task (and a critical task its workstream) when no retry is left', () => {
    const w = world(0);
    const then = w.when(cmd, T0 + 5);
    assert.deepEqual(picture(then).slice(0, 2), ['task_started ws/a→running', 'task_failed ws/a→failed']);
    assert.ok(picture(then).includes('workstream_failed ws→failed'), picture(then).join(', '));
  });

  it('is refused like task_start when the worker is not idle', () => {
    const w = world(2);
    w.do({ kind: 'worker_shutdown', worker_id: 'w1', trigger: 'test', reassign: true });
    assert.equal(w.refusal(cmd).code, 'ILLEGAL_TRANSITION');
  });
});
