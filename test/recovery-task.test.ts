// Task recovery tools through the real CLI: retry-task, skip-task, cancel-task, debug-task.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  alive, assertManualAction, cli, cmd, fixture, given, interventions, lastSeq, node, orphanProcess, records, runSpec, since, specFile,
  startTask, startWorker, stateOf, status, submitCmd, tempState, waitFor,
} from './recovery-helpers.js';

const t = tempState();
after(t.cleanup);
const S = t.state;

describe('retry-task', () => {
  const counter = join(t.dir, 'build.count');
  const spec = {
    id: 'rel', defaults: { max_retries: 0 },
    tasks: [
      { id: 'build', command: [node, fixture('flaky.mjs'), counter, '1'], critical: true },
      { id: 'deploy', command: cmd.ok(), depends_on: ['build'] },
      { id: 'extra', command: cmd.ok(), depends_on: ['build'] },
    ],
  };

  it('reopens a workstream failed by its critical task, returns the tasks its failure cancelled to pending, and keeps operator-cancelled ones', async () => {
    assert.equal(cli(S, ['submit', specFile(t.dir, spec)]).code, 0);
    assert.equal(cli(S, ['cancel-task', '--task-id', 'rel/extra']).code, 0);
    const run = runSpec(S, t.dir, spec);
    assert.equal(run.code, 1, run.err);
    assert.equal(status(S).ws.rel, 'failed');
    assert.equal(status(S).tasks['rel/deploy']!.cancel_trigger, 'critical_failure');

    const seq = lastSeq(S);
    const lines = interventions(S).length;
    const r = cli(S, ['retry-task', '--task-id', 'rel/build', '--timeout', '30', '--max-retries', '2', '--reason', 'fixed the build', '--json']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.json().changed, true);
    const recs = since(S, seq);
    assert.deepEqual(recs.map((x) => `${x.type} ${x.task_id ?? ''} ${x.from}->${x.to}`), [
      'workstream_reopened  failed->running',
      'task_reset deploy cancelled->pending',
      'task_retried build failed->pending',
      'task_queued build pending->queued',
    ]);
    const retried = recs.find((x) => x.type === 'task_retried')!;
    assert.equal(retried.timeout_seconds, 30);
    assert.equal(retried.max_retries, 2);
    assert.equal(retried.reason, 'fixed the build');
    assertManualAction(S, 'retry_task', recs, lines);
    const st = status(S);
    assert.equal(st.ws.rel, 'running');
    assert.deepEqual([st.tasks['rel/build']!.state, st.tasks['rel/deploy']!.state, st.tasks['rel/extra']!.state], ['queued', 'pending', 'cancelled']);
    assert.equal(st.tasks['rel/extra']!.cancel_trigger, 'operator');
    assert.equal(st.tasks['rel/build']!.max_retries, 2);
  });

  it('lets the whole workstream finish once the critical task is retried after its cause is fixed', () => {
    const r = cli(S, ['run', '--workers', '2', '--json']);
    assert.equal(r.code, 0, r.err);
    const st = status(S);
    assert.equal(st.ws.rel, 'completed');
    assert.equal(st.tasks['rel/deploy']!.state, 'completed');
  });

  it('says a task that already waits to run needs nothing, and writes nothing', async () => {
    await given(S, [submitCmd({ id: 'waits', tasks: [{ id: 'q', command: cmd.ok() }] })]);
    const seq = lastSeq(S);
    const r = cli(S, ['retry-task', '--task-id', 'waits/q']);
    assert.equal(r.code, 0);
    assert.match(r.out, /already waits to run/);
    assert.equal(lastSeq(S), seq);
  });

  it('rejects a completed task with ILLEGAL_TRANSITION naming its state, an unknown id naming the closest, an ambiguous bare id listing candidates; nothing changes', async () => {
    await given(S, [submitCmd({ id: 'twin', tasks: [{ id: 'q', command: cmd.ok() }] })]);
    const seq = lastSeq(S);
    const done = cli(S, ['retry-task', '--task-id', 'rel/build', '--json']);
    assert.equal(done.code, 2);
    assert.equal(done.json().error.code, 'ILLEGAL_TRANSITION');
    assert.match(done.json().error.message, /is completed/);
    const unknown = cli(S, ['retry-task', '--task-id', 'rel/biuld', '--json']);
    assert.equal(unknown.code, 2);
    assert.equal(unknown.json().error.code, 'UNKNOWN_TASK');
    assert.ok(unknown.json().error.details.closest.includes('rel/build'));
    const amb = cli(S, ['retry-task', '--task-id', 'q', '--json']);
    assert.equal(amb.code, 2);
    assert.equal(amb.json().error.code, 'AMBIGUOUS_TASK');
    assert.deepEqual(amb.json().error.details.candidates, ['twin/q', 'waits/q']);
    assert.equal(lastSeq(S), seq);
  });
});

describe('skip-task', () => {
  const spec = {
    id: 'sk', defaults: { max_retries: 0 },
    tasks: [
      { id: 'a', command: cmd.fail() },
      { id: 'b', command: cmd.ok(), depends_on: ['a'] },
      { id: 'c', command: cmd.ok() },
    ],
  };

  it('needs --reason and confirmation (--yes off a terminal); without them nothing changes', () => {
    assert.equal(runSpec(S, t.dir, spec).code, 1);
    assert.equal(status(S).tasks['sk/b']!.state, 'blocked');
    const seq = lastSeq(S);
    const noYes = cli(S, ['skip-task', '--task-id', 'sk/a', '--reason', 'advisory', '--json']);
    assert.equal(noYes.code, 2);
    assert.equal(noYes.json().error.code, 'CONFIRMATION_REQUIRED');
    assert.equal(cli(S, ['skip-task', '--task-id', 'sk/a', '--yes']).code, 2);
    assert.equal(lastSeq(S), seq);
  });

  it('shows exactly what it would do with --dry-run, then skips: the workstream reopens and the blocked dependent proceeds', () => {
    const seq = lastSeq(S);
    const dry = cli(S, ['skip-task', '--task-id', 'sk/a', '--reason', 'advisory', '--dry-run', '--json']).json();
    assert.equal(dry.dry_run, true);
    assert.equal(lastSeq(S), seq);
    const lines = interventions(S).length;
    const r = cli(S, ['skip-task', '--task-id', 'sk/a', '--reason', 'advisory', '--yes', '--json']);
    assert.equal(r.code, 0, r.err);
    const recs = since(S, seq);
    assert.deepEqual(recs.map((x) => x.type), dry.records.map((x: { type: string }) => x.type));
    assert.deepEqual(recs.map((x) => `${x.type} ${x.task_id ?? ''} ${x.to}`), [
      'workstream_reopened  running', 'task_skipped a skipped', 'task_unblocked b pending', 'task_queued b queued',
    ]);
    assertManualAction(S, 'skip_task', recs, lines);
    assert.match(interventions(S).at(-1)!, /reason="advisory"/);
    assert.equal(stateOf(S, 'sk/b'), 'queued');
    assert.deepEqual(r.json().next, ['cairn run']);
  });

  it('reports a task that is already skipped and exits 0 without records', () => {
    const seq = lastSeq(S);
    const r = cli(S, ['skip-task', '--task-id', 'sk/a', '--reason', 'again', '--yes', '--json']);
    assert.equal(r.code, 0);
    assert.equal(r.json().changed, false);
    assert.match(r.json().message, /already skipped/);
    assert.equal(lastSeq(S), seq);
  });
});

describe('cancel-task', () => {
  it('kills the process a dead scheduler left for a running task, cancels it, and lets its dependents proceed', async () => {
    const p = orphanProcess();
    await given(S, [
      submitCmd({ id: 'cx', tasks: [{ id: 'a', command: cmd.sleep(60_000) }, { id: 'b', command: cmd.ok(), depends_on: ['a'] }] }),
      startWorker('w1'),
      startTask('cx', 'a', 'w1', p),
    ]);
    const seq = lastSeq(S);
    const lines = interventions(S).length;
    const r = cli(S, ['cancel-task', '--task-id', 'cx/a', '--json']);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.json().killed, ['cx/a']);
    await waitFor('the orphan to die', () => !alive(p.pid));
    const recs = since(S, seq);
    assert.deepEqual(recs.map((x) => `${x.type} ${x.task_id ?? ''} ${x.to}`), ['task_cancelled a cancelled', 'task_queued b queued']);
    assert.equal(recs[0]!.trigger, 'operator');
    assertManualAction(S, 'cancel_task', recs, lines);
    assert.equal(status(S).doc.workers.find((w: { id: string }) => w.id === 'w1').state, 'idle');
  });

  it('with --cascade asks for confirmation, then cancels every dependent, directly or not', async () => {
    await given(S, [submitCmd({ id: 'cc', tasks: [{ id: 'a', command: cmd.ok() }, { id: 'b', command: cmd.ok(), depends_on: ['a'] }, { id: 'c', command: cmd.ok(), depends_on: ['b'] }] })]);
    const seq = lastSeq(S);
    assert.equal(cli(S, ['cancel-task', '--task-id', 'cc/a', '--cascade']).code, 2);
    assert.equal(lastSeq(S), seq);
    const r = cli(S, ['cancel-task', '--task-id', 'cc/a', '--cascade', '--yes']);
    assert.equal(r.code, 0, r.err);
    const recs = since(S, seq);
    assert.deepEqual(recs.map((x) => `${x.type} ${x.task_id ?? ''} ${x.trigger ?? ''}`), [
      // Every task cancelled: the workstream ends cancelled, not completed (issue 11).
      'task_cancelled a operator', 'task_cancelled b cascade', 'task_cancelled c cascade', 'workstream_cancelled  all_tasks_cancelled',
    ]);
    const again = cli(S, ['cancel-task', '--task-id', 'cc/a', '--cascade', '--yes', '--json']);
    assert.equal(again.code, 0);
    assert.equal(again.json().changed, false);
  });
});

describe('debug-task', () => {
  it('runs the command in the foreground with the environment of its next attempt, and records nothing', async () => {
    await given(S, [submitCmd({ id: 'dbg', params: { channel: 'beta' }, tasks: [{ id: 'p', command: [node, fixture('print.mjs'), 'x'], env: { LEVEL: '2' } }, { id: 'f', command: cmd.fail() }] })]);
    const seq = lastSeq(S);
    const r = cli(S, ['debug-task', '--task-id', 'dbg/p']);
    assert.equal(r.code, 0, r.err);
    const printed = JSON.parse(r.out.trim().split('\n')[0]!);
    assert.deepEqual(printed.env, { CAIRN_WORKSTREAM_ID: 'dbg', CAIRN_TASK_ID: 'p', CAIRN_ATTEMPT: '1', CAIRN_PARAM_CHANNEL: 'beta' });
    assert.deepEqual(printed.argv, ['x']);
    assert.match(r.err, /print\.mjs: to stderr/);
    const f = cli(S, ['debug-task', '--task-id', 'dbg/f', '--json']);
    assert.equal(f.code, 1);
    assert.equal(f.json().exit_code, 3);
    assert.equal(records(S).at(-1)!.seq, seq);
  });
});
