// The worker and the pool, driven with real processes (no mocks): outcomes, logs, env, validate, kills.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { killGroup, WorkerPool, type OutcomeMessage, type RunRequest, type WorkerPoolEvents } from '../src/runner/index.js';
import { parseStat } from '../src/runner/proc.js';

const FIXTURES = new URL('../../test/fixtures/', import.meta.url).pathname;
const fixture = (name: string): string => join(FIXTURES, name);
const dir = mkdtempSync(join(tmpdir(), 'cairn-runner-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function waitFor(what: string, cond: () => boolean, ms = 5_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** kill(pid, 0), except that a zombie counts as dead: this sandbox's pid 1 does not reap orphans. */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = existsSync(`/proc/${pid}/stat`) ? parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8')) : null;
  return stat === null ? !existsSync('/proc/self/stat') : stat.state !== 'Z';
}

type Seen = { [K in keyof WorkerPoolEvents]: { event: K; args: WorkerPoolEvents[K] } }[keyof WorkerPoolEvents];

/** A pool whose events are all recorded, and whose workers are SIGKILLed (with their tasks) when the test ends. */
async function withPool(fn: (pool: WorkerPool, seen: Seen[]) => Promise<void>, heartbeatMs = 100): Promise<void> {
  const pool = new WorkerPool({ heartbeatMs, graceMs: 300 });
  const seen: Seen[] = [];
  for (const event of ['heartbeat', 'spawned', 'validating', 'outcome', 'exit'] as const) {
    pool.on(event, (...args: unknown[]) => seen.push({ event, args } as Seen));
  }
  try {
    await fn(pool, seen);
  } finally {
    for (const id of pool.workerIds()) {
      const pid = pool.pid(id);
      if (pid !== null) process.kill(pid, 'SIGCONT');
      await pool.forceStop(id);
    }
  }
}

let logs = 0;
function request(command: RunRequest['command'], extra: Partial<RunRequest> = {}): RunRequest {
  logs += 1;
  const key = `ws-test/task${logs}`;
  const env = { CAIRN_WORKSTREAM_ID: 'ws-test', CAIRN_TASK_ID: `task${logs}`, CAIRN_ATTEMPT: '1', CAIRN_PARAM_CHANNEL: 'beta' };
  return { key, attempt: 1, command, cwd: null, env, logPath: join(dir, `task${logs}.1.log`), validate: null, ...extra };
}

async function outcomeOf(seen: Seen[], req: RunRequest, phase: 'command' | 'validate' = 'command'): Promise<OutcomeMessage> {
  const find = (): OutcomeMessage | undefined =>
    seen.flatMap((s) => (s.event === 'outcome' ? [s.args[1]] : [])).find((m) => m.key === req.key && m.attempt === req.attempt && m.phase === phase);
  await waitFor(`the ${phase} outcome of ${req.key}`, () => find() !== undefined, 10_000);
  return find()!;
}

function spawnedPid(seen: Seen[], req: RunRequest): number | undefined {
  return seen.flatMap((s) => (s.event === 'spawned' && s.args[1].key === req.key ? [s.args[1].pgid] : []))[0];
}

describe('a worker running tasks', () => {
  it('reports exit 0 and 3 as exit outcomes, with output in the log', () =>
    withPool(async (pool, seen) => {
      await pool.start('w1');
      const ok = request(`echo out; echo err >&2`);
      pool.run('w1', ok);
      assert.deepEqual({ ...(await outcomeOf(seen, ok)).outcome, duration_ms: 0 }, { kind: 'exit', exit_code: 0, signal: null, duration_ms: 0, message: null });
      assert.equal(readFileSync(ok.logPath, 'utf8'), 'out\nerr\n');
      const failing = request([process.execPath, fixture('exit-3.mjs')]);
      pool.run('w1', failing);
      const outcome = (await outcomeOf(seen, failing)).outcome;
      assert.equal(outcome.kind, 'exit');
      assert.equal(outcome.exit_code, 3);
    }));

  it('gives the task the CAIRN env, runs a string under sh and an array without a shell', () =>
    withPool(async (pool, seen) => {
      await pool.start('w1');
      const arr = request(['node', fixture('print.mjs'), 'a b;c', '$HOME']);
      pool.run('w1', arr);
      assert.equal((await outcomeOf(seen, arr)).outcome.exit_code, 0);
      const [line, errLine] = readFileSync(arr.logPath, 'utf8').split('\n');
      const printed = JSON.parse(line ?? '') as { env: Record<string, string>; argv: string[] };
      assert.deepEqual(printed.argv, ['a b;c', '$HOME']);
      assert.deepEqual(printed.env, arr.env);
      assert.equal(errLine, 'print.mjs: to stderr');
      const str = request('printf "%s|%s" "$CAIRN_TASK_ID" "$CAIRN_PARAM_CHANNEL"; exit 3');
      pool.run('w1', str);
      assert.equal((await outcomeOf(seen, str)).outcome.exit_code, 3);
      assert.equal(readFileSync(str.logPath, 'utf8'), `${str.env.CAIRN_TASK_ID}|beta`);
    }));

  it('reports a missing program as spawn_error and stays usable for the next task', () =>
    withPool(async (pool, seen) => {
      await pool.start('w1');
      const missing = request(['cairn-no-such-program-xyz', 'arg']);
      pool.run('w1', missing);
      const outcome = (await outcomeOf(seen, missing)).outcome;
      assert.equal(outcome.kind, 'spawn_error');
      assert.match(outcome.message ?? '', /ENOENT/);
      const badCwd = request('true', { cwd: join(dir, 'no-such-dir') });
      pool.run('w1', badCwd);
      assert.equal((await outcomeOf(seen, badCwd)).outcome.kind, 'spawn_error');
      const next = request([process.execPath, fixture('exit-3.mjs')]);
      pool.run('w1', next);
      assert.equal((await outcomeOf(seen, next)).outcome.exit_code, 3);
    }));

  it('never overwrites an existing log: the attempt is a spawn_error and the file is untouched', () =>
    withPool(async (pool, seen) => {
      await pool.start('w1');
      const req = request('echo should-not-run');
      writeFileSync(req.logPath, 'earlier attempt\n');
      pool.run('w1', req);
      const outcome = (await outcomeOf(seen, req)).outcome;
      assert.equal(outcome.kind, 'spawn_error');
      assert.match(outcome.message ?? '', /EEXIST/);
      assert.equal(readFileSync(req.logPath, 'utf8'), 'earlier attempt\n');
    }));

  it('runs validate after exit 0; a failing validate is kind validation; its output follows a separator', () =>
    withPool(async (pool, seen) => {
      await pool.start('w1');
      const good = request('echo built', { validate: 'echo checked' });
      pool.run('w1', good);
      assert.equal((await outcomeOf(seen, good, 'validate')).outcome.kind, 'exit');
      assert.ok(seen.some((s) => s.event === 'validating' && s.args[1].key === good.key));
      const bad = request('echo built', { validate: ['sh', '-c', 'echo missing-artifact; exit 1'] });
      pool.run('w1', bad);
      assert.equal((await outcomeOf(seen, bad)).outcome.exit_code, 0);
      const outcome = (await outcomeOf(seen, bad, 'validate')).outcome;
      assert.equal(outcome.kind, 'validation');
      assert.equal(outcome.exit_code, 1);
      assert.match(readFileSync(bad.logPath, 'utf8'), /^built\n\n--- cairn: validate .*---\nmissing-artifact\n$/);
      const skipped = request('exit 4', { validate: 'echo never' });
      pool.run('w1', skipped);
      assert.equal((await outcomeOf(seen, skipped)).outcome.exit_code, 4);
      await waitFor('the worker to be idle', () => pool.current('w1') === null);
      assert.doesNotMatch(readFileSync(skipped.logPath, 'utf8'), /never/);
    }));

  it('kills the running task group on request and reports the signal', () =>
    withPool(async (pool, seen) => {
      await pool.start('w1');
      const req = request([process.execPath, fixture('sleep.mjs'), '60000']);
      pool.run('w1', req);
      await waitFor('spawned', () => spawnedPid(seen, req) !== undefined);
      pool.kill('w1', 'SIGTERM');
      const outcome = (await outcomeOf(seen, req)).outcome;
      assert.deepEqual([outcome.kind, outcome.signal], ['signal', 'SIGTERM']);
      assert.equal(running(spawnedPid(seen, req)!), false);
    }));
});

describe('a worker and its heartbeats', () => {
  it('stops sending heartbeats while SIGSTOPped and resumes after SIGCONT', () =>
    withPool(async (pool, seen) => {
      const pid = await pool.start('w1');
      const beats = (): number => seen.filter((s) => s.event === 'heartbeat').length;
      await waitFor('two heartbeats', () => beats() >= 2);
      try {
        process.kill(pid, 'SIGSTOP');
        await new Promise((r) => setTimeout(r, 300)); // let beats already in the pipe arrive
        const frozen = pool.lastHeartbeat('w1');
        await new Promise((r) => setTimeout(r, 500));
        assert.equal(pool.lastHeartbeat('w1'), frozen);
        process.kill(pid, 'SIGCONT');
        await waitFor('a heartbeat after SIGCONT', () => (pool.lastHeartbeat('w1') ?? 0) > (frozen ?? 0));
      } finally {
        process.kill(pid, 'SIGCONT');
      }
    }, 50));

  it('lets the scheduler kill a task group while the worker owning it is SIGSTOPped', () =>
    withPool(async (pool, seen) => {
      const pid = await pool.start('w1');
      const pidFile = join(dir, 'stopped-worker.pid');
      const req = request([process.execPath, fixture('ignore-sigterm.mjs'), pidFile]);
      pool.run('w1', req);
      await waitFor('the grandchild pid file', () => existsSync(pidFile));
      const pgid = spawnedPid(seen, req)!;
      const grandchild = Number(readFileSync(pidFile, 'utf8'));
      try {
        process.kill(pid, 'SIGSTOP');
        assert.equal(await killGroup(pgid, { graceMs: 200 }), 'killed');
        assert.equal(running(pgid), false);
        assert.equal(running(grandchild), false);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      assert.equal((await outcomeOf(seen, req)).outcome.signal, 'SIGKILL');
    }));
});

describe('a worker whose scheduler or itself dies', () => {
  it('kills its task and the grandchild when the scheduler is SIGKILLed', async () => {
    const pidFile = join(dir, 'parent-killed.pid');
    const parent = spawn(process.execPath, [fixture('pool-parent.mjs'), join(dir, 'parent-killed.log'), pidFile], { stdio: ['ignore', 'pipe', 'inherit'] });
    const pids: { worker?: number; task?: number } = {};
    createInterface({ input: parent.stdout! }).on('line', (line) => Object.assign(pids, JSON.parse(line)));
    let grandchild = 0;
    try {
      await waitFor('the task and its grandchild', () => pids.task !== undefined && pids.worker !== undefined && existsSync(pidFile), 10_000);
      grandchild = Number(readFileSync(pidFile, 'utf8'));
      assert.ok(running(pids.task!) && running(grandchild));
      parent.kill('SIGKILL');
      await waitFor('task, grandchild and worker to be gone', () => !running(pids.task!) && !running(grandchild) && !running(pids.worker!));
    } finally {
      parent.kill('SIGKILL');
      for (const pid of [pids.worker, pids.task === undefined ? undefined : -pids.task, grandchild || undefined]) {
        try {
          if (pid !== undefined) process.kill(pid, 'SIGKILL');
        } catch {}
      }
    }
  });

  it('kills the task group a SIGKILLed worker left behind before reporting the exit', () =>
    withPool(async (pool, seen) => {
      const pid = await pool.start('w1');
      const pidFile = join(dir, 'worker-killed.pid');
      const req = request([process.execPath, fixture('spawn-grandchild.mjs'), pidFile]);
      pool.run('w1', req);
      await waitFor('the grandchild pid file', () => existsSync(pidFile));
      const grandchild = Number(readFileSync(pidFile, 'utf8'));
      process.kill(pid, 'SIGKILL');
      await waitFor('the exit event', () => seen.some((s) => s.event === 'exit'));
      assert.equal(running(spawnedPid(seen, req)!), false);
      assert.equal(running(grandchild), false);
      assert.deepEqual(pool.workerIds(), []);
    }));

  it('stop kills the running task, reports its outcome, then the worker exits', () =>
    withPool(async (pool, seen) => {
      await pool.start('w1');
      const req = request([process.execPath, fixture('sleep.mjs'), '60000']);
      pool.run('w1', req);
      await waitFor('spawned', () => spawnedPid(seen, req) !== undefined);
      await pool.stop('w1');
      const events = seen.map((s) => s.event).filter((e) => e !== 'heartbeat');
      assert.deepEqual(events, ['spawned', 'outcome', 'exit']);
      assert.equal((await outcomeOf(seen, req)).outcome.signal, 'SIGTERM');
      assert.equal(running(spawnedPid(seen, req)!), false);
    }));

  it('stop sent in the same breath as run still kills the task', () =>
    withPool(async (pool, seen) => {
      await pool.start('w1');
      const req = request([process.execPath, fixture('sleep.mjs'), '60000']);
      pool.run('w1', req);
      await pool.stop('w1');
      const outcome = (await outcomeOf(seen, req)).outcome;
      assert.equal(outcome.kind, 'signal');
      assert.equal(running(spawnedPid(seen, req)!), false);
    }));

  it('ignores SIGINT (Ctrl-C is the scheduler\'s to handle) and on SIGTERM kills its task, then exits', () =>
    withPool(async (pool, seen) => {
      const pid = await pool.start('w1');
      const req = request([process.execPath, fixture('sleep.mjs'), '60000']);
      pool.run('w1', req);
      await waitFor('spawned', () => spawnedPid(seen, req) !== undefined);
      process.kill(pid, 'SIGINT');
      await new Promise((r) => setTimeout(r, 200));
      assert.ok(running(pid) && running(spawnedPid(seen, req)!));
      process.kill(pid, 'SIGTERM');
      await waitFor('the exit event', () => seen.some((s) => s.event === 'exit'));
      assert.equal(running(spawnedPid(seen, req)!), false);
      assert.equal((await outcomeOf(seen, req)).outcome.signal, 'SIGTERM');
    }));

  it('forceStop SIGKILLs a SIGSTOPped worker and its task', () =>
    withPool(async (pool, seen) => {
      const pid = await pool.start('w1');
      const req = request([process.execPath, fixture('ignore-sigterm.mjs'), join(dir, 'force.pid')]);
      pool.run('w1', req);
      await waitFor('the grandchild pid file', () => existsSync(join(dir, 'force.pid')));
      const grandchild = Number(readFileSync(join(dir, 'force.pid'), 'utf8'));
      process.kill(pid, 'SIGSTOP');
      await pool.forceStop('w1');
      assert.ok(seen.some((s) => s.event === 'exit' && s.args[2] === 'SIGKILL'));
      assert.equal(running(spawnedPid(seen, req)!), false);
      assert.equal(running(grandchild), false);
      assert.equal(running(pid), false);
    }));

  it('refuses a second task on a busy worker and a second worker with the same id', () =>
    withPool(async (pool, seen) => {
      await pool.start('w1');
      await assert.rejects(async () => pool.start('w1'), { code: 'ILLEGAL_REQUEST' });
      const req = request([process.execPath, fixture('sleep.mjs'), '60000']);
      pool.run('w1', req);
      assert.throws(() => pool.run('w1', request('true')), { code: 'ILLEGAL_REQUEST' });
      assert.throws(() => pool.run('w2', request('true')), { code: 'UNKNOWN_WORKER' });
      pool.kill('w1', 'SIGKILL');
      assert.equal((await outcomeOf(seen, req)).outcome.signal, 'SIGKILL');
    }));
});
