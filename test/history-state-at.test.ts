// `cairn state --at <point>` shows what `cairn status` showed then, from the nearest whole-state
// snapshot plus a short replay; snapshots are a cache that is never trusted blindly.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { git, gitEnv, gitRepo } from './helpers/git.js';
import { scratch } from './helpers/tmp.js';

/** Snapshots every 4 records, so these short logs get several. */
const ENV = { ...gitEnv(), CAIRN_SNAPSHOT_EVERY: '4' };

interface Rec { seq: number; ts: string; batch?: number }
const records = (state: string): Rec[] => readFileSync(join(state, 'transitions.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const lastSeq = (state: string) => records(state).at(-1)!.seq;
const snapshots = (state: string) => (existsSync(join(state, 'snapshots')) ? readdirSync(join(state, 'snapshots')).filter((f) => f.endsWith('.json')).sort((a, b) => parseInt(a) - parseInt(b)) : []);

async function ok(args: string[], state: string, cwd?: string): Promise<void> {
  const r = await cairn([...args, '--state-dir', state], { env: ENV, cwd });
  assert.equal(r.code, 0, `cairn ${args.join(' ')}\n${said(r)}`);
}

/** What status and state --at share: everything but where it was loaded from. */
function shown(doc: Record<string, unknown>): Record<string, unknown> {
  const { loaded_from: _l, warnings: _w, at: _a, ...rest } = doc;
  return rest;
}

async function statusNow(state: string, extra: string[] = []): Promise<Record<string, unknown>> {
  const r = await cairnJson(['status', '--state-dir', state, ...extra], { env: ENV });
  assert.equal(r.code, 0, said(r));
  return shown(r.doc);
}

async function stateAt(state: string, point: string, extra: string[] = []): Promise<Record<string, unknown> & { at?: any }> {
  const r = await cairnJson(['state', '--at', point, '--state-dir', state, ...extra], { env: ENV });
  assert.equal(r.code, 0, `state --at ${point}\n${said(r)}`);
  return r.doc;
}

/** A scenario through the real CLI with status captured after every step: seq → status --json then. */
async function scenario(dir: string, state: string): Promise<Map<number, { plain: Record<string, unknown>; all: Record<string, unknown> }>> {
  const seen = new Map<number, { plain: Record<string, unknown>; all: Record<string, unknown> }>();
  const capture = async () => {
    seen.set(lastSeq(state), { plain: await statusNow(state), all: await statusNow(state, ['--all']) });
  };
  const spec = (id: string, tasks: unknown[]) => {
    const f = join(dir, `${id}.json`);
    writeFileSync(f, JSON.stringify({ id, tasks }));
    return f;
  };
  await ok(['init'], state);
  writeFileSync(join(state, 'config.json'), JSON.stringify({ retry_base_seconds: 0.01 }));
  await ok(['submit', spec('w', [{ id: 'a', command: 'true' }, { id: 'b', command: 'exit 3', depends_on: ['a'], max_retries: 1 }, { id: 'c', command: 'true', depends_on: ['a'] }])], state);
  await capture();
  const run = await cairn(['run', '--state-dir', state], { env: ENV });
  assert.equal(run.code, 1, said(run)); // b fails after its retry
  await capture();
  await ok(['skip-task', '--task-id', 'w/b', '--reason', 'known flake', '--yes', '--operator', 'alice'], state);
  await capture();
  await ok(['submit', spec('v', [{ id: 'x', command: 'true' }])], state);
  await capture();
  await ok(['cancel-task', '--task-id', 'v/x', '--reason', 'not needed', '--yes', '--operator', 'bob'], state);
  await capture();
  return seen;
}

type Seen = Awaited<ReturnType<typeof scenario>>;
let template: { dir: string; seen: Seen };

/** A copy of the scenario's folder (built once: it takes a few dozen commands). */
function copy(): { dir: string; state: string; seen: Seen } {
  const dir = scratch();
  cpSync(template.dir, dir, { recursive: true });
  return { dir, state: join(dir, '.state'), seen: template.seen };
}

describe('state --at', () => {
  before(async () => {
    const dir = scratch();
    template = { dir, seen: await scenario(dir, join(dir, '.state')) };
  });

  it('shows at a seq exactly what status --json showed then, finished workstreams included', async () => {
    const { state, seen } = copy();
    assert.ok(seen.size >= 4);
    for (const [seq, then] of seen) {
      assert.deepEqual(shown(await stateAt(state, String(seq))), then.plain, `seq ${seq}`);
      assert.deepEqual(shown(await stateAt(state, String(seq), ['--all'])), then.all, `seq ${seq} --all`);
    }
    // w finished (completed after the skip) and its archive file is not needed to see it.
    const afterSkip = [...seen.keys()][2]!;
    rmSync(join(state, 'archive'), { recursive: true, force: true });
    const w = await stateAt(state, String(afterSkip), ['--workstream-id', 'w']);
    assert.equal((w.workstreams as { state: string }[])[0]!.state, 'completed');
    assert.deepEqual((await stateAt(state, String(afterSkip))).archived, [{ id: 'w', state: 'completed', finished_at: (w.workstreams as { finished_at: string }[])[0]!.finished_at }]);
    // The human form is status's, under a line that names the point.
    const human = await cairn(['state', '--at', String(afterSkip), '--state-dir', state], { env: ENV });
    assert.equal(human.code, 0, said(human));
    const ts = records(state).find((r) => r.seq === afterSkip)!.ts;
    assert.match(human.stdout, new RegExp(`^as of seq ${afterSkip} \\(${ts}\\)\\nstate at seq ${afterSkip} · `));
    assert.match(human.stdout, /no active workstreams \(1 archived/);
  });

  it('gives the same answer with and without snapshots, and writes them back as it replays', async () => {
    const { state, seen } = copy();
    const seqs = [...seen.keys()];
    const target = seqs.at(-1)!;
    const first = await stateAt(state, String(target));
    const made = snapshots(state);
    assert.ok(made.length >= 3, `snapshots: ${made.join(', ')}`);
    assert.equal(readFileSync(join(state, 'snapshots', '.gitignore'), 'utf8').split('\n').includes('*'), true);
    // Each is named <seq>-<crc> of the log record it ends at.
    const byseq = new Map(readFileSync(join(state, 'transitions.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => [JSON.parse(l).seq, JSON.parse(l).crc]));
    for (const f of made) {
      const [seq, crc] = f.replace('.json', '').split('-');
      assert.equal(byseq.get(Number(seq)), crc, f);
    }
    const again = await stateAt(state, String(target));
    assert.match(String(again.loaded_from), /^snapshot \d+$/);
    assert.deepEqual(shown(again), shown(first));
    // A cache validate-state does not choke on.
    const valid = await cairn(['validate-state', '--state-dir', state], { env: ENV });
    assert.equal(valid.code, 0, said(valid));
    rmSync(join(state, 'snapshots'), { recursive: true });
    const none = await stateAt(state, String(target));
    assert.deepEqual(shown(none), seen.get(target)!.plain);
    assert.deepEqual(snapshots(state), made);
  });

  it('ignores and replaces a damaged or foreign snapshot, and the answer is still right', async () => {
    const { state, seen } = copy();
    const target = [...seen.keys()].at(-1)!;
    await stateAt(state, String(target));
    const made = snapshots(state);
    const newest = made.at(-1)!;
    // An edited byte: the hash no longer matches its content.
    const file = join(state, 'snapshots', newest);
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.replace('"state":"completed"', '"state":"cancelled"'));
    assert.notEqual(readFileSync(file, 'utf8'), text);
    assert.deepEqual(shown(await stateAt(state, String(target))), seen.get(target)!.plain);
    assert.equal(readFileSync(file, 'utf8'), text, 'the damaged snapshot is rewritten');

    // Another log's snapshots: under their own names (another crc), and one renamed to ours.
    const other = join(scratch(), '.state');
    await ok(['init'], other);
    writeFileSync(join(other, 'o.json'), JSON.stringify({ id: 'w', tasks: [{ id: 'a', command: 'true' }, { id: 'b', command: 'true' }, { id: 'c', command: 'true' }] }));
    await ok(['submit', join(other, 'o.json')], other);
    for (const t of ['a', 'b', 'c']) await ok(['skip-task', '--task-id', `w/${t}`, '--reason', 'other', '--yes'], other);
    await stateAt(other, String(lastSeq(other)));
    const theirs = snapshots(other);
    assert.ok(theirs.length >= 2, theirs.join(', '));
    for (const f of theirs) copyFileSync(join(other, 'snapshots', f), join(state, 'snapshots', `${f.split('-')[0]}-00000000.json`));
    copyFileSync(join(other, 'snapshots', theirs.at(-1)!), file);
    for (const [seq, then] of seen) assert.deepEqual(shown(await stateAt(state, String(seq))), then.plain, `seq ${seq}`);
    for (const f of made) assert.ok(snapshots(state).includes(f), `${f} is there`);
    assert.equal(readFileSync(file, 'utf8'), text, 'the foreign snapshot under our name is replaced by ours');
  });

  it('never reuses a snapshot of a log that was rewritten (restore-state from a shorter log, then other work)', async () => {
    const { dir, state } = copy();
    const end = lastSeq(state);
    await stateAt(state, String(end));
    const stale = snapshots(state);
    // Keep the log up to the end of the run's first decisions, restore from it, then act differently.
    const recs = readFileSync(join(state, 'transitions.jsonl'), 'utf8').split('\n').filter(Boolean);
    const cut = recs.findIndex((l) => JSON.parse(l).seq === Number(stale[0]!.split('-')[0])) + 1;
    const prefix = join(dir, 'prefix.jsonl');
    writeFileSync(prefix, recs.slice(0, cut).join('\n') + '\n');
    await ok(['restore-state', '--from-transitions', prefix, '--yes'], state);
    await ok(['submit', join(dir, 'v.json')], state);
    for (const t of ['v/x', 'w/a', 'w/b', 'w/c']) await ok(['skip-task', '--task-id', t, '--reason', 'other way', '--yes'], state);
    const later = lastSeq(state);
    const seqOf = (f: string) => Number(f.split('-')[0]);
    assert.ok(stale.filter((f) => seqOf(f) <= later).length >= 3, `the new log (seq ${later}) reaches past stale snapshots ${stale.join(', ')}`);
    const withCache = await stateAt(state, String(later));
    rmSync(join(state, 'snapshots'), { recursive: true });
    const fresh = await stateAt(state, String(later));
    assert.deepEqual(shown(withCache), shown(fresh));
    assert.deepEqual(shown(fresh), await statusNow(state));
    // Only the snapshot before the cut survived; the others were named for records the log no longer has.
    const names = snapshots(state);
    for (const f of stale.slice(1).filter((f) => seqOf(f) <= later)) assert.ok(!names.includes(f), `${f} is stale`);
  });

  it('takes a time: the last decision at or before it', async () => {
    const { state, seen } = copy();
    const seq = [...seen.keys()][1]!;
    const ts = records(state).find((r) => r.seq === seq)!.ts;
    const at = await stateAt(state, ts);
    assert.equal(at.at.kind, 'time');
    assert.equal(at.at.seq, seq);
    assert.deepEqual(shown(at), seen.get(seq)!.plain);
  });

  it('exits 2 for a point the log does not have, saying what it holds', async () => {
    const { state } = copy();
    const recs = records(state);
    const past = await cairnJson(['state', '--at', String(recs.length + 10), '--state-dir', state], { env: ENV });
    assert.equal(past.code, 2, said(past));
    assert.equal(past.doc.error.code, 'UNKNOWN_POINT');
    assert.match(past.stderr, new RegExp(`the log holds seq 1 to ${recs.length}, from ${recs[0]!.ts} to ${recs.at(-1)!.ts}`));
    const early = await cairn(['state', '--at', '2001-01-01T00:00:00Z', '--state-dir', state], { env: ENV });
    assert.equal(early.code, 2, said(early));
    assert.match(early.stderr, /before the log's first record/);
    const junk = await cairn(['state', '--at', 'yesterday', '--state-dir', state], { env: ENV });
    assert.equal(junk.code, 2, said(junk));
    assert.match(junk.stderr, /"yesterday" is not a point in time/);
    const noGit = await cairn(['state', '--at', 'git:HEAD', '--state-dir', state], { env: ENV });
    assert.equal(noGit.code, 2, said(noGit));
    assert.match(noGit.stderr, /not in a git repository/);
  });
});

describe('state --at git:<rev>', () => {
  it('shows the state committed at a revision: from our log when it is a prefix, replayed from git when it went another way', async () => {
    const repo = gitRepo();
    const state = join(repo, '.state');
    const spec = join(repo, 'w.json');
    writeFileSync(spec, JSON.stringify({ id: 'w', tasks: [{ id: 'a', command: 'true' }, { id: 'b', command: 'true', depends_on: ['a'] }, { id: 'c', command: 'true', depends_on: ['b'] }] }));
    await ok(['init'], state);
    await ok(['submit', spec], state);
    git(repo, 'add', '.state');
    git(repo, 'commit', '-qm', 'submitted');
    const atCommit = await statusNow(state);
    const commitSeq = lastSeq(state);
    // A branch whose log goes one way…
    git(repo, 'checkout', '-qb', 'other');
    await ok(['skip-task', '--task-id', 'w/a', '--reason', 'on the other branch', '--yes'], state);
    await ok(['skip-task', '--task-id', 'w/b', '--reason', 'on the other branch', '--yes'], state);
    git(repo, 'add', '.state');
    git(repo, 'commit', '-qm', 'other');
    const onOther = await statusNow(state);
    // …and main goes another.
    git(repo, 'checkout', '-q', 'main');
    await ok(['cancel-task', '--task-id', 'w/c', '--reason', 'on main', '--yes'], state);
    await ok(['skip-task', '--task-id', 'w/a', '--reason', 'on main', '--yes'], state);

    const head = await stateAt(state, 'git:HEAD');
    assert.deepEqual(shown(head), atCommit);
    assert.equal(head.at.seq, commitSeq);
    assert.equal(head.at.prefix, true);
    assert.equal(head.at.commit, git(repo, 'rev-parse', 'HEAD').trim());

    const other = await stateAt(state, 'git:other');
    assert.equal(other.at.prefix, false);
    assert.deepEqual(shown(other), onOther);
    assert.match((other.warnings as string[])[0]!, /not a prefix of this folder's log; replayed from git/);
    const human = await cairn(['state', '--at', 'git:other', '--state-dir', state], { env: ENV });
    assert.match(human.stdout, /^as of git:other = seq \d+ \(.*, commit [0-9a-f]{12}, a history of its own\)/);

    // The snapshots the queries write stay out of git.
    await stateAt(state, String(lastSeq(state)));
    assert.ok(snapshots(state).length > 0);
    assert.equal(git(repo, 'status', '--porcelain', '--untracked-files=all', '--', '.state/snapshots'), '');

    const missing = await cairn(['state', '--at', 'git:no-such-branch', '--state-dir', state], { env: ENV });
    assert.equal(missing.code, 2, said(missing));
  });
});
