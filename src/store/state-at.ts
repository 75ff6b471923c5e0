import { State } from '../model/state.js';
import type { LogRecord } from '../model/types.js';
import type { FsLayer } from './fsio.js';
import { collectGarbage, REPLAY_GC_BYTES } from './gc.js';
import { corruptError, replayLine } from './load.js';
import { LOG_START, type LogPosition, scanLogSlice } from './logfile.js';
import { logStart } from './log-base.js';
import { startState } from './log-base-state.js';
import type { LogPoint } from './points.js';
import type { StatePaths } from './paths.js';
import { listSnapshots, loadSnapshot, positionHolds, removeSnapshot, SNAPSHOT_EVERY, snapshotOffset, writeSnapshot } from './snapshots.js';
import { lineBatch, parseCrcHex } from '../log/codec.js';

/** The state at a point of a log, and how it was reached (for notes and the benchmarks). */
export interface StateAt {
  state: State;
  /** The end of the decision that holds the seq asked for; null when the log ends before it. */
  at: LogPoint | null;
  /** The seq of the snapshot the replay started from (0: the start of the log). */
  baseSeq: number;
  /** Records applied on top of it. */
  replayed: number;
  /** Snapshots written on the way. */
  written: number;
}

/**
 * The state at the end of the decision that holds record `seq` in the log at `file`, and that
 * point: the nearest snapshot at or before it whose position holds in that log, plus a replay of
 * the records after it with the same apply as every load, up to that decision's end (so a seq
 * point needs no separate walk). `at` is null when the log ends before `seq`. `own` when `file` is
 * this folder's log: then a stretch of log without snapshots gets them as the replay passes (every
 * `every` records), and snapshots that no longer hold are deleted. A log read from git is never
 * `own`: our snapshots are used where its history is ours (the crc at their seq matches), and
 * nothing is written for it.
 */
export function stateAt(io: FsLayer, paths: StatePaths, file: string, seq: number, own: boolean, every = SNAPSHOT_EVERY): StateAt {
  let state: State | null = null;
  let pos: LogPosition = LOG_START;
  const list = listSnapshots(io, paths);
  for (let i = list.length - 1; i >= 0 && state === null; i--) {
    const f = list[i]!;
    if (f.seq > seq) continue;
    const offset = snapshotOffset(io, f);
    const at = { offset: offset ?? -1, seq: f.seq, crc: parseCrcHex(f.crc) };
    if (offset === null || !positionHolds(io, file, at)) {
      if (own) removeSnapshot(io, f.file);
      continue;
    }
    state = loadSnapshot(io, f, at, own);
    if (state) pos = at;
  }
  if (state === null) {
    // Old segments moved out: the base is the oldest state this log holds (a seq before it reads
    // from the start of the log, and the scan says HISTORY_GONE).
    const begin = logStart(io, file);
    if (begin.base && seq >= begin.pos.seq) {
      state = startState(io, file, begin);
      pos = begin.pos;
    }
  }
  const baseSeq = pos.seq;
  const s = state ?? new State();
  // A snapshot (or the empty start) is at the end of a decision: exactly the point when seq is its own.
  let at: LogPoint | null = pos.seq >= seq ? { ...pos, ts: pos.seq > 0 ? s.lastTs : null } : null;
  let replayed = 0;
  let written = 0;
  let lastSnap = baseSeq;
  let sinceGc = 0;
  let left = 0;
  while (at === null) {
    // One slice for the whole stretch: scanLogSlice reads in 4 MiB chunks within a call, but
    // allocates and fills a fresh chunk per call.
    const slice = scanLogSlice(io, file, pos, Math.max(1, seq - pos.seq), (buf, start, end, n, crc, offset) => {
      if (at !== null) return;
      if (left === 0) left = Math.max(1, lineBatch(buf, start, end));
      replayLine(s, buf, start, end, n, crc);
      replayed++;
      sinceGc += end - start;
      if (--left > 0) return;
      const after = offset + (end - start) + 1;
      // At the end of a decision far enough from the last snapshot: this is where the next one goes.
      if (own && n - lastSnap >= every) {
        if (writeSnapshot(io, paths, s, after)) written++;
        lastSnap = n;
      }
      if (n >= seq) at = { offset: after, seq: n, crc, ts: s.lastTs };
    });
    if (slice.problem?.kind === 'corrupt') throw corruptError(slice.problem);
    if (at === null && (!slice.more || slice.end.seq <= pos.seq)) break;
    pos = slice.end;
    if (sinceGc >= REPLAY_GC_BYTES) {
      // A long replay: keep peak memory at the size of the state, not of the log (see gc.ts).
      sinceGc = 0;
      collectGarbage();
    }
  }
  return { state: s, at, baseSeq, replayed, written };
}

const AUTOMATIC = Buffer.from('"operator":null');

/**
 * The records an operator decided (operator not null) after `from` up to and including seq `toSeq`,
 * oldest first: the interventions between two points. Automatic records are skipped on their bytes
 * (the codec writes `"operator":null`), so only manual ones are parsed.
 */
export function manualRecordsBetween(io: FsLayer, file: string, from: LogPosition, toSeq: number): LogRecord[] {
  const out: LogRecord[] = [];
  let pos = from;
  while (pos.seq < toSeq) {
    const slice = scanLogSlice(io, file, pos, Math.min(8192, toSeq - pos.seq), (buf, start, end, seq) => {
      if (seq > toSeq || buf.subarray(start, end).includes(AUTOMATIC)) return;
      out.push(JSON.parse(buf.toString('utf8', start, end)) as LogRecord);
    });
    if (slice.problem?.kind === 'corrupt') throw corruptError(slice.problem);
    if (slice.end.seq <= pos.seq) break;
    pos = slice.end;
  }
  return out;
}
