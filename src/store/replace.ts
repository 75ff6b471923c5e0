import { CairnError } from '../errors.js';
import { State } from '../model/state.js';
import { atomicWrite, prepareAtomic } from './atomic.js';
import { FLAGS, type FsLayer, readWhole } from './fsio.js';
import { addWorkstream, checkSnapshot, parseDoc, stateFromSnapshot } from './snapshot.js';
import { LOG_START, scanLog } from './logfile.js';
import { passThenLock, stateLockOptions } from './long-pass.js';
import { type StatePaths, stampOf } from './paths.js';
import { acquire } from './lock.js';
import { dropSegments } from './segments.js';
import { dropBases, logStart } from './log-base.js';
import { carriedInterventions, startState } from './log-base-state.js';
import type { StoreConfig } from './config.js';
import { applyLine, applyRecord, corruptError, decodeLine, loadArchivesLenient } from './load.js';
import { CheckpointTracker, writeImpliedCheckpoints } from './checkpoint-points.js';
import { interventionLines } from './derived.js';
import type { LogRecord } from '../model/types.js';

/** The state a log file replays to, checking it end to end; a damaged file is refused (exit 3). */
export function replayFile(io: FsLayer, file: string): { state: State; records: number; size: number } {
  const state = new State();
  const scan = scanLog(io, file, LOG_START, (buf, start, end, seq) => { applyLine(state, buf, start, end, seq); });
  if (scan.problem) {
    throw new CairnError('LOG_CORRUPT', `${file} is damaged at seq ${scan.problem.seq} (byte ${scan.problem.offset}): ${scan.problem.reason}`, {
      details: { seq: scan.problem.seq },
      hint: 'Restore from a complete copy of the log, or run cairn repair-state on the state folder.',
    });
  }
  return { state, records: scan.records, size: scan.size };
}

/** current.json as it is on disk, without replaying the log after it (null when unusable). */
export function snapshotOnlyState(io: FsLayer, paths: StatePaths): State | null {
  try {
    const buf = readWhole(io, paths.current);
    if (!buf) return null;
    const doc = checkSnapshot(parseDoc(buf.toString('utf8'), 'current.json'), 'current.json', { forLoading: true });
    const s = stateFromSnapshot(doc);
    for (const a of loadArchivesLenient(io, paths, doc)) if (!doc.workstreams[a.workstream.id]) addWorkstream(s, a.workstream);
    return s;
  } catch {
    return null;
  }
}

/**
 * Installs `file` as the state's log: the old log is kept as transitions.jsonl.replaced-<ts>, the
 * new one written by temp file + fsync + rename + folder fsync. Both copies are written before the
 * state lock is taken (they take as long as the logs are large, see long-pass.ts); under the lock
 * cairn checks that the old log is still exactly what was copied aside (same file, same length,
 * same last bytes: nobody appended meanwhile) and renames the new one into place.
 */
export async function replaceLog(io: FsLayer, paths: StatePaths, file: string, cfg: StoreConfig, nowMs: number): Promise<string> {
  const data = readWhole(io, file);
  if (!data) throw new CairnError('BAD_INPUT', `${file} does not exist`);
  const aside = `${paths.log}.replaced-${stampOf(nowMs)}`;
  const next = prepareAtomic(io, paths.log, data);
  try {
    for (let tries = 1; tries <= 3; tries++) {
      const ino = io.lstatSync(paths.log)?.ino ?? 0;
      const old = readWhole(io, paths.log) ?? Buffer.alloc(0);
      atomicWrite(io, aside, old);
      const lock = await acquire(paths.stateLockTarget, stateLockOptions(cfg));
      try {
        if (sameBytesAtEnd(io, paths.log, ino, old)) {
          lock.assertHeld();
          next.commit();
          dropSegments(io, paths.segments);
          // The new log is whole: a base of the old one would be read as its start.
          dropBases(io, paths.segments);
          return aside;
        }
      } finally {
        await lock.release();
      }
    }
  } catch (e) {
    next.abort();
    throw e;
  }
  next.abort();
  throw new CairnError('STATE_LOCKED', `${paths.log} kept changing while restore-state copied it aside`, {
    hint: 'Another process is writing to this state folder. Wait for it to finish, then run the command again.',
  });
}

/** Whether `file` is still the inode `ino` with exactly the length of `copy` and the same last bytes. */
/** Whether `file` is still the file (inode) `copy` was read from, with the same length and last bytes. */
export function sameBytesAtEnd(io: FsLayer, file: string, ino: number, copy: Buffer): boolean {
  const st = io.lstatSync(file);
  if (!st) return ino === 0 && copy.length === 0;
  if (st.ino !== ino || st.size !== copy.length) return false;
  const n = Math.min(64, copy.length);
  const got = Buffer.alloc(n);
  const fd = io.openSync(file, FLAGS.read);
  try {
    return io.readSync(fd, got, 0, n, copy.length - n) === n && got.equals(copy.subarray(copy.length - n));
  } finally {
    io.closeSync(fd);
  }
}

/**
 * Rewrites interventions.log from the manual actions the log records, and every checkpoint the log
 * implies (checkpoint-points.ts), under the state lock, as
 * repair-state does: a file left behind the log (a crash between the log's fdatasync and the append
 * to interventions.log), edited by hand, or replaced by a symlink (the link is replaced by the file;
 * what it pointed to is left alone) matches the log again. Returns how many manual records it holds.
 */
export async function rebuildInterventions(io: FsLayer, paths: StatePaths, cfg: StoreConfig): Promise<number> {
  // The replay runs before the lock is taken (see long-pass.ts); under it, only what was appended meanwhile.
  return passThenLock(io, paths, cfg, () => {
    const state = startState(io, paths.log, logStart(io, paths.log));
    const manual: LogRecord[] = [];
    const tracker = new CheckpointTracker(cfg.checkpoints_keep);
    return {
      visit: (buf, start, end, seq) => {
        const r = decodeLine(buf, start, end, seq);
        tracker.before(state, r);
        applyRecord(state, r, seq);
        tracker.after(state);
        if (r.operator !== null && typeof r.action === 'string') manual.push(r);
      },
      result: () => ({ manual, docs: tracker.docs(state) }),
    };
  }, ({ manual, docs }, scan, lock) => {
    if (scan.problem?.kind === 'corrupt') throw corruptError(scan.problem);
    lock.assertHeld();
    // Old segments moved out: the lines of the manual records before the base come from the base.
    atomicWrite(io, paths.interventions, carriedInterventions(io, paths.log, logStart(io, paths.log).base) + interventionLines(manual).join(''));
    writeImpliedCheckpoints(io, paths, docs);
    return manual.length;
  });
}
