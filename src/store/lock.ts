import * as fs from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { CairnError } from '../errors.js';
import { unsafe } from './fsio.js';

/**
 * Cross-process locks on the state folder. The on-disk format is proper-lockfile's: the lock is the
 * folder `<target>.lock`, created by `mkdir` (atomic), kept fresh by touching its mtime; a lock not
 * touched for `staleMs` may be taken over. Two things are added, because proper-lockfile's own
 * takeover has a race (two processes both see the stale lock; one removes it and creates a fresh
 * one, the other then removes the fresh one, and both think they hold it):
 *
 * - Every holder puts an owner file `owner-<pid>-<random>` in the folder. Whoever holds the lock is
 *   the process whose owner file is in it.
 * - Taking over a stale lock is itself exclusive: the reclaimer creates `reclaim/` inside the stale
 *   folder (only one `mkdir` succeeds), checks the folder is still the instance it judged stale (same
 *   owner file, or same inode when there is none), removes exactly that instance, and then competes
 *   with everyone else through the ordinary `mkdir`. So at most one process wins.
 *
 * MUST: a holder that learns its lock was compromised (it could not refresh it in time, its owner
 * file is gone because someone took it over) stops writing at once — `assertHeld()` is called right
 * before every append. It checks the owner file is still there, and for the state lock it also
 * refuses when this holder went longer than half the stale time without refreshing (a stalled event
 * loop), since another process may reclaim the lock soon after.
 */
export interface LockOptions {
  staleMs: number;
  updateMs: number;
  timeoutMs: number;
  /** Name used in messages: "state lock", "scheduler lock". */
  what: string;
}

const OWNER = 'owner-';
const RECLAIM = 'reclaim';
/** proper-lockfile's minimums, kept so a config that was valid stays valid and means the same. */
const MIN_STALE_MS = 2000;
const MIN_UPDATE_MS = 1000;

const held = new Set<HeldLock>();
let exitHookInstalled = false;

/** A lock this process holds; `assertHeld()` before every write, `release()` when done. */
export class HeldLock {
  private compromised: Error | null = null;
  private released = false;
  /** Monotonic time of the last moment the lock was known fresh (taken or refreshed). */
  private lastFresh = performance.now();
  private timer: NodeJS.Timeout | null = null;
  readonly lockDir: string;
  readonly ownerFile: string;
  private readonly staleMs: number;
  private readonly refreshMs: number;

  constructor(readonly target: string, private readonly opts: LockOptions, token: string) {
    this.lockDir = lockDirOf(target);
    this.ownerFile = path.join(this.lockDir, OWNER + token);
    this.staleMs = Math.max(opts.staleMs, MIN_STALE_MS);
    // Refresh more often than required so that a live holder is never near the stale time.
    this.refreshMs = Math.max(Math.min(opts.updateMs, this.staleMs / 4), 250);
  }

  /** Records that the lock was lost; every later assertHeld throws. */
  markCompromised(err: Error): void {
    this.compromised ??= err;
    this.stopTimer();
  }

  /** Throws LOCK_COMPROMISED unless this process still holds the lock and may write. */
  assertHeld(): void {
    if (this.released) throw new CairnError('LOCK_COMPROMISED', `the ${this.opts.what} is already released`);
    if (!this.compromised) {
      const idle = performance.now() - this.lastFresh;
      if (this.opts.what === 'state lock' && idle > this.staleMs / 2) {
        this.markCompromised(new Error(`not refreshed for ${Math.round(idle)} ms, more than half the stale time`));
      } else if (!exists(this.ownerFile)) {
        this.markCompromised(new Error('its owner file is gone: another process took it over'));
      }
    }
    if (this.compromised) {
      throw new CairnError('LOCK_COMPROMISED', `the ${this.opts.what} was lost (${this.compromised.message}); nothing more is written`, {
        hint: 'Another process may have taken over. Run the command again.',
      });
    }
  }

  get isCompromised(): boolean {
    return this.compromised !== null;
  }

  /** Releases the lock if it is still ours; never removes another process's lock. */
  async release(): Promise<void> {
    this.releaseSync();
  }

  /** @internal the exit hook needs a synchronous release. */
  releaseSync(): void {
    if (this.released) return;
    this.released = true;
    this.stopTimer();
    held.delete(this);
    if (this.compromised) return; // not ours any more
    try {
      fs.unlinkSync(this.ownerFile);
    } catch {
      return; // our owner file is gone: the folder belongs to someone else now
    }
    try {
      fs.rmdirSync(this.lockDir);
    } catch {
      /* a reclaimer's marker is in it (we looked stale); it goes stale and is reclaimed */
    }
  }

  /** @internal */
  start(): void {
    held.add(this);
    installExitHook();
    this.schedule();
  }

  private schedule(): void {
    this.timer = setTimeout(() => this.refresh(), this.refreshMs);
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private refresh(): void {
    this.timer = null;
    if (this.released || this.compromised) return;
    const late = performance.now() - this.lastFresh;
    if (late > this.staleMs) {
      this.markCompromised(new Error(`it could not be refreshed for ${Math.round(late)} ms, more than the stale time`));
      return;
    }
    if (!exists(this.ownerFile)) {
      this.markCompromised(new Error('its owner file is gone: another process took it over'));
      return;
    }
    try {
      const now = new Date();
      fs.utimesSync(this.lockDir, now, now);
      this.lastFresh = performance.now();
    } catch {
      /* retried at the next tick; the stale check above gives up in time */
    }
    this.schedule();
  }
}

/** Takes the lock, retrying until `timeoutMs`; throws STATE_LOCKED (exit 4) when it cannot. */
export async function acquire(target: string, opts: LockOptions): Promise<HeldLock> {
  const deadline = Date.now() + opts.timeoutMs;
  let delay = 1;
  let again = 0;
  for (;;) {
    const got = attempt(target, opts);
    if (got instanceof HeldLock) return got;
    if (got === 'again' && ++again < 20) continue;
    again = 0;
    if (Date.now() >= deadline) {
      throw new CairnError('STATE_LOCKED', `the ${opts.what} is held by another process${holderText(target)} (waited ${opts.timeoutMs} ms)`, {
        hint: 'Wait for the other cairn command to finish, then try again. A lock left by a killed process goes stale by itself.',
      });
    }
    await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(1, deadline - Date.now()))));
    delay = Math.min(50, delay * 2);
  }
}

/** Takes the lock once, without waiting; null when someone else holds it. */
export async function tryAcquire(target: string, opts: LockOptions): Promise<HeldLock | null> {
  try {
    return await acquire(target, { ...opts, timeoutMs: 0 });
  } catch (e) {
    if (e instanceof CairnError && e.code === 'STATE_LOCKED') return null;
    throw e;
  }
}

/** Whether some process holds the lock now (a stale lock counts as free). */
export async function isLocked(target: string, staleMs: number): Promise<boolean> {
  const st = lstat(lockDirOf(target));
  return st !== undefined && !isStale(st, Math.max(staleMs, MIN_STALE_MS));
}

/** Who holds the lock, from its owner file (for messages such as "held by pid 1234"); null when unknown. */
export function lockHolder(target: string): { pid: number; host: string; acquired_at: string } | null {
  const dir = lockDirOf(target);
  const owner = ownerOf(dir);
  if (!owner) return null;
  try {
    const v = JSON.parse(fs.readFileSync(path.join(dir, owner), 'utf8')) as Record<string, unknown>;
    if (typeof v.pid !== 'number') return null;
    return { pid: v.pid, host: String(v.host), acquired_at: String(v.acquired_at) };
  } catch {
    return null;
  }
}

function lockDirOf(target: string): string {
  return `${path.resolve(target)}.lock`;
}

/** One try: the lock, 'busy' (someone holds it), or 'again' (something moved; try at once). */
function attempt(target: string, opts: LockOptions): HeldLock | 'busy' | 'again' {
  const dir = lockDirOf(target);
  const staleMs = Math.max(opts.staleMs, MIN_STALE_MS);
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST') throw ioFail(opts, e);
    // Read the owner BEFORE judging staleness: if the folder is replaced in between, the stat is of
    // the fresh one and says "busy". Read after, the owner could be the fresh holder's while the
    // staleness was the old instance's, and we would take down a live lock.
    const identity = ownerOf(dir);
    const st = lstat(dir);
    if (!st) return 'again';
    if (st.isSymbolicLink() || !st.isDirectory()) throw unsafe(dir);
    if (!isStale(st, staleMs)) return 'busy';
    return reclaim(dir, st, identity, staleMs) ? 'again' : 'busy';
  }
  const token = `${process.pid}-${randomBytes(8).toString('hex')}`;
  const lock = new HeldLock(target, { ...opts, updateMs: Math.max(opts.updateMs, MIN_UPDATE_MS) }, token);
  try {
    const fd = fs.openSync(lock.ownerFile, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
    try {
      fs.writeSync(fd, `${JSON.stringify({ pid: process.pid, host: hostname(), acquired_at: new Date().toISOString() })}\n`);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    // Our folder was taken away while we stalled between mkdir and here: not ours.
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'again';
    try { fs.rmdirSync(dir); } catch { /* leave it: it goes stale */ }
    throw ioFail(opts, e);
  }
  // Only our own mkdir made this folder, so no other owner file can be in it; if one is, the folder
  // was replaced under us: back off (both may, then the folder goes stale and is reclaimed).
  const owners = owners_(dir);
  if (owners.length !== 1 || owners[0] !== path.basename(lock.ownerFile)) {
    try { fs.unlinkSync(lock.ownerFile); } catch { /* gone already */ }
    return 'again';
  }
  lock.start();
  return lock;
}

/**
 * Removes the stale lock instance `st` (seen at `dir`, owned by `identity`, read before `st`)
 * unless someone else is already doing so. True when the caller should try mkdir again at once.
 */
function reclaim(dir: string, st: fs.Stats, identity: string | null, staleMs: number): boolean {
  const marker = path.join(dir, RECLAIM);
  try {
    fs.mkdirSync(marker, { mode: 0o700 });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return true; // the folder is gone already
    if (code === 'EEXIST') {
      // Another reclaimer is at work; if it died half-way its marker goes stale too.
      const m = lstat(marker);
      if (m && isStale(m, staleMs)) {
        try { fs.rmdirSync(marker); } catch { /* someone else removed it */ }
      }
    }
    return false;
  }
  // The marker is ours. Is `dir` still the instance we judged stale? Same folder, and its owner is
  // the one we judged or gone (its owner released it, or another reclaimer got half-way and gave up
  // on our marker). A folder with another owner is a fresh lock: leave it. (A fresh folder that
  // reuses the inode and has no owner yet is not held: its maker fails to write its owner file.)
  const now = lstat(dir);
  const owner = ownerOf(dir);
  const same = now !== undefined && now.ino === st.ino && (owner === identity || owner === null);
  if (!same) {
    try { fs.rmdirSync(marker); } catch { /* gone with its folder */ }
    return true;
  }
  try {
    if (identity !== null) fs.unlinkSync(path.join(dir, identity));
  } catch (e) {
    // ENOENT: its owner released it meanwhile (its rmdir failed on our marker); it is free to go.
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      try { fs.rmdirSync(marker); } catch { /* gone */ }
      return false;
    }
  }
  try { fs.rmdirSync(marker); } catch { /* gone */ }
  try {
    fs.rmdirSync(dir);
  } catch {
    return false; // something else is in it; it stays locked until that settles
  }
  return true;
}

function isStale(st: fs.Stats, staleMs: number): boolean {
  return st.mtimeMs < Date.now() - staleMs;
}

function owners_(dir: string): string[] {
  try {
    return fs.readdirSync(dir).filter((n) => n.startsWith(OWNER)).sort();
  } catch {
    return [];
  }
}

function ownerOf(dir: string): string | null {
  return owners_(dir)[0] ?? null;
}

function lstat(p: string): fs.Stats | undefined {
  return fs.lstatSync(p, { throwIfNoEntry: false });
}

function exists(p: string): boolean {
  return lstat(p) !== undefined;
}

function holderText(target: string): string {
  const h = lockHolder(target);
  return h ? ` (pid ${h.pid} on ${h.host} since ${h.acquired_at})` : '';
}

function ioFail(opts: LockOptions, e: unknown): CairnError {
  return new CairnError('IO_ERROR', `could not take the ${opts.what}: ${(e as Error).message}`, { cause: e });
}

/** A process that exits while holding a lock (process.exit, an uncaught error) releases it. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const l of [...held]) l.releaseSync();
  });
}
