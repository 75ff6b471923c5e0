// A log that rotated into log/*.jsonl.gz, in git: git:<rev> points read the segments committed at
// that revision then its transitions.jsonl as one log, and the merge driver reads ours' segments
// from HEAD and theirs' from the commit being merged (real git, real cairn commands on both branches).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { commitAll, makeRepo, okIn, type Repo } from './helpers/git.js';

const ok = okIn;
const SEGMENT = /^\.state\/log\/\d{12}-\d{12}\.jsonl\.gz$/;

/** The segments committed at `rev`. */
function committedSegments(repo: Repo, rev: string): string[] {
  return repo.git(['ls-tree', '-r', '--name-only', rev, '--', '.state/log']).stdout.split('\n').filter((l) => SEGMENT.test(l));
}

/** The seq of the first record of transitions.jsonl in the work tree (0 when it is empty). */
function activeFirstSeq(repo: Repo): number {
  const line = readFileSync(join(repo.dir, '.state', 'transitions.jsonl'), 'utf8').split('\n')[0]!;
  return line === '' ? 0 : (JSON.parse(line) as { seq: number }).seq;
}

/** The state as `status --all --json` shows it, without what says where it was loaded from. */
async function statusNow(repo: Repo): Promise<Record<string, unknown>> {
  const r = await cairnJson(['status', '--all'], { cwd: repo.dir, env: repo.env });
  assert.equal(r.code, 0, said(r));
  const { loaded_from: _l, warnings: _w, ...rest } = r.doc;
  return rest;
}

async function stateAt(repo: Repo, point: string): Promise<{ shown: Record<string, unknown>; doc: Record<string, any> }> {
  const r = await cairnJson(['state', '--at', point], { cwd: repo.dir, env: repo.env });
  assert.equal(r.code, 0, said(r));
  const { loaded_from: _l, warnings: _w, at: _a, ...rest } = r.doc;
  return { shown: rest, doc: r.doc };
}

/** base: workstream w (six tasks) submitted, committed on main; the log has not rotated. */
async function base(): Promise<Repo> {
  const repo = makeRepo();
  await ok(repo, ['init', '--git']);
  await ok(repo, ['submit', repo.spec('w', ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => ({ id, command: 'true' })))]);
  commitAll(repo, 'base: w');
  return repo;
}

/** Skips tasks of w with a small log_segment_bytes, so the log rotates into log/ on the way. */
async function skipUntilRotated(repo: Repo, tasks: string[]): Promise<void> {
  writeFileSync(join(repo.dir, '.state', 'config.json'), JSON.stringify({ log_segment_bytes: 2000 }));
  for (const t of tasks) await ok(repo, ['skip-task', '--task-id', `w/${t}`, '--reason', 'done by hand', '--operator', 'bob', '--yes']);
}

describe('git:<rev> points on a log that rotated', () => {
  it('state --at and diff read the segments committed at the revision, then its transitions.jsonl', async () => {
    const repo = await base();
    const atBase = await statusNow(repo);
    repo.git(['checkout', '-q', '-b', 'other']);
    await skipUntilRotated(repo, ['a', 'b', 'c', 'd']);
    commitAll(repo, 'other: skipped four, log rotated');
    assert.ok(committedSegments(repo, 'other').length > 0, 'the log rotated on other');
    assert.ok(activeFirstSeq(repo) > 1 || activeFirstSeq(repo) === 0, 'the committed transitions.jsonl holds only the newer part of the log');
    const onOther = await statusNow(repo);
    // main goes another way, so other's log is not a prefix of ours: it is read from git.
    repo.git(['checkout', '-q', 'main']);
    assert.deepEqual(committedSegments(repo, 'main'), []);
    await ok(repo, ['cancel-task', '--task-id', 'w/f', '--reason', 'on main', '--operator', 'carol', '--yes']);

    const other = await stateAt(repo, 'git:other');
    assert.equal(other.doc.at.prefix, false);
    assert.deepEqual(other.shown, onOther);
    const old = await stateAt(repo, 'git:main');
    assert.deepEqual(old.shown, atBase);

    const d = await cairnJson(['diff', 'git:main', 'git:other'], { cwd: repo.dir, env: repo.env });
    assert.equal(d.code, 0, said(d));
    const human = await cairn(['diff', 'git:main', 'git:other'], { cwd: repo.dir, env: repo.env });
    assert.equal(human.code, 0, said(human));
    for (const t of ['a', 'b', 'c', 'd']) assert.match(human.stdout, new RegExp(`${t}  queued → skipped`), human.stdout);
  });

  it('says which segment is missing when a revision committed the log without one of them', async () => {
    const repo = await base();
    repo.git(['checkout', '-q', '-b', 'other']);
    await skipUntilRotated(repo, ['a', 'b', 'c', 'd']);
    const first = committedSegmentsInTree(repo)[0]!;
    repo.git(['add', '-A']);
    repo.git(['rm', '-q', '--cached', first]);
    repo.git(['commit', '-q', '-m', 'other: a segment left out']);
    repo.git(['checkout', '-q', '-f', 'main']);
    await ok(repo, ['cancel-task', '--task-id', 'w/f', '--reason', 'on main', '--operator', 'carol', '--yes']);
    const r = await cairn(['state', '--at', 'git:other'], { cwd: repo.dir, env: repo.env });
    assert.equal(r.code, 3, said(r));
    assert.match(r.stderr, /seq 1-\d+.*missing/);
  });
});

/** Segments in the work tree's .state/log, as repository paths. */
function committedSegmentsInTree(repo: Repo): string[] {
  return repo.git(['ls-files', '--others', '--exclude-standard', '--', '.state/log']).stdout.split('\n').filter((l) => SEGMENT.test(l)).sort();
}
