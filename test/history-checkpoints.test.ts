// Checkpoints computed from the log (DESIGN §10): rollback-workstream --to-checkpoint takes any
// point at which a task of the workstream changed state, `checkpoints` lists them all with the
// written files marked, `--show` prints one; the files in checkpoints/ are only a cache. Everything
// runs through the real CLI on the log of a real `cairn run`, checked against an independent replay.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactJson } from '../src/log/canonical.js';
import { apply } from '../src/model/apply.js';
import { State } from '../src/model/state.js';
import type { LogRecord } from '../src/model/types.js';
import { checkpointDoc } from '../src/store/snapshot.js';
import { cli, lastSeq, runSpec, script, since, status } from './recovery-helpers.js';

let work = '';
/** The state folder as `cairn run` left it: workstream hc failed, a few checkpoint files written with its snapshots. */
let RUN = '';

const SPEC = {
  id: 'hc',
  tasks: [
    { id: 'a', command: ['true'] },
    { id: 'b', command: ['true'], depends_on: ['a'] },
    { id: 'c', command: ['true'], depends_on: ['b'] },
    { id: 'f', command: ['false'], depends_on: ['c'], max_retries: 1, retry_base_seconds: 0.01 },
  ],
};

interface Point { seq: number; content: string; doc: Record<string, unknown>; completed: number; failed: number; pending: number; taskSeqs: number[] }

/** An independent replay, decision by decision: each point of `ws` with its checkpoint (seq, content, counts) and the task transitions of its decision. */
function oracle(state: string, ws: string): Point[] {
  const s = new State();
  const out: Point[] = [];
  const recs = readFileSync(join(state, 'transitions.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogRecord);
  for (let i = 0; i < recs.length;) {
    const n = typeof recs[i]!.batch === 'number' && (recs[i]!.batch as number) > 1 ? (recs[i]!.batch as number) : 1;
    const was = s.workstreams.get(ws)?.last_task_seq;
    const taskSeqs: number[] = [];
    for (let k = 0; k < n; k++) {
      const r = recs[i + k]!;
      apply(s, r);
      if (s.workstreams.get(ws)?.last_task_seq === r.seq) taskSeqs.push(r.seq);
    }
    i += n;
    const w = s.workstreams.get(ws);
    if (!w || w.last_task_seq === was) continue;
    const doc = checkpointDoc(s, ws) as unknown as Record<string, unknown>;
    out.push({
      seq: w.last_task_seq, content: content(doc), doc,
      completed: (doc.completed_tasks as string[]).length, failed: (doc.failed_tasks as string[]).length, pending: (doc.pending_tasks as string[]).length, taskSeqs,
    });
  }
  return out;
}

/** A checkpoint without where it stands among the files (previous, oldest_kept) and its hash: what the log decides. */
function content(doc: object): string {
  const { previous: _p, oldest_kept: _o, hash: _h, ...rest } = doc as Record<string, unknown>;
  return compactJson(rest);
}

function fileSeqs(state: string, ws: string): number[] {
  try {
    return readdirSync(join(state, 'checkpoints', ws)).map((f) => Number(f.replace('.json', ''))).sort((x, y) => x - y);
  } catch {
    return [];
  }
}

/** A copy of a state folder to act on, so each test starts from the same log. */
function copyOf(from: string, name: string): string {
  const dir = join(work, name);
  mkdirSync(dir);
  cpSync(from, join(dir, '.state'), { recursive: true });
  return join(dir, '.state');
}

/** What a rollback decided, without what differs between two runs of it (id, ts, crc). */
function decided(state: string, seq: number): string[] {
  return since(state, seq).map((r) => `${r.seq} ${r.type} ${String(r.task_id ?? '')} ${String(r.from ?? '')}->${String(r.to ?? '')} ${String(r.retry_count ?? '')} ${String(r.checkpoint_seq ?? '')}`);
}

function taskStates(state: string): string[] {
  const st = status(state);
  return SPEC.tasks.map((t) => `${t.id}:${st.tasks[`hc/${t.id}`]!.state}/${st.tasks[`hc/${t.id}`]!.retry_count}`);
}

before(() => {
  work = mkdtempSync(join(tmpdir(), 'cairn-hist-ckpt-'));
  const dir = join(work, 'run');
  mkdirSync(dir);
  RUN = join(dir, '.state');
  const r = runSpec(RUN, dir, SPEC);
  assert.equal(r.code, 1, r.err); // f fails twice: the workstream fails, so it can be rolled back
  assert.equal(status(RUN).ws.hc, 'failed');
});
after(() => rmSync(work, { recursive: true, force: true }));

describe('checkpoints computed from the log', () => {
  it('lists every point of the workstream in time order, with counts and what moved it, marking the ones a file is written for', () => {
    const want = oracle(RUN, 'hc');
    const files = fileSeqs(RUN, 'hc');
    assert.ok(want.length > files.length, `the run wrote files for only some points (${files.join(',')} of ${want.map((p) => p.seq).join(',')})`);
    const r = cli(RUN, ['checkpoints', '--workstream-id', 'hc', '--json']);
    assert.equal(r.code, 0, r.err);
    const got = r.json().points as { seq: number; completed: number; failed: number; pending: number; written: boolean; decision: { types: string[]; first_seq: number; last_seq: number } }[];
    assert.deepEqual(got.map((p) => [p.seq, p.completed, p.failed, p.pending]), want.map((p) => [p.seq, p.completed, p.failed, p.pending]));
    assert.deepEqual(got.filter((p) => p.written).map((p) => p.seq), files, 'written = the points with a file');
    assert.ok(got.every((p) => p.decision.first_seq <= p.seq && p.seq <= p.decision.last_seq && p.decision.types.length > 0));
    assert.deepEqual(got[0]!.decision.types, ['workstream_submitted', 'task_queued']);
    // The file list of before is still there, as it was.
    assert.deepEqual(r.json().checkpoints.map((c: { name: string }) => c.name), [...files.map(String), 'latest']);
    const human = cli(RUN, ['checkpoints', '--workstream-id', 'hc']).out;
    for (const p of want) assert.match(human, new RegExp(`^ ${files.includes(p.seq) ? '\\*' : ' '} ${p.seq} `, 'm'), `line of point ${p.seq}`);
  });

  it('--show prints exactly the file where one is written, and the same document from the log where none is', () => {
    const want = oracle(RUN, 'hc');
    const files = fileSeqs(RUN, 'hc');
    for (const p of want) {
      const r = cli(RUN, ['checkpoints', '--workstream-id', 'hc', '--show', String(p.seq)]);
      assert.equal(r.code, 0, r.err);
      if (files.includes(p.seq)) assert.equal(r.out, readFileSync(join(RUN, 'checkpoints', 'hc', `${p.seq}.json`), 'utf8'), `--show ${p.seq} is the file`);
      else assert.equal(content(JSON.parse(r.out)), p.content, `--show ${p.seq} is the replay's checkpoint`);
      assert.deepEqual(cli(RUN, ['checkpoints', '--workstream-id', 'hc', '--show', String(p.seq), '--json']).json(), JSON.parse(r.out), '--json is the same document');
    }
    assert.equal(cli(RUN, ['checkpoints', '--workstream-id', 'hc', '--show', 'latest']).out, readFileSync(join(RUN, 'checkpoints', 'hc_latest.json'), 'utf8'));
    const one = files[0]!;
    assert.equal(script(RUN, 'checkpoints', ['--workstream-id', 'hc', '--show', String(one)]).out, readFileSync(join(RUN, 'checkpoints', 'hc', `${one}.json`), 'utf8'), 'scripts/checkpoints takes --show too');
  });

  it('marks a file that does not say what the log says as not written, and --show then prints the log\'s document', () => {
    const S = copyOf(RUN, 'tampered');
    const seq = fileSeqs(S, 'hc')[0]!;
    const file = join(S, 'checkpoints', 'hc', `${seq}.json`);
    writeFileSync(file, readFileSync(file, 'utf8').replace('"retry_count": 0', '"retry_count": 7'));
    const p = (cli(S, ['checkpoints', '--workstream-id', 'hc', '--json']).json().points as { seq: number; written: boolean; file_problem: string }[]).find((x) => x.seq === seq)!;
    assert.equal(p.written, false);
    assert.match(p.file_problem, /hash does not match/);
    const shown = cli(S, ['checkpoints', '--workstream-id', 'hc', '--show', String(seq), '--json']).json();
    assert.equal(content(shown), oracle(S, 'hc').find((x) => x.seq === seq)!.content);
  });

  it('still lists and shows every point after the whole checkpoints folder is deleted', () => {
    const S = copyOf(RUN, 'nofiles');
    rmSync(join(S, 'checkpoints'), { recursive: true });
    const want = oracle(S, 'hc');
    const got = cli(S, ['checkpoints', '--workstream-id', 'hc', '--json']).json().points as { seq: number; written: boolean }[];
    assert.deepEqual(got.map((p) => [p.seq, p.written]), want.map((p) => [p.seq, false]));
    const mid = want[Math.floor(want.length / 2)]!;
    assert.equal(content(cli(S, ['checkpoints', '--workstream-id', 'hc', '--show', String(mid.seq), '--json']).json()), mid.content);
  });

  it('refuses an unknown workstream with exit 2, naming the workstreams there are', () => {
    const r = cli(RUN, ['checkpoints', '--workstream-id', 'nope', '--json']);
    assert.equal(r.code, 2);
    assert.equal(r.json().error.code, 'UNKNOWN_WORKSTREAM');
    assert.deepEqual(r.json().error.details.known, ['hc']);
    assert.match(cli(RUN, ['checkpoints', '--workstream-id', 'nope']).err, /Known workstreams: hc/);
  });
});

describe('rollback-workstream to any point', () => {
  it('rolls back to an old point with no file exactly as with its file, and after rm -r checkpoints too', () => {
    // A: every point written as a file (restore-state writes every implied checkpoint, keep raised to hold them all).
    const A = copyOf(RUN, 'with-files');
    writeFileSync(join(A, 'config.json'), JSON.stringify({ checkpoints_keep: 1000 }));
    assert.equal(cli(A, ['restore-state', '--from-transitions', join(A, 'transitions.jsonl'), '--yes']).code, 0);
    const want = oracle(A, 'hc');
    // An old point: f waits for its retry (retry_count 1); the latest is later.
    const X = want.find((p) => (p.doc.tasks as Record<string, { state: string }>).f!.state === 'retrying')!;
    assert.ok(X.seq < want.at(-1)!.seq);
    assert.ok(fileSeqs(A, 'hc').includes(X.seq), 'restore-state wrote every point as a file');
    assert.equal(content(JSON.parse(readFileSync(join(A, 'checkpoints', 'hc', `${X.seq}.json`), 'utf8'))), X.content, 'the file says what the log says');
    // B: the same log and folder, without any checkpoint file.
    const B = copyOf(A, 'without-files');
    rmSync(join(B, 'checkpoints'), { recursive: true });
    const seq = lastSeq(A);
    for (const S of [A, B]) {
      const r = cli(S, ['rollback-workstream', '--workstream-id', 'hc', '--to-checkpoint', String(X.seq), '--yes', '--json']);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.json().checkpoint.seq, X.seq);
    }
    assert.deepEqual(decided(B, seq), decided(A, seq));
    assert.deepEqual(taskStates(B), taskStates(A));
    // DESIGN §6 from the checkpoint: completed tasks stay; f (failed) becomes pending with the checkpoint's retry count 1, then is queued.
    assert.deepEqual(taskStates(A), ['a:completed/0', 'b:completed/0', 'c:completed/0', 'f:queued/1']);
    assert.deepEqual(since(A, seq).filter((r) => r.type === 'task_reset').map((r) => `${String(r.task_id)} ${String(r.to)}/${String(r.retry_count)}`), ['f pending/1']);
    assert.equal(since(B, seq).find((r) => r.type === 'workstream_rolled_back')!.checkpoint_seq, X.seq);
    assert.equal(cli(B, ['validate-state']).code, 0, 'the rollback wrote a consistent state');
  });

  it('takes a task transition inside a decision as the point that decision ends on', () => {
    const S = copyOf(RUN, 'inside');
    const p = oracle(S, 'hc').find((x) => x.taskSeqs.length > 1 && x.taskSeqs[0]! < x.seq)!;
    const seq = lastSeq(S);
    const r = cli(S, ['rollback-workstream', '--workstream-id', 'hc', '--to-checkpoint', String(p.taskSeqs[0]), '--yes', '--json']);
    assert.equal(r.code, 0, r.err);
    assert.equal(since(S, seq).find((x) => x.type === 'workstream_rolled_back')!.checkpoint_seq, p.seq);
  });

  it('refuses a seq that is not a point with exit 2, naming the points before and after it; nothing changes', () => {
    const S = copyOf(RUN, 'not-a-point');
    const want = oracle(S, 'hc');
    const taskSeqs = new Set(want.flatMap((p) => [p.seq, ...p.taskSeqs]));
    const seq = lastSeq(S);
    // A seq no task of hc changed at (a worker started, the scheduler stopped…) between two points.
    const odd = Array.from({ length: seq }, (_, i) => i + 1).find((n) => !taskSeqs.has(n) && n > want[0]!.seq && n < want.at(-1)!.seq)!;
    const before = [...want].reverse().find((p) => p.seq < odd)!.seq;
    const afterP = want.find((p) => p.seq > odd)!.seq;
    const r = cli(S, ['rollback-workstream', '--workstream-id', 'hc', '--to-checkpoint', String(odd), '--yes', '--json']);
    assert.equal(r.code, 2);
    const e = r.json().error;
    assert.equal(e.code, 'UNKNOWN_CHECKPOINT');
    assert.deepEqual([e.details.before, e.details.after], [before, afterP]);
    assert.match(e.message, new RegExp(`${before} before and ${afterP} after`));
    assert.ok(e.details.available.includes('latest'));
    const past = cli(S, ['rollback-workstream', '--workstream-id', 'hc', '--to-checkpoint', String(seq + 10), '--yes']);
    assert.equal(past.code, 2);
    assert.match(past.err, new RegExp(`the log ends at seq ${seq} \\(the nearest points are ${want.at(-1)!.seq} before\\)`));
    // Neither latest, a seq nor a name (not an id): BAD_INPUT. An id is a name (cairn checkpoint), here unknown.
    const bad = cli(S, ['rollback-workstream', '--workstream-id', 'hc', '--to-checkpoint', '../yesterday', '--yes', '--json']);
    assert.equal(bad.code, 2);
    assert.equal(bad.json().error.code, 'BAD_INPUT');
    const unnamed = cli(S, ['rollback-workstream', '--workstream-id', 'hc', '--to-checkpoint', 'yesterday', '--yes', '--json']);
    assert.equal(unnamed.code, 2);
    assert.equal(unnamed.json().error.code, 'UNKNOWN_CHECKPOINT');
    assert.equal(lastSeq(S), seq, 'nothing was written');
  });

  it('rolls back to latest from the log when the checkpoint files are gone', () => {
    const S = copyOf(RUN, 'latest');
    rmSync(join(S, 'checkpoints'), { recursive: true });
    const want = oracle(S, 'hc').at(-1)!;
    const seq = lastSeq(S);
    const r = cli(S, ['rollback-workstream', '--workstream-id', 'hc', '--yes', '--json']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.json().checkpoint.seq, want.seq);
    assert.deepEqual(since(S, seq).filter((x) => x.type === 'task_reset').map((x) => `${String(x.task_id)} ${String(x.to)}/${String(x.retry_count)}`), ['f pending/1']);
  });
});
