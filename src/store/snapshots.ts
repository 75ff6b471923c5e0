import { lineSeq, parseCrcHex, statedCrc, verifyLine } from '../log/codec.js';
import { compactJson } from '../log/canonical.js';
import type { State } from '../model/state.js';
import { atomicWrite } from './atomic.js';
import { ensureDir } from './derived.js';
import { FLAGS, type FsLayer, readWhole } from './fsio.js';
import type { LogPosition } from './logfile.js';
import { SNAPSHOT_NAME, type StatePaths } from './paths.js';
import { checkpointHash, checkSnapshot, parseDoc, SCHEMA_VERSION, type SnapshotDoc, stateFromSnapshot, workstreamDoc, type WorkstreamDoc } from './snapshot.js';

/*
 * Whole-state snapshots (DESIGN §10): `.state/snapshots/<seq>-<crc>.json`, the WHOLE state at the
 * end of a decision (finished workstreams inline: unlike current.json they never depend on the
 * archive files), with the log offset after that decision, hashed like current.json. They are a
 * git-ignored cache: a snapshot is used only when its hash matches its content AND the log's record
 * at its seq has its crc (the crc chain makes every record before it equal too), so a rewritten log
 * (repair, restore, another branch) can never reuse a stale one; one that fails either check is
 * deleted and rebuilt, never trusted and never an error.
 *
 * Spacing and bounds, measured on the 1,000,000-record benchmark log (300 tasks, ~350 B a record):
 * replay runs at ~300,000 records/s and a snapshot of that state loads in ~10 ms, so a point costs
 * one load plus on average EVERY/2 applies: ~17 ms at 10,000, noise next to node's start (~60 ms),
 * while 1,000 would write ten times the files for nothing measurable. A snapshot of a 10,000-task
 * state is ~10 MB, so both the count (MAX_KEPT) and the bytes (MAX_BYTES) are bounded; past either,
 * the snapshot whose removal leaves the smallest gap goes (never the newest), which keeps the rest
 * evenly spread over the log: the worst replay grows with log/MAX_KEPT, never with the log.
 */

/** A snapshot is written at the first decision end at least this many records after the previous one. */
export const SNAPSHOT_EVERY = 10_000;
/** At most this many snapshot files… */
export const MAX_KEPT = 100;
/** …and at most this many bytes of them. */
export const MAX_BYTES = 256 * 1024 * 1024;

/** A snapshot file by its name: the log record it ends at. */
export interface SnapshotFile {
  seq: number;
  crc: string;
  file: string;
}

/** The snapshot files of the folder, oldest first (none when the folder does not exist or is not a real folder). */
export function listSnapshots(io: FsLayer, paths: StatePaths): SnapshotFile[] {
  const st = io.lstatSync(paths.snapshots);
  if (!st || st.isSymbolicLink() || !st.isDirectory()) return [];
  const out: SnapshotFile[] = [];
  for (const f of io.readdirSync(paths.snapshots)) {
    const m = SNAPSHOT_NAME.exec(f);
    if (m) out.push({ seq: Number(m[1]), crc: m[2]!, file: `${paths.snapshots}/${f}` });
  }
  return out.sort((a, b) => a.seq - b.seq);
}

/** The whole state as a snapshot document: every workstream inline, `archived` empty. */
export function wholeSnapshotDoc(s: State, logOffset: number): SnapshotDoc {
  const workstreams: Record<string, WorkstreamDoc> = {};
  for (const id of s.workstreams.keys()) workstreams[id] = workstreamDoc(s, id);
  const body = {
    schema_version: SCHEMA_VERSION,
    seq: s.seq,
    crc: s.crc,
    log_offset: logOffset,
    written_at: s.lastTs,
    workstreams,
    archived: {},
    workers: Object.fromEntries(s.workers),
    resources: Object.fromEntries(s.resources),
    scheduler: s.sched,
    metrics: s.metricsData,
  };
  return { ...body, hash: checkpointHash(body) };
}

/**
 * Writes the snapshot of `s` (at the end of a decision, `offset` bytes into the log) atomically,
 * then thins the folder to its bounds. Never an error: a cache that cannot be written is skipped.
 */
export function writeSnapshot(io: FsLayer, paths: StatePaths, s: State, offset: number): boolean {
  try {
    ensureSnapshotDir(io, paths);
    // Compact: the file is read by cairn only and never committed, so indentation would only cost.
    atomicWrite(io, paths.snapshot(s.seq, s.crc), compactJson(wholeSnapshotDoc(s, offset)));
    thinSnapshots(io, paths);
    return true;
  } catch {
    return false;
  }
}

/**
 * The folder, with its own `.gitignore` of `*`: state folders made before snapshots existed keep
 * them out of git too, whatever their top .gitignore says.
 */
function ensureSnapshotDir(io: FsLayer, paths: StatePaths): void {
  ensureDir(io, paths.snapshots);
  const ignore = `${paths.snapshots}/.gitignore`;
  if (!io.lstatSync(ignore)) atomicWrite(io, ignore, '# Written by cairn: whole-state snapshots are a local cache, rebuilt from the log on demand.\n*\n');
}

/** Removes snapshots past MAX_KEPT or MAX_BYTES, each time the one whose removal leaves the smallest gap. */
export function thinSnapshots(io: FsLayer, paths: StatePaths): void {
  const list = listSnapshots(io, paths).map((f) => ({ ...f, bytes: io.lstatSync(f.file)?.size ?? 0 }));
  let bytes = list.reduce((n, f) => n + f.bytes, 0);
  while (list.length > 1 && (list.length > MAX_KEPT || bytes > MAX_BYTES)) {
    let pick = 0;
    let gap = Infinity;
    for (let i = 0; i < list.length - 1; i++) {
      const g = list[i + 1]!.seq - (i > 0 ? list[i - 1]!.seq : 0);
      if (g < gap) {
        gap = g;
        pick = i;
      }
    }
    removeSnapshot(io, list[pick]!.file);
    bytes -= list[pick]!.bytes;
    list.splice(pick, 1);
  }
}

export function removeSnapshot(io: FsLayer, file: string): void {
  try {
    io.unlinkSync(file);
  } catch {
    /* already gone, or not ours to remove: it stays ignored by its crc */
  }
}

/**
 * Whether `pos` is the end of a record of the log at `file`: the line that ends just before
 * `pos.offset` is record `pos.seq`, intact (its crc verifies, chained on the stated crc of the line
 * before it) and its crc is `pos.crc`. Reads a few KiB at most; the chain makes a match mean that
 * every record before it is the one the position was taken from.
 */
export function positionHolds(io: FsLayer, file: string, pos: LogPosition): boolean {
  if (pos.seq === 0) return pos.offset === 0;
  let fd: number;
  try {
    fd = io.openSync(file, FLAGS.read);
  } catch {
    return false;
  }
  try {
    // Old segments moved out (log-archive): the bytes before the base read as empty lines, so a
    // position at the base, or whose record follows it, is checked against the base's seq and crc.
    const base = io.logLayout?.(fd)?.base ?? null;
    const baseCrc = base ? parseCrcHex(base.crc) : 0;
    if (base && pos.offset <= base.offset) return pos.offset === base.offset && pos.seq === base.seq && pos.crc === baseCrc;
    for (let want = 64 * 1024; ; want *= 4) {
      const from = Math.max(0, pos.offset - want);
      const buf = Buffer.allocUnsafe(pos.offset - from);
      let got = 0;
      while (got < buf.length) {
        const n = io.readSync(fd, buf, got, buf.length - got, from + got);
        if (n <= 0) return false;
        got += n;
      }
      const end = buf.length - 1;
      if (end < 0 || buf[end] !== 0x0a) return false;
      const start = buf.lastIndexOf(0x0a, end - 1) + 1;
      const prevStart = start > 0 ? buf.lastIndexOf(0x0a, start - 2) + 1 : 0;
      // Both lines whole in the window (or the window reaches the start of the file), else read more.
      if ((start === 0 || prevStart === 0) && from > 0) {
        if (want > 256 * 1024 * 1024) return false;
        continue;
      }
      if (lineSeq(buf, start, end) !== pos.seq) return false;
      const prevCrc = pos.seq === 1 ? 0 : base && pos.seq === base.seq + 1 ? baseCrc : start === 0 ? -1 : statedCrc(buf, prevStart, start - 1);
      if (prevCrc < 0) return false;
      return verifyLine(buf, start, end, prevCrc) === pos.crc;
    }
  } finally {
    io.closeSync(fd);
  }
}

/**
 * The log offset a snapshot file states, read from its first bytes (its canonical JSON puts
 * `log_offset` after `archived`, `crc` and `hash`); null when it cannot be read there. Not trusted:
 * the caller checks the position against the log (positionHolds).
 */
export function snapshotOffset(io: FsLayer, f: SnapshotFile): number | null {
  let fd: number;
  try {
    fd = io.openSync(f.file, FLAGS.read);
  } catch {
    return null;
  }
  try {
    const buf = Buffer.alloc(512);
    const n = io.readSync(fd, buf, 0, buf.length, 0);
    const m = /"log_offset":(\d{1,15})[,}]/.exec(buf.toString('latin1', 0, n));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  } finally {
    io.closeSync(fd);
  }
}

/**
 * The nearest snapshot at or before `seq` whose position holds in the log at `file` (its name's seq
 * and crc at the offset it states), with that position; null when there is none. Snapshots that do
 * not hold are deleted when `prune` (they can never be used again: the log at their seq is another).
 */
export function nearestPosition(io: FsLayer, paths: StatePaths, file: string, seq: number, prune: boolean): { snap: SnapshotFile; pos: LogPosition } | null {
  const list = listSnapshots(io, paths);
  for (let i = list.length - 1; i >= 0; i--) {
    const f = list[i]!;
    if (f.seq > seq) continue;
    const offset = snapshotOffset(io, f);
    const pos = { offset: offset ?? -1, seq: f.seq, crc: parseCrcHex(f.crc) };
    if (offset !== null && positionHolds(io, file, pos)) return { snap: f, pos };
    if (prune) removeSnapshot(io, f.file);
  }
  return null;
}

/**
 * Loads a snapshot file as a State, or null when it is unreadable, damaged, edited, or not the one
 * its name says (a bad cache entry is deleted when `prune`, and the caller replays instead).
 */
export function loadSnapshot(io: FsLayer, f: SnapshotFile, pos: LogPosition, prune: boolean): State | null {
  try {
    const buf = readWhole(io, f.file);
    if (buf === undefined) return null;
    const doc = checkSnapshot(parseDoc(buf.toString('utf8'), f.file), f.file, { forLoading: true });
    if (doc.seq !== f.seq || doc.crc !== f.crc || doc.log_offset !== pos.offset || Object.keys(doc.archived).length > 0) throw new Error('not the snapshot its name says');
    // Every workstream is inline, so nothing depends on archive files.
    return stateFromSnapshot(doc);
  } catch {
    if (prune) removeSnapshot(io, f.file);
    return null;
  }
}

/** Deletes every snapshot whose position no longer holds in the log (after a rewrite of the log). */
export function pruneSnapshots(io: FsLayer, paths: StatePaths): number {
  let removed = 0;
  for (const f of listSnapshots(io, paths)) {
    const offset = snapshotOffset(io, f);
    if (offset === null || !positionHolds(io, paths.log, { offset, seq: f.seq, crc: parseCrcHex(f.crc) })) {
      removeSnapshot(io, f.file);
      removed++;
    }
  }
  return removed;
}
