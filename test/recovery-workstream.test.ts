// Workstream recovery tools through the real CLI: analyze-workstream-failure, retry-workstream,
// retry-failed-tasks, resume-workstream, checkpoints.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertManualAction, cli, cmd, fixture, interventions, lastSeq, node, runSpec, since, status, tempState } from './recovery-helpers.js';

const t = tempState();
after(t.cleanup);
const S = t.state;
const flaky = (name: string, fails: number) => [node, fixture('flaky.mjs'), join(t.dir, `${name}.count`), String(fails)];
const fast = { max_retries: 1, retry_base_seconds: 0.01 };

describe('a workstream failed by its critical task', () => {
  const spec = { id: 'rw', defaults: fast, tasks: [{ id: 'a', command: flaky('rw-a', 2), critical: true }, { id: 'b', command: cmd.ok(), depends_on: ['a'] }] };

  it('analyze-workstream-failure explains each attempt with its log and plans: fix the critical task, retry the workstream', () => {
    assert.equal(runSpec(S, t.dir, spec).code, 1);
    const seq = lastSeq(S);
    const r = cli(S, ['analyze-workstream-failure', '--workstream-id', 'rw', '--json']);
    assert.equal(r.code, 0, r.err);
    const a = r.json();
    assert.equal(a.diagnosis, 'critical_task_failed');
    assert.deepEqual(a.cancelled_by_critical_failure, ['rw/b']);
    const d = a.tasks[0];
    assert.deepEqual([d.task, d.kind, d.exit_code, d.critical, d.category], ['rw/a', 'exit', 1, true, 'code']);
    assert.deepEqual(d.attempts.map((x: { ended_by: string; log_tail: string[] }) => [x.ended_by, x.log_tail]), [
      ['task_attempt_failed', ['flaky run 1']],
      ['task_failed', ['flaky run 2']],
    ]);
    const commands = a.plan.flatMap((s: { commands: string[] }) => s.commands);
    for (const c of ['cairn show-task --task-id rw/a --include-logs', 'cairn debug-task --task-id rw/a', 'cairn retry-workstream --workstream-id rw', 'cairn retry-task --task-id rw/a --reset-retries', 'cairn run']) {
      assert.ok(commands.includes(c), `plan has ${c}: ${commands.join(' | ')}`);
    }
    assert.match(cli(S, ['analyze-workstream-failure', '--workstream-id', 'rw']).out, /recovery plan:\n {2}1\. rw\/a \(critical\)/);
    assert.equal(lastSeq(S), seq, 'analysis writes nothing');
  });

  it('retry-workstream reopens it and runs again what failed or was cancelled by the failure, with fresh retry budgets', () => {
    assert.equal(status(S).tasks['rw/a']!.retry_count, 1);
    const seq = lastSeq(S);
    const lines = interventions(S).length;
    const r = cli(S, ['retry-workstream', '--workstream-id', 'rw']);
    assert.equal(r.code, 0, r.err);
    const recs = since(S, seq);
    assert.deepEqual(recs.map((x) => `${x.type} ${x.task_id ?? ''} ${x.from}->${x.to} ${x.retry_count ?? ''}`), [
      'workstream_reopened  failed->running ', 'task_reset b cancelled->pending 0', 'task_retried a failed->pending 0', 'task_queued a pending->queued ',
    ]);
    assertManualAction(S, 'retry_workstream', recs, lines);
    assert.equal(status(S).tasks['rw/a']!.retry_count, 0);
    assert.equal(cli(S, ['run', '--workers', '2']).code, 0);
    assert.equal(status(S).ws.rw, 'completed');
  });

  it('refuses a completed workstream (exit 2, naming its state) and changes nothing', () => {
    const seq = lastSeq(S);
    const r = cli(S, ['retry-workstream', '--workstream-id', 'rw', '--json']);
    assert.equal(r.code, 2);
    assert.equal(r.json().error.code, 'ILLEGAL_REQUEST');
    assert.match(r.json().error.message, /is completed/);
    const u = cli(S, ['retry-workstream', '--workstream-id', 'rx', '--json']);
    assert.equal(u.code, 2);
    assert.deepEqual(u.json().error.details.closest.slice(0, 1), ['rw']);
    assert.equal(lastSeq(S), seq);
  });
});

describe('a workstream with a non-critical failure', () => {
  const spec = { id: 'rf', defaults: { max_retries: 0 }, tasks: [{ id: 'x', command: flaky('rf-x', 1) }, { id: 'y', command: cmd.ok(), depends_on: ['x'] }, { id: 'z', command: cmd.ok() }] };

  it('analyze-workstream-failure traces the blocked task to its failed dependency and plans: retry the failed tasks only', () => {
    assert.equal(runSpec(S, t.dir, spec).code, 1);
    const a = cli(S, ['analyze-workstream-failure', '--workstream-id', 'rf', '--json']).json();
    assert.equal(a.diagnosis, 'non_critical_tasks_failed');
    const y = a.tasks.find((d: { task: string }) => d.task === 'rf/y');
    assert.deepEqual([y.kind, y.blocked_by, y.root_cause, y.category], ['blocked', 'x', 'x', 'dependency']);
    assert.ok(a.plan.some((s: { commands: string[] }) => s.commands.includes('cairn retry-failed-tasks --workstream-id rf --reset-retries')));
  });

  it('retry-failed-tasks reopens it, retries only the failed task, and its blocked dependent follows', () => {
    const seq = lastSeq(S);
    const lines = interventions(S).length;
    const r = cli(S, ['retry-failed-tasks', '--workstream-id', 'rf', '--json']);
    assert.equal(r.code, 0, r.err);
    const recs = since(S, seq);
    assert.deepEqual(recs.map((x) => `${x.type} ${x.task_id ?? ''} ${x.to}`), [
      'workstream_reopened  running', 'task_retried x pending', 'task_queued x queued', 'task_unblocked y pending',
    ]);
    assertManualAction(S, 'retry_failed_tasks', recs, lines);
    const again = cli(S, ['retry-failed-tasks', '--workstream-id', 'rf', '--json']);
    assert.equal(again.code, 0);
    assert.equal(again.json().changed, false);
    assert.equal(lastSeq(S), recs.at(-1)!.seq);
    assert.equal(cli(S, ['run', '--workers', '2']).code, 0);
    assert.equal(status(S).ws.rf, 'completed');
  });
});

describe('resume-workstream', () => {
  const spec = {
    id: 'rs', params: { channel: 'beta' }, defaults: { max_retries: 0 },
    tasks: [
      { id: 'fetch', command: cmd.fail(), critical: true },
      { id: 'build', command: cmd.ok(), depends_on: ['fetch'] },
      { id: 'publish', command: [node, fixture('print.mjs')], depends_on: ['build'] },
    ],
  };

  it('rejects a malformed --param before anything changes', () => {
    assert.equal(runSpec(S, t.dir, spec).code, 1);
    const seq = lastSeq(S);
    assert.equal(cli(S, ['resume-workstream', '--workstream-id', 'rs', '--param', 'no-equals']).code, 2);
    assert.equal(cli(S, ['resume-workstream', '--workstream-id', 'rs', '--param', 'bad-name=x']).code, 2);
    assert.equal(lastSeq(S), seq);
  });

  it('--from-task skips the unfinished dependencies (done by hand), reopens, and runs on with the new params', () => {
    const seq = lastSeq(S);
    const lines = interventions(S).length;
    const r = cli(S, ['resume-workstream', '--workstream-id', 'rs', '--from-task', 'build', '--param', 'channel=stable', '--reason', 'fetched by hand']);
    assert.equal(r.code, 0, r.err);
    const recs = since(S, seq);
    assert.deepEqual(recs.map((x) => `${x.type} ${x.task_id ?? ''} ${x.to ?? ''}`), [
      'workstream_reopened  running', 'task_reset build pending', 'task_reset publish pending',
      'workstream_resumed  ', 'task_skipped fetch skipped', 'task_queued build queued',
    ]);
    const resumed = recs.find((x) => x.type === 'workstream_resumed')!;
    assert.deepEqual([resumed.params, resumed.from_task], [{ channel: 'stable' }, 'build']);
    assertManualAction(S, 'resume_workstream', recs, lines);
    // The task resumed from and the dependency done by hand are what the recovery acted on; publish only follows.
    assert.deepEqual(recs.filter((x) => x.task_id !== undefined && x.recovery !== undefined).map((x) => `${x.type} ${x.task_id} ${x.recovery}`), [
      'task_reset build resume_workstream', 'task_skipped fetch resume_workstream',
    ]);
    assert.equal(cli(S, ['run', '--workers', '2']).code, 0);
    assert.equal(status(S).ws.rs, 'completed');
    const m = cli(S, ['metrics', '--workstream-id', 'rs', '--json']);
    assert.equal(m.code, 0, m.err);
    // build ran to completion after the resume; fetch stays skipped (neither succeeded nor failed).
    assert.deepEqual(m.json().recoveries.resume_workstream, { count: 2, succeeded: 1, failed: 0, pending: 1, success_rate: 0.5, time_to_recover_ms: null });
    const printed = JSON.parse(readFileSync(join(S, 'logs/rs/publish.1.log'), 'utf8').split('\n')[0]!);
    assert.equal(printed.env.CAIRN_PARAM_CHANNEL, 'stable');
  });
});

describe('checkpoints', () => {
  it('lists every checkpoint with seq, time and hash status, and shows a tampered one as bad', () => {
    const r = cli(S, ['checkpoints', '--workstream-id', 'rs', '--json']);
    assert.equal(r.code, 0, r.err);
    const list = r.json().checkpoints as { name: string; seq: number; hash_ok: boolean; checkpoint_at: string }[];
    assert.ok(list.length >= 2);
    assert.ok(list.every((c) => c.hash_ok && c.seq > 0 && c.checkpoint_at));
    assert.equal(list.at(-1)!.name, 'latest');
    const first = list[0]!;
    const file = join(S, `checkpoints/rs/${first.seq}.json`);
    writeFileSync(file, readFileSync(file, 'utf8').replace('"retry_count": 0', '"retry_count": 7'));
    const bad = cli(S, ['checkpoints', '--workstream-id', 'rs', '--json']).json().checkpoints[0];
    assert.equal(bad.hash_ok, false);
    assert.match(bad.error, /hash does not match/);
    assert.match(cli(S, ['checkpoints', '--workstream-id', 'rs']).out, /BAD: /);
  });
});

describe('analyze-workstream-failure: systemic', () => {
  it('calls it systemic when every task that ran failed, and names the common cause', () => {
    const spec = { id: 'sys', defaults: { max_retries: 0 }, tasks: [{ id: 'p', command: ['/nonexistent/prog'] }, { id: 'q', command: ['/nonexistent/prog'] }] };
    assert.equal(runSpec(S, t.dir, spec).code, 1);
    const a = cli(S, ['analyze-workstream-failure', '--workstream-id', 'sys', '--json']).json();
    assert.equal(a.diagnosis, 'systemic');
    assert.match(a.systemic_causes.join(' '), /configuration: 2 task\(s\) could not start/);
    assert.ok(a.plan.some((s: { commands: string[] }) => s.commands.includes('cairn retry-workstream --workstream-id sys')));
    assert.equal(a.tasks[0].category, 'definition');
  });

  it('an illegal request names the task\'s state and the operator commands allowed from it; nothing changes', () => {
    const seq = lastSeq(S);
    const r = cli(S, ['cancel-task', '--task-id', 'sys/p', '--json']);
    assert.equal(r.code, 2);
    const e = r.json().error;
    assert.equal(e.code, 'ILLEGAL_TRANSITION');
    assert.match(e.message, /is failed/);
    assert.deepEqual(e.details.allowed_commands, ['cairn retry-task', 'cairn skip-task', 'cairn rollback-workstream']);
    assert.equal(lastSeq(S), seq);
  });
});
