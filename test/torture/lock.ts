import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CairnError, init, validateState } from '../../src/index.js';
import { decide } from '../../src/model/decide.js';
import { parseSpec } from '../../src/model/spec.js';
import type { LogRecord } from '../../src/model/types.js';
import { realFs } from '../../src/store/fsio.js';
import { acquire } from '../../src/store/lock.js';
import { LOG_START, scanLog } from '../../src/store/logfile.js';
import { Store } from '../../src/store/store.js';
import { Collector, errText, FAST_LOCK, type Figures, fixture, removeDir, sleep, tempDir, type TortureOptions } from './common.js';
import { Rng } from './prng.js';

const STALE = FAST_LOCK.lock_stale_ms;

interface Launched {
  child: ChildProcess;
  lines: string[];
  waitFor(re: RegExp, timeoutMs: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

/** Runs a fixture with a pipe on fd 3 for its reports. */
function launch(name: string, args: string[]): Launched {
  const child = spawn(process.execPath, [fixture(name), ...args], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let err = '';
  let partial = '';
  const waiters: (() => void)[] = [];
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
    for (const w of waiters.splice(0)) w();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => {
    setTimeout(() => { for (const w of waiters.splice(0)) w(); r({ code, signal }); }, 20);
  }));
  const waitFor = (re: RegExp, timeoutMs: number) => new Promise<string>((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    const check = () => {
      const hit = lines.find((l) => re.test(l));
      if (hit) return resolve(hit);
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
        return reject(new Error(`${name} did not report ${re} (exit ${child.exitCode ?? child.signalCode}): ${err.trim().slice(0, 300)}`));
      }
      waiters.push(check);
      setTimeout(check, Math.max(1, Math.min(200, deadline - Date.now())));
    };
    check();
  });
  return { child, lines, waitFor, exited, stderr: () => err };
}

function newState(root: string, name: string): string {
  const dir = path.join(root, name, '.state');
  fs.mkdirSync(path.dirname(dir));
  init({ stateDir: dir });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...FAST_LOCK, backup_interval_ms: 0, backups_keep: 3 }));
  return dir;
}

function readLog(dir: string): { records: LogRecord[]; problem: string | null; lastSeq: number } {
  const records: LogRecord[] = [];
  const scan = scanLog(realFs, path.join(dir, 'transitions.jsonl'), LOG_START, (buf, s, e) => {
    records.push(JSON.parse(buf.toString('utf8', s, e)) as LogRecord);
  });
  return { records, problem: scan.problem ? `${scan.problem.kind} at seq ${scan.problem.seq}: ${scan.problem.reason}` : null, lastSeq: scan.end.seq };
}

function submitNamed(name: string) {
  return (s: Parameters<Parameters<Store['commit']>[0]>[0]) =>
    decide(s, { kind: 'submit', spec: parseSpec({ id: name, tasks: [{ id: 't', command: 'true' }] }, { defaultId: () => name }) }, { now: Date.now() });
}

/**
 * Suite 5, the state lock.
 *   - Contention: 8 processes append through the store for 10 s (full: 60 s), each recording the seq
 *     it saw under the lock; the log must be gap-free, without duplicates, every acknowledged commit
 *     in it, and each commit's first record exactly one past the seq its writer saw.
 *   - Stale lock raced: 6 processes try, at the same instant, to take over a stale lock; exactly one
 *     may win. The same race with proper-lockfile alone is run as a control and its double wins
 *     are counted (that race is why src/store/lock.ts has its own takeover).
 *   - Holder SIGKILLed: another process takes over, at once (its owner file names a pid that is
 *     dead on this host) rather than after the stale time.
 *   - Live holder: nobody takes its lock over, however long they wait.
 *   - Stalled holder: a holder whose event loop is stuck past the stale time loses the lock, and the
 *     record it decided while stalled never reaches the log.
 */
export async function lockSuite(opts: TortureOptions): Promise<Figures> {
  const c = new Collector('lock', opts);
  const rng = new Rng(opts.seed);
  const full = opts.size === 'full';
  const root = tempDir('lock');
  const n: Record<string, number> = {};
  try {
    Object.assign(n, await contention(root, full ? 60_000 : 10_000, c));
    Object.assign(n, await staleRaces(root, full ? 50 : 10, 'cairn', rng, c));
    Object.assign(n, await killedHolders(root, full ? 10 : 2, rng, c));
    Object.assign(n, await liveHolder(root, c));
    Object.assign(n, await stalledHolders(root, full ? 5 : 1, c));
    await ownerFileGone(root, c);
    Object.assign(n, await staleRaces(root, full ? 50 : 3, 'proper-lockfile', rng, c));
  } finally {
    removeDir(root);
  }
  return c.done(n);
}

async function contention(root: string, ms: number, c: Collector): Promise<Record<string, number>> {
  const dir = newState(root, 'contention');
  const procs = Array.from({ length: 8 }, (_, i) => launch('lock-contender', [dir, String(i), String(ms)]));
  const ends = await Promise.all(procs.map((p) => p.exited));
  ends.forEach((e, i) => {
    if (e.code !== 0) c.fail(`contender ${i} exited with ${e.code ?? e.signal}: ${procs[i]!.stderr().trim().slice(0, 300)}`);
  });
  const log = readLog(dir);
  let gaps = 0;
  if (log.problem) {
    gaps++;
    c.fail(`contention: the log is not clean: ${log.problem}`);
  }
  log.records.forEach((r, i) => {
    if (r.seq !== i + 1) gaps++;
  });
  const bySeq = new Map(log.records.map((r) => [r.seq, r]));
  const names = new Map<string, number>();
  let staleReads = 0;
  for (const r of log.records) {
    if (r.type !== 'scheduler_started') continue;
    const m = /^(p\d+-\d+)-o(\d+)$/.exec(String(r.scheduler_id));
    if (!m) continue;
    names.set(m[1]!, (names.get(m[1]!) ?? 0) + 1);
    if (r.seq !== Number(m[2]) + 1) {
      staleReads++;
      c.fail(`contention: ${m[1]} was decided on seq ${m[2]} but landed at seq ${r.seq}`);
    }
  }
  const duplicates = [...names.values()].filter((k) => k > 1).length;
  if (duplicates > 0) c.fail(`contention: ${duplicates} commits appear more than once`);
  let acked = 0;
  let missing = 0;
  const perProc: number[] = [];
  for (const p of procs) {
    let mine = 0;
    for (const l of p.lines) {
      const m = /^A (\d+) ([0-9a-f]{8}) (\S+)$/.exec(l);
      if (!m) continue;
      acked++;
      mine++;
      const r = bySeq.get(Number(m[1]));
      if (!r || r.crc !== m[2] || !String(r.scheduler_id).startsWith(`${m[3]}-o`)) {
        missing++;
        c.fail(`contention: acknowledged ${m[3]} at seq ${m[1]} is not in the log`);
      }
    }
    perProc.push(mine);
  }
  const v = validateState({ stateDir: dir });
  if (!v.ok) c.fail(`contention: validate-state: ${v.problems.map((p) => p.code).join(', ')}`);
  return {
    contenders: procs.length, 'contention seconds': ms / 1000, 'commits acked': acked, 'records appended': log.lastSeq,
    gaps, duplicates, 'stale reads': staleReads, 'acked but missing': missing,
    'fewest commits by one process': Math.min(...perProc),
  };
}

async function staleRaces(root: string, rounds: number, mode: 'cairn' | 'proper-lockfile', rng: Rng, c: Collector): Promise<Record<string, number>> {
  let doubles = 0;
  let none = 0;
  let sequential = 0;
  for (let k = 0; k < rounds; k++) {
    const base = path.join(root, `race-${mode}-${k}`);
    fs.mkdirSync(base);
    const target = path.join(base, 'state');
    const lockDir = `${target}.lock`;
    fs.mkdirSync(lockDir);
    const past = new Date(Date.now() - STALE * 5);
    if (mode === 'cairn') {
      // A dead holder: cairn's lock is the owner file; a holder killed right after creating it
      // leaves it empty. Some rounds also have the marker of a taker that died half-way.
      const owner = path.join(lockDir, 'owner');
      const token = `dead${k}`;
      fs.writeFileSync(owner, rng.chance(0.7) ? `${JSON.stringify({ pid: 999999, host: 'gone', token })}\n` : '');
      fs.utimesSync(owner, past, past);
      if (rng.chance(0.3)) {
        const marker = path.join(lockDir, `reclaim-${fs.statSync(owner).size > 0 ? token : `ino${fs.statSync(owner).ino}`}.1`);
        fs.writeFileSync(marker, '');
        fs.utimesSync(marker, past, past);
      }
    } else {
      // proper-lockfile's lock is the folder itself.
      fs.utimesSync(lockDir, past, past);
    }
    const startAt = Date.now() + 1200;
    const racers = Array.from({ length: 6 }, () => launch('lock-racer', [target, String(startAt), '400', String(STALE), mode]));
    await Promise.all(racers.map((r) => r.exited));
    const results = racers.map((r) => r.lines.find((l) => /^(WON|LOST|TAKEN)/.test(l)));
    const holds = results.flatMap((l) => (l && /^(WON|TAKEN)/.test(l) ? [l.split(' ').slice(1, 4).map(Number) as [number, number, number]] : []));
    // Two holders at once is the race; one holder after another (a racer that started late, once the
    // first released) is not. Someone must win when all tried while the lock was still stale.
    const overlapping = holds.some(([a0, a1], i) => holds.some(([b0, b1], j) => j > i && a0 < b1 && b0 < a1));
    const taken = results.filter((l) => l?.startsWith('TAKEN')).length;
    if (mode === 'cairn') {
      racers.forEach((r, i) => {
        if (!results[i]) c.fail(`stale race ${k}: a racer reported nothing: ${r.stderr().trim().slice(0, 300)}`);
      });
      if (overlapping) c.fail(`stale race ${k}: two processes held the lock at once: ${results.join(' | ')}`);
      if (taken > 0) c.fail(`stale race ${k}: a winner found its lock taken over while holding it: ${results.join(' | ')}`);
      if (holds.length === 0) c.fail(`stale race ${k}: nobody took over the stale lock: ${results.join(' | ')}`);
    }
    if (overlapping || taken > 0) doubles++;
    if (holds.length === 0) none++;
    if (holds.length > 1 && !overlapping) sequential++;
    fs.rmSync(base, { recursive: true, force: true });
  }
  return mode === 'cairn'
    ? { 'stale-lock races': rounds, 'races with two winners': doubles, 'races with no winner': none, 'late racers that won after the first released': sequential }
    : { 'proper-lockfile control races': rounds, 'control races with two winners': doubles };
}

async function killedHolders(root: string, rounds: number, rng: Rng, c: Collector): Promise<Record<string, number>> {
  const dir = newState(root, 'killed');
  let early = 0;
  let worst = 0;
  for (let k = 0; k < rounds; k++) {
    const h = launch('lock-holder', [dir, 'hold', '0']);
    try {
      await h.waitFor(/^HELD$/, 15_000);
    } catch (e) {
      c.fail(`killed holder ${k}: ${errText(e)}`);
      h.child.kill('SIGKILL');
      continue;
    }
    await sleep(rng.int(0, 1500));
    h.child.kill('SIGKILL');
    const killedAt = Date.now();
    await h.exited;
    const store = await Store.open(dir);
    try {
      await store.commit(submitNamed(`after-kill-${k}`));
      const took = Date.now() - killedAt;
      worst = Math.max(worst, took);
      // Its owner file names a pid that is dead on this host: taken over at once, not after the
      // stale time (issue 11 §3). Counted, not failed on: a loaded machine can make the commit
      // itself slow (test/core-lock-dead-owner.test.ts checks it without a clock).
      if (took < STALE * 0.75 - 50) early++;
      if (took > STALE + 2000) c.fail(`killed holder ${k}: taken over only ${took} ms after the kill`);
    } catch (e) {
      c.fail(`killed holder ${k}: the lock was not taken over: ${errText(e)}`);
    } finally {
      await store.close();
    }
  }
  return { 'killed holders taken over': rounds, 'taken over before the stale time': early, 'slowest takeover ms': worst };
}

async function liveHolder(root: string, c: Collector): Promise<Record<string, number>> {
  const dir = newState(root, 'live');
  const h = launch('lock-holder', [dir, 'hold', '0']);
  let stolen = 0;
  try {
    await h.waitFor(/^HELD$/, 15_000);
    try {
      const l = await acquire(path.join(dir, 'state'), { staleMs: STALE, updateMs: FAST_LOCK.lock_update_ms, timeoutMs: STALE * 2.5, what: 'state lock' });
      stolen++;
      c.fail('live holder: its lock was taken over while it kept refreshing it');
      await l.release();
    } catch (e) {
      if (!(e instanceof CairnError && e.code === 'STATE_LOCKED')) c.fail(`live holder: ${errText(e)}`);
      else if (!/pid \d+/.test(e.message)) c.fail(`live holder: STATE_LOCKED does not name the holder's pid: ${e.message}`);
    }
  } catch (e) {
    c.fail(`live holder: ${errText(e)}`);
  } finally {
    h.child.kill('SIGKILL');
    await h.exited;
  }
  return { 'live locks stolen': stolen };
}

async function stalledHolders(root: string, rounds: number, c: Collector): Promise<Record<string, number>> {
  let landed = 0;
  let rejected = 0;
  for (let k = 0; k < rounds; k++) {
    const dir = newState(root, `stalled-${k}`);
    const h = launch('lock-holder', [dir, 'stall', String(STALE * 3)]);
    try {
      await h.waitFor(/^STALLING$/, 15_000);
      const store = await Store.open(dir);
      try {
        await store.commit(submitNamed(`taker-${k}`));
      } finally {
        await store.close();
      }
      const outcome = await h.waitFor(/^(COMMITTED|REJECTED)/, STALE * 6);
      if (outcome === 'REJECTED LOCK_COMPROMISED') rejected++;
      else c.fail(`stalled holder ${k}: its stalled commit ended with "${outcome}", not REJECTED LOCK_COMPROMISED`);
      await h.waitFor(/^AFTER/, 15_000);
    } catch (e) {
      c.fail(`stalled holder ${k}: ${errText(e)}`);
    } finally {
      h.child.kill('SIGKILL');
      await h.exited;
    }
    const log = readLog(dir);
    if (log.problem) c.fail(`stalled holder ${k}: the log is not clean: ${log.problem}`);
    const ids = log.records.filter((r) => r.type === 'workstream_submitted').map((r) => String(r.workstream_id));
    if (ids.includes('staller-stalled')) {
      landed++;
      c.fail(`stalled holder ${k}: the record decided while stalled landed in the log (${ids.join(', ')})`);
    }
    if (!ids.includes(`taker-${k}`)) c.fail(`stalled holder ${k}: the taker's record is missing (${ids.join(', ')})`);
  }
  return { 'stalled holders': rounds, 'stalled commits refused': rejected, 'stalled appends landed': landed };
}

/** A holder whose owner file disappeared (someone took the lock over) refuses to write and leaves the folder alone. */
async function ownerFileGone(root: string, c: Collector): Promise<void> {
  const dir = newState(root, 'owner');
  const target = path.join(dir, 'state');
  const l = await acquire(target, { staleMs: STALE, updateMs: FAST_LOCK.lock_update_ms, timeoutMs: 1000, what: 'state lock' });
  fs.unlinkSync(l.ownerFile);
  try {
    l.assertHeld();
    c.fail('owner file gone: assertHeld did not refuse');
  } catch (e) {
    if (!(e instanceof CairnError && e.code === 'LOCK_COMPROMISED')) c.fail(`owner file gone: ${errText(e)}`);
  }
  // Someone else takes the lock now; the old holder's release must not remove that new lock.
  const other = await acquire(target, { staleMs: STALE, updateMs: FAST_LOCK.lock_update_ms, timeoutMs: 1000, what: 'state lock' });
  await l.release();
  if (!fs.existsSync(other.ownerFile)) c.fail('owner file gone: the old holder\'s release removed the new holder\'s lock');
  try {
    other.assertHeld();
  } catch (e) {
    c.fail(`owner file gone: the new holder lost its lock to the old holder's release: ${errText(e)}`);
  }
  await other.release();
}
