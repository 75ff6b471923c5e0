// `cairn status` after the scheduler was killed: the log still says its tasks run, but status checks
// the recorded scheduler by pid and start time and says it is gone and what the next run does.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alive, exited, json, cairn, node, records, setup, startRun, tmp, until } from './run-helpers.js';

test('status says a killed scheduler is gone and that the next cairn run requeues the tasks it left running', { timeout: 180_000 }, async () => {
  const dir = tmp('cairn-dead-sched-');
  const spec = setup(dir, { id: 'w', tasks: [{ id: 'long', command: node('sleep.mjs', '600000') }] });
  const run = startRun(dir, [spec, '--workers', '1']);
  let pgid = 0;
  try {
    await until(() => records(dir).some((r) => r.type === 'task_started'), 60_000, 'the task to start');
    pgid = records(dir).find((r) => r.type === 'task_started').pgid;

    const live = json(dir, ['status']);
    assert.equal(live.scheduler.pid, run.pid);
    assert.equal(live.scheduler.alive, true, 'the scheduler runs');
    assert.deepEqual(live.scheduler.orphaned_tasks, []);
    assert.equal(live.workstreams[0].tasks[0].orphaned, false);

    run.kill('SIGKILL');
    await exited(run);
    await until(() => !alive(run.pid!), 10_000, 'the scheduler process to be gone');

    const doc = json(dir, ['status']);
    assert.equal(doc.scheduler.pid, run.pid, 'the state still records the killed scheduler');
    assert.equal(doc.scheduler.alive, false);
    assert.deepEqual(doc.scheduler.orphaned_tasks, ['w/long']);
    const task = doc.workstreams[0].tasks[0];
    assert.equal(task.state, 'running', 'the log says it runs: status does not rewrite history');
    assert.equal(task.orphaned, true);

    const human = cairn(dir, ['status']);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, new RegExp(`scheduler pid ${run.pid} \\(since [^)]+\\) is gone: it was killed or crashed; the next cairn run requeues the 1 task it left running \\(w/long\\)`));
    assert.match(human.stdout, /^ {2}long\s+running \(scheduler gone\)/m);
    assert.doesNotMatch(human.stdout, /^ {2}long\s+running\s+attempt/m, 'not shown as plainly running');
  } finally {
    run.kill('SIGKILL');
    // The task's own process group outlives the scheduler killed with SIGKILL: end it here.
    if (pgid > 1) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
});
