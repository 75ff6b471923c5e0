import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { cairn, said } from './helpers/cli.js';
import { FIXTURES, records, setup, tmp } from './run-helpers.js';

/**
 * A task that cannot start (E2BIG, a missing program, a cwd that does not exist, a program that is
 * not executable) is a recorded attempt with outcome spawn_error: it spends a retry and ends failed,
 * on the one worker it started on — never a worker that dies and a task reassigned round the pool.
 */

interface Cause {
  task: Record<string, unknown>;
  errno: string;
  message: RegExp;
  params?: Record<string, string>;
  /** The environment `cairn run` is started with (what every task inherits). */
  env?: NodeJS.ProcessEnv;
}

const MAX_RETRIES = 2;

async function runCause(c: Cause): Promise<void> {
  const dir = tmp('cairn-spawn-');
  const spec = setup(dir, {
    id: 'cannot-start',
    ...(c.params ? { params: c.params } : {}),
    defaults: { max_retries: MAX_RETRIES, retry_base_seconds: 0 },
    tasks: [{ id: 't', ...c.task }],
  });
  const r = await cairn(['run', spec, '--workers', '1', '--state-dir', path.join(dir, '.state')], { cwd: dir, env: c.env, timeoutMs: 90_000 });
  assert.equal(r.code, 1, said(r));

  const recs = records(dir);
  const ofTask = recs.filter((x) => x.task_id === 't');
  assert.equal(ofTask.filter((x) => x.type === 'task_started').length, MAX_RETRIES + 1, 'one attempt, then one per retry');
  const ends = ofTask.filter((x) => x.type === 'task_attempt_failed' || x.type === 'task_failed');
  assert.deepEqual(ends.map((x) => x.type), [...Array(MAX_RETRIES).fill('task_attempt_failed'), 'task_failed']);
  for (const e of ends) {
    assert.equal(e.outcome.kind, 'spawn_error', JSON.stringify(e));
    assert.equal(e.outcome.errno, c.errno, JSON.stringify(e));
    assert.match(e.outcome.message, c.message);
  }
  assert.deepEqual(ends.map((x) => x.retry_count ?? null), [1, 2, null], 'each failed start spends a retry');
  assert.equal(ofTask.filter((x) => x.type === 'task_reassigned').length, 0, 'never reassigned: no worker was lost');

  // No crash loop: the one worker started once, never died, and left one log.
  assert.equal(recs.filter((x) => x.type === 'worker_started').length, 1);
  assert.deepEqual(recs.filter((x) => x.type === 'worker_shutdown').map((x) => x.trigger), ['done']);
  assert.deepEqual(readdirSync(path.join(dir, '.state', 'logs', '_workers')), ['w1.log']);
}

test('a task whose environment is too large to pass (E2BIG) fails after its retries, on one worker that never dies', async () => {
  // Within every per-string limit and the spec check, but with what cairn inherits, over ARG_MAX.
  const inherited: NodeJS.ProcessEnv = {};
  for (let i = 0; i < 20; i++) inherited[`CAIRN_TEST_BULK_${i}`] = 'e'.repeat(100_000);
  await runCause({
    task: { command: ['true'] },
    params: { blob: 'p'.repeat(120_000) },
    env: inherited,
    errno: 'E2BIG',
    message: /cannot start "true": its arguments and environment come to \d+ bytes, over the OS limit of about 2097152 bytes in all \(E2BIG\)/,
  });
});

test('a missing program in an array command fails after its retries with spawn_error ENOENT', async () => {
  await runCause({
    task: { command: ['/nonexistent/cairn-no-such-program', '--flag'] },
    errno: 'ENOENT',
    message: /cannot start "\/nonexistent\/cairn-no-such-program": no such program \(ENOENT\)/,
  });
});

test('a cwd that does not exist fails after its retries with spawn_error ENOENT naming the cwd', async () => {
  await runCause({
    task: { command: ['true'], cwd: '/nonexistent/cairn-no-such-dir' },
    errno: 'ENOENT',
    message: /cwd \/nonexistent\/cairn-no-such-dir does not exist \(ENOENT\)/,
  });
});

test('a program that is not executable fails after its retries with spawn_error EACCES', async () => {
  await runCause({
    task: { command: [path.join(FIXTURES, 'not-executable.sh')] },
    errno: 'EACCES',
    message: /cannot start ".*not-executable\.sh": permission denied \(EACCES\)/,
  });
});
