// rollback-workstream through the real CLI: DESIGN §6 to the letter, to the latest and to an
// earlier checkpoint, on a workstream with completed, skipped, failed, running and queued tasks.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LogRecord } from '../src/model/types.js';
import {
  alive, assertManualAction, cli, cmd, given, interventions, lastSeq, orphanProcess, outcome, since, startTask, startWorker, status, submitCmd, tempState, waitFor,
} from './recovery-helpers.js';

const dirs: (() => void)[] = [];
after(() => dirs.forEach((c) => c()));

const SPEC = {
  id: 'rb', defaults: { max_retries: 0 }, resources: { lock: { max_holders: 1 } },
  tasks: [
    { id: 'c1', command: cmd.ok() },
    { id: 's1', command: cmd.ok() },
    { id: 'f1', command: cmd.fail(), max_retries: 1, retry_base_seconds: 0.01 },
    { id: 'r1', command: cmd.sleep(60_000), resources: ['lock'] },
    { id: 'c2', command: cmd.ok() },
    { id: 'q1', command: cmd.ok(), depends_on: ['c1'] },
    { id: 'p1', command: cmd.ok(), depends_on: ['r1'] },
  ],
};

/**
 * Builds the situation step by step (each step ends a command, so each leaves a checkpoint):
 * at checkpoint E: c1 completed, s1 skipped, c2 running, f1 r1 q1 queued, p1 pending;
 * now: c1 c2 completed, f1 failed (retry_count 1), r1 running (a real process), s1 q1 queued, p1 pending.
 */
async function build(): Promise<{ S: string; E: number; orphan: ReturnType<typeof orphanProcess> }> {
  const t = tempState();
  dirs.push(t.cleanup);
  const S = t.state;
  await given(S, [submitCmd(SPEC), startWorker('w1'), startWorker('w2'), startWorker('w3'), startTask('rb', 'c1', 'w1', null), outcome('rb', 'c1', 1, 0)]);
  assert.equal(cli(S, ['skip-task', '--task-id', 'rb/s1', '--reason', 'setup', '--yes']).code, 0);
  await given(S, [startTask('rb', 'c2', 'w2', null)]);
  const E = JSON.parse(readFileSync(join(S, 'checkpoints/rb_latest.json'), 'utf8')).seq as number;
  await given(S, [outcome('rb', 'c2', 1, 0)]);
  assert.equal(cli(S, ['retry-task', '--task-id', 'rb/s1']).code, 0);
  const orphan = orphanProcess();
  await given(S, [
    startTask('rb', 'f1', 'w2', null), outcome('rb', 'f1', 1, 1), { kind: 'retry_due', workstream_id: 'rb', task_id: 'f1' },
    startTask('rb', 'f1', 'w2', null), outcome('rb', 'f1', 2, 1),
    startTask('rb', 'r1', 'w3', orphan),
  ]);
  const st = status(S);
  const now = Object.fromEntries(SPEC.tasks.map((x) => [x.id, `${st.tasks[`rb/${x.id}`]!.state}/${st.tasks[`rb/${x.id}`]!.retry_count}`]));
  assert.deepEqual(now, { c1: 'completed/0', s1: 'queued/0', f1: 'failed/1', r1: 'running/0', c2: 'completed/0', q1: 'queued/0', p1: 'pending/0' });
  assert.deepEqual(Object.keys(st.doc.resources.find((r: { id: string }) => r.id === 'lock').holders), ['rb/r1']);
  return { S, E, orphan };
}

/** DESIGN §6, computed from the checkpoint file itself: completed stay; the rest take the checkpoint's completed/skipped, else pending, and its retry_count. */
function expectedResets(S: string, file: string, before: Record<string, { state: string; retry_count: number }>): Record<string, string> {
  const cp = JSON.parse(readFileSync(join(S, 'checkpoints', file), 'utf8')) as { tasks: Record<string, { state: string; retry_count: number }> };
  const out: Record<string, string> = {};
  for (const { id } of SPEC.tasks) {
    const now = before[`rb/${id}`]!;
    if (now.state === 'completed') continue;
    const c = cp.tasks[id]!;
    const to = c.state === 'completed' || c.state === 'skipped' ? c.state : 'pending';
    const from = now.state === 'running' ? 'cancelled' : now.state;
    if (from === to && now.retry_count === c.retry_count) continue;
    out[id] = `${to}/${c.retry_count}`;
  }
  return out;
}

function resets(recs: LogRecord[]): Record<string, string> {
  return Object.fromEntries(recs.filter((r) => r.type === 'task_reset').map((r) => [String(r.task_id), `${String(r.to)}/${String(r.retry_count)}`]));
}

function taskStates(S: string): Record<string, string> {
  const st = status(S);
  return Object.fromEntries(SPEC.tasks.map((x) => [x.id, `${st.tasks[`rb/${x.id}`]!.state}/${st.tasks[`rb/${x.id}`]!.retry_count}`]));
}

describe('rollback-workstream', () => {
  it('to latest: kills and cancels the running task, resets every unfinished task as §6 says, keeps completed ones, releases resources, one rolled_back record', async () => {
    const { S, orphan } = await build();
    const latest = JSON.parse(readFileSync(join(S, 'checkpoints/rb_latest.json'), 'utf8')).seq as number;
    const before = status(S).tasks;
    const seq = lastSeq(S);
    assert.equal(cli(S, ['rollback-workstream', '--workstream-id', 'rb']).code, 2, 'needs --yes off a terminal');
    const dry = cli(S, ['rollback-workstream', '--workstream-id', 'rb', '--dry-run', '--json']).json();
    assert.equal(lastSeq(S), seq);
    assert.ok(alive(orphan.pid));
    const lines = interventions(S).length;
    const r = cli(S, ['rollback-workstream', '--workstream-id', 'rb', '--to-checkpoint', 'latest', '--yes', '--reason', 'bad deploy', '--json']);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.json().killed, ['rb/r1']);
    await waitFor('the running task\'s process to be killed', () => !alive(orphan.pid));
    const recs = since(S, seq);
    assert.deepEqual(recs.map((x) => x.type), dry.records.map((x: { type: string }) => x.type));
    const rolled = recs.filter((x) => x.type === 'workstream_rolled_back');
    assert.equal(rolled.length, 1);
    assert.equal(rolled[0]!.checkpoint_seq, latest);
    const cancelled = recs.filter((x) => x.type === 'task_cancelled');
    assert.deepEqual(cancelled.map((x) => [x.task_id, x.from, x.trigger]), [['r1', 'running', 'rollback']]);
    const want = expectedResets(S, `rb/${latest}.json`, before);
    assert.deepEqual(want, { s1: 'pending/0', f1: 'pending/1', r1: 'pending/0', q1: 'pending/0' });
    assert.deepEqual(resets(recs), want);
    assertManualAction(S, 'rollback_workstream', recs, lines);
    // Then the automatic moves: pending tasks whose dependencies are done are queued again.
    assert.deepEqual(taskStates(S), { c1: 'completed/0', s1: 'queued/0', f1: 'queued/1', r1: 'queued/0', c2: 'completed/0', q1: 'queued/0', p1: 'pending/0' });
    assert.equal(status(S).ws.rb, 'running');
    assert.deepEqual(status(S).doc.resources.find((x: { id: string }) => x.id === 'lock').holders, {});
  });

  it('to an earlier checkpoint: tasks take its completed/skipped state and retry counts, everything else not completed is pending', async () => {
    const { S, E, orphan } = await build();
    const before = status(S).tasks;
    const seq = lastSeq(S);
    const r = cli(S, ['rollback-workstream', '--workstream-id', 'rb', '--to-checkpoint', String(E), '--yes']);
    assert.equal(r.code, 0, r.err);
    await waitFor('the running task\'s process to be killed', () => !alive(orphan.pid));
    const recs = since(S, seq);
    assert.equal(recs.find((x) => x.type === 'workstream_rolled_back')!.checkpoint_seq, E);
    const want = expectedResets(S, `rb/${E}.json`, before);
    assert.deepEqual(want, { s1: 'skipped/0', f1: 'pending/0', r1: 'pending/0', q1: 'pending/0' });
    assert.deepEqual(resets(recs), want);
    assert.deepEqual(taskStates(S), { c1: 'completed/0', s1: 'skipped/0', f1: 'queued/0', r1: 'queued/0', c2: 'completed/0', q1: 'queued/0', p1: 'pending/0' });
  });

  it('reopens a failed workstream; refuses an unknown checkpoint (naming those there are) and a completed workstream; nothing changes then', async () => {
    const t = tempState();
    dirs.push(t.cleanup);
    const S = t.state;
    await given(S, [submitCmd({ id: 'fw', defaults: { max_retries: 0 }, tasks: [{ id: 'a', command: cmd.fail(), critical: true }, { id: 'b', command: cmd.ok(), depends_on: ['a'] }] }), startWorker('w1'), startTask('fw', 'a', 'w1', null), outcome('fw', 'a', 1, 3)]);
    await given(S, [submitCmd({ id: 'done', tasks: [{ id: 'a', command: cmd.ok() }] }), startTask('done', 'a', 'w1', null), outcome('done', 'a', 1, 0)]);
    const seq = lastSeq(S);
    const unknown = cli(S, ['rollback-workstream', '--workstream-id', 'fw', '--to-checkpoint', '999', '--yes', '--json']);
    assert.equal(unknown.code, 2);
    assert.equal(unknown.json().error.code, 'UNKNOWN_CHECKPOINT');
    assert.ok(unknown.json().error.details.available.includes('latest'));
    const completed = cli(S, ['rollback-workstream', '--workstream-id', 'done', '--yes', '--json']);
    assert.equal(completed.code, 2);
    assert.match(completed.json().error.message, /completed workstream cannot be rolled back/);
    assert.equal(lastSeq(S), seq);
    const first = JSON.parse(readFileSync(join(S, 'checkpoints/fw_latest.json'), 'utf8')).seq as number;
    const r = cli(S, ['rollback-workstream', '--workstream-id', 'fw', '--yes']);
    assert.equal(r.code, 0, r.err);
    const recs = since(S, seq);
    assert.deepEqual(recs.slice(0, 2).map((x) => `${x.type} ${x.from ?? ''}->${x.to ?? ''}`), ['workstream_reopened failed->running', 'workstream_rolled_back ->']);
    assert.equal(recs[1]!.checkpoint_seq, first);
    assert.deepEqual([status(S).ws.fw, status(S).tasks['fw/a']!.state, status(S).tasks['fw/b']!.state], ['running', 'queued', 'pending']);
  });
});
