// Every decision of decide.ts as given/when/then: given these records, when this command, then these
// records — or this error code. Time is an argument (ctx.now), so backoffs are checked without sleeping.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backoffMs } from '../src/model/decide.js';
import { T0, World, exit, iso, lost, ok, outcomeCmd, picture, spec, startCmd, timeout } from './helpers/model.js';

/** A world with workers w1..wN started and `s` submitted. */
function world(s: Record<string, unknown>, workers = 2): World {
  const w = new World();
  for (let i = 1; i <= workers; i++) w.worker(`w${i}`);
  w.submit(spec(s));
  return w;
}

describe('submit', () => {
  it('declares the resources, records the workstream, queues the tasks without dependencies and starts the workstream', () => {
    const w = new World();
    const then = w.when({ kind: 'submit', spec: spec({
      id: 'rel',
      resources: { db: { max_holders: 2 }, net: { max_holders: null } },
      tasks: [
        { id: 'a', command: 'true' },
        { id: 'b', command: 'true', depends_on: ['a'], resources: ['db'] },
        { id: 'c', command: 'true', resources: { net: 3 } },
      ],
    }), operator: 'alice' });
    assert.deepEqual(picture(then), [
      'resource_declared db', 'resource_declared net', 'workstream_submitted rel→pending',
      'task_queued rel/a→queued', 'task_queued rel/c→queued', 'workstream_started rel→running',
    ]);
    assert.deepEqual(then.slice(0, 2).map((r) => [r.resource_id, r.max_holders]), [['db', 2], ['net', null]]);
    assert.equal(then[3]!.trigger, 'dependencies_met');
    assert.ok(then.every((r) => r.operator === 'alice'), 'every record names the operator who submitted');
    w.given(then);
    assert.deepEqual(w.taskStates('rel'), { a: 'queued', b: 'pending', c: 'queued' });
  });

  it('does not declare again a resource another workstream declared', () => {
    const w = world({ id: 'one', resources: { db: { max_holders: 1 } }, tasks: [{ id: 'a', command: 'true', resources: ['db'] }] });
    const then = w.when({ kind: 'submit', spec: spec({ id: 'two', resources: { db: { max_holders: 5 } }, tasks: [{ id: 'a', command: 'true', resources: ['db'] }] }) });
    assert.deepEqual(picture(then), ['workstream_submitted two→pending', 'task_queued two/a→queued', 'workstream_started two→running']);
    assert.equal(w.state.resource('db')!.max_holders, 1, 'a limit changes only through set_resource_limit');
  });

  it('rejects a second workstream with the same id with DUPLICATE_WORKSTREAM', () => {
    const w = world({ id: 'rel', tasks: [{ id: 'a', command: 'true' }] });
    const e = w.refusal({ kind: 'submit', spec: spec({ id: 'rel', tasks: [{ id: 'other', command: 'true' }] }) });
    assert.equal(e.code, 'DUPLICATE_WORKSTREAM');
    assert.match(e.hint ?? '', /cairn status --workstream-id rel/);
  });

  it('rejects a workstream id whose checkpoint file would collide with another workstream with BAD_ID', () => {
    const w = new World();
    assert.equal(w.refusal({ kind: 'submit', spec: spec({ id: 'x_latest.json', tasks: [{ id: 'a', command: 'true' }] }) }).code, 'BAD_ID');
  });
});

describe('task_start', () => {
  it('starts a queued task on an idle worker: attempt 1, its resources taken, the worker busy', () => {
    const w = world({ id: 'ws', resources: { db: { max_holders: 2 } }, tasks: [{ id: 'a', command: 'true', resources: { db: 2 } }] });
    const then = w.when(startCmd('ws', 'a', 'w1'));
    assert.deepEqual(picture(then), ['task_started ws/a→running']);
    assert.equal(then[0]!.worker_id, 'w1');
    assert.equal(then[0]!.attempt, 1);
    assert.equal(then[0]!.deadline, iso(T0 + 60_000));
    w.given(then);
    assert.deepEqual(w.state.resource('db')!.holders, { 'ws/a': 2 });
    assert.equal(w.state.worker('w1')!.state, 'busy');
    assert.equal(w.state.worker('w1')!.task, 'ws/a');
  });

  it('takes all resources or none: a task refused for one busy resource holds none of the others', () => {
    const w = world({
      id: 'ws', resources: { db: { max_holders: 1 }, net: { max_holders: 1 } },
      tasks: [{ id: 'a', command: 'true', resources: ['net'] }, { id: 'b', command: 'true', resources: ['db', 'net'] }],
    });
    w.start('ws', 'a', 'w1');
    const e = w.refusal(startCmd('ws', 'b', 'w2'));
    assert.equal(e.code, 'ILLEGAL_REQUEST');
    assert.match(e.message, /net/);
    assert.deepEqual(w.state.resource('db')!.holders, {}, 'db was not taken');
    assert.equal(w.task('ws', 'b').state, 'queued');
    assert.equal(w.state.worker('w2')!.state, 'idle');
  });

  it('respects max_holders counted in units, and an unlimited resource never refuses', () => {
    const w = world({
      id: 'ws', resources: { db: { max_holders: 4 }, cpu: { max_holders: null } },
      tasks: [
        { id: 'a', command: 'true', resources: { db: 3, cpu: 1000 } },
        { id: 'b', command: 'true', resources: { db: 2 } },
        { id: 'c', command: 'true', resources: { db: 1, cpu: 1000 } },
      ],
    }, 3);
    w.start('ws', 'a', 'w1');
    assert.equal(w.refusal(startCmd('ws', 'b', 'w2')).code, 'ILLEGAL_REQUEST', '3 + 2 units exceed max_holders 4');
    w.start('ws', 'c', 'w2');
    assert.deepEqual(w.state.resource('db')!.holders, { 'ws/a': 3, 'ws/c': 1 });
    w.outcome('ws', 'a', ok());
    assert.deepEqual(picture(w.when(startCmd('ws', 'b', 'w3'))), ['task_started ws/b→running'], 'a released its units when it completed');
  });

  it('refuses a worker that is not idle with ILLEGAL_TRANSITION and an unknown one with UNKNOWN_WORKER', () => {
    const w = world({ id: 'ws', tasks: [{ id: 'a', command: 'true' }, { id: 'b', command: 'true' }] });
    w.start('ws', 'a', 'w1');
    assert.equal(w.refusal(startCmd('ws', 'b', 'w1')).code, 'ILLEGAL_TRANSITION');
    assert.equal(w.refusal(startCmd('ws', 'b', 'w9')).code, 'UNKNOWN_WORKER');
    assert.equal(w.refusal(startCmd('ws', 'zz', 'w2')).code, 'UNKNOWN_TASK');
  });

  it('refuses to start a task that is not queued with ILLEGAL_TRANSITION', () => {
    const w = world({ id: 'ws', tasks: [{ id: 'a', command: 'true' }, { id: 'b', command: 'true', depends_on: ['a'] }] });
    assert.equal(w.refusal(startCmd('ws', 'b', 'w1')).code, 'ILLEGAL_TRANSITION', 'b is pending');
  });
});

describe('task_outcome', () => {
  it('completes a task that exits 0, queues its dependents, and completes the workstream after the last one', () => {
    const w = world({ id: 'ws', tasks: [{ id: 'a', command: 'true' }, { id: 'b', command: 'true', depends_on: ['a'] }] });
    w.start('ws', 'a', 'w1');
    const then = w.when(outcomeCmd(w, 'ws', 'a', ok(25)));
    assert.deepEqual(picture(then), ['task_completed ws/a→completed', 'task_queued ws/b→queued']);
    assert.deepEqual(then[0]!.outcome, ok(25), 'the outcome is stored in the record as plain JSON');
    w.given(then);
    assert.equal(w.state.worker('w1')!.state, 'idle');
    w.start('ws', 'b', 'w2');
    assert.deepEqual(picture(w.when(outcomeCmd(w, 'ws', 'b', ok()))), ['task_completed ws/b→completed', 'workstream_completed ws→completed']);
  });

  it('validates a task with a validate command, then completes it when validation exits 0', () => {
    const w = world({ id: 'ws', tasks: [{ id: 'a', command: 'true', validate: 'test -f out' }] });
    w.start('ws', 'a', 'w1');
    const first = w.outcome('ws', 'a', ok());
    assert.deepEqual(picture(first), ['task_validating ws/a→validating']);
    assert.equal(w.state.worker('w1')!.state, 'busy', 'validation runs on the same worker');
    const then = w.when(outcomeCmd(w, 'ws', 'a', ok(), 'validate'));
    assert.deepEqual(picture(then), ['task_completed ws/a→completed', 'workstream_completed ws→completed']);
  });

  it('fails a task whose validation fails without retrying it, even with retries left', () => {
    const w = world({ id: 'ws', tasks: [{ id: 'a', command: 'true', validate: 'false', max_retries: 5 }, { id: 'b', command: 'true' }] });
    w.start('ws', 'a', 'w1');
    w.outcome('ws', 'a', ok());
    const then = w.when(outcomeCmd(w, 'ws', 'a', exit(1), 'validate'));
    assert.deepEqual(picture(then), ['task_validation_failed ws/a→failed']);
    assert.equal((then[0]!.outcome as { kind: string }).kind, 'validation');
    w.given(then);
    assert.equal(w.task('ws', 'a').retry_count, 0);
    assert.equal(w.task('ws', 'a').retry_at, null);
  });

  it('moves a running task to retrying when an attempt fails with retries left, with retry_at = now + min(cap, base·2^retry_count)', () => {
    const w = world({ id: 'ws', tasks: [{ id: 'a', command: 'false', max_retries: 10, retry_base_seconds: 0.5, retry_cap_seconds: 3 }] });
    const expected = [500, 1000, 2000, 3000, 3000];
    let now = T0;
    for (const [i, delay] of expected.entries()) {
      w.start('ws', 'a', 'w1', now);
      now += 100;
      assert.equal(backoffMs(w.task('ws', 'a')), delay);
      const then = w.when(outcomeCmd(w, 'ws', 'a', exit(2)), now);
      assert.deepEqual(picture(then), ['task_attempt_failed ws/a→retrying']);
      assert.equal(then[0]!.retry_count, i + 1);
      assert.equal(then[0]!.retry_at, iso(now + delay), `attempt ${i + 1} waits ${delay} ms`);
      assert.equal(then[0]!.attempt, i + 1);
      w.given(then, now);
      now += delay;
      assert.deepEqual(picture(w.do({ kind: 'retry_due', workstream_id: 'ws', task_id: 'a' }, now)), ['task_queued ws/a→queued']);
    }
  });

  it('records a timeout as task_timed_out with its retry_at', () => {
    const w = world({ id: 'ws', tasks: [{ id: 'a', command: 'sleep 9', max_retries: 1, retry_base_seconds: 2 }] });
    w.start('ws', 'a', 'w1');
    const then = w.when(outcomeCmd(w, 'ws', 'a', timeout()), T0 + 5000);
    assert.deepEqual(picture(then), ['task_timed_out ws/a→retrying']);
    assert.equal(then[0]!.retry_at, iso(T0 + 7000));
    assert.equal((then[0]!.outcome as { kind: string }).kind, 'timeout');
    w.given(then);
    assert.equal(w.state.metrics().timeouts, 1);
  });

  it('fails a task when its retries are used up', () => {
    const w = world({ id: 'ws', tasks: [{ id: 'a', command: 'false', max_retries: 1 }, { id: 'keep', command: 'true' }] });
    w.start('ws', 'a', 'w1');
    w.outcome('ws', 'a', exit(1));
    w.do({ kind: 'retry_due', workstream_id: 'ws', task_id: 'a' });
    w.start('ws', 'a', 'w1');
    const then = w.when(outcomeCmd(w, 'ws', 'a', timeout()));
    assert.deepEqual(picture(then), ['task_failed ws/a→failed'], 'a timeout with no retries left fails too');
    assert.equal(then[0]!.attempt, 2);
  });

  it('fails the workstream at once when a critical task fails, cancelling its other unfinished tasks with trigger critical_failure', () => {
    const w = world({
      id: 'ws',
      tasks: [
        { id: 'done', command: 'true' },
        { id: 'crit', command: 'false', critical: true, max_retries: 0 },
        { id: 'busy', command: 'sleep 9' },
        { id: 'waiting', command: 'true', depends_on: ['busy'] },
        { id: 'queued', command: 'true' },
      ],
    }, 3);
    w.start('ws', 'done', 'w1');
    w.outcome('ws', 'done', ok());
    w.start('ws', 'crit', 'w1');
    w.start('ws', 'busy', 'w2');
    const then = w.when(outcomeCmd(w, 'ws', 'crit', exit(1)));
    assert.deepEqual(picture(then), [
      'task_failed ws/crit→failed', 'workstream_failed ws→failed',
      'task_cancelled ws/busy→cancelled', 'task_cancelled ws/waiting→cancelled', 'task_cancelled ws/queued→cancelled',
    ]);
    assert.equal(then[1]!.trigger, 'critical_failure');
    assert.equal(then[1]!.task_id, 'crit');
    assert.ok(then.slice(2).every((r) => r.trigger === 'critical_failure'));
    w.given(then);
    assert.deepEqual(w.taskStates('ws'), { done: 'completed', crit: 'failed', busy: 'cancelled', waiting: 'cancelled', queued: 'cancelled' });
    assert.equal(w.state.worker('w2')!.state, 'idle', 'the cancelled running task freed its worker (the runner kills it)');
    assert.equal(w.task('ws', 'busy').cancel_trigger, 'critical_failure');
  });

  it('fails the workstream when a critical task fails its validation', () => {
    const w = world({ id: 'ws', tasks: [{ id: 'a', command: 'true', validate: 'false', critical: true }, { id: 'b', command: 'true' }] });
    w.start('ws', 'a', 'w1');
    w.outcome('ws', 'a', ok());
    assert.deepEqual(picture(w.when(outcomeCmd(w, 'ws', 'a', exit(1), 'validate'))), [
      'task_validation_failed ws/a→failed', 'workstream_failed ws→failed', 'task_cancelled ws/b→cancelled',
    ]);
  });

  it('blocks the dependents of a failed non-critical task, lets the rest go on, and fails the workstream when nothing can progress', () => {
    const w = world({
      id: 'ws',
      tasks: [
        { id: 'bad', command: 'false', max_retries: 0 },
        { id: 'after', command: 'true', depends_on: ['bad'] },
        { id: 'later', command: 'true', depends_on: ['after'] },
        { id: 'other', command: 'true' },
      ],
    });
    w.start('ws', 'bad', 'w1');
    w.start('ws', 'other', 'w2');
    const then = w.when(outcomeCmd(w, 'ws', 'bad', exit(1)));
    assert.deepEqual(picture(then), ['task_failed ws/bad→failed', 'task_blocked ws/after→blocked'], 'other still runs: the workstream goes on');
    assert.equal(then[1]!.blocked_by, 'bad');
    w.given(then);
    const last = w.when(outcomeCmd(w, 'ws', 'other', ok()));
    assert.deepEqual(picture(last), ['task_completed ws/other→completed', 'workstream_failed ws→failed']);
    assert.equal(last[1]!.trigger, 'task_failed');
    assert.match(String(last[1]!.failure), /1 failed, 1 blocked, 1 pending/);
  });

  it('gives no records for the late outcome of an attempt that is no longer the running one', () => {
    const w = world({ id: 'ws', tasks: [{ id: 'a', command: 'true' }] });
    w.start('ws', 'a', 'w1');
    w.do({ kind: 'reassign', workstream_id: 'ws', task_id: 'a', trigger: 'scheduler_restarted' });
    w.start('ws', 'a', 'w2');
    assert.equal(w.task('ws', 'a').attempt, 2);
    const late = { kind: 'task_outcome', workstream_id: 'ws', task_id: 'a', attempt: 1, phase: 'command', outcome: exit(1) } as const;
    assert.deepEqual(w.when(late), [], 'attempt 1 was reassigned; attempt 2 runs');
    w.outcome('ws', 'a', ok());
    assert.deepEqual(w.when({ ...late, attempt: 2, outcome: ok() }), [], 'the task is completed: a duplicate outcome is ignored');
  });

  it('reassigns the task when the worker was lost, without spending a retry', () => {
    const w = world({ id: 'ws', tasks: [{ id: 'a', command: 'true', max_retries: 0 }] });
    w.start('ws', 'a', 'w1');
    const then = w.when(outcomeCmd(w, 'ws', 'a', lost()));
    assert.deepEqual(picture(then), ['task_reassigned ws/a→queued']);
    assert.equal(then[0]!.trigger, 'worker_lost');
  });
});

describe('retry_due', () => {
  it('queues a retrying task again', () => {
    const w = world({ id: 'ws', tasks: [{ id: 'a', command: 'false', max_retries: 2 }] });
    w.start('ws', 'a', 'w1');
    w.outcome('ws', 'a', exit(1));
    const then = w.when({ kind: 'retry_due', workstream_id: 'ws', task_id: 'a' }, T0 + 1000);
    assert.deepEqual(picture(then), ['task_queued ws/a→queued']);
    assert.equal(then[0]!.trigger, 'retry_due');
    w.given(then);
    assert.equal(w.task('ws', 'a').retry_at, null);
    assert.equal(w.task('ws', 'a').retry_count, 1);
  });

  it('refuses a task that is not retrying with ILLEGAL_TRANSITION', () => {
    const w = world({ id: 'ws', tasks: [{ id: 'a', command: 'true' }] });
    assert.equal(w.refusal({ kind: 'retry_due', workstream_id: 'ws', task_id: 'a' }).code, 'ILLEGAL_TRANSITION');
  });
});

describe('reassign', () => {
  it('queues a running task again without spending a retry; its next attempt has the next number', () => {
    const w = world({ id: 'ws', resources: { db: { max_holders: 1 } }, tasks: [{ id: 'a', command: 'true', max_retries: 3, resources: ['db'] }] });
    w.start('ws', 'a', 'w1');
    w.outcome('ws', 'a', exit(1));
    w.do({ kind: 'retry_due', workstream_id: 'ws', task_id: 'a' });
    w.start('ws', 'a', 'w1');
    const then = w.when({ kind: 'reassign', workstream_id: 'ws', task_id: 'a', trigger: 'scheduler_restarted' });
    assert.deepEqual(picture(then), ['task_reassigned ws/a→queued']);
    assert.equal(then[0]!.trigger, 'scheduler_restarted');
    assert.equal(then[0]!.attempt, 2);
    w.given(then);
    assert.equal(w.task('ws', 'a').retry_count, 1, 'retry_count unchanged');
    assert.deepEqual(w.state.resource('db')!.holders, {}, 'resources released');
    assert.equal(w.state.worker('w1')!.state, 'idle');
    w.start('ws', 'a', 'w2');
    assert.equal(w.task('ws', 'a').attempt, 3);
  });

  it('refuses a task that is not running with ILLEGAL_TRANSITION', () => {
    const w = world({ id: 'ws', tasks: [{ id: 'a', command: 'true' }] });
    assert.equal(w.refusal({ kind: 'reassign', workstream_id: 'ws', task_id: 'a', trigger: 'x' }).code, 'ILLEGAL_TRANSITION');
  });
});

describe('workers', () => {
  it('marks a silent worker unresponsive, and recovers it to busy when it still runs its task', () => {
    const w = world({ id: 'ws', tasks: [{ id: 'a', command: 'true' }] });
    w.start('ws', 'a', 'w1');
    const then = w.when({ kind: 'worker_unresponsive', worker_id: 'w1', silent_ms: 31_000 });
    assert.deepEqual(picture(then), ['worker_unresponsive w1→unresponsive']);
    assert.equal(then[0]!.silent_ms, 31_000);
    w.given(then);
    assert.equal(w.task('ws', 'a').state, 'running', 'an unresponsive worker keeps its task until it is shut down');
    assert.deepEqual(picture(w.when({ kind: 'worker_recovered', worker_id: 'w1' })), ['worker_recovered w1→busy']);
  });

  it('recovers an idle worker to idle, and refuses to recover a worker that is not unresponsive', () => {
    const w = world({ id: 'ws', tasks: [{ id: 'a', command: 'true' }] });
    assert.equal(w.refusal({ kind: 'worker_recovered', worker_id: 'w1' }).code, 'ILLEGAL_TRANSITION');
    w.do({ kind: 'worker_unresponsive', worker_id: 'w1', silent_ms: 31_000 });
    assert.equal(w.refusal({ kind: 'worker_unresponsive', worker_id: 'w1', silent_ms: 40_000 }).code, 'ILLEGAL_TRANSITION', 'reported once');
    assert.deepEqual(picture(w.when({ kind: 'worker_recovered', worker_id: 'w1' })), ['worker_recovered w1→idle']);
    assert.equal(w.refusal({ kind: 'worker_recovered', worker_id: 'nobody' }).code, 'UNKNOWN_WORKER');
  });

  it('shuts down an unresponsive worker and reassigns its task without spending a retry', () => {
    const w = world({ id: 'ws', tasks: [{ id: 'a', command: 'true', max_retries: 0 }] });
    w.start('ws', 'a', 'w1');
    w.do({ kind: 'worker_unresponsive', worker_id: 'w1', silent_ms: 31_000 });
    const then = w.when({ kind: 'worker_shutdown', worker_id: 'w1', trigger: 'unresponsive', reassign: true });
    assert.deepEqual(picture(then), ['task_reassigned ws/a→queued', 'worker_shutdown w1→shutdown']);
    assert.equal(then[0]!.trigger, 'worker_lost');
    assert.equal(then[1]!.from, 'unresponsive');
    assert.equal(then[1]!.trigger, 'unresponsive');
    w.given(then);
    assert.equal(w.task('ws', 'a').retry_count, 0);
    assert.equal(w.task('ws', 'a').worker_id, 'w1', 'the last worker stays on record');
  });

  it('counts the task of a worker shut down without reassign as a failed attempt', () => {
    const w = world({ id: 'ws', tasks: [{ id: 'a', command: 'true', max_retries: 1 }, { id: 'b', command: 'true', max_retries: 0 }] });
    w.start('ws', 'a', 'w1');
    w.start('ws', 'b', 'w2');
    const a = w.when({ kind: 'worker_shutdown', worker_id: 'w1', trigger: 'requested', reassign: false }, T0 + 10);
    assert.deepEqual(picture(a), ['task_attempt_failed ws/a→retrying', 'worker_shutdown w1→shutdown']);
    assert.equal((a[0]!.outcome as { kind: string }).kind, 'worker_lost');
    assert.equal(a[0]!.retry_at, iso(T0 + 10 + 1000));
    assert.deepEqual(picture(w.when({ kind: 'worker_shutdown', worker_id: 'w2', trigger: 'requested', reassign: false })), [
      'task_failed ws/b→failed', 'worker_shutdown w2→shutdown',
    ]);
  });

  it('fails a validating task whose worker is shut down without reassign as a failed validation: not retried, even with retries left', () => {
    const w = world({ id: 'ws', resources: { r: { max_holders: 1 } }, tasks: [
      { id: 'a', command: 'true', validate: 'test -f out', max_retries: 3, resources: ['r'] },
      { id: 'b', command: 'true', depends_on: ['a'] },
    ] });
    w.start('ws', 'a', 'w1');
    w.outcome('ws', 'a', ok());
    assert.equal(w.task('ws', 'a').state, 'validating');
    const then = w.when({ kind: 'worker_shutdown', worker_id: 'w1', trigger: 'requested', reassign: false });
    assert.deepEqual(picture(then), ['task_validation_failed ws/a→failed', 'worker_shutdown w1→shutdown', 'task_blocked ws/b→blocked', 'workstream_failed ws→failed']);
    assert.equal((then[0]!.outcome as { kind: string }).kind, 'worker_lost', 'the outcome says the worker was lost, not that validation failed');
    w.given(then);
    assert.equal(w.task('ws', 'a').retry_count, 0);
    assert.equal(w.task('ws', 'a').retry_at, null);
    assert.deepEqual(w.state.resource('r')!.holders, {}, 'its resources are released');
    assert.equal(w.state.worker('w1')!.task, null);
  });

  it('fails the workstream at once when a critical validating task loses its worker without reassign', () => {
    const w = world({ id: 'ws', tasks: [{ id: 'a', command: 'true', validate: 'true', critical: true }, { id: 'b', command: 'true' }] });
    w.start('ws', 'a', 'w1');
    w.outcome('ws', 'a', ok());
    const then = w.when({ kind: 'worker_shutdown', worker_id: 'w1', trigger: 'requested', reassign: false });
    assert.deepEqual(picture(then), ['task_validation_failed ws/a→failed', 'workstream_failed ws→failed', 'task_cancelled ws/b→cancelled', 'worker_shutdown w1→shutdown']);
    assert.equal(then[1]!.trigger, 'critical_failure');
  });

  it('records a worker shutdown at the end of a run as info, and an unresponsive, forced or lost one as warning', () => {
    const w = new World();
    const triggers = ['done', 'interrupted', 'unresponsive', 'operator', 'restart_requested', 'scheduler_lost', 'error'];
    triggers.forEach((_, i) => w.worker(`w${i + 1}`));
    const severities = triggers.map((trigger, i) => {
      const [r] = w.do({ kind: 'worker_shutdown', worker_id: `w${i + 1}`, trigger, reassign: true });
      return `${trigger} ${r!.severity}`;
    });
    assert.deepEqual(severities, ['done info', 'interrupted info', 'unresponsive warning', 'operator warning', 'restart_requested warning', 'scheduler_lost warning', 'error warning']);
  });

  it('shuts down an idle worker with one record, and gives none for a worker already shut down', () => {
    const w = world({ id: 'ws', tasks: [{ id: 'a', command: 'true' }] });
    assert.deepEqual(picture(w.do({ kind: 'worker_shutdown', worker_id: 'w1', trigger: 'scheduler_stopped', reassign: true })), ['worker_shutdown w1→shutdown']);
    assert.deepEqual(w.when({ kind: 'worker_shutdown', worker_id: 'w1', trigger: 'scheduler_stopped', reassign: true }), []);
  });

  it('starts a worker idle, restarts a shut-down one, and refuses to start one that runs', () => {
    const w = new World();
    const first = w.do({ kind: 'worker_start', worker_id: 'w1', pid: 10, scheduler_id: 's' });
    assert.deepEqual(picture(first), ['worker_started w1→idle']);
    assert.equal(first[0]!.from, undefined, 'a new worker has no from');
    assert.equal(w.refusal({ kind: 'worker_start', worker_id: 'w1', pid: 11, scheduler_id: 's' }).code, 'ILLEGAL_TRANSITION');
    w.do({ kind: 'worker_shutdown', worker_id: 'w1', trigger: 'restart', reassign: true });
    const again = w.when({ kind: 'worker_start', worker_id: 'w1', pid: 12, scheduler_id: 's' });
    assert.deepEqual(picture(again), ['worker_started w1→idle']);
    assert.equal(again[0]!.from, 'shutdown');
  });
});

describe('resource_wait_warn', () => {
  it('logs resource_exhausted (critical) once per wait, and again after the task waited anew', () => {
    const w = world({
      id: 'ws', resources: { db: { max_holders: 1 } },
      tasks: [{ id: 'a', command: 'true', resources: ['db'], max_retries: 1 }, { id: 'b', command: 'true', resources: ['db'], max_retries: 2 }],
    });
    w.start('ws', 'a', 'w1');
    const warn = { kind: 'resource_wait_warn', workstream_id: 'ws', task_id: 'b', resource_id: 'db', waited_ms: 61_000 } as const;
    const then = w.when(warn);
    assert.deepEqual(picture(then), ['resource_exhausted db']);
    assert.equal(then[0]!.task_id, 'b');
    assert.equal(then[0]!.waited_ms, 61_000);
    w.given(then);
    assert.equal(w.log.at(-1)!.severity, 'critical');
    assert.deepEqual(w.when({ ...warn, waited_ms: 120_000 }), [], 'only once');
    // b gets its turn, fails, waits again: a new wait may be warned about again.
    w.outcome('ws', 'a', ok());
    w.start('ws', 'b', 'w1');
    w.outcome('ws', 'b', exit(1));
    w.do({ kind: 'retry_due', workstream_id: 'ws', task_id: 'b' });
    assert.deepEqual(picture(w.when(warn)), ['resource_exhausted db']);
  });

  it('gives no records for a task that no longer waits', () => {
    const w = world({ id: 'ws', resources: { db: { max_holders: 1 } }, tasks: [{ id: 'a', command: 'true', resources: ['db'] }] });
    w.start('ws', 'a', 'w1');
    assert.deepEqual(w.when({ kind: 'resource_wait_warn', workstream_id: 'ws', task_id: 'a', resource_id: 'db', waited_ms: 61_000 }), []);
  });
});

describe('scheduler', () => {
  it('records a scheduler start with its id, pid and process start, and its clean stop', () => {
    const w = new World();
    const start = w.do({ kind: 'scheduler_start', scheduler_id: 's1', pid: 77, process_start: '999' });
    assert.deepEqual(picture(start), ['scheduler_started']);
    assert.deepEqual(w.state.scheduler(), { id: 's1', pid: 77, process_start: '999', started_at: iso(T0) });
    const stop = w.do({ kind: 'scheduler_stop', reason: 'done' });
    assert.deepEqual(picture(stop), ['scheduler_stopped']);
    assert.equal(stop[0]!.trigger, 'done');
    assert.equal(w.state.scheduler(), null);
  });

  it('releases the workers shut down by the stop: names them in released_workers and removes them from the state', () => {
    const w = new World();
    w.do({ kind: 'scheduler_start', scheduler_id: 's1', pid: 77, process_start: '999' });
    w.worker('w1');
    w.worker('w2');
    w.worker('w3');
    w.do({ kind: 'worker_shutdown', worker_id: 'w2', trigger: 'unresponsive', reassign: true });
    w.do({ kind: 'worker_shutdown', worker_id: 'w1', trigger: 'done', reassign: true });
    const stop = w.when({ kind: 'scheduler_stop', reason: 'done' });
    assert.deepEqual(stop[0]!.released_workers, ['w1', 'w2'], 'every shut-down worker, sorted; w3 still runs');
    w.given(stop);
    assert.deepEqual(w.state.workerIds(), ['w3']);
    assert.deepEqual(picture(w.when({ kind: 'worker_start', worker_id: 'w1', pid: 5, scheduler_id: 's2' })), ['worker_started w1→idle']);
  });

  it('keeps the shut-down workers of a stop recorded without released_workers (logs of older builds)', () => {
    const w = new World();
    w.worker('w1');
    w.do({ kind: 'worker_shutdown', worker_id: 'w1', trigger: 'done', reassign: true });
    w.given([{ type: 'scheduler_stopped', trigger: 'done' }]);
    assert.equal(w.state.worker('w1')!.state, 'shutdown');
  });

  it('gives no released_workers when no worker is shut down', () => {
    const w = new World();
    w.worker('w1');
    assert.equal(w.when({ kind: 'scheduler_stop', reason: 'done' })[0]!.released_workers, undefined);
  });
});
