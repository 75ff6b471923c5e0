// git_commit (config.json): every intervention commits the state folder with git once its records
// are durable, naming tool, target, operator and reason, so recoveries are bisectable. Real git in a
// real repository, with a private git config (never the user's ~/.gitconfig), through the real CLI.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { cli, lastSeq, runSpec } from './recovery-helpers.js';

let work = '';
let env: Record<string, string> = {};

const SPEC = {
  id: 'hc',
  tasks: [
    { id: 'a', command: ['true'] },
    { id: 'f', command: ['false'], depends_on: ['a'], max_retries: 0 },
  ],
};

function git(cwd: string, args: string[]): string {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, ...env } });
  assert.equal(r.status, 0, `git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A folder with a failed workstream hc in .state (made by a real cairn run) and git_commit on; a repository when `repo`. */
function project(name: string, o: { repo: boolean; gitCommit?: boolean }): { dir: string; S: string } {
  const dir = join(work, name);
  mkdirSync(dir);
  const S = join(dir, '.state');
  assert.equal(runSpec(S, dir, SPEC).code, 1);
  if (o.gitCommit !== false) writeFileSync(join(S, 'config.json'), JSON.stringify({ git_commit: true }));
  if (o.repo) {
    git(dir, ['init', '--quiet']);
    git(dir, ['add', '--all']);
    git(dir, ['commit', '--quiet', '-m', 'the project before any intervention']);
  }
  return { dir, S };
}

before(() => {
  work = mkdtempSync(join(tmpdir(), 'cairn-git-commit-'));
  const cfg = join(work, 'gitconfig');
  writeFileSync(cfg, '[user]\n\tname = Test\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n');
  // A private config, no system config, and no repository above the temp folder is ever found.
  env = { GIT_CONFIG_GLOBAL: cfg, GIT_CONFIG_NOSYSTEM: '1', GIT_CEILING_DIRECTORIES: dirname(work) };
});
after(() => rmSync(work, { recursive: true, force: true }));

describe('git_commit', () => {
  it('commits the state folder after each intervention, naming tool, target, operator, reason and seq range; the user\'s staged work stays out', () => {
    const { dir, S } = project('repo', { repo: true });
    writeFileSync(join(dir, 'notes.txt'), 'work in progress\n');
    git(dir, ['add', 'notes.txt']);
    const commitsBefore = Number(git(dir, ['rev-list', '--count', 'HEAD']).trim());

    const retry = cli(S, ['retry-task', '--task-id', 'hc/f', '--reason', 'fixed the flag', '--json'], env);
    assert.equal(retry.code, 0, retry.err);
    const first = retry.json();
    assert.equal(first.git_commit.committed, true, retry.err);
    const afterRetry = lastSeq(S);
    const skip = cli(S, ['skip-task', '--task-id', 'hc/f', '--reason', 'flaky linter', '--yes', '--json'], env);
    assert.equal(skip.code, 0, skip.err);
    const second = skip.json();
    assert.equal(second.git_commit.sha, git(dir, ['rev-parse', 'HEAD']).trim());

    assert.equal(Number(git(dir, ['rev-list', '--count', 'HEAD']).trim()), commitsBefore + 2, 'one commit per intervention');
    const range = (recs: { seq: number }[]) => `${recs[0]!.seq}-${recs.at(-1)!.seq}`;
    const msg1 = git(dir, ['log', '-1', '--format=%B', 'HEAD~1']);
    const msg2 = git(dir, ['log', '-1', '--format=%B', 'HEAD']);
    assert.equal(msg1.split('\n')[0], 'cairn retry-task hc/f: retried by alice — fixed the flag');
    assert.equal(msg2.split('\n')[0], 'cairn skip-task hc/f: skipped by alice — flaky linter');
    assert.match(msg1, new RegExp(`^seq: ${range(first.records)} \\(${first.records.length} record\\(s\\)\\)$`, 'm'));
    assert.match(msg2, new RegExp(`^seq: ${range(second.records)} `, 'm'));
    assert.match(msg2, /^operator: alice$/m);

    // Each commit's tree holds the log as that intervention left it.
    const log = readFileSync(join(S, 'transitions.jsonl'), 'utf8');
    assert.equal(git(dir, ['show', 'HEAD:.state/transitions.jsonl']), log);
    const older = git(dir, ['show', 'HEAD~1:.state/transitions.jsonl']).trim().split('\n');
    assert.equal(JSON.parse(older.at(-1)!).seq, afterRetry);
    assert.equal(git(dir, ['show', 'HEAD:.state/current.json']), readFileSync(join(S, 'current.json'), 'utf8'), 'the derived files are committed as written after the records');

    // The user's staged file is neither committed nor unstaged; git-ignored state files stay out.
    assert.equal(git(dir, ['diff', '--cached', '--name-only']).trim(), 'notes.txt');
    const touched = git(dir, ['log', '--name-only', '--format=', `HEAD~2..HEAD`]).split('\n').filter(Boolean);
    assert.ok(touched.every((f) => f.startsWith('.state/')), touched.join(', '));
    assert.ok(!git(dir, ['ls-tree', '-r', '--name-only', 'HEAD']).split('\n').some((f) => f.startsWith('.state/logs/') || f.startsWith('.state/backups/')));
  });

  it('commits restore-state too, which does not go through the recovery actions', () => {
    const { dir, S } = project('restore', { repo: true });
    const r = cli(S, ['restore-state', '--from-transitions', join(S, 'transitions.jsonl'), '--yes', '--reason', 'after a disk scare', '--json'], env);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.json().git_commit.committed, true);
    assert.equal(git(dir, ['log', '-1', '--format=%s']).trim(), 'cairn restore-state .state: restored from transitions.jsonl by alice — after a disk scare');
    assert.equal(git(dir, ['status', '--porcelain', '--', '.state']).trim(), '', 'everything restore-state wrote is committed');
  });

  it('outside a git repository the intervention succeeds and a warning says the commit was not made and why', () => {
    const { S } = project('norepo', { repo: false });
    const seq = lastSeq(S);
    const r = cli(S, ['skip-task', '--task-id', 'hc/f', '--reason', 'flaky linter', '--yes', '--json'], env);
    assert.equal(r.code, 0, r.err);
    assert.ok(lastSeq(S) > seq, 'the skip is recorded');
    const g = r.json().git_commit;
    assert.equal(g.committed, false);
    assert.equal(g.sha, null);
    assert.match(g.reason, /not in a git repository/);
    assert.match(r.err, /^warning: git_commit: the state folder was not committed: the state folder is not in a git repository .*; the skip-task itself is recorded in the log$/m);
  });

  it('is off by default: no commit and no git_commit field', () => {
    const { dir, S } = project('off', { repo: true, gitCommit: false });
    const head = git(dir, ['rev-parse', 'HEAD']);
    const r = cli(S, ['skip-task', '--task-id', 'hc/f', '--reason', 'flaky', '--yes', '--json'], env);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.json().git_commit, undefined);
    assert.equal(git(dir, ['rev-parse', 'HEAD']), head);
  });
});
