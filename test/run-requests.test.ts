import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { Decision } from '../src/model/decision.js';
import { Store } from '../src/store/store.js';
import { alive, exited, json, node, records, setup, startRun, tmp, until } from './run-helpers.js';

test('a cancel recorded by another process stops the running task within a second', async () => {
  const dir = tmp();
  const spec = setup(dir, { id: 'cancel-me', tasks: [{ id: 'long', command: node('sleep.mjs', '30000') }, { id: 'after', command: 'true', depends_on: ['long'] }] });
  const run = startRun(dir, [spec, '--workers', '2']);
  try {
    let pid = 0;
    await until(() => {
      const t = json(dir, ['show-task', '--task-id', 'cancel-me/long']).task;
      pid = t?.pid ?? 0;
      return t?.state === 'running' && pid > 0;
    }, 15_000, 'the task to run');
    const store = await Store.open(path.join(dir, '.state'));
    const at = Date.now();
    await store.commit((s, now) => {
      const d = new Decision(s, now, { operator: 'tester', reason: 'no longer needed', action: 'cancel_task' });
      d.move(d.task('cancel-me', 'long'), 'task_cancelled', 'cancelled', { trigger: 'operator' });
      return d.settle();
    });
    await store.close();
    await until(() => !alive(pid), 1000, 'the task process to be gone within a second of the cancel');
    process.stdout.write(`# cancel took effect in ${Date.now() - at} ms\n`);
    assert.equal(await exited(run), 0, 'a cancelled task lets its dependents proceed and the workstream completes');
  } finally {
    run.kill('SIGKILL');
  }
  const recs = records(dir);
  const cancelled = recs.find((r) => r.type === 'task_cancelled');
  assert.equal(cancelled.operator, 'tester');
  assert.ok(recs.some((r) => r.type === 'task_completed' && r.task_id === 'after'));
  assert.ok(!recs.some((r) => r.type === 'task_attempt_failed' || r.type === 'task_failed'), 'the killed attempt is not recorded as a failure');
  assert.equal(json(dir, ['validate-state']).ok, true);
});

test('a second scheduler on the same state folder says which pid runs and exits 4', async () => {
  const dir = tmp();
  // Long enough that the first run is still there however slowly the second starts (it is killed below).
  const spec = setup(dir, { id: 'one', tasks: [{ id: 'long', command: node('sleep.mjs', '30000') }] });
  const first = startRun(dir, [spec]);
  try {
    await until(() => json(dir, ['status']).scheduler !== null, 15_000, 'the first scheduler');
    const second = startRun(dir, []);
    let err = '';
    second.stderr!.on('data', (b) => (err += String(b)));
    assert.equal(await exited(second), 4);
    assert.match(err, new RegExp(`pid ${first.pid}`));
  } finally {
    first.kill('SIGKILL');
  }
});

test('Ctrl-C stops the run cleanly: exit 130, the running task is requeued without spending a retry, the next run finishes it', async () => {
  const dir = tmp();
  const spec = setup(dir, { id: 'int', tasks: [{ id: 'long', command: node('sleep.mjs', '1500') }] });
  const run = startRun(dir, [spec]);
  await until(() => json(dir, ['show-task', '--task-id', 'int/long']).task?.state === 'running', 15_000, 'the task to run');
  run.kill('SIGINT');
  assert.equal(await exited(run), 130);
  const t = json(dir, ['show-task', '--task-id', 'int/long']).task;
  assert.equal(t.state, 'queued');
  assert.equal(t.retry_count, 0);
  const again = startRun(dir, []);
  assert.equal(await exited(again), 0);
  assert.equal(json(dir, ['show-task', '--task-id', 'int/long']).task.state, 'completed');
});
