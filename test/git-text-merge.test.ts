// Without the merge driver git merges the log line by line: conflict markers around two branches'
// records. validate-state names it (exit 3), no command writes (the markers are never cut off as a
// torn tail), and repair-state offers our side with the other branch's records set aside.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { commitAll, makeRepo, okIn, type Repo } from './helpers/git.js';

const ok = okIn;
const commit = commitAll;

const logOf = (repo: Repo) => readFileSync(join(repo.dir, '.state', 'transitions.jsonl'));

/** main and other both appended after seq 3 (a); other: b and a skip; main: c. Merged as text. */
async function textMerged(): Promise<{ repo: Repo; theirs: string[]; ours: string[] }> {
  const repo = makeRepo();
  await ok(repo, ['init']);
  await ok(repo, ['submit', repo.spec('a', [{ id: 't', command: 'true' }, { id: 'u', command: 'true', depends_on: ['t'] }])]);
  commit(repo, 'base');
  repo.git(['checkout', '-q', '-b', 'other']);
  await ok(repo, ['submit', repo.spec('b')]);
  await ok(repo, ['skip-task', '--task-id', 'a/t', '--reason', 'done by hand', '--yes']);
  commit(repo, 'other');
  repo.git(['checkout', '-q', 'main']);
  await ok(repo, ['submit', repo.spec('c')]);
  commit(repo, 'main');
  const after3 = (rev: string) => repo.git(['show', `${rev}:.state/transitions.jsonl`]).stdout.split('\n').filter((l) => l !== '').slice(3);
  const m = repo.git(['merge', '--no-edit', 'other'], false);
  assert.equal(m.code, 1, 'git reports the conflict');
  assert.match(logOf(repo).toString(), /^<<<<<<< HEAD$/m);
  return { repo, theirs: after3('other'), ours: after3('main') };
}

describe('a log git merged line by line', () => {
  it('validate-state exits 3 with LOG_MERGE_CONFLICT naming the last common seq and both sides\' records', async () => {
    const { repo } = await textMerged();
    const v = await cairnJson(['validate-state'], { cwd: repo.dir, env: repo.env });
    assert.equal(v.code, 3, said(v));
    const p = v.doc.problems.find((x: { code: string }) => x.code === 'LOG_MERGE_CONFLICT');
    assert.ok(p, said(v));
    assert.equal(p.details.last_common_seq, 3);
    assert.deepEqual(p.details.ours.map((r: { seq: number; type: string; ids: string }) => `${r.seq} ${r.type} ${r.ids}`), ['4 workstream_submitted c', '5 task_queued c/t', '6 workstream_started c']);
    assert.deepEqual(p.details.theirs.map((r: { seq: number; type: string; ids: string }) => `${r.seq} ${r.type} ${r.ids}`), ['4 workstream_submitted b', '5 task_queued b/t', '6 workstream_started b', '7 task_skipped a/t', '8 task_queued a/u']);
    const human = await cairn(['validate-state'], { cwd: repo.dir, env: repo.env });
    assert.equal(human.code, 3);
    assert.match(human.stdout, /\[LOG_MERGE_CONFLICT\] .*after seq 3, the last common record/);
  });

  it('no command writes: the markers are not cut off as a torn tail', async () => {
    const { repo } = await textMerged();
    const before = logOf(repo);
    const s = await cairn(['submit', repo.spec('d')], { cwd: repo.dir, env: repo.env });
    assert.equal(s.code, 3, said(s));
    assert.match(s.stderr, /error \[LOG_MERGE_CONFLICT\]: transitions\.jsonl was merged line by line by git after seq 3/);
    assert.match(s.stderr, /hint: .*cairn repair-state --dry-run/);
    const st = await cairn(['status'], { cwd: repo.dir, env: repo.env });
    assert.equal(st.code, 3, said(st));
    assert.deepEqual(logOf(repo), before);
  });

  it('also when the two sides were put together without markers (a seq twice)', async () => {
    const { repo, ours, theirs } = await textMerged();
    const { writeFileSync } = await import('node:fs');
    const common = logOf(repo).toString().split('\n').slice(0, 3);
    writeFileSync(join(repo.dir, '.state', 'transitions.jsonl'), [...common, ...ours, ...theirs, ''].join('\n'));
    const v = await cairnJson(['validate-state'], { cwd: repo.dir, env: repo.env });
    assert.equal(v.code, 3, said(v));
    const p = v.doc.problems.find((x: { code: string }) => x.code === 'LOG_MERGE_CONFLICT');
    assert.equal(p?.details.last_common_seq, 3, said(v));
    assert.equal(p.details.theirs.length, 5);
  });

  it('repair-state keeps ours and sets theirs aside byte for byte in the file it names; the dry run lists the same actions', async () => {
    const { repo, ours, theirs } = await textMerged();
    const plan = await cairnJson(['repair-state', '--dry-run'], { cwd: repo.dir, env: repo.env });
    assert.equal(plan.code, 0, said(plan));
    const r = await cairnJson(['repair-state', '--yes'], { cwd: repo.dir, env: repo.env });
    assert.equal(r.code, 0, said(r));
    const stamps = (x: unknown) => JSON.stringify(x).replace(/\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z/g, '<time>');
    assert.equal(stamps(r.doc.actions), stamps(plan.doc.actions), 'the dry run named every action');
    const file = r.doc.log.set_aside_file as string;
    assert.match(file, /^transitions\.jsonl\.theirs-/);
    assert.equal(readFileSync(join(repo.dir, '.state', file), 'utf8'), theirs.map((l) => `${l}\n`).join(''));
    const kept = logOf(repo).toString().split('\n').filter((l) => l !== '');
    assert.deepEqual(kept.slice(3, 6), ours, 'our records, byte for byte');
    assert.equal(JSON.parse(kept.at(-1)!).type, 'state_repaired');
    assert.ok(r.doc.actions.some((a: string) => /^to bring the other branch's records back: submit workstream b again/.test(a)), r.doc.actions.join('\n'));
    const v = await cairnJson(['validate-state'], { cwd: repo.dir, env: repo.env });
    assert.equal(v.code, 0, said(v));
    const st = await cairnJson(['status'], { cwd: repo.dir, env: repo.env });
    assert.equal(st.code, 0, said(st));
  });
});
