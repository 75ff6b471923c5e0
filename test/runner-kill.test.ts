// Process-group killing, start times and orphan kills, with real processes (no mocks).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isAlive, killGroup, killOrphanGroup, processStartTime, signalGroup } from '../src/runner/index.js';
import { parseStat } from '../src/runner/proc.js';

const FIXTURES = new URL('../../test/fixtures/', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'cairn-runner-kill-'));
const leftovers: number[] = [];
after(() => {
  for (const pgid of leftovers) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {}
  }
  rmSync(dir, { recursive: true, force: true });
});

/** Polls `cond` every 20 ms for up to `ms`; fails the test with `what` when it never holds. */
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

/** Starts a fixture as the leader of its own process group, as the worker would. */
function startGroup(fixture: string, ...args: string[]): number {
  const child = spawn(process.execPath, [join(FIXTURES, fixture), ...args], { detached: true, stdio: 'ignore' });
  assert.ok(child.pid !== undefined);
  leftovers.push(child.pid);
  return child.pid;
}

async function pidFromFile(file: string): Promise<number> {
  await waitFor(`pid file ${file}`, () => existsSync(file));
  return Number(readFileSync(file, 'utf8'));
}

describe('killGroup', () => {
  it('kills a group that ignores SIGTERM, grandchild included, after the grace period', async () => {
    const pidFile = join(dir, 'ignore.pid');
    const leader = startGroup('ignore-sigterm.mjs', pidFile);
    const grandchild = await pidFromFile(pidFile);
    assert.ok(running(leader) && running(grandchild));
    assert.equal(await killGroup(leader, { graceMs: 200 }), 'killed');
    assert.equal(running(leader), false);
    assert.equal(running(grandchild), false);
  });

  it('reports terminated when SIGTERM is enough and gone when nothing is left', async () => {
    const pidFile = join(dir, 'polite.pid');
    const leader = startGroup('spawn-grandchild.mjs', pidFile);
    const grandchild = await pidFromFile(pidFile);
    assert.equal(await killGroup(leader, { graceMs: 5_000 }), 'terminated');
    assert.equal(running(grandchild), false);
    assert.equal(await killGroup(leader, { graceMs: 5_000 }), 'gone');
  });

  it('refuses a pgid that would signal cairn itself or every process', async () => {
    await assert.rejects(killGroup(0, { graceMs: 0 }), { code: 'INTERNAL' });
    assert.throws(() => signalGroup(1, 'SIGTERM'), { code: 'INTERNAL' });
  });
});

describe('processStartTime', () => {
  it('reads field 22 after the last parenthesis, whatever the command name holds', () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
    const line = `4242 (a) b (c)) ${fields.join(' ')}\n`;
    const stat = parseStat(line);
    assert.equal(stat?.pid, 4242);
    assert.equal(stat?.state, '3');
    assert.equal(stat?.starttime, '22');
  });

  it('gives a stable value for a live process and null for a missing one', () => {
    const own = processStartTime(process.pid);
    assert.match(own ?? '', /^\d+$/);
    assert.equal(processStartTime(process.pid), own);
    assert.equal(processStartTime(2 ** 22 + 1), null);
    assert.equal(isAlive(process.pid, own), true);
    assert.equal(isAlive(process.pid, `${own}1`), false);
  });
});

describe('killOrphanGroup', () => {
  it('refuses to kill when the start time does not match, and kills when it does', async () => {
    const leader = startGroup('sleep.mjs', '60000');
    const start = processStartTime(leader);
    assert.ok(start !== null);
    const other = String(BigInt(start) + 1n);
    assert.equal(await killOrphanGroup(leader, other, { graceMs: 200 }), 'reused');
    assert.equal(await killOrphanGroup(leader, null, { graceMs: 200 }), 'reused');
    assert.equal(running(leader), true);
    assert.equal(await killOrphanGroup(leader, start, { graceMs: 200 }), 'killed');
    assert.equal(running(leader), false);
    assert.equal(await killOrphanGroup(leader, start, { graceMs: 200 }), 'gone');
  });

  it('kills the grandchildren of a leader that is already gone', async () => {
    const pidFile = join(dir, 'leaderless.pid');
    const leader = startGroup('spawn-grandchild.mjs', pidFile);
    const start = processStartTime(leader);
    const grandchild = await pidFromFile(pidFile);
    process.kill(leader, 'SIGKILL');
    await waitFor('the leader to be reaped', () => processStartTime(leader) === null);
    assert.equal(running(grandchild), true);
    assert.equal(await killOrphanGroup(leader, start, { graceMs: 200 }), 'killed');
    assert.equal(running(grandchild), false);
  });
});
