import { crc32 } from 'node:zlib';
import { lineBatch, lineSeq, statedCrc, verifyLine } from '../log/codec.js';
import { fdatasyncOf, FILE_MODE, FLAGS, type FsLayer, ioError, realFs, unsafe, writeAll } from './fsio.js';
import { hasConflictMarkers } from '../history/merged-log.js';
import { scanAheadWorthIt, scanAheadYield, startAhead } from './scan-ahead.js';
import { historyGone } from './log-base.js';
import { segmentDir } from './segments.js';

/** Where a reader or writer stands in the log: the byte offset after the last good record, its seq and crc. */
export interface LogPosition {
  offset: number;
  seq: number;
  crc: number;
}

export const LOG_START: LogPosition = { offset: 0, seq: 0, crc: 0 };

/**
 * What is wrong at the end of the good part of the log.
 * - torn: from `offset` on nothing valid follows (a write cut short, garbage at the end): safe to set aside.
 * - corrupt: a bad record at `offset` with valid records after it: refuse to write.
 * - incomplete: a final line without its newline; under the state lock that is torn, without it a
 *   writer may be in the middle of its write, so a reader just stops there.
 */
export type LogProblem =
  | { kind: 'torn'; offset: number; bytes: number; seq: number; reason: string }
  | { kind: 'incomplete'; offset: number; bytes: number; seq: number; reason: string }
  | { kind: 'corrupt'; offset: number; seq: number; reason: string; merge?: true; segment?: string };

export interface ScanResult {
  end: LogPosition;
  size: number;
  /** Inode of the file read (0 when there is none): a log replaced by rename has another. */
  ino?: number;
  records: number;
  problem: LogProblem | null;
  /** How many of the records were checked by the second thread of a long scan (see scan-ahead.ts). */
  ahead?: number;
  /** A rotated log: the logical offset where the active file starts (segmented-fs.ts). */
  base?: number;
}

/**
 * Called for every good record in order; `start`/`end` delimit the line (no newline) in `buf`.
 * `form`, from a long scan's second thread, is the line's replay form (log/codec.ts verifiedForm).
 */
export type LineVisitor = (buf: Buffer, start: number, end: number, seq: number, crc: number, offset: number, form?: number) => void;

const CHUNK = 4 * 1024 * 1024;
const YIELD_EVERY = 64;
/** A line longer than this is not a record cairn wrote; it is treated as damage. */
export const MAX_LINE = 64 * 1024 * 1024;

/**
 * Reads the log from `from` to its end, checking every record's crc chain and seq, and calls
 * `visit` for each good one. Reads in fixed chunks, so memory does not grow with the log.
 */
export function scanLog(io: FsLayer, path: string, from: LogPosition, visit?: LineVisitor): ScanResult {
  return scanOpen(io, path, from, (fd) => scanLogFd(io, fd, path, from, visit));
}

/**
 * Opens the log (across its segments, see segmented-fs.ts) and runs `scan` on it. MUST: a problem
 * inside the segments, or where one is missing, is never a torn tail to cut off: it is corruption,
 * named after the segment, so nothing writes and validate-state and repair-state name it.
 */
function scanOpen<R extends ScanResult>(io: FsLayer, path: string, from: LogPosition, scan: (fd: number) => R): R {
  let fd: number;
  try {
    fd = io.openSync(path, FLAGS.read);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { end: from, size: 0, records: 0, problem: null, ino: 0, more: false } as unknown as R;
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw unsafe(path);
    throw e;
  }
  try {
    const layout = io.logLayout?.(fd);
    // MUST: a reader never starts before the base (the records there were moved out): it says so.
    if (layout?.base && from.offset < layout.base.offset) throw historyGone(layout.base, segmentDir(path));
    const r = scan(fd);
    if (!layout) return r;
    r.base = layout.activeStart;
    const p = r.problem;
    if (p && layout.base && p.offset === layout.base.offset && p.kind !== 'incomplete' && !p.reason.startsWith('the log ends inside')) {
      // The first record after the base does not chain on it: records are missing, not a torn tail to cut.
      r.problem = { kind: 'corrupt', offset: p.offset, seq: p.seq, reason: `the log does not follow its base log/${layout.base.file} (seq ${layout.base.seq}, crc ${layout.base.crc}): ${p.reason}`, segment: layout.base.file };
      return r;
    }
    if (p && (p.offset < layout.activeStart || layout.damage.some((d) => d.offset <= p.offset))) {
      const d = [...layout.damage].reverse().find((x) => x.offset <= p.offset) ?? layout.damage[0];
      const where = d ? d.reason : `in a closed segment (log/), before byte ${layout.activeStart}`;
      r.problem = { kind: 'corrupt', offset: p.offset, seq: p.seq, reason: `${where}; ${p.reason}`, segment: d?.name ?? 'log/' };
    }
    return r;
  } finally {
    io.closeSync(fd);
  }
}

function scanLogFd(io: FsLayer, fd: number, path: string, from: LogPosition, visit?: LineVisitor): ScanResult {
  const st = io.fstatSync(fd);
  const ino = st.ino;
  let start = from;
  let ahead = 0;
  let records = 0;
  // A long scan with a visitor (a replay) checks the chain on a second thread; never through a
  // test's FsLayer, whose files that thread could not see.
  // The thread reads the file by its name: not a rotated log, whose segments it cannot see.
  const reader = visit && io === realFs && !io.logLayout?.(fd) && scanAheadWorthIt(st.size - from.offset) ? startAhead(path, st, from, st.size) : null;
  if (visit && reader) {
    // While the thread starts, this one scans on its own, up to a decision boundary.
    let head: ScanResult & { yielded?: true };
    try {
      head = scanFd(io, fd, from, visit, (n) => scanAheadYield(n, reader));
    } catch (e) {
      reader.stop();
      throw e;
    }
    if (!head.yielded) {
      reader.stop();
      return { ...head, ino, ahead: 0 };
    }
    const got = reader.consume(head.end, visit);
    records = head.records + got.records;
    ahead = got.records;
    if (got.complete) return { end: got.pos, size: st.size, records, problem: null, ino, ahead };
    start = got.pos;
  }
  const rest = scanFd(io, fd, start, visit);
  return { ...rest, records: rest.records + records, ino, ahead };
}

/**
 * Like scanLog from `from`, on this thread only, but stops at the first decision boundary after
 * `maxRecords` records (`more`: the log goes on after `end`). A reader that streams a log of any
 * size reads it in such slices and gives the event loop a turn between them.
 */
export function scanLogSlice(io: FsLayer, path: string, from: LogPosition, maxRecords: number, visit: LineVisitor): ScanResult & { more: boolean } {
  return scanOpen(io, path, from, (fd) => {
    const r = scanFd(io, fd, from, visit, (n) => n >= maxRecords);
    return { end: r.end, size: r.size, records: r.records, problem: r.problem, ino: io.fstatSync(fd).ino, more: r.yielded === true } as ScanResult & { more: boolean };
  });
}

/**
 * The one-thread scan. With `yieldAt`, it asks every YIELD_EVERY records, at a decision boundary,
 * whether to stop there (a long scan's second thread is ready) and then returns `yielded`.
 */
function scanFd(io: FsLayer, fd: number, from: LogPosition, visit?: LineVisitor, yieldAt?: (records: number) => boolean): ScanResult & { yielded?: true } {
  const size = io.fstatSync(fd).size;
  let buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(1024, size - from.offset)));
  let bufStart = from.offset; // file offset of buf[0]
  let filled = 0;
  let pos = from;
  let records = 0;
  let eof = from.offset >= size;
  let filePos = from.offset;
  let batch: { start: LogPosition; need: number; lines: { line: Buffer; seq: number; crc: number; offset: number }[] } | null = null;

  const fill = (): void => {
    if (eof) return;
    if (filled === buf.length) {
      if (buf.length >= MAX_LINE) return;
      const bigger = Buffer.allocUnsafe(Math.min(MAX_LINE, buf.length * 2));
      buf.copy(bigger, 0, 0, filled);
      buf = bigger;
    }
    const n = io.readSync(fd, buf, filled, buf.length - filled, filePos);
    if (n <= 0) eof = true;
    filled += n;
    filePos += n;
    if (filePos >= size) eof = true;
  };

  if (yieldAt?.(0)) return { end: from, size, records: 0, problem: null, yielded: true };
  let sinceAsked = 0;
  fill();
  let lineStart = 0;
  for (;;) {
    const nl = buf.indexOf(10, lineStart);
    if (nl < 0 || nl >= filled) {
      // No complete line left in the buffer: move the remainder to the front and read more.
      if (eof || (filled - lineStart >= MAX_LINE)) {
        const rest = filled - lineStart;
        if (batch) return { end: batch.start, size, records: records - batch.lines.length, problem: unfinished(batch.start, size) };
        if (rest === 0) return { end: pos, size, records, problem: null };
        if (rest >= MAX_LINE) {
          return { end: pos, size, records, problem: classify(io, fd, pos, size, 'a line longer than 64 MiB') };
        }
        return { end: pos, size, records, problem: { kind: 'incomplete', offset: pos.offset, bytes: size - pos.offset, seq: pos.seq + 1, reason: 'the last line has no newline' } };
      }
      buf.copy(buf, 0, lineStart, filled);
      bufStart += lineStart;
      filled -= lineStart;
      lineStart = 0;
      fill();
      continue;
    }
    const seq = lineSeq(buf, lineStart, nl);
    const crc = seq === pos.seq + 1 ? verifyLine(buf, lineStart, nl, pos.crc) : -1;
    if (crc < 0) {
      const reason = seq < 0 ? 'not a record' : seq !== pos.seq + 1 ? `seq ${seq} where ${pos.seq + 1} was expected` : 'checksum mismatch';
      const problem = classify(io, fd, pos, size, reason);
      // Inside an open decision a torn tail starts at the decision's first record; corruption stays corruption.
      return { end: batch ? batch.start : pos, size, records: records - (batch?.lines.length ?? 0), problem: batch && problem.kind !== 'corrupt' ? unfinished(batch.start, size) : problem };
    }
    const next: LogPosition = { offset: bufStart + nl + 1, seq, crc };
    const n = lineBatch(buf, lineStart, nl);
    if (n > 1 && batch) {
      return { end: batch.start, size, records: records - batch.lines.length, problem: { kind: 'corrupt', offset: next.offset - (nl + 1 - lineStart), seq, reason: `a decision opened at seq ${batch.start.seq + 1} ends before its ${batch.need} records` } };
    }
    if (n > 1) batch = { start: pos, need: n, lines: [] };
    if (batch) {
      // Held back until the whole decision is there: a half-written decision is never applied.
      batch.lines.push({ line: Buffer.from(buf.subarray(lineStart, nl)), seq, crc, offset: bufStart + lineStart });
      if (batch.lines.length === batch.need) {
        for (const l of batch.lines) visit?.(l.line, 0, l.line.length, l.seq, l.crc, l.offset);
        batch = null;
      }
    } else visit?.(buf, lineStart, nl, seq, crc, bufStart + lineStart);
    records++;
    pos = next;
    lineStart = nl + 1;
    if (yieldAt && batch === null && ++sinceAsked >= YIELD_EVERY) {
      sinceAsked = 0;
      if (yieldAt(records)) return { end: pos, size, records, problem: null, yielded: true };
    }
  }
}

/** The log ends inside a decision: from its first record on, everything is a torn tail. */
function unfinished(start: LogPosition, size: number): LogProblem {
  return { kind: 'torn', offset: start.offset, bytes: size - start.offset, seq: start.seq + 1, reason: `the log ends inside a decision that began at seq ${start.seq + 1}` };
}

/**
 * A bad record at `pos.offset`: it is mid-log corruption if any later record is intact and chained
 * on the bytes just before it — on the crc they state, or (for the first record after the bad one)
 * on the crc the bad record's body hashes to, since a flipped bit in a crc field or in a newline
 * leaves the records around it intact; otherwise everything from here is a torn tail.
 */
function classify(io: FsLayer, fd: number, pos: LogPosition, size: number, reason: string): LogProblem {
  const rest = size - pos.offset;
  const limit = Math.min(rest, 256 * 1024 * 1024);
  const buf = Buffer.allocUnsafe(limit);
  let got = 0;
  while (got < limit) {
    const n = io.readSync(fd, buf, got, limit - got, pos.offset + got);
    if (n <= 0) break;
    got += n;
  }
  const data = buf.subarray(0, got);
  // MUST: a log git merged line by line is never a torn tail to cut off: the other branch's
  // records are after the markers. It is corruption (nothing writes), named as a merge.
  const merged = mergeSign(data, pos.seq, goodTail(io, fd, pos.offset));
  if (merged) return { kind: 'corrupt', offset: pos.offset, seq: pos.seq + 1, reason: merged, merge: true };
  let firstAfter = true;
  // A record may start at a line start, or right after a newline that was itself damaged.
  for (let p = data.indexOf(RECORD_START, 1); p > 0; p = data.indexOf(RECORD_START, p + 1)) {
    const nl = data.indexOf(10, p);
    if (nl < 0) break;
    if (lineSeq(data, p, nl) <= pos.seq) continue;
    const stated = statedCrc(data, 0, p - 1);
    if (stated >= 0 && verifyLine(data, p, nl, stated) >= 0) return { kind: 'corrupt', offset: pos.offset, seq: pos.seq + 1, reason };
    if (firstAfter && p - 1 > CRC_SUFFIX_LEN) {
      const body = crc32(CLOSE, crc32(data.subarray(0, p - 1 - CRC_SUFFIX_LEN), pos.crc));
      if (verifyLine(data, p, nl, body) >= 0) return { kind: 'corrupt', offset: pos.offset, seq: pos.seq + 1, reason };
    }
    firstAfter = false;
  }
  return { kind: 'torn', offset: pos.offset, bytes: rest, seq: pos.seq + 1, reason };
}

/**
 * Why the bad stretch `data` (from the first bad line on) looks like two branches merged line by
 * line: a conflict marker at a line start, or a record whose seq the good part already has (the
 * other branch's records after ours, or interleaved with them). null when it does not.
 */
function mergeSign(data: Buffer, goodSeq: number, before: Buffer): string | null {
  if (hasConflictMarkers(data)) return 'git conflict markers (<<<<<<< ======= >>>>>>>): the log was merged line by line, without the cairn merge driver';
  const nl = data.indexOf(10);
  const end = nl < 0 ? data.length : nl;
  const seq = lineSeq(data, 0, end);
  if (seq < 1 || seq > goodSeq) return null;
  // A second copy of the last good record is a repeated write (salvage drops it), not a branch.
  const lastStart = before.lastIndexOf(10, before.length - 2) + 1;
  if (data.subarray(0, end).equals(before.subarray(lastStart, Math.max(lastStart, before.length - 1)))) return null;
  // Another branch's record chains on a record the good part has (a damaged seq digit does not).
  if (seq === 1) return verifyLine(data, 0, end, 0) >= 0 ? twice(seq) : null;
  for (let p = 0; p < before.length;) {
    let e = before.indexOf(10, p);
    if (e < 0) e = before.length;
    if (lineSeq(before, p, e) === seq - 1) {
      const c = statedCrc(before, p, e);
      if (c >= 0 && verifyLine(data, 0, end, c) >= 0) return twice(seq);
    }
    p = e + 1;
  }
  return null;
}

function twice(seq: number): string {
  return `seq ${seq} appears twice: the records of two branches were put together line by line, without the cairn merge driver`;
}

/** Up to MAX_PREV bytes of the log before `offset` (the end of the good part), from a line start. */
function goodTail(io: FsLayer, fd: number, offset: number): Buffer {
  const n = Math.min(offset, MAX_PREV);
  if (n <= 1) return Buffer.alloc(0);
  const b = Buffer.allocUnsafe(n);
  const got = io.readSync(fd, b, 0, n, offset - n);
  const body = b.subarray(0, got);
  return n === offset ? body : body.subarray(body.indexOf(10) + 1);
}
const MAX_PREV = 1024 * 1024;

/** How every record line starts, and the length of its `,"crc":"xxxxxxxx"}` ending (see log/codec.ts). */
const RECORD_START = Buffer.from('{"seq":');
const CRC_SUFFIX_LEN = 18;
const CLOSE = Buffer.from('}');

/**
 * The log's append side. MUST: one `write` of the whole batch on an O_APPEND descriptor, then
 * `fdatasync`, and only then may the caller report success. A failed write is cut back off the
 * file; after a failed fdatasync the writer refuses all further appends (the kernel may have
 * dropped the dirty pages: retrying the sync would lie).
 */
export class LogWriter {
  private fd: number;
  private poisoned: Error | null = null;

  constructor(private readonly io: FsLayer, readonly path: string) {
    this.fd = io.openSync(path, FLAGS.appendLog, FILE_MODE);
    io.fchmodSync(this.fd, FILE_MODE);
  }

  /**
   * Appends `data` at byte `offset` (the current end) and resolves once it is durable. The write is
   * made at once; the sync may run off the event loop, so the caller MUST NOT treat the records as
   * committed (apply them, report them) before this resolves.
   */
  async append(data: Buffer, offset: number): Promise<void> {
    if (this.poisoned) throw ioError('append', `an earlier sync of the log failed: ${this.poisoned.message}; reopen the state`, this.poisoned);
    try {
      writeAll(this.io, this.fd, data);
    } catch (e) {
      try {
        this.io.ftruncateSync(this.fd, offset);
      } catch (t) {
        this.poisoned = t as Error;
      }
      throw ioError('append', 'the records could not be written to the log; nothing was committed', e);
    }
    try {
      await fdatasyncOf(this.io, this.fd);
    } catch (e) {
      this.poisoned = e as Error;
      throw ioError('fdatasync', 'the log could not be synced; the records are not reported as committed', e);
    }
  }

  /** Cuts the log back to `offset` and syncs (used to remove a torn tail under the lock). */
  truncate(offset: number): void {
    try {
      this.io.ftruncateSync(this.fd, offset);
      this.io.fsyncSync(this.fd);
    } catch (e) {
      throw ioError('truncate', `could not cut the log back to byte ${offset}`, e);
    }
  }

  size(): number {
    return this.io.fstatSync(this.fd).size;
  }

  ino(): number {
    return this.io.fstatSync(this.fd).ino;
  }

  close(): void {
    try { this.io.closeSync(this.fd); } catch { /* closing twice is harmless */ }
    this.fd = -1;
  }
}
