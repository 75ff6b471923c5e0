import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { alive, cairn, exited, json, node, records, setup, startRun, tmp, until } from './run-helpers.js';

test('after the scheduler and its workers are killed, the next run kills the task process group left behind and requeues the task without a retry', async () => {
  const dir = tmp();
  const pidfile = path.join(dir, 'grandchild.pid');
  // The first attempt runs a process that ignores SIGTERM and has a grandchild; later attempts succeed.
  const spec2 = setup(dir, {
    id: 'orphan',
    tasks: [{ id: 'stubborn', command: `if [ "$CAIRN_ATTEMPT" = 1 ]; then exec ${node('ignore-sigterm.mjs', pidfile).join(' ')}; fi` }],
  });
  const run = startRun(dir, [spec2, '--workers', '1']);
  let taskPid = 0;
  await until(() => {
    const t = json(dir, ['show-task', '--task-id', 'orphan/stubborn']).task;
    taskPid = t?.pid ?? 0;
    return taskPid > 0;
  }, 15_000, 'the task to run');
  await until(() => { try { readFileSync(pidfile); return true; } catch { return false; } }, 5000, 'the grandchild');
  const grandchild = Number(readFileSync(pidfile, 'utf8'));
  // Kill the scheduler and its worker at once, as a power cut of the parent would: the task's own
  // process group (it is detached) survives.
  const workers = JSON.parse(readFileSync(path.join(dir, '.state', 'workers.json'), 'utf8')).workers as { pid: number }[];
  run.kill('SIGKILL');
  for (const w of workers) try { process.kill(w.pid, 'SIGKILL'); } catch { /* gone */ }
  await exited(run);
  assert.ok(alive(taskPid) && alive(grandchild), 'the task and its grandchild outlived their scheduler');

  const r = cairn(dir, ['run', '--workers', '1']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /requeued 1 task/);
  await until(() => !alive(taskPid) && !alive(grandchild), 5000, 'the orphaned group to be killed');
  const recs = records(dir);
  const requeue = recs.find((x) => x.type === 'task_reassigned');
  assert.equal(requeue?.trigger, 'scheduler_lost');
  const task = json(dir, ['show-task', '--task-id', 'orphan/stubborn']).task;
  assert.equal(task.state, 'completed');
  assert.equal(task.retry_count, 0);
  assert.equal(task.attempt, 2);
});

test('a worker that stops answering and comes back before the shutdown limit is recorded as recovered', async () => {
  const dir = tmp();
  const spec = setup(dir, { id: 'blip', tasks: [{ id: 'long', command: node('sleep.mjs', '4000') }] }, { heartbeat_ms: 50, health_timeout_ms: 800, shutdown_after_ms: 60_000 });
  const run = startRun(dir, [spec, '--workers', '1']);
  let pid = 0;
  try {
    await until(() => {
      const t = json(dir, ['show-task', '--task-id', 'blip/long']).task;
      if (t?.state !== 'running') return false;
      try {
        pid = JSON.parse(readFileSync(path.join(dir, '.state', 'workers.json'), 'utf8')).workers.find((w: any) => w.id === t.worker_id)?.pid ?? 0;
      } catch { /* not yet */ }
      return pid > 0;
    }, 15_000, 'a busy worker');
    process.kill(pid, 'SIGSTOP');
    await until(() => json(dir, ['status']).workers.some((w: any) => w.state === 'unresponsive'), 5000, 'the worker to be marked unresponsive');
    process.kill(pid, 'SIGCONT');
    assert.equal(await exited(run), 0);
  } finally {
    try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ }
    run.kill('SIGKILL');
  }
  const types = records(dir).map((r) => r.type);
  assert.ok(types.includes('worker_unresponsive') && types.includes('worker_recovered'));
  assert.ok(!types.includes('task_reassigned'), 'the task was not taken away');
});
