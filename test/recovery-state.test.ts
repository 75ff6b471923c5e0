// The state tools as scripts/<name> (validate_state, restore_state), and every script maps to its
// cairn command with the same flags.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { accessSync, constants, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../src/store/store.js';
import { ROOT, cli, cmd, given, outcome, records, script, startTask, startWorker, submitCmd, tempState } from './recovery-helpers.js';

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
});

describe('scripts/', () => {
  const TOOLS = [
    'retry_task', 'skip_task', 'cancel_task', 'show_task', 'show_dependencies', 'debug_task',
    'retry_workstream', 'retry_failed_tasks', 'resume_workstream', 'rollback_workstream', 'checkpoints', 'analyze_workstream_failure',
    'check_worker', 'restart_worker', 'force_shutdown_worker', 'show_worker_logs',
    'show_resources', 'set_resource_limit', 'visualize_dag', 'remove_dependency',
    'restore_state', 'validate_state', 'repair_state',
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
