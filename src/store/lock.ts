import * as fs from 'node:fs';
import * as path from 'node:path';
import { CairnError } from '../errors.js';
import {
  checkLockDir, forgetCandidate, isStale, letGo, localHolder, lstat, type MadeOwner, makeOwner, newToken, OWNER, type OwnerInfo, readOwner, reclaim,
  removeCandidates, thisHost,
} from './lock-owner.js';
import { ownerGone, ownStart } from './lock-liveness.js';

// A monotonic clock in ms without loading perf_hooks (a measured part of every command's start-up).
const performance = { now: (): number => Number(process.hrtime.bigint()) / 1e6 };

/**
 * Cross-process locks on the state folder.
 *
 * The lock is the file `<target>.lock/owner`, made so that only one process can make it (a hard
 * link or an O_EXCL create, see lock-owner.ts) and holding the holder's pid, host and a random
 * token. The folder `<target>.lock/` stays. (proper-lockfile's folder per
 * lock costs a mkdir and an rmdir per commit — about 100 µs of the ~600 µs a commit took on ext4 —
 * and its stale takeover has a race: two processes both see the stale lock; one removes it and
 * creates a fresh one, the other then removes the fresh one, and both think they hold it.)
 *
 * - Staleness: a holder touches its owner file every `updateMs`; an owner file not touched for
 *   `staleMs` belongs to a dead or stalled holder and may be taken over. So may, at once, one whose
 *   holder is provably gone from this host: its pid is dead or belongs to a later process (the
 *   owner file records the holder's start time; lock-liveness.ts).
 * - Takeover is exclusive per stale instance: the taker creates `reclaim-<token>.1` (O_EXCL) naming
 *   the stale owner's token, then checks the owner file is still that instance (same inode, same
 *   token, still stale) and only then unlinks it, and competes with everyone through the ordinary
 *   create. A different owner file (a fresh lock) is never removed: its token differs. A taker that
 *   died after creating its marker leaves it to go stale; the next taker then uses `.2`, and so on,
 *   so no marker is ever removed while someone may still act on it.
 *
 * MUST: a holder that learns its lock was compromised (it could not refresh it in time, the owner
 * file is not its own any more) stops writing at once — `assertHeld()` is called right before every
 * append. For the state lock it also refuses when this holder went longer than half the stale time
 * without refreshing (a stalled event loop), since another process may take the lock soon after.
 */
export interface LockOptions {
  staleMs: number;
  updateMs: number;
  timeoutMs: number;
  /** Name used in messages: "state lock", "scheduler lock". */
  what: string;
  /**
   * Take the lock over at once, without waiting for the stale time, when its owner file names this
   * pid on this host (the scheduler lock of a scheduler known to be dead).
   */
  deadPid?: number;
}

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

  private readonly fd: number;
  private readonly ino: number;

  /** @internal made by `acquire` with the owner file it made. */
  constructor(readonly target: string, private readonly opts: LockOptions, private readonly made: MadeOwner) {
    this.fd = made.fd;
    this.ino = made.ino;
    this.lockDir = lockDirOf(target);
    this.ownerFile = path.join(this.lockDir, OWNER);
    this.staleMs = Math.max(opts.staleMs, MIN_STALE_MS);
    // Refresh more often than required so that a live holder is never near the stale time.
    this.refreshMs = Math.max(Math.min(Math.max(opts.updateMs, MIN_UPDATE_MS), this.staleMs / 4), 250);
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
      } else if (!this.stillOurs()) {
        this.markCompromised(new Error('its owner file is not ours any more: another process took it over'));
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
    // A holder that went unrefreshed past half the stale time may already have been taken over:
    // it leaves the file alone (it goes stale and is reclaimed) rather than risk removing a new one.
    const idle = performance.now() - this.lastFresh;
    let unlinked = false;
    if (!this.compromised && idle <= this.staleMs / 2 && this.stillOurs()) {
      try {
        fs.unlinkSync(this.ownerFile);
        unlinked = true;
      } catch (e) {
        unlinked = (e as NodeJS.ErrnoException).code === 'ENOENT'; // gone already
      }
    }
    letGo(this.made, unlinked);
  }

  /** @internal */
  start(): void {
    held.add(this);
    installExitHook();
    this.schedule();
  }

  /** Whether the owner file at the lock's path is still the one this holder created. */
  private stillOurs(): boolean {
    return lstat(this.ownerFile)?.ino === this.ino;
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
    if (!this.stillOurs()) {
      this.markCompromised(new Error('its owner file is not ours any more: another process took it over'));
      return;
    }
    try {
      const now = new Date();
      fs.futimesSync(this.fd, now, now);
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
        hint: 'Wait for the other cairn command to finish, then try again. A lock left by a killed process is taken over at once on its host, and goes stale by itself elsewhere.',
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

/** Lets go of the files this process keeps for the lock between holds (its candidate), when it holds none. */
export function closeLockFiles(target: string): void {
  forgetCandidate(lockDirOf(target));
}

/** Whether some process holds the lock now (a stale lock, or one whose holder is gone, counts as free). */
export async function isLocked(target: string, staleMs: number): Promise<boolean> {
  const info = readOwner(ownerPathOf(target));
  return info !== null && !holderDead(info, Math.max(staleMs, MIN_STALE_MS));
}

/**
 * Whether the lock instance `i` may be taken over: not refreshed for the stale time, its holder
 * provably gone from this host, or naming `deadPid` (a scheduler known dead) on this host.
 */
function holderDead(i: OwnerInfo, staleMs: number, deadPid?: number): boolean {
  if (isStale(i.mtimeMs, staleMs)) return true;
  if (deadPid !== undefined && i.pid === deadPid && i.host === thisHost()) return true;
  return ownerGone(i, thisHost());
}

/** Whether a lock file is there at all, held or left stale by a dead holder. */
export function lockPresent(target: string): boolean {
  return lstat(ownerPathOf(target)) !== undefined;
}

/**
 * Removes a lock whose holder stopped refreshing it (repair-state), or whose owner file names
 * `deadPid` on this host, through the same exclusive takeover as `acquire`; true when it is gone.
 * A live lock is never touched.
 */
export function clearStaleLock(target: string, staleMs: number, deadPid?: number): boolean {
  const info = readOwner(ownerPathOf(target));
  if (info === null) return true;
  const stale = Math.max(staleMs, MIN_STALE_MS);
  const dead = (i: OwnerInfo) => holderDead(i, stale, deadPid);
  if (!dead(info)) return false;
  reclaim(lockDirOf(target), info, stale, dead);
  return !lockPresent(target);
}

/** Who holds the lock, from its owner file (for messages such as "held by pid 1234"); null when unknown. */
export function lockHolder(target: string): { pid: number; host: string; acquired_at: string } | null {
  const info = readOwner(ownerPathOf(target));
  if (!info || info.pid === null) return null;
  return { pid: info.pid, host: String(info.host), acquired_at: String(info.acquired_at) };
}

/**
 * Lock folders of absolute targets, normalized once (path.resolve is a measurable part of a commit).
 * A relative target is resolved every time: it follows the working directory, as the log path does.
 */
const lockDirs = new Map<string, string>();

function lockDirOf(target: string): string {
  let d = lockDirs.get(target);
  if (d === undefined) {
    d = `${path.resolve(target)}.lock`;
    if (path.isAbsolute(target) && lockDirs.size < 64) lockDirs.set(target, d);
  }
  return d;
}

function ownerPathOf(target: string): string {
  return path.join(lockDirOf(target), OWNER);
}

/** One try: the lock, 'busy' (someone holds it), or 'again' (something moved; try at once). */
function attempt(target: string, opts: LockOptions): HeldLock | 'busy' | 'again' {
  const dir = lockDirOf(target);
  const file = path.join(dir, OWNER);
  const staleMs = Math.max(opts.staleMs, MIN_STALE_MS);
  // Held by another lock of this process that has not lost it: its owner file is fresh, nothing to
  // look at on disk. (One that lost it gives its candidate up to this attempt: see byLink.)
  const local = localHolder(dir);
  if (local instanceof HeldLock && !local.isCompromised) return 'busy';
  // Before creating anything in it: a lock folder replaced by a symlink would put the lock elsewhere.
  checkLockDir(dir);
  let made: ReturnType<typeof makeOwner>;
  try {
    made = makeOwner(dir, `${JSON.stringify({ pid: process.pid, host: thisHost(), token: newToken(), acquired_at: new Date().toISOString(), process_start: ownStart() })}\n`, staleMs);
  } catch (e) {
    if (e instanceof CairnError) throw e;
    throw ioFail(opts, e);
  }
  if (made === 'missing') {
    ensureLockDir(dir, opts);
    return 'again';
  }
  if (made === 'exists') {
    const info = readOwner(file);
    if (info === null) return 'again'; // released meanwhile
    const dead = (i: OwnerInfo) => holderDead(i, staleMs, opts.deadPid);
    if (!dead(info)) return 'busy';
    return reclaim(dir, info, staleMs, dead) ? 'again' : 'busy';
  }
  const lock = new HeldLock(target, opts, made);
  if (made.cand) made.cand.holder = lock;
  lock.start();
  return lock;
}

function ensureLockDir(dir: string, opts: LockOptions): void {
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw ioFail(opts, e);
  }
  checkLockDir(dir);
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
    removeCandidates();
  });
}
