import * as lockfile from 'proper-lockfile';
import { CairnError } from '../errors.js';

/**
 * Cross-process locks on the state folder, built on proper-lockfile (a `mkdir` lock kept fresh by
 * touching its mtime; a lock not touched for `staleMs` may be taken over).
 *
 * MUST: a holder that learns its lock was compromised (it could not refresh it in time, or someone
 * took it over) stops writing at once — `assertHeld()` is called right before every append, and also
 * refuses when this holder has been stalled for longer than half the stale time, since another
 * process may have reclaimed the lock meanwhile.
 */
export interface LockOptions {
  staleMs: number;
  updateMs: number;
  timeoutMs: number;
  /** Name used in messages: "state lock", "scheduler lock". */
  what: string;
}

export class HeldLock {
  private compromised: Error | null = null;
  private released = false;
  private readonly acquiredAt = Date.now();
  private releaseFn: (() => Promise<void>) | null = null;

  constructor(readonly target: string, private readonly opts: LockOptions) {}

  /** Called by proper-lockfile when the lock could not be kept. */
  markCompromised(err: Error): void {
    this.compromised = err;
  }

  setRelease(fn: () => Promise<void>): void {
    this.releaseFn = fn;
  }

  /** Throws LOCK_COMPROMISED unless this process still holds the lock and may write. */
  assertHeld(): void {
    if (this.released) throw new CairnError('LOCK_COMPROMISED', `the ${this.opts.what} is already released`);
    if (this.compromised) {
      throw new CairnError('LOCK_COMPROMISED', `the ${this.opts.what} was lost (${this.compromised.message}); nothing more is written`, {
        hint: 'Another process may have taken over. Run the command again.',
      });
    }
    const held = Date.now() - this.acquiredAt;
    if (held > this.opts.staleMs / 2 && this.opts.what === 'state lock') {
      this.compromised = new Error(`held for ${held} ms, more than half the stale time`);
      this.assertHeld();
    }
  }

  get isCompromised(): boolean {
    return this.compromised !== null;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    if (this.compromised) return; // not ours any more: never remove someone else's lock
    try {
      await this.releaseFn?.();
    } catch {
      /* already gone (compromised or removed): nothing of ours to release */
    }
  }
}

/** Takes the lock, retrying until `timeoutMs`; throws STATE_LOCKED (exit 4) when it cannot. */
export async function acquire(target: string, opts: LockOptions): Promise<HeldLock> {
  const deadline = Date.now() + opts.timeoutMs;
  let delay = 1;
  for (;;) {
    const held = new HeldLock(target, opts);
    try {
      const release = await lockfile.lock(target, {
        realpath: false,
        stale: opts.staleMs,
        update: opts.updateMs,
        retries: 0,
        onCompromised: (err) => held.markCompromised(err),
      });
      held.setRelease(release);
      return held;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ELOCKED') {
        throw new CairnError('IO_ERROR', `could not take the ${opts.what}: ${(e as Error).message}`, { cause: e });
      }
      if (Date.now() >= deadline) {
        throw new CairnError('STATE_LOCKED', `the ${opts.what} is held by another process (waited ${opts.timeoutMs} ms)`, {
          hint: 'Wait for the other cairn command to finish, then try again. A lock left by a killed process goes stale by itself.',
        });
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(50, delay * 2);
    }
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
  return lockfile.check(target, { realpath: false, stale: staleMs });
}
