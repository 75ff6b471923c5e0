import { CairnError } from '../errors.js';
import { crcHex } from '../log/codec.js';
import type { StoreConfig } from './config.js';
import { FLAGS, type FsLayer } from './fsio.js';
import { acquire, type HeldLock, type LockOptions } from './lock.js';
import { logStart } from './log-base.js';
import { type LineVisitor, type LogPosition, type ScanResult, scanLog } from './logfile.js';
import type { StatePaths } from './paths.js';

/**
 * Long work on the log and the state lock (DESIGN §5).
 *
 * MUST: a pass over the whole log (a replay of a million records takes seconds, several times that
 * on a busy machine) never runs under the state lock. The holder keeps the lock's owner file fresh
 * from a timer on the event loop, and a synchronous replay starves that timer: on a loaded machine
 * the holder found at its next write that it had gone unrefreshed past half the stale time and
 * stopped with LOCK_COMPROMISED (rightly: past the stale time another process may take the lock
 * over, and two writers must never both write). Keeping the lock fresh from another thread would
 * hide a stalled holder, so instead the lock is held only for work whose length does not grow with
 * the log: the long pass runs first, unlocked, and notes where the log ended (inode, offset, the
 * crc of the last record). Under the lock the caller only checks that nothing changed meanwhile —
 * the same file, still ending at that record — reads what was appended since (usually nothing), and
 * writes. A log replaced or cut back meanwhile means the pass read another history: it is done
 * again from the start, a few times at most, then the command gives up with STATE_LOCKED (busy).
 */

/** The options of the state lock from a folder's settings. */
export function stateLockOptions(cfg: StoreConfig): LockOptions {
  return { staleMs: cfg.lock_stale_ms, updateMs: cfg.lock_update_ms, timeoutMs: cfg.lock_timeout_ms, what: 'state lock' };
}

/** How often a pass is done again when the log was replaced while it ran. */
const TRIES = 3;

/** One pass over the log: `visit` sees every good record; `result` is what it gathered. */
export interface LogPass<A> {
  visit: LineVisitor;
  result: () => A;
}

/**
 * Replays the log with a fresh `begin()` pass without the state lock, then takes the lock, reads
 * the records appended meanwhile with the same pass, and calls `write` under the lock with the pass's
 * result and the whole scan (from seq 1 to the end the lock saw). Resolves with what `write` returns.
 */
export async function passThenLock<A, T>(
  io: FsLayer, paths: StatePaths, cfg: StoreConfig, begin: () => LogPass<A>, write: (acc: A, scan: ScanResult, lock: HeldLock) => T,
): Promise<T> {
  for (let tries = 1; ; tries++) {
    const pass = begin();
    // Old segments moved out: the pass starts at the base (begin() starts from its state).
    const first = scanLog(io, paths.log, logStart(io, paths.log).pos, pass.visit);
    const lock = await acquire(paths.stateLockTarget, stateLockOptions(cfg));
    try {
      if (stillEndsAt(io, paths.log, first)) {
        const rest = scanLog(io, paths.log, first.end, pass.visit);
        const scan: ScanResult = { ...rest, records: first.records + rest.records };
        return write(pass.result(), scan, lock);
      }
    } finally {
      await lock.release();
    }
    if (tries >= TRIES) {
      throw new CairnError('STATE_LOCKED', `${paths.log} was replaced ${TRIES} times while this command read it`, {
        hint: 'Another process keeps replacing the log (restore-state, repair-state). Wait for it to finish, then run the command again.',
      });
    }
  }
}

/**
 * Whether the log at `file` is still the one `seen` read, up to its end: the same inode, at least
 * as long, and the bytes before `seen.end` still the end of the same last record (its crc), so a log
 * cut back and written again in place is not taken for the same one.
 */
export function stillEndsAt(io: FsLayer, file: string, seen: { ino?: number; end: LogPosition }): boolean {
  const st = io.lstatSync(file);
  if (!st) return seen.end.offset === 0 && !seen.ino;
  if (seen.ino && st.ino !== seen.ino) return false;
  if (st.size < seen.end.offset) return false;
  if (seen.end.offset === 0) return true;
  const want = Buffer.from(`,"crc":"${crcHex(seen.end.crc)}"}\n`);
  if (seen.end.offset < want.length) return false;
  const got = Buffer.alloc(want.length);
  const fd = io.openSync(file, FLAGS.read);
  try {
    const n = io.readSync(fd, got, 0, want.length, seen.end.offset - want.length);
    return n === want.length && got.equals(want);
  } finally {
    io.closeSync(fd);
  }
}
