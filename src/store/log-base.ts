import * as path from 'node:path';
import { constants as C } from 'node:fs';
import { CairnError } from '../errors.js';
import { parseCrcHex } from '../log/codec.js';
import { FLAGS, type FsLayer, fsyncDir } from './fsio.js';
import type { LogPosition } from './logfile.js';

/*
 * The base of a log whose oldest segments were moved out (log-archive): `.state/log/base-<seq>.json`,
 * the whole state at the last moved seq and what a reader needs to continue the log after it.
 * Two lines: the meta (small, read by every open of the log: segments.ts lays the log out from it)
 * and the whole-state snapshot document (the form of snapshots/, hashed), read by replays only.
 * MUST: a base is written (atomically, fsynced, folder fsynced) before any segment it covers is
 * removed, and no retention or prune ever removes it; a base goes only when a newer one covers it.
 */

export const BASE_NAME = /^base-(\d{12})\.json$/;

/** What a base says about the log before it; the first line of the base file. */
export interface BaseMeta {
  /** The base file's name in log/. */
  file: string;
  /** The last seq the base covers (the last moved record). */
  seq: number;
  /** The logical byte offset where the remaining log starts (after record `seq`). */
  offset: number;
  /** The crc of record `seq`, 8 hex digits: the next record chains on it. */
  crc: string;
  /** The time of record `seq`. */
  ts: string | null;
  /** When the segments were moved out, and where to. */
  archived_at: string;
  archived_to: string;
  /** Every segment moved out so far (this base's and the older ones it covers), oldest first. */
  segments: string[];
}

export function baseName(seq: number): string {
  return `base-${String(seq).padStart(12, '0')}.json`;
}

/** The base files in the segment folder, newest first ([] when there is no folder). */
export function listBases(io: FsLayer, dir: string): string[] {
  const st = io.lstatSync(dir);
  if (!st || !st.isDirectory()) return [];
  return io.readdirSync(dir).filter((n) => BASE_NAME.test(n)).sort().reverse();
}

/** The meta line of a base file; a string says why it cannot be read. */
export function readBaseMeta(io: FsLayer, dir: string, name: string): BaseMeta | string {
  let line: string;
  try {
    line = firstLine(io, path.join(dir, name));
  } catch (e) {
    return `log/${name} cannot be read: ${(e as Error).message}`;
  }
  try {
    const m = JSON.parse(line) as Record<string, unknown>;
    const ok = m.kind === 'cairn-log-base' && Number.isSafeInteger(m.seq) && (m.seq as number) > 0 && Number.isSafeInteger(m.offset)
      && (m.offset as number) > 0 && typeof m.crc === 'string' && /^[0-9a-f]{8}$/.test(m.crc) && typeof m.archived_to === 'string'
      && typeof m.archived_at === 'string' && Array.isArray(m.segments) && BASE_NAME.exec(name)![1] === String(m.seq).padStart(12, '0');
    if (!ok) return `log/${name} is not a base cairn wrote (its first line lacks seq, offset, crc or where the segments went)`;
    return { file: name, seq: m.seq as number, offset: m.offset as number, crc: m.crc as string, ts: typeof m.ts === 'string' ? m.ts : null, archived_at: m.archived_at as string, archived_to: m.archived_to as string, segments: m.segments as string[] };
  } catch {
    return `log/${name} is damaged: its first line is not JSON`;
  }
}

/** Up to the first newline (the meta is small; the state after it may be large). */
function firstLine(io: FsLayer, file: string): string {
  const fd = io.openSync(file, C.O_RDONLY | C.O_NOFOLLOW);
  try {
    let buf = Buffer.alloc(16 * 1024);
    let got = 0;
    for (;;) {
      const n = io.readSync(fd, buf, got, buf.length - got, got);
      const nl = buf.indexOf(10);
      if (nl >= 0 && nl < got + n) return buf.toString('utf8', 0, nl);
      got += n;
      if (n <= 0 || got >= 16 * 1024 * 1024) throw new Error('no meta line');
      if (got === buf.length) buf = Buffer.concat([buf, Buffer.alloc(buf.length)]);
    }
  } finally {
    io.closeSync(fd);
  }
}

/** The base's position in the log: replays and scans start here. */
export function basePosition(b: BaseMeta): LogPosition {
  return { offset: b.offset, seq: b.seq, crc: parseCrcHex(b.crc) };
}

/** Where a reader of the whole remaining log starts (the base's end, or the start of the log). */
export function startOf(io: FsLayer, file: string): LogPosition {
  return logStart(io, file).pos;
}

/** Removes every base file (the log was replaced by a whole one); fsyncs the folder. */
export function dropBases(io: FsLayer, dir: string): void {
  const names = listBases(io, dir);
  for (const n of names) io.unlinkSync(path.join(dir, n));
  if (names.length > 0) fsyncDir(io, dir);
}

/** Where the history a log holds starts, when older segments were moved out: what `events`, `history` and `metrics` report. */
export interface HistoryStart {
  /** The first seq the log here holds (the base's seq + 1). */
  seq: number;
  moved_to: string;
  moved_at: string;
}

export function historyStart(b: BaseMeta | null): HistoryStart | null {
  return b && { seq: b.seq + 1, moved_to: b.archived_to, moved_at: b.archived_at };
}

/** The one line human output gives for it. */
export function historyStartLine(h: HistoryStart): string {
  return `(history before seq ${h.seq} was moved out to ${h.moved_to} on ${h.moved_at.slice(0, 10)}: cairn log-archive)`;
}

/** The error of a reader asked for history the base replaced. */
export function historyGone(b: BaseMeta, dir: string): CairnError {
  return new CairnError('HISTORY_GONE', `history before seq ${b.seq + 1} was moved out to ${b.archived_to} on ${b.archived_at.slice(0, 10)} (cairn log-archive); the log here starts after seq ${b.seq}`, {
    details: { base_seq: b.seq, archived_to: b.archived_to, archived_at: b.archived_at, segments: b.segments },
    hint: `Copy the segments back to read it: cp ${path.join(b.archived_to, '*.jsonl.gz')} ${dir}/ (the base file stays; with every segment back the whole log is read again).`,
  });
}

/**
 * Where a reader of the log at `file` starts: after its base when old segments were moved out
 * (with the base), else the start of the log. Opens the log once to see its layout when log/ has a base file.
 */
export function logStart(io: FsLayer, file: string): { pos: LogPosition; base: BaseMeta | null } {
  const none = { pos: { offset: 0, seq: 0, crc: 0 }, base: null };
  if (!io.logLayout) return none;
  // Every load asks: without a base file (the everyday case) one look at log/, no open of the log.
  if (listBases(io, path.join(path.dirname(file), 'log')).length === 0) return none;
  let fd: number;
  try {
    fd = io.openSync(file, FLAGS.read);
  } catch {
    return none;
  }
  try {
    const b = io.logLayout(fd)?.base ?? null;
    return b ? { pos: basePosition(b), base: b } : none;
  } finally {
    io.closeSync(fd);
  }
}
