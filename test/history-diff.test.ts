// `cairn diff <from> [<to>]` says what changed between two points: task states with attempt counts,
// workstreams submitted, finished and reopened, resources, and the interventions in between.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { diffStates, interventionsOf } from '../src/history/diff.js';
import { apply } from '../src/model/apply.js';
import { State } from '../src/model/state.js';
import type { LogRecord } from '../src/model/types.js';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { git, gitEnv, gitRepo } from './helpers/git.js';

const ENV = gitEnv();
const records = (state: string): LogRecord[] => readFileSync(join(state, 'transitions.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const lastSeq = (state: string) => records(state).at(-1)!.seq;

async function ok(args: string[], state: string): Promise<void> {
  const r = await cairn([...args, '--state-dir', state], { env: ENV });
  assert.equal(r.code, 0, `cairn ${args.join(' ')}\n${said(r)}`);
}

/** The state after the records up to `seq`, by the same apply as replay (pure: for diffStates itself). */
function stateAt(recs: LogRecord[], seq: number): State {
  const s = new State();
  for (const r of recs) if (r.seq <= seq) apply(s, r);
  return s;
}

let repo = '';
let state = '';
const marks: Record<string, number> = {};

describe('diff', () => {
  before(async () => {
    // In a git repository, committed twice: before the run, and after the interventions.
    repo = gitRepo();
    state = join(repo, '.state');
    const spec = (id: string, tasks: unknown[]) => {
      const f = join(repo, `${id}.json`);
      writeFileSync(f, JSON.stringify({ id, resources: { db: { max_holders: 1 } }, tasks }));
      return f;
    };
    await ok(['init'], state);
    writeFileSync(join(state, 'config.json'), JSON.stringify({ retry_base_seconds: 0.01 }));
    await ok(['submit', spec('w', [{ id: 'a', command: 'true', resources: ['db'] }, { id: 'b', command: 'exit 3', depends_on: ['a'], max_retries: 1 }, { id: 'c', command: 'true', depends_on: ['a'] }])], state);
    marks.submitted = lastSeq(state);
    git(repo, 'add', '.state');
    git(repo, 'commit', '-qm', 'submitted');
    const run = await cairn(['run', '--state-dir', state], { env: ENV });
    assert.equal(run.code, 1, said(run)); // b fails after its one retry: w failed
    marks.ran = lastSeq(state);
    await ok(['skip-task', '--task-id', 'w/b', '--reason', 'known flake', '--yes', '--operator', 'alice'], state);
    await ok(['submit', spec('v', [{ id: 'x', command: 'true' }])], state);
    await ok(['set-resource-limit', '--resource-id', 'db', '--max-holders', '2', '--reason', 'more room', '--yes', '--operator', 'bob'], state);
    marks.end = lastSeq(state);
    git(repo, 'add', '.state');
    git(repo, 'commit', '-qm', 'interventions');
  });

  it('lists the task changes with attempt counts, the workstreams submitted and finished, and the interventions with operator and reason', async () => {
    const r = await cairnJson(['diff', String(marks.submitted), String(marks.end), '--state-dir', state], { env: ENV });
    assert.equal(r.code, 0, said(r));
    const d = r.doc;
    assert.equal(d.from.seq, marks.submitted);
    assert.equal(d.to.seq, marks.end);
    assert.equal(d.reversed, false);
    const w = d.workstreams.find((x: { id: string }) => x.id === 'w');
    assert.deepEqual(w.kinds, ['finished']);
    assert.equal(w.from, 'running');
    assert.equal(w.to, 'completed');
    const byId = Object.fromEntries(w.tasks.map((t: { id: string }) => [t.id, t]));
    assert.deepEqual(byId.a, { id: 'a', from: 'queued', to: 'completed', attempts: [0, 1], retries: [0, 0] });
    assert.deepEqual(byId.b, { id: 'b', from: 'pending', to: 'skipped', attempts: [0, 2], retries: [0, 1] });
    assert.equal(byId.c.to, 'completed');
    assert.deepEqual(d.submitted, ['v']);
    assert.deepEqual(d.finished, [{ id: 'w', state: 'completed' }]);
    assert.deepEqual(d.resources.map((x: { id: string; from: number; to: number }) => [x.id, x.from, x.to]), [['db', 1, 2]]);
    const who = d.interventions.map((i: { operator: string; tool: string; reason: string; ids: string[] }) => [i.operator, i.tool, i.reason]);
    assert.deepEqual(who.filter((x: string[]) => x[0] !== 'tester'), [['alice', 'skip_task', 'known flake'], ['bob', 'set_resource_limit', 'more room']]);
    assert.equal(d.config.recorded, false);

    const human = await cairn(['diff', String(marks.submitted), String(marks.end), '--state-dir', state], { env: ENV });
    assert.equal(human.code, 0, said(human));
    assert.match(human.stdout, /^workstream w {2}running → completed {2}\(finished\)$/m);
    assert.match(human.stdout, /^ {2}b +pending → skipped +attempts 0 → 2 +retries 0 → 1$/m);
    assert.match(human.stdout, /alice +skip_task +"known flake" +w,w\/b$/m);
    assert.match(human.stdout, /^resources: db 0\/1 → 0\/2$/m);
    assert.match(human.stdout, /^config: config\.json changes are not recorded in the log/m);
  });

  it('defaults <to> to now, shows the reverse when <from> is later, and narrows to one workstream', async () => {
    const fwd = await cairnJson(['diff', String(marks.ran), '--state-dir', state], { env: ENV });
    assert.equal(fwd.doc.to.kind, 'now');
    assert.equal(fwd.doc.to.seq, marks.end);
    const w = fwd.doc.workstreams.find((x: { id: string }) => x.id === 'w');
    assert.deepEqual([w.from, w.to, w.kinds], ['failed', 'completed', ['reopened', 'finished']]);
    const back = await cairnJson(['diff', 'now', String(marks.ran), '--state-dir', state], { env: ENV });
    assert.equal(back.doc.reversed, true);
    const wb = back.doc.workstreams.find((x: { id: string }) => x.id === 'w');
    assert.deepEqual([wb.from, wb.to], ['completed', 'failed']);
    assert.deepEqual(back.doc.submitted, []);
    assert.deepEqual(back.doc.removed, ['v']);
    assert.deepEqual(back.doc.interventions, fwd.doc.interventions, 'the same interventions lie between the two points');
    const one = await cairnJson(['diff', String(marks.submitted), '--workstream-id', 'v', '--state-dir', state], { env: ENV });
    assert.deepEqual(one.doc.workstreams.map((x: { id: string }) => x.id), ['v']);
    assert.ok(one.doc.interventions.every((i: { ids: string[] }) => i.ids.some((id) => id === 'v' || id.startsWith('v/'))));
  });

  it('gives one line a workstream with --stat', async () => {
    const r = await cairn(['diff', String(marks.submitted), '--stat', '--state-dir', state], { env: ENV });
    assert.equal(r.code, 0, said(r));
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0]!, new RegExp(`^diff seq ${marks.submitted} \\(.*\\) → now = seq ${marks.end} \\(`));
    assert.match(lines[1]!, /^ w +\| +3 tasks changed, 4 attempts +running → completed \(finished\)$/);
    assert.match(lines[2]!, /^ v +\| +1 task changed, 0 attempts +\(none\) → running \(submitted\)$/);
    assert.match(lines[3]!, /^ 2 workstreams changed, 1 submitted, 1 finished, 0 reopened, \d+ interventions$/);
    const j = await cairnJson(['diff', String(marks.submitted), '--stat', '--state-dir', state], { env: ENV });
    assert.deepEqual(j.doc.workstreams.map((x: { id: string; tasks_changed: number; attempts: number }) => [x.id, x.tasks_changed, x.attempts]), [['w', 3, 4], ['v', 1, 0]]);
  });

  it('says what a git commit did to the state: diff git:HEAD~1 git:HEAD', async () => {
    const r = await cairnJson(['diff', 'git:HEAD~1', 'git:HEAD', '--state-dir', state], { env: ENV });
    assert.equal(r.code, 0, said(r));
    assert.equal(r.doc.from.seq, marks.submitted);
    assert.equal(r.doc.to.seq, marks.end);
    assert.equal(r.doc.from.commit, git(repo, 'rev-parse', 'HEAD~1').trim());
    const seqs = await cairnJson(['diff', String(marks.submitted), String(marks.end), '--state-dir', state], { env: ENV });
    const { from: _a, to: _b, ...byGit } = r.doc;
    const { from: _c, to: _d, ...bySeq } = seqs.doc;
    assert.deepEqual(byGit, bySeq);
    const human = await cairn(['diff', 'git:HEAD~1', 'git:HEAD', '--state-dir', state], { env: ENV });
    assert.match(human.stdout, /^diff git:HEAD~1 = seq \d+ \(.*, commit [0-9a-f]{12}\) → git:HEAD = seq \d+/);
  });

  it('exits 2 for a bad point, saying what exists', async () => {
    const past = await cairn(['diff', '1', String(marks.end + 50), '--state-dir', state], { env: ENV });
    assert.equal(past.code, 2, said(past));
    assert.match(past.stderr, new RegExp(`UNKNOWN_POINT.*the log holds seq 1 to ${marks.end}`));
    const rev = await cairn(['diff', 'git:HEAD~9', '--state-dir', state], { env: ENV });
    assert.equal(rev.code, 2, said(rev));
    const ws = await cairn(['diff', '1', '--workstream-id', 'nope', '--state-dir', state], { env: ENV });
    assert.equal(ws.code, 2, said(ws));
  });
});

describe('diffStates (pure)', () => {
  it('compares two states of a real log without reading anything', () => {
    const recs = records(state);
    const a = stateAt(recs, marks.submitted);
    const b = stateAt(recs, marks.end);
    const d = diffStates(a, b);
    assert.deepEqual(d.submitted, ['v']);
    assert.deepEqual(d.finished, [{ id: 'w', state: 'completed' }]);
    assert.deepEqual(diffStates(b, b).workstreams, []);
    const rev = diffStates(b, a);
    assert.deepEqual(rev.removed, ['v']);
    assert.deepEqual(rev.workstreams.find((w) => w.id === 'w')!.kinds, ['reopened']);
    const manual = interventionsOf(recs.filter((r) => r.seq > marks.ran));
    assert.deepEqual(manual.map((i) => [i.operator, i.tool, i.reason, i.ids]).filter((x) => x[0] !== 'tester'), [
      ['alice', 'skip_task', 'known flake', ['w', 'w/b']],
      ['bob', 'set_resource_limit', 'more room', ['resource:db']],
    ]);
  });
});
