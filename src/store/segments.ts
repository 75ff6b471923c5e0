import { constants as C } from 'node:fs';
import * as path from 'node:path';
import { constants as Z, gunzipSync } from 'node:zlib';
import { lineSeq } from '../log/codec.js';
import { type FsLayer, unsafe } from './fsio.js';
import { BASE_NAME, type BaseMeta, readBaseMeta } from './log-base.js';

/**
 * Closed parts of the log: `.state/log/<first>-<last>.jsonl.gz`, each the exact bytes the active
 * `transitions.jsonl` held when it was rotated (store/rotate.ts), gzip-compressed. This module lays
 * them and the active file out as one log (a "layout"); segmented-fs.ts serves that layout through
 * the FsLayer, so every reader reads segments then the active file as one file, with one crc chain,
 * one seq order and one byte offset space (the offsets current.json and snapshots hold do not move
 * when the log is rotated).
 */

/** Seqs are zero-padded to this many digits, so the names sort in seq order. */
export const SEQ_DIGITS = 12;
export const SEGMENT_NAME = /^(\d{12})-(\d{12})\.jsonl\.gz$/;
/** The largest segment cairn writes or reads (gzip's trailer holds the length modulo 2^32). */
export const MAX_SEGMENT_BYTES = 1024 * 1024 * 1024;

export function segmentName(first: number, last: number): string {
  return `${String(first).padStart(SEQ_DIGITS, '0')}-${String(last).padStart(SEQ_DIGITS, '0')}.jsonl.gz`;
}

/** The segment folder of the log at `logPath` (`<state>/log`). */
export function segmentDir(logPath: string): string {
  return path.join(path.dirname(logPath), 'log');
}

export interface Segment {
  name: string;
  path: string;
  first: number;
  last: number;
  /** Compressed size, inode and mtime: a segment is never rewritten, so these key the cache. */
  bytes: number;
  ino: number;
  mtimeMs: number;
}

/** Something wrong with the segments, at a logical byte offset of the log (what a reader reports). */
export interface SegmentDamage {
  name: string;
  offset: number;
  seq: number;
  reason: string;
}

/** One stretch of the log as readers see it: a segment's content, or the active file. */
export interface Piece {
  seg: Segment | null;
  start: number;
  length: number;
}

export interface Layout {
  pieces: Piece[];
  size: number;
  /** Logical offset of the active file's first byte. */
  activeStart: number;
  activeIno: number;
  /** Segments the active file repeats (an interrupted rotation, or a log rewritten whole): the active file wins. */
  superseded: Segment[];
  damage: SegmentDamage[];
  /** Old segments were moved out (log-base.ts): the log starts after this base, at its offset. */
  base: BaseMeta | null;
}

/** The segments in the folder, in seq order; [] when there is none (or no folder). Other names are ignored. */
export function listSegments(io: FsLayer, dir: string): Segment[] {
  return readLogDir(io, dir).segments;
}

/**
 * The segments (in seq order) and base files (newest first) of the folder, from one readdir: every
 * open of a log reads both, so a base costs no extra look at the folder.
 */
function readLogDir(io: FsLayer, dir: string): { segments: Segment[]; bases: string[] } {
  const st = io.lstatSync(dir);
  if (!st) return { segments: [], bases: [] };
  // MUST: a symlink (or a file) where log/ belongs is refused, like every folder of the state (DESIGN §8).
  if (!st.isDirectory() || st.isSymbolicLink()) throw unsafe(dir);
  const out: Segment[] = [];
  const bases: string[] = [];
  for (const name of io.readdirSync(dir)) {
    const m = SEGMENT_NAME.exec(name);
    if (!m) {
      if (BASE_NAME.test(name)) bases.push(name);
      continue;
    }
    const p = path.join(dir, name);
    const s = io.lstatSync(p);
    if (!s || !s.isFile()) continue;
    out.push({ name, path: p, first: Number(m[1]), last: Number(m[2]), bytes: s.size, ino: s.ino, mtimeMs: s.mtimeMs });
  }
  return { segments: out.sort((a, b) => a.first - b.first || a.last - b.last), bases: bases.sort().reverse() };
}

/**
 * Lays out the segments beside `logPath` and the active file as one log; null when there are no
 * segments (the active file is the whole log). Lengths come from each gzip trailer; a segment whose
 * trailer is not plausible is inflated at once. Damage found later, while reading, is added to
 * `damage` by segmented-fs.ts.
 */
export function layoutLog(io: FsLayer, logPath: string): Layout | null {
  const { segments: all, bases } = readLogDir(io, segmentDir(logPath));
  if (all.length === 0 && bases.length === 0) return null;
  const damage: SegmentDamage[] = [];
  const active = io.lstatSync(logPath);
  const first = active && active.size > 0 ? firstSeq(io, logPath) : -1;
  const base = pickBase(io, segmentDir(logPath), bases, all, first, damage);
  // MUST: segments a base covers are not read (a move killed before it removed them all leaves some).
  const segs = base ? all.filter((s) => s.first > base.seq) : all;
  const lengths = segs.map((s) => declaredLength(io, s, damage));
  let kept = segs.length;
  const last = segs[segs.length - 1];
  if (last && first > 0 && first <= last.last) {
    // MUST: where the active file and segments overlap, the active file wins. A rotation leaves them
    // identical (the segment is a copy of the active file, renamed in before the active file is emptied).
    const i = segs.findIndex((s) => s.first === first);
    if (i >= 0) kept = i;
  }
  const pieces: Piece[] = [];
  let at = base?.offset ?? 0;
  let expect = (base?.seq ?? 0) + 1;
  for (let i = 0; i < kept; i++) {
    const s = segs[i]!;
    if (s.first !== expect) damage.push({ name: s.name, offset: at, seq: expect, reason: gap(expect, s.first, `log/${s.name}`, base) });
    pieces.push({ seg: s, start: at, length: lengths[i]! });
    // Damage found while laying out (a segment that does not inflate whole) is where its content ends.
    for (const d of damage) if (d.offset < 0 && d.name === s.name) d.offset = at + lengths[i]!;
    at += lengths[i]!;
    expect = s.last + 1;
  }
  if (first > 0 && first !== expect) {
    damage.push({ name: 'transitions.jsonl', offset: at, seq: expect, reason: first < expect ? `transitions.jsonl starts at seq ${first}, inside the segments (which end at seq ${expect - 1}), and repeats none of them whole` : gap(expect, first, 'transitions.jsonl', base) });
  }
  pieces.push({ seg: null, start: at, length: active?.size ?? 0 });
  // A superseded segment's damage does not matter to readers: the active file holds its records.
  const live = damage.filter((d) => d.offset >= 0);
  return { pieces, size: at + (active?.size ?? 0), activeStart: at, activeIno: active?.ino ?? 0, superseded: segs.slice(kept), damage: live, base };
}

/**
 * The base the log starts from: none while the log reads whole from seq 1 up to the newest base
 * (every segment copied back, or the log rewritten whole into transitions.jsonl), else the newest
 * readable base. An unreadable base is damage: never skipped silently.
 */
function pickBase(io: FsLayer, dir: string, bases: string[], segs: Segment[], first: number, damage: SegmentDamage[]): BaseMeta | null {
  if (bases.length === 0 || first === 1) return null;
  let newest: BaseMeta | null = null;
  for (const name of bases) {
    const m = readBaseMeta(io, dir, name);
    if (typeof m !== 'string') {
      newest = m;
      break;
    }
    damage.push({ name, offset: 0, seq: Number(BASE_SEQ.exec(name)?.[1] ?? 0), reason: m });
  }
  if (!newest) return null;
  let expect = 1;
  for (const s of segs) {
    if (s.first !== expect) break;
    expect = s.last + 1;
  }
  return expect > newest.seq ? null : newest;
}
const BASE_SEQ = /^base-(\d+)/;

function gap(expect: number, first: number, where: string, base: BaseMeta | null): string {
  if (base && expect === base.seq + 1) {
    return `the log does not follow its base log/${base.file} (at seq ${base.seq}): seq ${expect}-${first - 1} are missing (${where} starts at seq ${first})`;
  }
  return expect === 1 && first > 1
    ? `the log starts at seq ${first} (${where}): the segment(s) holding seq 1-${first - 1} are missing from log/`
    : `seq ${expect}-${first - 1} are missing: no segment in log/ holds them (${where} starts at seq ${first})`;
}

/** The length gzip's trailer states, when it is plausible; otherwise the segment is inflated now. */
function declaredLength(io: FsLayer, s: Segment, damage: SegmentDamage[]): number {
  if (s.bytes >= 20) {
    const head = readAt(io, s.path, 0, 3);
    const tail = readAt(io, s.path, s.bytes - 4, 4);
    const n = tail.length === 4 ? tail.readUInt32LE(0) : 0;
    // Deflate never shrinks data by more than about 1032:1.
    if (head[0] === 0x1f && head[1] === 0x8b && head[2] === 8 && n > 0 && n <= MAX_SEGMENT_BYTES && n <= s.bytes * 1100) return n;
  }
  const got = inflate(io, s);
  damage.push({ name: s.name, offset: -1, seq: s.first, reason: got.error ?? 'not a gzip file' });
  return got.data.length;
}

function readAt(io: FsLayer, file: string, pos: number, len: number): Buffer {
  const buf = Buffer.alloc(len);
  const fd = io.openSync(file, C.O_RDONLY | C.O_NOFOLLOW);
  try {
    const n = io.readSync(fd, buf, 0, len, pos);
    return buf.subarray(0, Math.max(0, n));
  } finally {
    io.closeSync(fd);
  }
}

/** The seq of the active file's first line (-1 when it does not start with a record). */
function firstSeq(io: FsLayer, file: string): number {
  const buf = readAt(io, file, 0, 64);
  return lineSeq(buf, 0, buf.length);
}

interface Inflated { data: Buffer; error: string | null }
const cache = new Map<string, Inflated>();
/** Readers go forward through the log (and a little back): two inflated segments are enough. */
const CACHE_ENTRIES = 2;

/**
 * A segment's content. A damaged one (a flipped byte, a cut-off file) gives the longest prefix that
 * inflates and says why the rest is lost; gzip's own crc and length check catch every change.
 */
export function inflate(io: FsLayer, s: Segment): Inflated {
  const key = `${s.path}\0${s.ino}\0${s.bytes}\0${s.mtimeMs}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const gz = readAt(io, s.path, 0, s.bytes);
  let got: Inflated;
  try {
    got = { data: gunzipSync(gz, { maxOutputLength: MAX_SEGMENT_BYTES }), error: null };
    if (got.data.length > 0 && got.data[got.data.length - 1] !== 0x0a) got = { data: got.data, error: 'it does not end with a whole record' };
  } catch (e) {
    got = { data: longestPrefix(gz), error: `log/${s.name} is damaged (${(e as Error).message}): the records after its first ${'{n}'} bytes cannot be read` };
    got.error = got.error!.replace('{n}', String(got.data.length));
  }
  if (cache.size >= CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
  cache.set(key, got);
  return got;
}

/** The most a damaged gzip file gives: inflate ever shorter prefixes until one does not fail. */
function longestPrefix(gz: Buffer): Buffer {
  let lo = 0;
  let hi = gz.length;
  let best = Buffer.alloc(0);
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    try {
      const out = gunzipSync(gz.subarray(0, mid), { finishFlush: Z.Z_SYNC_FLUSH, maxOutputLength: MAX_SEGMENT_BYTES });
      if (out.length >= best.length) best = out;
      lo = mid + 1;
    } catch {
      hi = mid - 1;
    }
  }
  return best;
}

/**
 * After the log was rewritten whole into transitions.jsonl (restore-state --from-transitions,
 * repair-state), its old segments are removed: the new active file starts at seq 1 and wins over
 * them anyway (a kill before this step reads the same), and their records are kept by the rewrite
 * (transitions.jsonl.replaced-<ts>, or repair's full copy). Returns how many were removed.
 */
export function dropSegments(io: FsLayer, dir: string): number {
  const segs = listSegments(io, dir);
  for (const s of segs) io.unlinkSync(s.path);
  if (segs.length > 0) fsyncDirOf(io, dir);
  return segs.length;
}

function fsyncDirOf(io: FsLayer, dir: string): void {
  const fd = io.openSync(dir, C.O_RDONLY | C.O_DIRECTORY);
  try {
    io.fsyncSync(fd);
  } finally {
    io.closeSync(fd);
  }
}
