import { CairnError } from '../errors.js';
import { State } from '../model/state.js';
import { atomicWrite } from './atomic.js';
import { type FsLayer, readWhole } from './fsio.js';
import { addWorkstream, checkSnapshot, parseDoc, stateFromSnapshot } from './snapshot.js';
import { LOG_START, scanLog } from './logfile.js';
import { type StatePaths, stampOf } from './paths.js';
import { acquire } from './lock.js';
import type { StoreConfig } from './config.js';
import { applyLine, corruptError, loadArchivesLenient } from './load.js';
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
    const doc = checkSnapshot(parseDoc(buf.toString('utf8'), 'current.json'), 'current.json');
    const s = stateFromSnapshot(doc);
    for (const a of loadArchivesLenient(io, paths, doc)) if (!doc.workstreams[a.workstream.id]) addWorkstream(s, a.workstream);
    return s;
  } catch {
    return null;
  }
}

/**
 * Installs `file` as the state's log: the old log is kept as transitions.jsonl.replaced-<ts>, the
 * new one written by temp file + fsync + rename + folder fsync, all under the state lock.
 */
export async function replaceLog(io: FsLayer, paths: StatePaths, file: string, cfg: StoreConfig, nowMs: number): Promise<string> {
  const lock = await acquire(paths.stateLockTarget, { staleMs: cfg.lock_stale_ms, updateMs: cfg.lock_update_ms, timeoutMs: cfg.lock_timeout_ms, what: 'state lock' });
  try {
    const data = readWhole(io, file);
    if (!data) throw new CairnError('BAD_INPUT', `${file} does not exist`);
    const old = readWhole(io, paths.log) ?? Buffer.alloc(0);
    const aside = `${paths.log}.replaced-${stampOf(nowMs)}`;
    atomicWrite(io, aside, old);
    lock.assertHeld();
    atomicWrite(io, paths.log, data);
    return aside;
  } finally {
    await lock.release();
  }
}

/**
 * Rewrites interventions.log from the manual actions the log records, under the state lock, as
 * repair-state does: a file left behind the log (a crash between the log's fdatasync and the append
 * to interventions.log), edited by hand, or replaced by a symlink (the link is replaced by the file;
 * what it pointed to is left alone) matches the log again. Returns how many manual records it holds.
 */
export async function rebuildInterventions(io: FsLayer, paths: StatePaths, cfg: StoreConfig): Promise<number> {
  const lock = await acquire(paths.stateLockTarget, { staleMs: cfg.lock_stale_ms, updateMs: cfg.lock_update_ms, timeoutMs: cfg.lock_timeout_ms, what: 'state lock' });
  try {
    const state = new State();
    const manual: LogRecord[] = [];
    const scan = scanLog(io, paths.log, LOG_START, (buf, start, end, seq) => {
      const r = applyLine(state, buf, start, end, seq);
      if (r.operator !== null && typeof r.action === 'string') manual.push(r);
    });
    if (scan.problem?.kind === 'corrupt') throw corruptError(scan.problem);
    lock.assertHeld();
    atomicWrite(io, paths.interventions, interventionLines(manual).join(''));
    return manual.length;
  } finally {
    await lock.release();
  }
}
