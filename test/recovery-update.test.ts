// Changing what was submitted, through the real CLI on logs made by real runs: update-task fixes a
// task's definition, submit --update applies a changed spec, rerun-workstream submits a copy under a
// new id, reset-workstream starts a finished workstream over. Dry runs and refusals write nothing.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LogRecord } from '../src/model/types.js';
import { assertTreeUnchanged, readTree } from './helpers/tree.js';
import { assertManualAction, cli, given, interventions, lastSeq, records, script, since, specFile, startTask, startWorker, status, submitCmd, tempState } from './recovery-helpers.js';

const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));

function fresh(): { dir: string; state: string } {
  const t = tempState();
  cleanups.push(t.cleanup);
  return t;
}

function ok(state: string, args: string[]) {
  const r = cli(state, args);
  assert.equal(r.code, 0, `cairn ${args.join(' ')}: exit ${r.code}\n${r.out}\n${r.err}`);
  return r;
}

function run(state: string, args: string[] = []) {
  return cli(state, ['run', ...args, '--workers', '1']);
}

const only = (recs: LogRecord[], type: string) => recs.filter((r) => r.type === type);

describe('update-task', () => {
  it('fixes the command of a failed task: one task_updated record, and the retried attempt runs the new command', () => {
    const { dir, state } = fresh();
    const spec = specFile(dir, { id: 'w', defaults: { max_retries: 0 }, tasks: [{ id: 'a', command: 'true' }, { id: 'b', command: 'exit 1', depends_on: ['a'] }] });
    assert.equal(run(state, [spec]).code, 1, 'b fails: the workstream fails');
    const again = run(state, [spec]);
    assert.equal(again.code, 1);
    assert.match(again.err, /submitted before \(failed\); nothing to run for it\. To apply a changed spec: cairn submit --update /);

    const tree = readTree(state);
    const dry = cli(state, ['update-task', '--task-id', 'w/b', '--command', 'echo fixed-ran', '--dry-run']);
    assert.equal(dry.code, 0, dry.err);
    assert.match(dry.out, /command\s+"exit 1"\s+->\s+"echo fixed-ran"/, 'the dry run shows old -> new, field by field');
    const dryJson = cli(state, ['update-task', '--task-id', 'w/b', '--command', 'echo fixed-ran', '--timeout', '30', '--dry-run', '--json']).json();
    assert.deepEqual(dryJson.definition, [{ field: 'command', from: 'exit 1', to: 'echo fixed-ran' }, { field: 'timeout_seconds', from: null, to: 30 }]);
    assertTreeUnchanged(tree, readTree(state), 'the state folder after dry runs');

    const seq = lastSeq(state);
    const lines = interventions(state).length;
    const r = ok(state, ['update-task', '--task-id', 'w/b', '--command', 'echo fixed-ran', '--reason', 'typo in the command', '--json']);
    assert.equal(r.json().changed, true);
    const recs = since(state, seq);
    assert.deepEqual(recs.map((x) => x.type), ['task_updated'], 'one record');
    assertManualAction(state, 'update_task', recs, lines);
    const u = recs[0]!;
    assert.equal(u.reason, 'typo in the command');
    assert.equal((u.old as { command: string }).command, 'exit 1');
    assert.equal((u.new as { command: string }).command, 'echo fixed-ran');
    assert.deepEqual(u.fields, ['command']);
    assert.equal(status(state).tasks['w/b']!.state, 'failed', 'the task keeps its state until retried');
    assert.equal(cli(state, ['update-task', '--task-id', 'w/b', '--command', 'echo fixed-ran']).code, 0, 'the same change again is no change');
    assert.equal(lastSeq(state), u.seq, 'and writes nothing');

    ok(state, ['retry-task', '--task-id', 'w/b']);
    const done = run(state);
    assert.equal(done.code, 0, done.err);
    const st = status(state);
    assert.equal(st.ws.w, 'completed');
    assert.equal(st.tasks['w/b']!.state, 'completed');
    assert.equal(readFileSync(join(state, 'logs', 'w', 'b.2.log'), 'utf8').includes('fixed-ran'), true, 'attempt 2 ran the new command');
    assert.equal(readFileSync(join(state, 'logs', 'w', 'b.1.log'), 'utf8').includes('fixed-ran'), false);
    ok(state, ['validate-state']);
  });

  it('refuses a completed task (exit 2) naming rerun-workstream and reset-workstream, and writes nothing', () => {
    const { dir, state } = fresh();
    assert.equal(run(state, [specFile(dir, { id: 'c', tasks: [{ id: 't', command: 'true' }] })]).code, 0);
    const tree = readTree(state);
    const r = cli(state, ['update-task', '--task-id', 'c/t', '--command', 'false', '--json']);
    assert.equal(r.code, 2, r.err);
    assert.equal(r.json().error.code, 'ILLEGAL_REQUEST');
    assert.match(r.json().error.message, /c\/t is completed/);
    assert.match(r.json().error.hint, /cairn rerun-workstream --workstream-id c.*cairn reset-workstream --workstream-id c/);
    assertTreeUnchanged(tree, readTree(state));
  });

  it('refuses a running task (exit 2) naming cancel-task: the running attempt keeps its definition', async () => {
    const { state } = fresh();
    await given(state, [submitCmd({ id: 'r', tasks: [{ id: 't', command: 'sleep 60' }] }), startWorker('w1'), startTask('r', 't', 'w1', null)]);
    const tree = readTree(state);
    const r = cli(state, ['update-task', '--task-id', 'r/t', '--command', 'true', '--json']);
    assert.equal(r.code, 2, r.err);
    assert.match(r.json().error.message, /r\/t is running/);
    assert.match(r.json().error.hint, /cairn cancel-task --task-id r\/t/);
    assertTreeUnchanged(tree, readTree(state));
  });

  it('refuses bad input with exit 2: no change given, an empty command, an unknown resource, a reserved env name', () => {
    const { dir, state } = fresh();
    ok(state, ['submit', specFile(dir, { id: 'b', tasks: [{ id: 't', command: 'true' }] })]);
    const tree = readTree(state);
    const cases: [string[], RegExp][] = [
      [[], /needs at least one change/],
      [['--command', ' '], /--command is empty/],
      [['--resources', 'gpu'], /no resource "gpu"/],
      [['--env', 'CAIRN_X=1'], /does not start with CAIRN_/],
      [['--env', 'novalue'], /is not k=v/],
    ];
    for (const [args, msg] of cases) {
      const r = cli(state, ['update-task', '--task-id', 'b/t', ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, msg);
    }
    assertTreeUnchanged(tree, readTree(state));
  });
});

describe('submit --update', () => {
  const SPEC = {
    id: 'u', defaults: { max_retries: 0 },
    tasks: [
      { id: 'done', command: 'true' },
      { id: 'same', command: 'exit 1', depends_on: ['done'] },
      { id: 'bad', command: 'exit 3', depends_on: ['done'] },
      { id: 'gone', command: 'true', depends_on: ['bad'] },
    ],
  };
  const FIXED = {
    id: 'u', defaults: { max_retries: 0 },
    tasks: [
      { id: 'done', command: 'echo changed-after-it-ran' },
      { id: 'same', command: 'exit 1', depends_on: ['done'] },
      { id: 'bad', command: 'echo bad-fixed', depends_on: ['done'] },
      { id: 'new', command: 'echo new-ran', depends_on: ['bad'] },
    ],
  };

  it('applies a changed spec: changed, unchanged, completed, new and removed tasks, the removed one only once cancelled', () => {
    const { dir, state } = fresh();
    assert.equal(run(state, [specFile(dir, SPEC)]).code, 1);
    const fixed = join(dir, 'fixed.json');
    writeFileSync(fixed, JSON.stringify(FIXED));

    // gone is blocked: it could still run, so leaving it out is refused, listing it.
    const tree = readTree(state);
    const refused = cli(state, ['submit', '--update', fixed, '--json']);
    assert.equal(refused.code, 2, refused.err);
    assert.equal(refused.json().error.code, 'ILLEGAL_REQUEST');
    assert.match(refused.json().error.message, /leaves out 1 task\(s\) of u that could still run: gone \(blocked\)/);
    assert.deepEqual(refused.json().error.details.removed, [{ task_id: 'gone', state: 'blocked' }]);
    assertTreeUnchanged(tree, readTree(state), 'a refused update');

    // Reopen the workstream (retry bad), cancel gone, and the update is accepted.
    ok(state, ['retry-task', '--task-id', 'u/bad']);
    ok(state, ['cancel-task', '--task-id', 'u/gone', '--yes']);
    const before = readTree(state);
    const dry = cli(state, ['submit', '--update', fixed, '--dry-run', '--json']);
    assert.equal(dry.code, 0, dry.err);
    const plan = Object.fromEntries(dry.json().plan.tasks.map((t: { task_id: string; change: string }) => [t.task_id, t.change]));
    assert.deepEqual(plan, { done: 'kept', same: 'unchanged', bad: 'changed', gone: 'removed', new: 'added' });
    assert.deepEqual(dry.json().plan.tasks.find((t: { task_id: string }) => t.task_id === 'bad').fields, [{ field: 'command', from: 'exit 3', to: 'echo bad-fixed' }]);
    const human = cli(state, ['submit', '--update', fixed, '--dry-run']);
    assert.match(human.out, /changed\s+bad \(queued\)\n\s+command\s+"exit 3"\s+->\s+"echo bad-fixed"/);
    assert.match(human.out, /added\s+new/);
    assertTreeUnchanged(before, readTree(state), 'the dry runs');

    const seq = lastSeq(state);
    const lines = interventions(state).length;
    const r = ok(state, ['submit', '--update', fixed, '--reason', 'fix bad', '--json']);
    assert.match(r.err, /u\/done is completed: its changed definition \(command\) is not applied/);
    const recs = since(state, seq);
    assertManualAction(state, 'submit_update', recs, lines);
    assert.deepEqual(recs.map((x) => x.type), ['workstream_updated', 'task_updated', 'task_added']);
    assert.deepEqual([recs[0]!.changed_tasks, recs[0]!.added_tasks], [['bad'], ['new']]);
    assert.equal(recs[1]!.task_id, 'bad');
    assert.equal(recs[2]!.task_id, 'new');
    let st = status(state);
    assert.deepEqual(['done', 'same', 'bad', 'gone', 'new'].map((t) => st.tasks[`u/${t}`]!.state), ['completed', 'failed', 'queued', 'cancelled', 'pending']);

    const done = run(state);
    assert.equal(done.code, 1, 'same still fails: the workstream ends failed');
    st = status(state);
    assert.deepEqual(['done', 'same', 'bad', 'gone', 'new'].map((t) => st.tasks[`u/${t}`]!.state), ['completed', 'failed', 'completed', 'cancelled', 'completed']);
    assert.match(readFileSync(join(state, 'logs', 'u', 'bad.2.log'), 'utf8'), /bad-fixed/);
    assert.match(readFileSync(join(state, 'logs', 'u', 'new.1.log'), 'utf8'), /new-ran/);
    assert.equal(only(records(state), 'task_started').filter((x) => x.task_id === 'done').length, 1, 'the completed task did not run again');
    ok(state, ['validate-state']);
  });

  it('refuses a spec whose update introduces a dependency cycle (exit 2, the cycle spelled out), writing nothing', () => {
    const { dir, state } = fresh();
    assert.equal(run(state, [specFile(dir, SPEC)]).code, 1);
    const cyclic = join(dir, 'cyclic.json');
    writeFileSync(cyclic, JSON.stringify({ ...SPEC, tasks: SPEC.tasks.map((t) => (t.id === 'bad' ? { ...t, depends_on: ['done', 'gone'] } : t)) }));
    const tree = readTree(state);
    const r = cli(state, ['submit', '--update', cyclic, '--json']);
    assert.equal(r.code, 2, r.err);
    assert.equal(r.json().error.code, 'DAG_CYCLE');
    assert.match(r.json().error.message, /bad -> gone -> bad/);
    assertTreeUnchanged(tree, readTree(state));
  });

  it('refuses an update of a completed workstream (exit 2) naming rerun and reset, and a workstream never submitted', () => {
    const { dir, state } = fresh();
    const spec = specFile(dir, { id: 'c', tasks: [{ id: 't', command: 'true' }] });
    assert.equal(run(state, [spec]).code, 0);
    const tree = readTree(state);
    const r = cli(state, ['submit', '--update', spec, '--json']);
    assert.equal(r.code, 2);
    assert.match(r.json().error.hint, /rerun-workstream --workstream-id c/);
    const unknown = cli(state, ['submit', '--update', specFile(dir, { id: 'never', tasks: [{ id: 't', command: 'true' }] })]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /no workstream "never" to update/);
    assert.equal(cli(state, ['submit', spec, '--dry-run']).code, 2, '--dry-run without --update is bad input');
    assertTreeUnchanged(tree, readTree(state));
  });
});

describe('rerun-workstream', () => {
  it('submits a new workstream named after its origin, with its params and the overrides, and runs it', () => {
    const { dir, state } = fresh();
    const spec = specFile(dir, { id: 'p', params: { channel: 'beta', keep: 'yes' }, tasks: [{ id: 't', command: 'echo "channel=$CAIRN_PARAM_CHANNEL keep=$CAIRN_PARAM_KEEP"' }] });
    assert.equal(run(state, [spec]).code, 0);
    const tree = readTree(state);
    const dry = cli(state, ['rerun-workstream', '--workstream-id', 'p', '--param', 'channel=stable', '--dry-run', '--json']);
    assert.equal(dry.code, 0, dry.err);
    assert.equal(dry.json().workstream_id, 'p-rerun-2');
    assertTreeUnchanged(tree, readTree(state), 'the dry run');

    const seq = lastSeq(state);
    const lines = interventions(state).length;
    const r = ok(state, ['rerun-workstream', '--workstream-id', 'p', '--param', 'channel=stable', '--json']);
    assert.equal(r.json().workstream_id, 'p-rerun-2');
    assert.equal(r.json().rerun_of, 'p');
    const recs = since(state, seq);
    assertManualAction(state, 'rerun_workstream', recs, lines);
    const sub = only(recs, 'workstream_submitted')[0]!;
    assert.equal(sub.workstream_id, 'p-rerun-2');
    assert.equal(sub.rerun_of, 'p', 'the record names its origin');
    assert.deepEqual((sub.spec as { params: unknown }).params, { channel: 'stable', keep: 'yes' });

    assert.equal(run(state).code, 0);
    assert.equal(status(state).ws['p-rerun-2'], 'completed');
    assert.match(readFileSync(join(state, 'logs', 'p-rerun-2', 't.1.log'), 'utf8'), /channel=stable keep=yes/);
    assert.equal(status(state).ws.p, 'completed', 'the origin is left as it was');
    assert.equal(ok(state, ['rerun-workstream', '--workstream-id', 'p-rerun-2', '--json']).json().workstream_id, 'p-rerun-3', 'a rerun of a rerun goes on counting');
  });
});

describe('reset-workstream', () => {
  it('returns every task of a finished workstream to pending with retry counts 0, and the next run runs them again', () => {
    const { dir, state } = fresh();
    const spec = specFile(dir, { id: 'z', tasks: [{ id: 'a', command: 'echo a-ran' }, { id: 'b', command: 'echo b-ran', depends_on: ['a'] }] });
    assert.equal(run(state, [spec]).code, 0);
    const tree = readTree(state);
    const noYes = cli(state, ['reset-workstream', '--workstream-id', 'z']);
    assert.equal(noYes.code, 2, 'stdin is not a terminal: --yes is required');
    assert.match(noYes.err, /CONFIRMATION_REQUIRED/);
    const dry = cli(state, ['reset-workstream', '--workstream-id', 'z', '--dry-run', '--json']);
    assert.equal(dry.code, 0, dry.err);
    assert.deepEqual(dry.json().records.map((x: LogRecord) => x.type), ['workstream_reset', 'task_queued', 'workstream_started']);
    assertTreeUnchanged(tree, readTree(state), 'the refused run and the dry run');

    const seq = lastSeq(state);
    const lines = interventions(state).length;
    const r = ok(state, ['reset-workstream', '--workstream-id', 'z', '--yes']);
    assert.match(r.out, /every task pending again, retry counts 0/);
    assertManualAction(state, 'reset_workstream', since(state, seq), lines);
    let st = status(state);
    assert.equal(st.ws.z, 'running');
    assert.deepEqual([st.tasks['z/a']!.state, st.tasks['z/b']!.state], ['queued', 'pending']);
    assert.deepEqual([st.tasks['z/a']!.retry_count, st.tasks['z/b']!.retry_count], [0, 0]);

    assert.equal(run(state).code, 0);
    st = status(state);
    assert.equal(st.ws.z, 'completed');
    assert.match(readFileSync(join(state, 'logs', 'z', 'b.2.log'), 'utf8'), /b-ran/, 'attempt 2 ran; attempt 1 keeps its log');
    assert.match(readFileSync(join(state, 'logs', 'z', 'b.1.log'), 'utf8'), /b-ran/);
    assert.equal(only(records(state), 'task_completed').filter((x) => x.task_id === 'b').length, 2, 'the first run\'s attempts stay in the log');
    ok(state, ['validate-state']);
  });

  it('refuses a workstream that has not finished (exit 2), naming retry-workstream', () => {
    const { dir, state } = fresh();
    ok(state, ['submit', specFile(dir, { id: 'q', tasks: [{ id: 't', command: 'true' }] })]);
    const r = cli(state, ['reset-workstream', '--workstream-id', 'q', '--yes', '--json']);
    assert.equal(r.code, 2);
    assert.match(r.json().error.message, /q is running; only a finished/);
  });
});

describe('scripts/update_task, rerun_workstream, reset_workstream', () => {
  it('run the same commands', () => {
    const { state } = fresh();
    for (const [name, flag] of [['update_task', '--command'], ['rerun_workstream', '--param'], ['reset_workstream', '--dry-run']] as const) {
      const r = script(state, name, ['--help']);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, new RegExp(`cairn ${name.replace(/_/g, '-')}`));
      assert.match(r.out, new RegExp(flag));
      assert.match(r.out, /--json/);
    }
  });
});
