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

/** The problems validate-state finds in the log itself (not in the derived files, which the merge leaves behind). */
async function logProblems(repo: Repo): Promise<string[]> {
  const v = await cairnJson(['validate-state'], { cwd: repo.dir, env: repo.env });
  return v.doc.problems.map((p: { code: string; message: string }) => `${p.code}: ${p.message}`).filter((c: string) => /^(LOG_|ILLEGAL_|SEGMENT)/.test(c));
}

async function taskStates(repo: Repo): Promise<Record<string, string>> {
  const r = await cairnJson(['status', '--all'], { cwd: repo.dir, env: repo.env });
  assert.equal(r.code, 0, said(r));
  const ws = (r.doc.workstreams as { id: string; tasks: { id: string; state: string }[] }[]).find((w) => w.id === 'w')!;
  return Object.fromEntries(ws.tasks.map((t) => [t.id, t.state]));
}

describe('the merge driver on a log that rotated', () => {
  it('merges theirs into ours when ours rotated: ours\' segments are read from HEAD, theirs is decided again on top', async () => {
    const repo = await base();
    repo.git(['checkout', '-q', '-b', 'other']);
    await ok(repo, ['skip-task', '--task-id', 'w/a', '--reason', 'done by hand', '--operator', 'bob', '--yes']);
    commitAll(repo, 'other: skip a');
    repo.git(['checkout', '-q', 'main']);
    await skipUntilRotated(repo, ['b', 'c', 'd']);
    commitAll(repo, 'main: skip b c d, log rotated');
    const segs = committedSegments(repo, 'main');
    assert.ok(segs.length > 0 && activeFirstSeq(repo) !== 1, 'main\'s log rotated');
    const m = repo.git(['merge', '-q', '--no-edit', 'other'], false);
    assert.equal(m.code, 0, `${m.stdout}${m.stderr}`);
    assert.match(m.stderr + m.stdout, /decided 1 of theirs again on ours/);
    assert.deepEqual(committedSegments(repo, 'HEAD'), segs, 'ours\' segments stay as they were');
    assert.deepEqual(await logProblems(repo), []);
    await ok(repo, ['restore-state', '--from-transitions', '.state/transitions.jsonl', '--yes']);
    assert.deepEqual(await taskStates(repo), { a: 'skipped', b: 'skipped', c: 'skipped', d: 'skipped', e: 'queued', f: 'queued' });
  });

  it('stops with a conflict naming the rotation when theirs rotated after the fork and ours went on, and leaves ours valid', async () => {
    const repo = await base();
    repo.git(['checkout', '-q', '-b', 'other']);
    await skipUntilRotated(repo, ['a', 'b', 'c', 'd']);
    commitAll(repo, 'other: skipped four, log rotated');
    assert.ok(committedSegments(repo, 'other').length > 0);
    repo.git(['checkout', '-q', 'main']);
    await ok(repo, ['cancel-task', '--task-id', 'w/f', '--reason', 'on main', '--operator', 'carol', '--yes']);
    commitAll(repo, 'main: cancel f');
    const before = readFileSync(join(repo.dir, '.state', 'transitions.jsonl'));
    const m = repo.git(['merge', '-q', '--no-edit', 'other'], false);
    assert.notEqual(m.code, 0, 'the merge stops');
    assert.match(m.stderr + m.stdout, /their log rotated after the fork \(seq \d+\): log\/ on their side holds seq \d+-\d+/);
    assert.ok(readFileSync(join(repo.dir, '.state', 'transitions.jsonl')).equals(before), 'ours is left as git wrote it: our own valid log');
    repo.git(['merge', '--abort']);
    assert.deepEqual(await logProblems(repo), []);
  });

  it('merges when both logs rotated before the fork (theirs read after its segments, or chained on ours)', async () => {
    const repo = await base();
    await skipUntilRotated(repo, ['a', 'b']);
    commitAll(repo, 'main: skip a b, log rotated');
    assert.ok(committedSegments(repo, 'main').length > 0);
    repo.git(['checkout', '-q', '-b', 'other']);
    await ok(repo, ['skip-task', '--task-id', 'w/c', '--reason', 'done by hand', '--operator', 'bob', '--yes']);
    commitAll(repo, 'other: skip c');
    repo.git(['checkout', '-q', 'main']);
    await ok(repo, ['skip-task', '--task-id', 'w/d', '--reason', 'done by hand', '--operator', 'carol', '--yes']);
    commitAll(repo, 'main: skip d');
    const m = repo.git(['merge', '-q', '--no-edit', 'other'], false);
    assert.equal(m.code, 0, `${m.stdout}${m.stderr}`);
    assert.deepEqual(await logProblems(repo), []);
    await ok(repo, ['restore-state', '--from-transitions', '.state/transitions.jsonl', '--yes']);
    assert.deepEqual(await taskStates(repo), { a: 'skipped', b: 'skipped', c: 'skipped', d: 'skipped', e: 'queued', f: 'queued' });
  });
});
