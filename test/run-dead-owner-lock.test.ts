// A lock whose owner is dead never keeps the next command waiting (issue 11 §3). A scheduler killed
// after it took the scheduler lock but before it recorded scheduler_started left a lock the next
// `cairn run` could not tell from a live one until it went stale. The owner file names the holder's
// pid, host, acquired_at and start time; an owner whose pid is dead on this host, or taken by a later
// process, is taken over at once; a live owner never is. Every folder here has a stale time of ten
// minutes, so nothing in these tests is let in by staleness.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { processStartTime } from '../src/runner/kill.js';
import { alive, cairn, exited, json, node, records, setup, startRun, tmp, until } from './run-helpers.js';

const NEVER_STALE = { lock_stale_ms: 600_000, lock_update_ms: 1000 };

/** Writes `<state>/<name>.lock/owner` as the lock writes it, naming `pid`. */
function ownerFile(dir: string, name: 'scheduler' | 'state', fields: { pid: number; acquired_at: string; process_start?: string }): string {
  const lockDir = path.join(dir, '.state', `${name}.lock`);
  mkdirSync(lockDir, { recursive: true, mode: 0o700 });
  const file = path.join(lockDir, 'owner');
  const { pid, acquired_at, process_start } = fields;
  writeFileSync(file, `${JSON.stringify({ pid, host: hostname(), token: randomBytes(8).toString('hex'), acquired_at, ...(process_start !== undefined ? { process_start } : {}) })}\n`, { mode: 0o600 });
  return file;
}

function sleeper(): { child: ChildProcess; pid: number; start: string } {
  const [cmd, ...args] = node('sleep.mjs', '120000');
  const child = spawn(cmd!, args, { stdio: 'ignore' });
  const start = processStartTime(child.pid!);
  assert.ok(start, 'the sleeper has a start time in /proc');
  return { child, pid: child.pid!, start };
}

async function deadPid(): Promise<{ pid: number; start: string }> {
  const s = sleeper();
  s.child.kill('SIGKILL');
  await exited(s.child);
  assert.ok(!alive(s.pid));
  return { pid: s.pid, start: s.start };
}

const quick = { id: 'quick', tasks: [{ id: 'a', command: 'true' }] };

describe('a scheduler killed between taking its lock and recording scheduler_started', () => {
  it('does not keep the next cairn run out: its lock is taken over at once', async () => {
    const dir = tmp();
    const pidfile = path.join(dir, 'grandchild.pid');
    // The first attempt ignores SIGTERM: the second run, recovering it, holds the scheduler lock for
    // the whole kill grace (ten minutes) before it records scheduler_started, and is killed then.
    const spec = setup(dir, {
      id: 'orphan',
      tasks: [{ id: 'stubborn', command: `if [ "$CAIRN_ATTEMPT" = 1 ]; then exec ${node('ignore-sigterm.mjs', pidfile).join(' ')}; fi` }],
    }, { ...NEVER_STALE, kill_grace_ms: 600_000 });
    const first = startRun(dir, [spec, '--workers', '1']);
    let taskPid = 0;
    await until(() => {
      taskPid = json(dir, ['show-task', '--task-id', 'orphan/stubborn']).task?.pid ?? 0;
      return taskPid > 0;
    }, 15_000, 'the task to run');
    await until(() => { try { readFileSync(pidfile); return true; } catch { return false; } }, 5000, 'the grandchild');
    const grandchild = Number(readFileSync(pidfile, 'utf8'));
    const workers = JSON.parse(readFileSync(path.join(dir, '.state', 'workers.json'), 'utf8')).workers as { pid: number }[];
    first.kill('SIGKILL');
    for (const w of workers) try { process.kill(w.pid, 'SIGKILL'); } catch { /* gone */ }
    await exited(first);

    const second = startRun(dir, ['--workers', '1']);
    const owner = path.join(dir, '.state', 'scheduler.lock', 'owner');
    await until(() => {
      try { return JSON.parse(readFileSync(owner, 'utf8')).pid === second.pid; } catch { return false; }
    }, 15_000, 'the second run to take the scheduler lock');
    second.kill('SIGKILL');
    await exited(second);
    assert.ok(!records(dir).some((r) => r.type === 'scheduler_started' && r.pid === second.pid), 'the second run never recorded scheduler_started');
    assert.equal(JSON.parse(readFileSync(owner, 'utf8')).pid, second.pid, 'the dead run\'s lock is left behind');
    for (const pid of [taskPid, grandchild]) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    await until(() => !alive(taskPid) && !alive(grandchild), 5000, 'the leftover task processes to die');

    const third = cairn(dir, ['run', '--workers', '1']);
    assert.equal(third.code, 0, third.stderr);
    assert.equal(json(dir, ['show-task', '--task-id', 'orphan/stubborn']).task.state, 'completed');
  });
});

describe('an owner file naming a process on this host', () => {
  it('is taken over at once when its pid is dead', async () => {
    const dir = tmp();
    const spec = setup(dir, quick, NEVER_STALE);
    const dead = await deadPid();
    ownerFile(dir, 'scheduler', { pid: dead.pid, acquired_at: new Date().toISOString(), process_start: dead.start });
    const r = cairn(dir, ['run', spec, '--workers', '1']);
    assert.equal(r.code, 0, r.stderr);
  });

  it('is taken over at once when its pid belongs to a process with another start time (a reused pid)', async () => {
    const dir = tmp();
    const spec = setup(dir, quick, NEVER_STALE);
    const s = sleeper();
    try {
      ownerFile(dir, 'scheduler', { pid: s.pid, acquired_at: new Date().toISOString(), process_start: String(Number(s.start) - 100) });
      const r = cairn(dir, ['run', spec, '--workers', '1']);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(alive(s.pid), 'the process that has the pid now is left alone');
    } finally {
      s.child.kill('SIGKILL');
    }
  });

  it('is taken over at once when it has no start time and its pid belongs to a process started after acquired_at', async () => {
    const dir = tmp();
    const spec = setup(dir, quick, NEVER_STALE);
    const s = sleeper();
    try {
      ownerFile(dir, 'scheduler', { pid: s.pid, acquired_at: new Date(Date.now() - 3_600_000).toISOString() });
      const r = cairn(dir, ['run', spec, '--workers', '1']);
      assert.equal(r.code, 0, r.stderr);
    } finally {
      s.child.kill('SIGKILL');
    }
  });

  it('is never taken over while its process lives with the recorded start time, or started before acquired_at', async () => {
    const dir = tmp();
    const spec = setup(dir, quick, NEVER_STALE);
    const s = sleeper();
    try {
      for (const fields of [
        { pid: s.pid, acquired_at: new Date().toISOString(), process_start: s.start },
        { pid: s.pid, acquired_at: new Date(Date.now() + 5000).toISOString() },
      ]) {
        const file = ownerFile(dir, 'scheduler', fields);
        const before = { text: readFileSync(file, 'utf8'), ino: statSync(file).ino };
        const r = cairn(dir, ['run', spec, '--workers', '1']);
        assert.equal(r.code, 4, r.stderr);
        assert.match(r.stderr, /SCHEDULER_RUNNING/);
        assert.deepEqual({ text: readFileSync(file, 'utf8'), ino: statSync(file).ino }, before, 'the live owner\'s file is left alone');
      }
    } finally {
      s.child.kill('SIGKILL');
    }
  });

  it('in the state lock, lets a command in at once when its pid is dead, and keeps it out while it lives', async () => {
    const dir = tmp();
    const spec = setup(dir, quick, { ...NEVER_STALE, lock_timeout_ms: 0 });
    const s = sleeper();
    try {
      ownerFile(dir, 'state', { pid: s.pid, acquired_at: new Date().toISOString(), process_start: s.start });
      const held = cairn(dir, ['submit', spec]);
      assert.equal(held.code, 4, held.stderr);
      assert.match(held.stderr, new RegExp(`STATE_LOCKED.*pid ${s.pid}`));
      const dead = await deadPid();
      ownerFile(dir, 'state', { pid: dead.pid, acquired_at: new Date().toISOString(), process_start: dead.start });
      const r = cairn(dir, ['submit', spec]);
      assert.equal(r.code, 0, r.stderr);
    } finally {
      s.child.kill('SIGKILL');
    }
  });
});
