// The log in git: cairn init --git / git-setup register the merge driver, and `git merge` of two
// branches that both appended to the log goes through `cairn merge-driver` (real git, real cairn
// commands on both branches). A merge of runs stops as a conflict and leaves our log valid.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { commitAll, makeRepo, okIn, type Repo } from './helpers/git.js';

const ok = okIn;
const commit = commitAll;

function records(repo: Repo): Record<string, any>[] {
  return readFileSync(join(repo.dir, '.state', 'transitions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

/** The problems validate-state finds in the log itself (not in the derived files). */
async function logProblems(repo: Repo): Promise<string[]> {
  const v = await cairnJson(['validate-state'], { cwd: repo.dir, env: repo.env });
  return v.doc.problems.map((p: { code: string }) => p.code).filter((c: string) => /^(LOG_|ILLEGAL_)/.test(c));
}

/** base: workstream a (t -> u); branch other: submits b and skips a/t; main: submits c. */
async function twoBranches(withDriver: boolean): Promise<Repo> {
  const repo = makeRepo();
  await ok(repo, withDriver ? ['init', '--git'] : ['init']);
  await ok(repo, ['submit', repo.spec('a', [{ id: 't', command: 'true' }, { id: 'u', command: 'true', depends_on: ['t'] }])]);
  commit(repo, 'base: a');
  repo.git(['checkout', '-q', '-b', 'other']);
  await ok(repo, ['submit', repo.spec('b')]);
  await ok(repo, ['skip-task', '--task-id', 'a/t', '--reason', 'done by hand', '--operator', 'bob', '--yes']);
  commit(repo, 'other: b, skip a/t');
  repo.git(['checkout', '-q', 'main']);
  await ok(repo, ['submit', repo.spec('c')]);
  commit(repo, 'main: c');
  return repo;
}

describe('git-setup', () => {
  it('writes .gitattributes and registers the driver once, says so, and changes nothing the second time', async () => {
    const repo = makeRepo();
    const first = await cairnJson(['init', '--git'], { cwd: repo.dir, env: repo.env });
    assert.equal(first.code, 0, said(first));
    assert.equal(first.doc.git.attributes, 'written');
    assert.ok(first.doc.git.config.every((c: { changed: boolean }) => c.changed));
    const attrs = readFileSync(join(repo.dir, '.state', '.gitattributes'), 'utf8');
    assert.match(attrs, /^transitions\.jsonl text eol=lf merge=cairn$/m);
    assert.match(attrs, /^current\.json .*linguist-generated merge=cairn-ours$/m);
    assert.equal(repo.git(['config', '--get', 'merge.cairn.driver']).stdout.trim(), 'cairn merge-driver %O %A %B %P');
    assert.equal(repo.git(['check-attr', 'merge', '.state/transitions.jsonl']).stdout.trim(), '.state/transitions.jsonl: merge: cairn');
    const again = await cairnJson(['git-setup'], { cwd: repo.dir, env: repo.env });
    assert.equal(again.code, 0, said(again));
    assert.equal(again.doc.attributes, 'unchanged');
    assert.ok(again.doc.config.every((c: { changed: boolean }) => !c.changed));
    assert.equal(readFileSync(join(repo.dir, '.state', '.gitattributes'), 'utf8'), attrs);
    const human = await cairn(['git-setup'], { cwd: repo.dir, env: repo.env });
    assert.match(human.stdout, /kept .*\.gitattributes\n.*already registered/);
  });

  it('exits 2 outside a git repository and creates nothing', async () => {
    const repo = makeRepo();
    const outside = join(repo.dir, '..', 'plain');
    const r = await cairn(['init', '--git', '--state-dir', join(outside, '.state')], { cwd: join(repo.dir, '..'), env: repo.env });
    assert.equal(r.code, 2, said(r));
    assert.match(r.stderr, /is not inside a git repository/);
    assert.match(r.stderr, /hint: Run git init/);
    const s = await cairn(['git-setup', '--state-dir', join(repo.dir, '..', 'home', '.state')], { cwd: join(repo.dir, '..'), env: repo.env });
    assert.equal(s.code, 2, said(s));
  });

  it('validate-state warns when .gitattributes names the driver and the repository config does not register it', async () => {
    const repo = makeRepo();
    await ok(repo, ['init', '--git']);
    const clean = await cairnJson(['validate-state'], { cwd: repo.dir, env: repo.env });
    assert.deepEqual(clean.doc.warnings, []);
    repo.git(['config', '--unset', 'merge.cairn.driver']);
    const v = await cairnJson(['validate-state'], { cwd: repo.dir, env: repo.env });
    assert.equal(v.doc.warnings.length, 1, said(v));
    assert.match(v.doc.warnings[0], /does not register it.*Run: cairn git-setup/);
    const human = await cairn(['validate-state'], { cwd: repo.dir, env: repo.env });
    assert.match(human.stderr, /warning: .*merge=cairn/);
  });
});

describe('git merge through the driver', () => {
  it('gives a valid log with both workstreams and the intervention, decided again on ours with rebased_from', async () => {
    const repo = await twoBranches(true);
    const theirs = repo.git(['show', 'other:.state/transitions.jsonl']).stdout.trim().split('\n').map((l) => JSON.parse(l));
    const m = repo.git(['merge', '--no-edit', 'other'], false);
    assert.equal(m.code, 0, `${m.stdout}\n${m.stderr}`);
    assert.match(m.stdout + m.stderr, /decided 2 of theirs again on ours; forked after seq 3/);
    assert.match(m.stdout + m.stderr, /then, after git has finished the merge: cairn restore-state --from-transitions/);
    assert.deepEqual(await logProblems(repo), []);
    const recs = records(repo);
    assert.deepEqual(recs.filter((r) => r.type === 'workstream_submitted').map((r) => r.workstream_id), ['a', 'c', 'b']);
    const skip = recs.find((r) => r.type === 'task_skipped')!;
    assert.equal(skip.operator, 'bob');
    assert.equal(skip.reason, 'done by hand');
    const origSkip = theirs.find((r) => r.type === 'task_skipped')!;
    assert.deepEqual(skip.rebased_from, { id: origSkip.id, seq: origSkip.seq });
    assert.ok(skip.seq > 6, 'after our records');
    // Loads and shows the merged state; the derived files rebuilt from the log agree with it.
    const st = await cairnJson(['status'], { cwd: repo.dir, env: repo.env });
    assert.equal(st.code, 0, said(st));
    await ok(repo, ['restore-state', '--from-transitions', '.state/transitions.jsonl', '--yes']);
    const v = await cairnJson(['validate-state'], { cwd: repo.dir, env: repo.env });
    assert.equal(v.code, 0, said(v));
    const show = await cairnJson(['show-task', '--task-id', 'a/t'], { cwd: repo.dir, env: repo.env });
    assert.equal(show.doc.task?.state ?? show.doc.state, 'skipped', said(show));
  });

  it('decides the other branch\'s update-task again on ours: the fields it changed, with rebased_from', async () => {
    const repo = await twoBranches(true);
    repo.git(['checkout', '-q', 'other']);
    await ok(repo, ['update-task', '--task-id', 'a/u', '--command', 'echo fixed', '--timeout', '30', '--operator', 'carol', '--reason', 'typo', '--yes']);
    commit(repo, 'other: fix a/u');
    repo.git(['checkout', '-q', 'main']);
    const m = repo.git(['merge', '--no-edit', 'other'], false);
    assert.equal(m.code, 0, `${m.stdout}\n${m.stderr}`);
    assert.deepEqual(await logProblems(repo), []);
    const upd = records(repo).filter((r) => r.type === 'task_updated');
    assert.equal(upd.length, 1);
    assert.equal(upd[0]!.operator, 'carol');
    assert.equal(upd[0]!.reason, 'typo');
    assert.deepEqual(upd[0]!.fields.sort(), ['command', 'timeout_seconds']);
    assert.equal(upd[0]!.new.command, 'echo fixed');
    assert.ok(upd[0]!.rebased_from, 'names the record it was decided from');
    await ok(repo, ['restore-state', '--from-transitions', '.state/transitions.jsonl', '--yes']);
    const show = await cairnJson(['show-task', '--task-id', 'a/u'], { cwd: repo.dir, env: repo.env });
    assert.match(JSON.stringify(show.doc), /"command":"echo fixed"/, said(show));
  });

  it('converges: merging back the other way, and merging again, adds no record twice', async () => {
    const repo = await twoBranches(true);
    repo.git(['merge', '--no-edit', 'other']);
    await ok(repo, ['restore-state', '--from-transitions', '.state/transitions.jsonl', '--yes']);
    commit(repo, 'main: derived files rebuilt');
    repo.git(['checkout', '-q', 'other']);
    await ok(repo, ['submit', repo.spec('d')]);
    commit(repo, 'other: d');
    const back = repo.git(['merge', '--no-edit', 'main'], false);
    assert.equal(back.code, 0, `${back.stdout}\n${back.stderr}`);
    assert.deepEqual(await logProblems(repo), []);
    const count = (rs: Record<string, any>[]) => ({
      submitted: rs.filter((r) => r.type === 'workstream_submitted').map((r) => r.workstream_id).sort(),
      skipped: rs.filter((r) => r.type === 'task_skipped').length,
    });
    assert.deepEqual(count(records(repo)), { submitted: ['a', 'b', 'c', 'd'], skipped: 1 });
    repo.git(['checkout', '-q', 'main']);
    const again = repo.git(['merge', '--no-edit', 'other'], false);
    assert.equal(again.code, 0, `${again.stdout}\n${again.stderr}`);
    assert.deepEqual(await logProblems(repo), []);
    assert.deepEqual(count(records(repo)), { submitted: ['a', 'b', 'c', 'd'], skipped: 1 });
  });

  it('stops as a conflict when the other branch ran tasks: names the records, leaves our log valid', async () => {
    const repo = makeRepo();
    await ok(repo, ['init', '--git']);
    await ok(repo, ['submit', repo.spec('a')]);
    commit(repo, 'base');
    repo.git(['checkout', '-q', '-b', 'other']);
    await ok(repo, ['run', repo.spec('b'), '--workers', '1']);
    commit(repo, 'other: ran b');
    repo.git(['checkout', '-q', 'main']);
    await ok(repo, ['submit', repo.spec('c')]);
    commit(repo, 'main: c');
    const ours = readFileSync(join(repo.dir, '.state', 'transitions.jsonl'));
    const m = repo.git(['merge', '--no-edit', 'other'], false);
    assert.equal(m.code, 1, `${m.stdout}\n${m.stderr}`);
    const said_ = m.stdout + m.stderr;
    assert.match(said_, /CONFLICT; forked after seq 3/);
    assert.match(said_, /seq \d+ task_started [ab]\/t \(id [0-9A-Z]{26}\)/);
    assert.match(said_, /decided by cairn itself \(a run or a scheduler on the other branch\)/);
    assert.match(said_, /keep ours: git add \.state\/transitions\.jsonl/);
    assert.match(repo.git(['status', '--porcelain']).stdout, /^UU \.state\/transitions\.jsonl$/m);
    assert.deepEqual(readFileSync(join(repo.dir, '.state', 'transitions.jsonl')), ours, 'ours left as it was');
    assert.deepEqual(await logProblems(repo), []);
  });

  it('merge-driver run by hand: exit 2 for a missing file, --json with the plan', async () => {
    const repo = await twoBranches(true);
    const f = (rev: string) => {
      const p = join(repo.dir, '..', `${rev}.jsonl`);
      writeFileSync(p, repo.git(['show', `${rev}:.state/transitions.jsonl`]).stdout);
      return p;
    };
    const base = f('main~1');
    const a = f('main');
    const b = f('other');
    const missing = await cairn(['merge-driver', base, a, join(repo.dir, 'nope')], { cwd: repo.dir, env: repo.env });
    assert.equal(missing.code, 2, said(missing));
    assert.match(missing.stderr, /%B .*nope is not a file/);
    const r = await cairnJson(['merge-driver', base, a, b], { cwd: repo.dir, env: repo.env });
    assert.equal(r.code, 0, said(r));
    assert.equal(r.doc.mode, 'redecided');
    assert.equal(r.doc.fork_seq, 3);
    assert.deepEqual(r.doc.added.map((x: { seqs: number[] }) => x.seqs), [[7, 9], [10, 11]]);
    // The same merge again: everything of theirs is already in the result.
    const twice = await cairnJson(['merge-driver', base, a, b], { cwd: repo.dir, env: repo.env });
    assert.equal(twice.code, 0, said(twice));
    assert.deepEqual(twice.doc.added, []);
    assert.equal(twice.doc.skipped.length, 2);
  });
});
