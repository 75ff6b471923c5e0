import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { alive, cairn, json, node, records, setup, tmp, until } from './run-helpers.js';

test('a timeout kills a task that ignores SIGTERM, and its grandchild; nothing of it survives', async () => {
  const dir = tmp();
  const pidfile = path.join(dir, 'grandchild.pid');
  const spec = setup(dir, {
    id: 'slow',
    // 4 s: a node grandchild can take over a second to start on a loaded machine, and the test needs it started.
    tasks: [{ id: 'stubborn', command: node('ignore-sigterm.mjs', pidfile), timeout_seconds: 4, max_retries: 0 }],
  });
  const r = cairn(dir, ['run', spec]);
  assert.equal(r.code, 1, r.stderr);
  const recs = records(dir);
  const started = recs.find((x) => x.type === 'task_started');
  const failed = recs.find((x) => x.type === 'task_failed');
  assert.ok(started && failed, 'the attempt started and failed');
  assert.equal(failed.outcome.kind, 'timeout');
  assert.ok(existsSync(pidfile), 'the grandchild had started');
  const grandchild = Number(readFileSync(pidfile, 'utf8'));
  await until(() => !alive(started.pid) && !alive(grandchild), 5000, 'the task and its grandchild to be gone');
  const status = json(dir, ['status', '--workstream-id', 'slow']);
  assert.equal(status.workstreams[0].state, 'failed');
});

test('a timed-out attempt is retried with the backoff written in its record, then completes', () => {
  const dir = tmp();
  const spec = setup(dir, {
    id: 'retry',
    tasks: [{ id: 'slow-once', command: 'if [ "$CAIRN_ATTEMPT" -lt 2 ]; then sleep 30; fi', timeout_seconds: 0.5, max_retries: 2, retry_base_seconds: 0.2 }],
  });
  const r = cairn(dir, ['run', spec]);
  assert.equal(r.code, 0, r.stderr);
  const recs = records(dir);
  const timedOut = recs.find((x) => x.type === 'task_timed_out');
  assert.ok(timedOut, 'the first attempt timed out');
  assert.equal(timedOut.retry_count, 1);
  assert.equal(Date.parse(timedOut.retry_at) - Date.parse(timedOut.ts), 200, 'retry_at = now + base * 2^0');
  assert.equal(recs.filter((x) => x.type === 'task_started').length, 2);
  assert.equal(json(dir, ['validate-state']).ok, true);
});
