// cairn history tells a task's or a workstream's whole story from the log: every attempt with its
// worker, duration, exit and log file, the backoffs, the timeout, the rollback and the operator's
// retry, on a log made by real runs and recovery commands.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { ROOT } from './helpers/paths.js';
import { scratch } from './helpers/tmp.js';
import { assertTreeUnchanged, readTree } from './helpers/tree.js';

const FIX = join(ROOT, 'test/fixtures');
interface Rec { seq: number; ts: string; type: string; task_id?: string; operator: string | null; retry_at?: string; attempt?: number }
const records = (state: string): Rec[] => readFileSync(join(state, 'transitions.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));

async function ok(state: string, args: string[], code = 0): Promise<void> {
  const r = await cairn([...args, '--state-dir', state]);
  assert.equal(r.code, code, `cairn ${args.join(' ')}\n${said(r)}`);
}

/**
 * Task w/a: attempt 1 exits 1 (retried with backoff), attempt 2 times out (retried), attempt 3 exits
 * 1 (failed, b blocked); bob rolls w back to its latest checkpoint; run: attempt 4 exits 1 and a
 * fails again; alice retries it with a reason; run: attempt 5 exits 0, b completes, w is archived.
 */
async function build(): Promise<string> {
  const dir = scratch();
  const state = join(dir, 'st');
  const counter = join(dir, 'runs');
  const spec = join(dir, 'w.json');
  const cmd = `if [ "$CAIRN_ATTEMPT" = 2 ]; then exec node '${FIX}/sleep.mjs' 60000; fi; exec node '${FIX}/flaky.mjs' '${counter}' 3`;
  writeFileSync(spec, JSON.stringify({ id: 'w', tasks: [
    { id: 'a', command: cmd, max_retries: 2, retry_base_seconds: 0.05, timeout_seconds: 1 },
    { id: 'b', command: 'true', depends_on: ['a'] },
  ] }));
  await ok(state, ['init']);
  await ok(state, ['run', spec, '--workers', '1'], 1);
  await ok(state, ['rollback-workstream', '--workstream-id', 'w', '--to-checkpoint', 'latest', '--operator', 'bob', '--reason', 'undo the failure', '--yes']);
  await ok(state, ['run', '--workers', '1'], 1);
  await ok(state, ['retry-task', '--task-id', 'w/a', '--operator', 'alice', '--reason', 'fixed the flake', '--yes']);
  await ok(state, ['run', '--workers', '1']);
  return state;
}

describe('cairn history', () => {
  let S = '';
  before(async () => { S = await build(); });

  it('shows every attempt of a task with its worker, exit, duration and log file, and the log files exist', async () => {
    const r = await cairnJson(['history', '--task-id', 'w/a', '--state-dir', S]);
    assert.equal(r.code, 0, said(r));
    const h = r.doc;
    assert.equal(h.kind, 'task');
    assert.equal(h.state, 'completed');
    const recs = records(S).filter((x) => x.task_id === 'a');
    const started = recs.filter((x) => x.type === 'task_started');
    assert.equal(h.attempts.length, 5);
    assert.deepEqual(h.attempts.map((a: { attempt: number }) => a.attempt), started.map((x) => x.attempt));
    assert.deepEqual(h.attempts.map((a: { end: string }) => a.end), ['task_attempt_failed', 'task_timed_out', 'task_failed', 'task_failed', 'task_completed']);
    assert.deepEqual(h.attempts.map((a: { outcome: string; exit_code: number | null }) => `${a.outcome}:${a.exit_code}`), ['exit:1', 'timeout:null', 'exit:1', 'exit:1', 'exit:0']);
    for (const [i, a] of (h.attempts as { worker_id: string; log_file: string; log_exists: boolean; duration_ms: number; started_seq: number; attempt: number }[]).entries()) {
      assert.equal(a.worker_id, 'w1');
      assert.equal(a.started_seq, started[i]!.seq);
      assert.equal(a.log_file, `logs/w/a.${a.attempt}.log`);
      assert.equal(a.log_exists, true);
      assert.ok(existsSync(join(S, a.log_file)), a.log_file);
      assert.ok(Number.isInteger(a.duration_ms) && a.duration_ms >= 0);
    }
    assert.ok(h.attempts[1].duration_ms >= 1000, 'the timed-out attempt ran at least its timeout');
    // The backoffs are the ones the records wrote.
    const retrying = recs.filter((x) => x.type === 'task_attempt_failed' || x.type === 'task_timed_out');
    assert.deepEqual(h.attempts.slice(0, 2).map((a: { retry_at: string }) => a.retry_at), retrying.map((x) => x.retry_at));
    assert.deepEqual(h.attempts.slice(0, 2).map((a: { backoff_ms: number }) => a.backoff_ms), retrying.map((x) => Date.parse(x.retry_at!) - Date.parse(x.ts)));
  });

  it('shows the rollback and the intervention with operator, reason and tool, in time order', async () => {
    const h = (await cairnJson(['history', '--task-id', 'w/a', '--state-dir', S])).doc;
    const seqs = h.events.map((e: { seq: number }) => e.seq);
    assert.deepEqual(seqs, [...seqs].sort((x: number, y: number) => x - y));
    const rolled = h.events.find((e: { type: string }) => e.type === 'workstream_rolled_back');
    assert.equal(rolled.operator, 'bob');
    assert.equal(rolled.reason, 'undo the failure');
    assert.equal(rolled.action, 'rollback_workstream');
    const retried = h.events.find((e: { type: string }) => e.type === 'task_retried');
    assert.deepEqual([retried.operator, retried.reason, retried.action, retried.attempt], ['alice', 'fixed the flake', 'retry_task', 4]);
    // Every record of the task is in the story, and nothing of task b.
    const own = records(S).filter((x) => x.task_id === 'a').map((x) => x.seq);
    assert.deepEqual(h.events.filter((e: { task: string | null }) => e.task !== null).map((e: { seq: number }) => e.seq), own);

    const human = await cairn(['history', '--task-id', 'w/a', '--state-dir', S]);
    assert.equal(human.code, 0, said(human));
    const out = human.stdout;
    assert.match(out, /^task w\/a: completed, 5 attempts/);
    assert.match(out, /attempt 1 on w1: exit 1, \d+ ms, .*; log logs\/w\/a\.1\.log\n/);
    assert.match(out, /attempt 2 on w1: timed out, \d+ ms, .*; log logs\/w\/a\.2\.log\n/);
    assert.match(out, /attempt 1 failed: exit 1 after \d+ ms; retry 1 at [\d:.]+ \(backoff 50 ms\)/);
    assert.match(out, /attempt 2 timed out after \d+ ms; retry 2 at [\d:.]+ \(backoff 100 ms\)/);
    assert.match(out, /workstream w rolled back to checkpoint seq \d+ \[rollback-workstream by bob: "undo the failure"\]/);
    assert.match(out, /retried \(failed -> pending\) \[retry-task by alice: "fixed the flake"\]/);
    // Grouped by attempt: each event line under the attempt it happened in or after.
    const lines = out.split('\n');
    const header5 = lines.findIndex((l) => l.startsWith('attempt 5 '));
    assert.ok(header5 > lines.findIndex((l) => l.includes('retry-task by alice')), 'the retry comes before attempt 5');
    assert.ok(lines.slice(header5).some((l) => /completed after \d+ ms/.test(l)));
  });

  it('tells a workstream\'s lifecycle and interventions, and one line a task', async () => {
    const r = await cairnJson(['history', '--workstream-id', 'w', '--state-dir', S]);
    assert.equal(r.code, 0, said(r));
    const h = r.doc;
    assert.equal(h.kind, 'workstream');
    assert.equal(h.state, 'completed');
    assert.deepEqual(h.tasks.map((t: { task_id: string; state: string; attempts: number; timeouts: number; retries: number }) => [t.task_id, t.state, t.attempts, t.timeouts, t.retries]),
      [['a', 'completed', 5, 1, 2], ['b', 'completed', 1, 0, 0]]);
    const types = h.events.map((e: { type: string }) => e.type);
    for (const t of ['workstream_submitted', 'workstream_failed', 'workstream_rolled_back', 'workstream_reopened', 'task_retried', 'workstream_completed']) assert.ok(types.includes(t), t);
    assert.ok(h.events.every((e: { task: string | null; operator: string | null }) => e.task === null || e.operator !== null), 'task records appear only when an operator made them');
    const human = await cairn(['history', '--workstream-id', 'w', '--state-dir', S]);
    assert.match(human.stdout, /^workstream w: completed \(seq 1-\d+\)/);
    assert.match(human.stdout, /\n {2}a +completed +5 attempts +2 retries +1 timeout +\d+ interventions? +last seq \d+\n/);
    assert.match(human.stdout, /\n {2}b +completed +1 attempt /);
  });

  it('finds an archived workstream\'s task by its bare id, and scripts/history says the same', async () => {
    const a = await cairnJson(['history', '--task-id', 'a', '--state-dir', S]);
    assert.equal(a.code, 0, said(a));
    assert.equal(`${a.doc.workstream_id}/${a.doc.task_id}`, 'w/a');
    const viaCli = await cairn(['history', '--task-id', 'w/b', '--state-dir', S]);
    const viaScript = spawnSync(join(ROOT, 'scripts/history'), ['--task-id', 'w/b', '--state-dir', S], { encoding: 'utf8' });
    assert.equal(viaScript.status, 0, viaScript.stderr);
    assert.equal(viaScript.stdout, viaCli.stdout);
  });

  it('refuses an unknown task or workstream with exit 2 naming the closest ones, and changes nothing', async () => {
    const before = readTree(S);
    const t = await cairnJson(['history', '--task-id', 'w/aa', '--state-dir', S]);
    assert.equal(t.code, 2, said(t));
    assert.equal(t.doc.error.code, 'UNKNOWN_TASK');
    assert.deepEqual(t.doc.error.details.closest.slice(0, 1), ['w/a']);
    const w = await cairn(['history', '--workstream-id', 'ww', '--state-dir', S]);
    assert.equal(w.code, 2, said(w));
    assert.match(w.stderr, /UNKNOWN_WORKSTREAM.*"ww"[\s\S]*hint: Did you mean: w\?/);
    const none = await cairn(['history', '--state-dir', S]);
    assert.equal(none.code, 2, said(none));
    assert.match(none.stderr, /needs --task-id or --workstream-id/);
    assertTreeUnchanged(before, readTree(S));
  });
});
