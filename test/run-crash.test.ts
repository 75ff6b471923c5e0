import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cairn, exited, json, records, setup, startRun, tmp } from './run-helpers.js';

/** A seeded PRNG, so a failing run can be replayed from its seed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('kill -9 of the scheduler at 20 random moments of a 200-task run: every task completes once recorded, never again', { timeout: 600_000 }, async () => {
  const seed = Number(process.env.CAIRN_SEED ?? 20261122);
  const rand = mulberry32(seed);
  const dir = tmp('cairn-crash-');
  const tasks = Array.from({ length: 200 }, (_, i) => ({
    id: `t${i}`,
    command: `echo "$CAIRN_TASK_ID $CAIRN_ATTEMPT" >> runs.log; sleep 0.0${1 + (i % 5)}`,
    depends_on: i >= 10 ? [`t${i - 10}`] : [],
  }));
  const spec = setup(dir, { id: 'crashy', tasks });
  for (let k = 0; k < 20; k++) {
    const run = startRun(dir, [spec, '--workers', '2']);
    // Kill at a random moment after the scheduler has started its first task of this run.
    await new Promise<void>((resolve) => {
      run.stdout!.once('data', () => resolve());
      run.once('exit', () => resolve());
    });
    const wait = Math.floor(rand() * 600);
    await new Promise((r) => setTimeout(r, wait));
    run.kill('SIGKILL');
    await exited(run);
  }
  const last = cairn(dir, ['run', spec, '--workers', '2'], 300_000);
  assert.equal(last.code, 0, `seed ${seed}: ${last.stderr}`);

  const status = json(dir, ['status', '--workstream-id', 'crashy']);
  assert.equal(status.workstreams[0].state, 'completed', `seed ${seed}`);
  assert.equal(status.workstreams[0].counts.completed, 200, `seed ${seed}`);
  const v = json(dir, ['validate-state']);
  assert.deepEqual(v.problems, [], `seed ${seed}: replay equals the snapshot and every invariant holds`);

  const recs = records(dir);
  const completedAt = new Map<string, number>();
  for (const r of recs) {
    if (r.type === 'task_completed') {
      assert.ok(!completedAt.has(r.task_id), `seed ${seed}: ${r.task_id} completed twice`);
      completedAt.set(r.task_id, r.seq);
    }
    if (r.type === 'task_started' && completedAt.has(r.task_id)) {
      assert.fail(`seed ${seed}: ${r.task_id} started again at seq ${r.seq} after its completion at seq ${completedAt.get(r.task_id)}`);
    }
  }
  assert.equal(completedAt.size, 200);
  // Some kills land before the scheduler recorded its start; those runs leave no record at all.
  const restarts = recs.filter((r) => r.type === 'scheduler_started').length;
  assert.equal(restarts, 21, 'every run started, was killed at work, and the next one recovered');
  assert.equal(recs.filter((r) => r.outcome?.kind === 'spawn_error').length, 0, 'no attempt failed to start');
  const reassigned = recs.filter((r) => r.type === 'task_reassigned' && r.trigger === 'scheduler_lost');
  for (const r of reassigned) {
    const before = recs.filter((x) => x.task_id === r.task_id && x.seq < r.seq && x.type === 'task_attempt_failed');
    assert.equal(before.length, 0, 'requeued without spending a retry');
  }
  process.stdout.write(`# crash loop: 20 kills, ${restarts} scheduler starts, ${reassigned.length} tasks requeued after a crash, ${recs.length} records, seed=${seed}\n`);
});
