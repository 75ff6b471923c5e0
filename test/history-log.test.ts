// cairn log: one line a decision, newest first, on a log made by real runs and interventions; the
// seq ranges tile the log exactly, and the filters and points keep what they say.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { git, gitEnv, gitRepo } from './helpers/git.js';
import { ROOT } from './helpers/paths.js';
import { assertTreeUnchanged, readTree } from './helpers/tree.js';

interface Rec { seq: number; ts: string; batch?: number; type: string; operator: string | null }
interface Line { first_seq: number; last_seq: number; ts: string; operator: string | null; action: string | null; reason: string | null; types: string[]; summary: string; ids: string[] }
const records = (state: string): Rec[] => readFileSync(join(state, 'transitions.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));

/** The decisions of the file itself, oldest first: a record's `batch` says how many records its decision holds. */
function decisionsOf(recs: Rec[]): { first: number; last: number; ts: string; operator: string | null }[] {
  const out = [];
  for (let i = 0; i < recs.length;) {
    const n = recs[i]!.batch && recs[i]!.batch! > 1 ? recs[i]!.batch! : 1;
    const batch = recs.slice(i, i + n);
    out.push({ first: batch[0]!.seq, last: batch.at(-1)!.seq, ts: batch[0]!.ts, operator: batch.find((r) => r.operator)?.operator ?? null });
    i += n;
  }
  return out;
}

async function ok(state: string, args: string[], code = 0): Promise<void> {
  const r = await cairn([...args, '--state-dir', state], { env: gitEnv() });
  assert.equal(r.code, code, `cairn ${args.join(' ')}\n${said(r)}`);
}

async function log(state: string, args: string[]): Promise<Line[]> {
  const r = await cairnJson(['log', ...args, '--state-dir', state], { env: gitEnv() });
  assert.equal(r.code, 0, said(r));
  return r.doc.decisions;
}

/**
 * In a git repository: w runs (a fails, b blocked), the state is committed; alice skips w/a (b then
 * runs to the end in a second run), x is submitted and bob cancels x/t.
 */
async function build(): Promise<{ repo: string; state: string; committedSeq: number }> {
  const repo = gitRepo();
  const state = join(repo, '.state');
  const w = join(repo, 'w.json');
  const x = join(repo, 'x.json');
  writeFileSync(w, JSON.stringify({ id: 'w', tasks: [{ id: 'a', command: 'exit 3', max_retries: 1, retry_base_seconds: 0.05 }, { id: 'b', command: 'true', depends_on: ['a'] }] }));
  writeFileSync(x, JSON.stringify({ id: 'x', tasks: [{ id: 't', command: 'true' }] }));
  await ok(state, ['init']);
  await ok(state, ['run', w, '--workers', '1'], 1);
  git(repo, 'add', '.state');
  git(repo, 'commit', '-qm', 'w failed');
  const committedSeq = records(state).at(-1)!.seq;
  await ok(state, ['skip-task', '--task-id', 'w/a', '--operator', 'alice', '--reason', 'Flaky network', '--yes']);
  await ok(state, ['run', '--workers', '1']);
  await ok(state, ['submit', x]);
  await ok(state, ['cancel-task', '--task-id', 'x/t', '--operator', 'bob', '--reason', 'not needed', '--yes']);
  return { repo, state, committedSeq };
}

describe('cairn log', () => {
  let S = '';
  let repo = '';
  let committedSeq = 0;
  before(async () => { ({ repo, state: S, committedSeq } = await build()); });

  it('lists every decision newest first, its seq ranges tiling the log exactly', async () => {
    const recs = records(S);
    const lines = await log(S, []);
    const expected = decisionsOf(recs).reverse();
    assert.deepEqual(lines.map((d) => [d.first_seq, d.last_seq, d.ts, d.operator]), expected.map((d) => [d.first, d.last, d.ts, d.operator]));
    // Every seq of the file in exactly one line.
    const covered = lines.flatMap((d) => Array.from({ length: d.last_seq - d.first_seq + 1 }, (_, k) => d.first_seq + k)).sort((p, q) => p - q);
    assert.deepEqual(covered, recs.map((r) => r.seq));
    for (const d of lines) assert.deepEqual(d.types, [...new Set(recs.filter((r) => r.seq >= d.first_seq && r.seq <= d.last_seq).map((r) => r.type))]);
    const skip = lines.find((d) => d.action === 'skip_task')!;
    assert.equal(skip.summary, `skip-task w/a by alice: Flaky network (${skip.last_seq - skip.first_seq + 1} records)`);
    assert.ok(skip.ids.includes('w/a') && skip.ids.includes('w'));

    const human = await cairn(['log', '--state-dir', S]);
    assert.equal(human.code, 0, said(human));
    const rows = human.stdout.trimEnd().split('\n');
    assert.equal(rows.length, expected.length);
    assert.deepEqual(rows.map((l) => l.split(/\s+/)[0]), expected.map((d) => (d.first === d.last ? String(d.first) : `${d.first}-${d.last}`)));
    assert.match(rows[0]!, /^\d+(-\d+)? +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}cancel-task x\/t by bob: not needed/);
    assert.ok(rows.some((l) => /  scheduler: w\/a attempt 1 failed: exit 3/.test(l)), human.stdout);
    const viaScript = spawnSync(join(ROOT, 'scripts/log'), ['--state-dir', S], { encoding: 'utf8' });
    assert.equal(viaScript.status, 0, viaScript.stderr);
    assert.equal(viaScript.stdout, human.stdout);
  });

  it('keeps the newest N with -n, only operators\' decisions with --interventions, and one operator with --operator', async () => {
    const all = await log(S, []);
    assert.deepEqual(await log(S, ['-n', '3']), all.slice(0, 3));
    assert.deepEqual(await log(S, ['--max-count', '1']), all.slice(0, 1));
    const manual = await log(S, ['--interventions']);
    assert.deepEqual(manual.map((d) => [d.action, d.operator]), [['cancel_task', 'bob'], ['skip_task', 'alice']]);
    // Every decision made with an operator's tool, and nothing else (a submission names its operator but is no intervention).
    assert.deepEqual(manual, all.filter((d) => d.action !== null));
    assert.ok(all.some((d) => d.action === null && d.operator !== null), 'a submission names its operator');
    assert.deepEqual((await log(S, ['--operator', 'alice'])).map((d) => d.action), ['skip_task']);
    assert.deepEqual(await log(S, ['--operator', 'nobody']), []);
  });

  it('matches --grep against the summary, the reason and the ids, ignoring case', async () => {
    assert.deepEqual((await log(S, ['--grep', 'flaky NETWORK'])).map((d) => d.action), ['skip_task']);
    const x = await log(S, ['--grep', 'x/t']);
    assert.ok(x.length >= 2 && x.every((d) => d.ids.includes('x/t')), JSON.stringify(x));
    assert.deepEqual((await log(S, ['--grep', 'exit 3'])).map((d) => d.types[0]), ['task_failed', 'task_attempt_failed']);
  });

  it('bounds the decisions with --since and --until, given as a seq or a time', async () => {
    const all = await log(S, []);
    const mid = all[Math.floor(all.length / 2)]!;
    const after = await log(S, ['--since', String(mid.last_seq)]);
    assert.deepEqual(after, all.filter((d) => d.first_seq > mid.last_seq));
    // A seq inside a decision is the state after the whole decision.
    assert.deepEqual(await log(S, ['--since', String(mid.first_seq)]), after);
    const upTo = await log(S, ['--until', String(mid.last_seq)]);
    assert.deepEqual(upTo, all.filter((d) => d.last_seq <= mid.last_seq));
    assert.deepEqual(await log(S, ['--since', String(all.at(-1)!.last_seq), '--until', String(mid.last_seq)]), all.filter((d) => d.first_seq > all.at(-1)!.last_seq && d.last_seq <= mid.last_seq));
    // A time: the decisions stamped after it, and those at or before it.
    const t = mid.ts;
    assert.deepEqual(await log(S, ['--since', t]), all.filter((d) => Date.parse(d.ts) > Date.parse(t)));
    assert.deepEqual(await log(S, ['--until', t]), all.filter((d) => Date.parse(d.ts) <= Date.parse(t)));
    const r = await cairnJson(['log', '--since', String(mid.last_seq), '--state-dir', S]);
    assert.deepEqual(r.doc.since, { text: String(mid.last_seq), seq: mid.last_seq, ts: mid.ts });
    assert.equal(r.doc.shown, after.length);
  });

  it('takes a git revision for --since: what happened after the state was committed', async () => {
    const since = await log(S, ['--since', 'git:HEAD']);
    const all = await log(S, []);
    assert.deepEqual(since, all.filter((d) => d.first_seq > committedSeq));
    assert.equal(since.at(-1)!.action, 'skip_task', 'the first decision after the commit is alice\'s skip');
    git(repo, 'add', '.state');
    git(repo, 'commit', '-qm', 'all of it');
    assert.deepEqual(await log(S, ['--since', 'git:HEAD']), []);
    assert.deepEqual(await log(S, ['--since', 'git:HEAD~1', '--until', 'git:HEAD']), since);
  });

  it('refuses bad points and counts with exit 2, saying what exists, and changes nothing', async () => {
    const before = readTree(S);
    const last = records(S).at(-1)!.seq;
    const past = await cairnJson(['log', '--since', String(last + 10), '--state-dir', S]);
    assert.equal(past.code, 2, said(past));
    assert.equal(past.doc.error.code, 'UNKNOWN_POINT');
    assert.match(past.doc.error.message, new RegExp(`the log holds seq 1 to ${last}`));
    const early = await cairn(['log', '--until', '2001-01-01T00:00:00Z', '--state-dir', S]);
    assert.equal(early.code, 2, said(early));
    assert.match(early.stderr, /before the log's first record/);
    const word = await cairn(['log', '--since', 'yesterday', '--state-dir', S]);
    assert.equal(word.code, 2, said(word));
    assert.match(word.stderr, /"yesterday" is not a point in time[\s\S]*hint: a point is a seq/);
    const rev = await cairn(['log', '--since', 'git:no-such-branch', '--state-dir', S], { env: gitEnv() });
    assert.equal(rev.code, 2, said(rev));
    for (const n of ['0', 'abc', '-2']) {
      const r = await cairn(['log', '-n', n, '--state-dir', S]);
      assert.equal(r.code, 2, `-n ${n}: ${said(r)}`);
      assert.match(r.stderr, /--max-count must be a whole number >= 1/);
    }
    assertTreeUnchanged(before, readTree(S));
  });
});
