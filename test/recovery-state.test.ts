// The state tools as scripts/<name> (validate_state, restore_state), and every script maps to its
// cairn command with the same flags.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { accessSync, constants, copyFileSync, lstatSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { processStartTime } from '../src/runner/kill.js';
import { acquire } from '../src/store/lock.js';
import { StatePaths } from '../src/store/paths.js';
import { Store } from '../src/store/store.js';
import { ROOT, cli, cmd, given, interventions, outcome, records, script, startTask, startWorker, submitCmd, tempState } from './recovery-helpers.js';
import { assertTreeUnchanged, readTree } from './helpers/tree.js';

const dirs: (() => void)[] = [];
after(() => dirs.forEach((c) => c()));
function fresh(): string {
  const t = tempState();
  dirs.push(t.cleanup);
  return t.state;
}

describe('scripts/validate_state', () => {
  it('names each broken invariant of DESIGN §2 with a code and the command that fixes it; exit 1', async () => {
    const S = fresh();
    await given(S, [
      submitCmd({ id: 'iv', defaults: { max_retries: 0 }, tasks: [{ id: 'a', command: cmd.fail(), critical: true }, { id: 'b', command: cmd.ok(), depends_on: ['a'] }] }),
      startWorker('w1'), startTask('iv', 'a', 'w1', null), outcome('iv', 'a', 1, 3),
    ]);
    // A reopen that forgot to return the tasks the critical failure cancelled (as a buggy tool would write it).
    const store = await Store.open(S);
    await store.commit(() => [{ type: 'workstream_reopened', workstream_id: 'iv', from: 'failed', to: 'running', operator: 'bug', action: 'buggy_tool' }]);
    await store.close();
    const r = script(S, 'validate_state', ['--json']);
    assert.equal(r.code, 1, r.err);
    const byCode = Object.fromEntries(r.json().problems.map((p: { code: string; fix: string }) => [p.code, p.fix]));
    assert.equal(byCode.CANCELLED_TASK_NOT_RETURNED, 'cairn retry-task --task-id iv/b');
    assert.equal(byCode.WORKSTREAM_STALLED, 'cairn analyze-workstream-failure --workstream-id iv');
    assert.match(script(S, 'validate_state', []).out, /\[CANCELLED_TASK_NOT_RETURNED\] task iv\/b is still cancelled by a critical failure/);
  });

  it('passes on a state the recovery tools changed', async () => {
    const S = fresh();
    await given(S, [submitCmd({ id: 'ok', defaults: { max_retries: 0 }, tasks: [{ id: 'a', command: cmd.fail(), critical: true }, { id: 'b', command: cmd.ok(), depends_on: ['a'] }] }), startWorker('w1'), startTask('ok', 'a', 'w1', null), outcome('ok', 'a', 1, 3)]);
    assert.equal(cli(S, ['retry-task', '--task-id', 'ok/a']).code, 0);
    assert.equal(cli(S, ['skip-task', '--task-id', 'ok/a', '--reason', 'x', '--yes']).code, 0);
    const r = script(S, 'validate_state', []);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^ok: /);
  });

  it('reports an interventions.log that is a symlink as INTERVENTIONS_UNSAFE with its fix, changing nothing; the fix replaces the link and leaves its target alone', async () => {
    const S = fresh();
    await given(S, [submitCmd({ id: 'ln', tasks: [{ id: 'a', command: cmd.ok() }] })]);
    assert.equal(cli(S, ['skip-task', '--task-id', 'ln/a', '--reason', 'not needed', '--yes']).code, 0);
    const victim = join(dirname(S), 'victim.log');
    writeFileSync(victim, 'not cairn\'s\n');
    rmSync(join(S, 'interventions.log'));
    symlinkSync(victim, join(S, 'interventions.log'));
    const before = readTree(dirname(S));

    const r = script(S, 'validate_state', ['--json']);
    assert.equal(r.code, 1, r.err);
    const problems = r.json().problems as { code: string; message: string; fix: string; file?: string }[];
    assert.deepEqual(problems.map((p) => p.code), ['INTERVENTIONS_UNSAFE']);
    assert.equal(problems[0]!.file, 'interventions.log');
    assert.match(problems[0]!.message, /interventions\.log is a symbolic link/);
    assert.match(problems[0]!.fix, /^cairn repair-state --yes /);
    assertTreeUnchanged(before, readTree(dirname(S)), 'validate-state');

    assert.equal(cli(S, problems[0]!.fix.split(' (')[0]!.split(' ').slice(1)).code, 0);
    assert.ok(lstatSync(join(S, 'interventions.log')).isFile(), 'the link is replaced by a file');
    assert.equal(readFileSync(victim, 'utf8'), 'not cairn\'s\n', 'what the link pointed to is left alone');
    assert.match(interventions(S)[0]!, /action=skip_task reason="not needed" ids=ln\/a,ln /);
    assert.equal(script(S, 'validate_state', []).code, 0);
  });
});

describe('scripts/restore_state', () => {
  it('--from-backup latest picks the newest valid backup and replays the log after it', async () => {
    const S = fresh();
    writeFileSync(join(S, 'config.json'), JSON.stringify({ backup_interval_ms: 0 }));
    for (const id of ['b1', 'b2', 'b3']) await given(S, [submitCmd({ id, tasks: [{ id: 'a', command: cmd.ok() }] })]);
    const backups = readdirSync(join(S, 'backups')).sort();
    assert.ok(backups.length >= 2);
    writeFileSync(join(S, 'backups', backups.at(-1)!), '{ garbled');
    const dry = script(S, 'restore_state', ['--from-backup', 'latest', '--dry-run', '--json']);
    assert.equal(dry.code, 0, dry.err);
    assert.equal(dry.json().source, `backups/${backups.at(-2)}`);
    assert.equal(dry.json().seq, records(S).at(-1)!.seq, 'the log after the backup is replayed');
    const r = script(S, 'restore_state', ['--from-backup', 'latest', '--yes', '--json']);
    assert.equal(r.code, 0, r.err);
    assert.equal(records(S).at(-1)!.type, 'state_restored');
    assert.equal(script(S, 'validate_state', []).code, 0);
  });

  it('--from-transitions rebuilds current.json from the log', async () => {
    const S = fresh();
    await given(S, [submitCmd({ id: 'ft', tasks: [{ id: 'a', command: cmd.ok() }] })]);
    writeFileSync(join(S, 'current.json'), '');
    const r = script(S, 'restore_state', ['--from-transitions', join(S, 'transitions.jsonl'), '--yes']);
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(readFileSync(join(S, 'current.json'), 'utf8')).workstreams.ft.state, 'running');
  });

  it('names the backup the old current.json was kept as, and says so when a damaged one was not kept', async () => {
    const S = fresh();
    await given(S, [submitCmd({ id: 'kb', tasks: [{ id: 'a', command: cmd.ok() }] })]);
    const old = readFileSync(join(S, 'current.json'), 'utf8');
    const r = cli(S, ['restore-state', '--from-transitions', join(S, 'transitions.jsonl'), '--yes', '--json']);
    assert.equal(r.code, 0, r.err);
    const kept = r.json().kept_snapshot as string;
    assert.match(kept, /^current_.*\.json$/);
    assert.equal(readFileSync(join(S, 'backups', kept), 'utf8'), old, 'the backup is the old current.json byte for byte');
    writeFileSync(join(S, 'current.json'), 'garbage\n');
    const human = cli(S, ['restore-state', '--from-transitions', join(S, 'transitions.jsonl'), '--yes']);
    assert.equal(human.code, 0, human.err);
    assert.match(human.out, /\(not kept: it was missing or not a valid snapshot\)/);
    assert.equal(cli(S, ['restore-state', '--from-transitions', join(S, 'transitions.jsonl'), '--yes', '--json']).json().kept_snapshot !== null, true, 'the rebuilt one is kept by the next restore');
  });

  it('rebuilds interventions.log from the log, as repair-state does: a file behind the log or edited by hand matches it again', async () => {
    const S = fresh();
    writeFileSync(join(S, 'config.json'), JSON.stringify({ backup_interval_ms: 0 }));
    await given(S, [submitCmd({ id: 'iv', tasks: [{ id: 'a', command: cmd.ok() }, { id: 'b', command: cmd.ok() }] })]);
    assert.equal(cli(S, ['skip-task', '--task-id', 'iv/a', '--reason', 'first', '--yes']).code, 0);
    const logged = interventions(S);
    assert.equal(logged.length, 1);
    const differs = () => script(S, 'validate_state', ['--json']).json().problems.map((p: { code: string }) => p.code);

    writeFileSync(join(S, 'interventions.log'), ''); // left behind the log by a crash after the log's fdatasync
    assert.deepEqual(differs(), ['INTERVENTIONS_DIFFER']);
    assert.equal(script(S, 'restore_state', ['--from-transitions', join(S, 'transitions.jsonl'), '--yes']).code, 0);
    assert.equal(script(S, 'validate_state', []).code, 0);
    assert.deepEqual(interventions(S).slice(0, 1), logged);
    assert.match(interventions(S)[1]!, /action=restore_state /, 'and the restore itself');

    writeFileSync(join(S, 'interventions.log'), `${interventions(S).join('\n')}\nedited by hand\n`);
    assert.deepEqual(differs(), ['INTERVENTIONS_DIFFER']);
    assert.equal(script(S, 'restore_state', ['--from-backup', 'latest', '--yes']).code, 0);
    assert.equal(script(S, 'validate_state', []).code, 0);
    assert.equal(interventions(S).length, 3);
    assert.ok(!interventions(S).includes('edited by hand'));
  });
});

describe('restore-state while a scheduler runs', () => {
  it('refuses to replace the log (exit 4, nothing changed), still shows a dry run, and still rebuilds from the state\'s own log', async () => {
    const S = fresh();
    const lock = await acquire(new StatePaths(S).schedulerLockTarget, { staleMs: 10_000, updateMs: 2_000, timeoutMs: 0, what: 'scheduler lock' });
    try {
      await given(S, [
        { kind: 'scheduler_start', scheduler_id: 'me', pid: process.pid, process_start: processStartTime(process.pid) },
        submitCmd({ id: 'rs', tasks: [{ id: 'a', command: cmd.ok() }] }),
      ]);
      const copy = join(dirname(S), 'copy.jsonl');
      copyFileSync(join(S, 'transitions.jsonl'), copy);
      const before = readTree(S);
      const r = cli(S, ['restore-state', '--from-transitions', copy, '--yes', '--json']);
      assert.equal(r.code, 4, r.err);
      assert.equal(r.json().error.code, 'SCHEDULER_RUNNING');
      assert.match(r.json().error.message, new RegExp(`pid ${process.pid}\\); restore-state --from-transitions .* would replace the log it is writing`));
      assertTreeUnchanged(before, readTree(S));
      assert.equal(cli(S, ['restore-state', '--from-transitions', copy, '--dry-run', '--json']).code, 0);
      assert.equal(cli(S, ['restore-state', '--from-transitions', join(S, 'transitions.jsonl'), '--yes']).code, 0, 'its own log changes no history');
    } finally {
      await lock.release();
    }
  });
});

describe('scripts/', () => {
  const TOOLS = [
    'retry_task', 'skip_task', 'cancel_task', 'show_task', 'show_dependencies', 'debug_task',
    'retry_workstream', 'retry_failed_tasks', 'resume_workstream', 'rollback_workstream', 'checkpoints', 'analyze_workstream_failure',
    'check_worker', 'restart_worker', 'force_shutdown_worker', 'show_worker_logs',
    'show_resources', 'set_resource_limit', 'visualize_dag', 'remove_dependency',
    'restore_state', 'validate_state', 'repair_state',
    'history', 'log', 'git_setup', 'merge_driver',
    'update_task', 'rerun_workstream', 'reset_workstream',
    'metrics', 'recover', 'state', 'diff',
    'prune', 'log_archive',
    'checkpoint', 'system_checkpoint', 'backups',
    'serve',
  ];

  it('holds one executable per recovery tool, each running `cairn <name-with-dashes>` with the same flags', () => {
    assert.deepEqual(readdirSync(join(ROOT, 'scripts')).sort(), [...TOOLS].sort());
    const S = fresh();
    for (const name of TOOLS) {
      const file = join(ROOT, 'scripts', name);
      accessSync(file, constants.X_OK);
      const text = readFileSync(file, 'utf8');
      assert.match(text, /^#!\/bin\/sh\n/);
      assert.ok(text.includes(`exec node "$(dirname "$0")/../bin/cairn.js" ${name.replace(/_/g, '-')} "$@"`), name);
    }
    for (const name of ['show_resources', 'validate_state']) assert.equal(script(S, name, ['--json']).code, 0, name);
    const help = script(S, 'rollback_workstream', ['--help']);
    assert.equal(help.code, 0);
    assert.match(help.out, /cairn rollback-workstream/);
    assert.match(help.out, /--to-checkpoint/);
    assert.match(help.out, /--dry-run/);
  });
});
