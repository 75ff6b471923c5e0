import * as fs from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { randomFillSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { CairnError } from '../errors.js';
import { unsafe } from './fsio.js';

/**
 * Cross-process locks on the state folder.
 *
 * The lock is the file `<target>.lock/owner`, created with O_CREAT|O_EXCL (only one process can
 * create it) and holding the holder's pid, host and a random token. The folder `<target>.lock/`
 * stays; taking and releasing the lock is one create and one unlink. (proper-lockfile's folder per
 * lock costs a mkdir and an rmdir per commit — about 100 µs of the ~600 µs a commit took on ext4 —
 * and its stale takeover has a race: two processes both see the stale lock; one removes it and
 * creates a fresh one, the other then removes the fresh one, and both think they hold it.)
 *
 * - Staleness: a holder touches its owner file every `updateMs`; an owner file not touched for
 *   `staleMs` belongs to a dead or stalled holder and may be taken over.
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

const OWNER = 'owner';
const RECLAIM = 'reclaim-';
/** proper-lockfile's minimums, kept so a config that was valid stays valid and means the same. */
const MIN_STALE_MS = 2000;
const MIN_UPDATE_MS = 1000;
const C = fs.constants;

const held = new Set<HeldLock>();
/** This machine's name, read once: it goes into every owner file (a uname call per commit otherwise). */
let host: string | undefined;
const thisHost = (): string => (host ??= hostname());
let exitHookInstalled = false;

/** What an owner file says, read from one open descriptor (so stat and content are one instance). */
interface OwnerInfo {
  ino: number;
  mtimeMs: number;
  token: string | null;
  pid: number | null;
  host: string | null;
  acquired_at: string | null;
}

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

  /** @internal made by `acquire` with the descriptor and inode of the owner file it created. */
  constructor(readonly target: string, private readonly opts: LockOptions, private fd: number, private readonly ino: number) {
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
    if (!this.compromised && idle <= this.staleMs / 2 && this.stillOurs()) {
      try { fs.unlinkSync(this.ownerFile); } catch { /* gone already */ }
    }
    try { fs.closeSync(this.fd); } catch { /* closed already */ }
    this.fd = -1;
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
  const info = readOwner(ownerPathOf(target));
  return info !== null && !isStale(info.mtimeMs, Math.max(staleMs, MIN_STALE_MS));
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
  const dead = (i: OwnerInfo) => isStale(i.mtimeMs, stale) || (deadPid !== undefined && i.pid === deadPid && i.host === thisHost());
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

/** Random bytes drawn 4 KiB at a time: one crypto call per 512 tokens instead of one per lock taken. */
const tokenPool = Buffer.alloc(4096);
let tokenNext = tokenPool.length;

/** A fresh random 64-bit token, as 16 hex digits. */
function newToken(): string {
  if (tokenNext === tokenPool.length) {
    randomFillSync(tokenPool);
    tokenNext = 0;
  }
  tokenNext += 8;
  return tokenPool.toString('hex', tokenNext - 8, tokenNext);
}

function ownerPathOf(target: string): string {
  return path.join(lockDirOf(target), OWNER);
}

/** One try: the lock, 'busy' (someone holds it), or 'again' (something moved; try at once). */
function attempt(target: string, opts: LockOptions): HeldLock | 'busy' | 'again' {
  const dir = lockDirOf(target);
  const file = path.join(dir, OWNER);
  const staleMs = Math.max(opts.staleMs, MIN_STALE_MS);
  // Before creating anything in it: a lock folder replaced by a symlink would put the lock elsewhere.
  checkLockDir(dir);
  let fd: number;
  try {
    fd = fs.openSync(file, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      ensureLockDir(dir, opts);
      return 'again';
    }
    if (code === 'ENOTDIR') throw unsafe(dir);
    if (code !== 'EEXIST') throw ioFail(opts, e);
    const info = readOwner(file);
    if (info === null) return 'again'; // released meanwhile
    const dead = (i: OwnerInfo) => isStale(i.mtimeMs, staleMs) || (opts.deadPid !== undefined && i.pid === opts.deadPid && i.host === thisHost());
    if (!dead(info)) return 'busy';
    return reclaim(dir, info, staleMs, dead) ? 'again' : 'busy';
  }
  let ino: number;
  try {
    const token = newToken();
    fs.writeSync(fd, `${JSON.stringify({ pid: process.pid, host: thisHost(), token, acquired_at: new Date().toISOString() })}\n`);
    ino = fs.fstatSync(fd).ino;
  } catch (e) {
    // The file is ours: leave no half-made lock behind.
    try { fs.unlinkSync(file); } catch { /* gone */ }
    try { fs.closeSync(fd); } catch { /* closed */ }
    throw ioFail(opts, e);
  }
  const lock = new HeldLock(target, opts, fd, ino);
  lock.start();
  return lock;
}

/**
 * Removes the dead lock instance `info` (seen at `<dir>/owner`) unless another process is already
 * doing so. True when the caller should try to create the lock again at once.
 */
function reclaim(dir: string, info: OwnerInfo, staleMs: number, dead: (i: OwnerInfo) => boolean): boolean {
  const id = info.token ?? `ino${info.ino}`;
  // The first free marker level whose predecessors all went stale (their takers died half-way).
  let marker: string | null = null;
  for (let k = 1; k <= 64 && marker === null; k++) {
    const m = path.join(dir, `${RECLAIM}${id}.${k}`);
    try {
      fs.closeSync(fs.openSync(m, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600));
      marker = m;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return false;
      const st = lstat(m);
      if (st && !isStale(st.mtimeMs, staleMs)) return false; // another taker is at work
    }
  }
  if (marker === null) return false;
  // Ours to act on. Is the owner file still the instance judged dead? A fresh lock has another
  // token and inode and is left alone.
  const now = readOwner(path.join(dir, OWNER));
  if (now !== null && now.ino === info.ino && now.token === info.token && dead(now)) {
    try { fs.unlinkSync(path.join(dir, OWNER)); } catch { /* its holder released it meanwhile */ }
  }
  // That instance is gone for good (tokens are random): its markers will never be needed again.
  try {
    for (const n of fs.readdirSync(dir)) if (n.startsWith(`${RECLAIM}${id}.`)) fs.unlinkSync(path.join(dir, n));
  } catch { /* another taker cleaned up */ }
  return true;
}

/** Reads an owner file through one descriptor; null when there is none. */
function readOwner(file: string): OwnerInfo | null {
  let fd: number;
  try {
    fd = fs.openSync(file, C.O_RDONLY | C.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    if (code === 'ELOOP') throw unsafe(file);
    throw e;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw unsafe(file);
    const buf = Buffer.alloc(Math.min(st.size, 4096));
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    let v: Record<string, unknown> = {};
    try {
      const parsed = JSON.parse(buf.toString('utf8', 0, n)) as unknown;
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) v = parsed as Record<string, unknown>;
    } catch { /* a holder killed between create and write leaves an empty file: it goes stale */ }
    return {
      ino: st.ino,
      mtimeMs: st.mtimeMs,
      token: typeof v.token === 'string' ? v.token : null,
      pid: typeof v.pid === 'number' ? v.pid : null,
      host: typeof v.host === 'string' ? v.host : null,
      acquired_at: typeof v.acquired_at === 'string' ? v.acquired_at : null,
    };
  } finally {
    fs.closeSync(fd);
  }
}

function ensureLockDir(dir: string, opts: LockOptions): void {
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw ioFail(opts, e);
  }
  checkLockDir(dir);
}

/** The lock folder must be a real folder: a symlink could point the lock anywhere. */
function checkLockDir(dir: string): void {
  const st = lstat(dir);
  if (st && (st.isSymbolicLink() || !st.isDirectory())) throw unsafe(dir);
}

function isStale(mtimeMs: number, staleMs: number): boolean {
  return mtimeMs < Date.now() - staleMs;
}

function lstat(p: string): fs.Stats | undefined {
  return fs.lstatSync(p, { throwIfNoEntry: false });
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
