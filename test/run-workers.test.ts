import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { exited, json, node, records, setup, startRun, tmp, until } from './run-helpers.js';

test('a worker stopped with SIGSTOP becomes unresponsive, is replaced, and its task completes on another worker without spending a retry', async () => {
  const dir = tmp();
  const spec = setup(dir, {
    id: 'stall',
    tasks: [{ id: 'long', command: node('sleep.mjs', '4000'), max_retries: 2 }],
  }, { heartbeat_ms: 50, health_timeout_ms: 1000, shutdown_after_ms: 1500 });
  const run = startRun(dir, [spec, '--workers', '1']);
  let stopped: number | null = null;
  try {
    const workersFile = path.join(dir, '.state', 'workers.json');
    // Stop the worker only once the attempt is recorded as running on it.
    await until(() => {
      const t = json(dir, ['show-task', '--task-id', 'stall/long']).task;
      if (t?.state !== 'running') return false;
      try {
        const w = JSON.parse(readFileSync(workersFile, 'utf8')).workers.find((x: any) => x.id === t.worker_id);
        if (w?.pid) stopped = w.pid;
      } catch { /* not written yet */ }
      return stopped !== null;
    }, 10_000, 'the task to run on a worker');
    process.kill(stopped!, 'SIGSTOP');
    const code = await exited(run);
    assert.equal(code, 0);
  } finally {
    if (stopped !== null) try { process.kill(stopped, 'SIGCONT'); process.kill(stopped, 'SIGKILL'); } catch { /* gone */ }
    run.kill('SIGKILL');
  }
  const recs = records(dir);
  const types = recs.map((r) => r.type);
  const unresponsive = recs.find((r) => r.type === 'worker_unresponsive');
  assert.ok(unresponsive, 'the worker was marked unresponsive');
  assert.equal(recs.filter((r) => r.type === 'worker_unresponsive' && r.worker_id === unresponsive.worker_id).length, 1, 'logged once');
  const shutdown = recs.find((r) => r.type === 'worker_shutdown' && r.worker_id === unresponsive.worker_id);
  assert.equal(shutdown?.trigger, 'unresponsive');
  const reassigned = recs.find((r) => r.type === 'task_reassigned');
  assert.equal(reassigned?.trigger, 'worker_lost');
  assert.ok(types.indexOf('task_reassigned') < types.indexOf('worker_shutdown'), 'the task is reassigned before the worker is shut down');
  const starts = recs.filter((r) => r.type === 'task_started');
  assert.equal(starts.length, 2);
  assert.notEqual(starts[1].worker_id, starts[0].worker_id, 'the second attempt runs on the replacement worker');
  const task = json(dir, ['show-task', '--task-id', 'stall/long']).task;
  assert.equal(task.state, 'completed');
  assert.equal(task.retry_count, 0, 'a lost worker does not spend a retry');
  assert.equal(json(dir, ['validate-state']).ok, true);
});

test('three tasks sharing a resource with max_holders 2 never overlap more than two at a time', async () => {
  const dir = tmp();
  const times = path.join(dir, 'times.txt');
  const spec = setup(dir, {
    id: 'shared',
    resources: { db: { max_holders: 2 } },
    tasks: ['a', 'b', 'c'].map((id) => ({ id, command: node('record-times.mjs', times, '400'), resources: ['db'] })),
  });
  const run = startRun(dir, [spec, '--workers', '3']);
  assert.equal(await exited(run), 0);
  const events = readFileSync(times, 'utf8').trim().split('\n').map((l) => {
    const [kind, at] = l.split(' ');
    return { kind, at: Number(at) };
  }).sort((x, y) => x.at - y.at || (x.kind === 'end' ? -1 : 1));
  let now = 0;
  let most = 0;
  for (const e of events) {
    now += e.kind === 'start' ? 1 : -1;
    most = Math.max(most, now);
  }
  assert.equal(events.length, 6);
  assert.equal(most, 2, 'two run together, never three');
  const recs = records(dir);
  for (const r of recs.filter((x) => x.type === 'resource_exhausted')) assert.equal(r.resource_id, 'db');
});
