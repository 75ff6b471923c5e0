import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { cairnJson, said } from './helpers/cli.js';
import { json, node, records, setup, tmp } from './run-helpers.js';

/**
 * Workers that die are replaced after a growing pause, and when they keep dying (no task attempt
 * ending in between) `cairn run` stops with WORKERS_FAILING, exit 1, naming the cause and the worker
 * logs, and leaves the tasks as the log has them for the next run.
 */

test('a task that kills its worker every time stops the run at worker_deaths_limit with exit 1, naming the worker logs', async () => {
  const dir = tmp('cairn-deaths-');
  const limit = 3;
  const spec = setup(dir, { id: 'killer', tasks: [{ id: 'k', command: node('kill-worker.mjs') }] }, { worker_deaths_limit: limit, worker_restart_base_ms: 20 });
  const r = await cairnJson(['run', spec, '--workers', '1', '--state-dir', path.join(dir, '.state')], { cwd: dir, timeoutMs: 90_000 });
  assert.equal(r.code, 1, said(r));
  assert.equal(r.doc.error.code, 'WORKERS_FAILING', said(r));
  const logs = readdirSync(path.join(dir, '.state', 'logs', '_workers')).sort();
  assert.deepEqual(logs, ['w1.log', 'w2.log', 'w3.log'], 'the first worker and one replacement per death below the limit');
  assert.match(r.doc.error.message, new RegExp(`workers keep dying: ${limit} in a row`));
  assert.match(r.doc.error.message, /the last: worker w3 exited \(signal SIGKILL\)/);
  for (const l of logs) assert.ok(r.doc.error.message.includes(path.join('.state', 'logs', '_workers', l)), `names ${l}: ${r.doc.error.message}`);
  assert.deepEqual(r.doc.error.details.worker_ids, ['w1', 'w2', 'w3']);
  assert.match(r.doc.error.hint, /cairn show-worker-logs --worker-id/);

  const recs = records(dir);
  assert.equal(recs.filter((x) => x.type === 'worker_started').length, limit);
  assert.equal(recs.filter((x) => x.type === 'worker_shutdown' && x.trigger === 'worker_exited').length, limit);
  assert.equal(recs.filter((x) => x.type === 'task_reassigned').length, limit, 'each lost worker\'s task was reassigned');
  assert.equal(recs.at(-1).type, 'scheduler_stopped');
  assert.equal(recs.at(-1).trigger, 'workers_failing');
  // The tasks stay as the log has them: a later `cairn run` carries on from here.
  const status = json(dir, ['status', '--workstream-id', 'killer']);
  assert.equal(status.workstreams[0].state, 'running');
  const task = json(dir, ['show-task', '--task-id', 'killer/k']);
  assert.equal(task.task.state, 'queued', JSON.stringify(task.task));
  assert.equal(task.task.retry_count, 0, 'no retry spent on a lost worker');
  assert.equal(json(dir, ['validate-state']).ok, true);
});

test('a worker that dies once is replaced and its task completes on the next worker without spending a retry', async () => {
  const dir = tmp('cairn-deaths-');
  const spec = setup(dir, { id: 'once', tasks: [{ id: 'k', command: node('kill-worker.mjs', '--first-attempt-only'), max_retries: 0 }] }, { worker_deaths_limit: 2 });
  const r = await cairnJson(['run', spec, '--workers', '1', '--state-dir', path.join(dir, '.state')], { cwd: dir, timeoutMs: 90_000 });
  assert.equal(r.code, 0, said(r));
  const recs = records(dir);
  assert.deepEqual(recs.filter((x) => x.task_id === 'k').map((x) => x.type), ['task_queued', 'task_started', 'task_reassigned', 'task_started', 'task_completed']);
  assert.deepEqual(recs.filter((x) => x.type === 'worker_started').map((x) => x.worker_id), ['w1', 'w2']);
});
