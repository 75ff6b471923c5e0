// The state lock's owner file is a hard link of a candidate file each process keeps per lock
// folder (lock-owner.ts), or an O_EXCL-created file where links fail. These tests pin down the
// files on disk and the cases where reusing a candidate would be wrong; the lock torture suite
// (test/torture/lock.ts) races real processes against it.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { init } from '../src/index.js';
import { decide } from '../src/model/decide.js';
import { parseSpec } from '../src/model/spec.js';
import { acquire, tryAcquire } from '../src/store/lock.js';
import { StatePaths } from '../src/store/paths.js';
import { Store } from '../src/store/store.js';
import { ROOT } from './helpers/paths.js';
import { scratch } from './helpers/tmp.js';

const OPTS = { staleMs: 2000, updateMs: 1000, timeoutMs: 5000, what: 'state lock' };
const USER = join(ROOT, 'dist', 'test', 'fixtures', 'lock', 'lock-user.js');

function lockTarget(): string {
  const dir = scratch('cairn-lock-');
  fs.mkdirSync(join(dir, 't.lock'), { mode: 0o700 });
  return join(dir, 't');
}

const names = (target: string) => fs.readdirSync(`${target}.lock`).sort();
const candidates = (target: string) => names(target).filter((n) => n.startsWith('cand-'));
const past = (file: string, agoMs: number) => {
  const t = new Date(Date.now() - agoMs);
  fs.utimesSync(file, t, t);
};

interface Look { held: boolean; names: string[]; ownerIno: number | null; ownerLinks: number | null }

function runUser(target: string, times: number, env: NodeJS.ProcessEnv = {}): Look[] {
  const r = spawnSync(process.execPath, [USER, target, String(times)], { encoding: 'utf8', env: { ...process.env, ...env } });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Look);
}

describe('the state lock on disk', () => {
  it('links one candidate file of the process as the owner for every hold, and leaves nothing when the process ends', () => {
    const target = lockTarget();
    const looks = runUser(target, 3);
    const cand = looks[0]!.names.find((n) => n.startsWith('cand-'));
    assert.ok(cand, `no candidate in ${looks[0]!.names.join(', ')}`);
    for (const l of looks.slice(0, 3)) {
      assert.deepEqual(l.names, [cand, 'owner']);
      assert.equal(l.ownerLinks, 2, 'owner and candidate are one inode');
      assert.equal(l.ownerIno, looks[0]!.ownerIno);
    }
    assert.deepEqual(looks[3], { held: false, names: [cand], ownerIno: null, ownerLinks: null });
    assert.deepEqual(names(target), [], 'the candidate is removed at exit');
  });

  it('creates the owner file with O_EXCL under CAIRN_LOCK_NO_LINKS=1 and keeps no candidate', () => {
    const target = lockTarget();
    const looks = runUser(target, 2, { CAIRN_LOCK_NO_LINKS: '1' });
    for (const l of looks.slice(0, 2)) assert.deepEqual([l.names, l.ownerLinks], [['owner'], 1]);
    assert.deepEqual(looks[2]!.names, []);
  });

  it('writes pid, host and a fresh token into the owner for every hold', async () => {
    const target = lockTarget();
    const tokens = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const lock = await acquire(target, OPTS);
      const owner = JSON.parse(fs.readFileSync(`${target}.lock/owner`, 'utf8')) as { pid: number; host: string; token: string; acquired_at: string };
      assert.equal(owner.pid, process.pid);
      assert.match(owner.token, /^[0-9a-f]{16}$/);
      assert.ok(Date.now() - Date.parse(owner.acquired_at) < 5000);
      tokens.add(owner.token);
      const st = fs.statSync(`${target}.lock/owner`);
      assert.ok(Date.now() - st.mtimeMs < 5000, 'a new hold is fresh however long the candidate sat idle');
      await lock.release();
      past(join(`${target}.lock`, candidates(target)[0]!), 60_000);
    }
    assert.equal(tokens.size, 3);
  });

  it('never makes the instance of a holder that lost the lock fresh again: the next hold takes it over as stale', async () => {
    const target = lockTarget();
    const first = await acquire(target, OPTS);
    const oldIno = fs.statSync(`${target}.lock/owner`).ino;
    const oldCand = candidates(target)[0]!;
    first.markCompromised(new Error('test: stalled'));
    await first.release();
    assert.ok(names(target).includes('owner'), 'a compromised holder leaves its owner file alone');
    past(`${target}.lock/owner`, 60_000);
    // Writing the next hold's content into the same candidate would make the dead instance fresh:
    // this acquire would then wait for itself until its timeout.
    const second = await acquire(target, { ...OPTS, timeoutMs: 3000 });
    try {
      assert.notEqual(fs.statSync(`${target}.lock/owner`).ino, oldIno);
      assert.ok(!candidates(target).includes(oldCand), 'the old candidate was given up');
      second.assertHeld();
    } finally {
      await second.release();
    }
  });

  it('makes a new candidate when another process swept its candidate away, or the lock folder went', async () => {
    const target = lockTarget();
    await (await acquire(target, OPTS)).release();
    const [c1] = candidates(target);
    fs.unlinkSync(`${target}.lock/${c1!}`);
    const lock = await acquire(target, OPTS);
    const [c2] = candidates(target);
    assert.ok(c2 && c2 !== c1);
    assert.equal(fs.statSync(`${target}.lock/owner`).nlink, 2);
    await lock.release();
    fs.rmSync(`${target}.lock`, { recursive: true });
    const again = await acquire(target, OPTS);
    assert.equal(fs.statSync(`${target}.lock/owner`).nlink, 2);
    await again.release();
  });

  it('sweeps the candidates of processes that died (not touched for the stale time) and keeps fresh ones', async () => {
    const target = lockTarget();
    fs.writeFileSync(`${target}.lock/cand-deaddeaddeaddead`, '{"pid":1}\n', { mode: 0o600 });
    past(`${target}.lock/cand-deaddeaddeaddead`, 60_000);
    fs.writeFileSync(`${target}.lock/cand-1111111111111111`, '{"pid":2}\n', { mode: 0o600 });
    const lock = await acquire(target, OPTS);
    const left = candidates(target);
    assert.ok(!left.includes('cand-deaddeaddeaddead'), left.join(', '));
    assert.ok(left.includes('cand-1111111111111111'), left.join(', '));
    await lock.release();
  });

  it('lets a second lock of the same process wait for the first', async () => {
    const target = lockTarget();
    const a = await acquire(target, OPTS);
    assert.equal(await tryAcquire(target, OPTS), null);
    let got = false;
    const b = acquire(target, OPTS).then((l) => { got = true; return l; });
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(got, false, 'the second lock waits');
    await a.release();
    const lb = await b;
    lb.assertHeld();
    assert.throws(() => a.assertHeld(), /already released/);
    await lb.release();
    assert.deepEqual(names(target).filter((n) => n === 'owner'), []);
  });

  it('is left with no candidate of a store that closed', async () => {
    const dir = join(scratch('cairn-lock-store-'), '.state');
    init({ stateDir: dir });
    const store = await Store.open(dir);
    await store.commit((s, now) => decide(s, { kind: 'submit', spec: parseSpec({ id: 'w', tasks: [{ id: 'a', command: 'true' }] }, { defaultId: () => 'w' }) }, { now }));
    const lockDir = `${new StatePaths(dir).stateLockTarget}.lock`;
    assert.equal(fs.readdirSync(lockDir).filter((n) => n.startsWith('cand-')).length, 1);
    await store.close();
    assert.deepEqual(fs.readdirSync(lockDir), []);
  });
});
