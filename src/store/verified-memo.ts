import { crc32 } from 'node:zlib';
import { crcHex, lineSeq, parseCrcHex, verifyLine } from '../log/codec.js';
import { atomicWrite, volatileReplace } from './atomic.js';
import { FLAGS, type FsLayer, readWhole } from './fsio.js';
import type { LogPosition } from './logfile.js';
import type { StatePaths } from './paths.js';

/**
 * log-verified.json: how far a command has already checked the log's crc chain, so a read-only
 * command checks only what was appended since (issue 15). A runtime file (git-ignored, never
 * committed): it names the log file by device and inode, so a copy, a clone or a log replaced by
 * rename is never trusted through it.
 *
 * MUST, for a reader to skip the prefix: the memo's own crc matches its content (a hand edit is not
 * trusted); the log is the same file (device, inode) and not shorter than the memo's offset; and the
 * record that ends at that offset is still intact, chained on the memo's `prev_crc`, with the memo's
 * seq and crc (a log cut and rewritten in place does not have it). Anything else, a missing or
 * garbled memo included, means: check the whole log. validate-state never reads the memo.
 */
export interface VerifiedMemo {
  dev: number;
  ino: number;
  offset: number;
  seq: number;
  crc: number;
  prevCrc: number;
}

/** A log shorter than this keeps no memo: it is cheap to check whole. */
export const MEMO_MIN_BYTES = 64 * 1024;

/** The memo's text: compact JSON whose last field is a crc of everything before it. */
export function encodeMemo(m: VerifiedMemo): string {
  const body = `{"dev":${m.dev},"ino":${m.ino},"offset":${m.offset},"seq":${m.seq},"crc":"${crcHex(m.crc)}","prev_crc":"${crcHex(m.prevCrc)}"`;
  return `${body},"memo_crc":"${crcHex(crc32(body))}"}\n`;
}

/** The memo in `text`, or null when it is garbled, edited or of another shape. */
export function decodeMemo(text: string): VerifiedMemo | null {
  const m = /^(\{"dev":(\d+),"ino":(\d+),"offset":(\d+),"seq":(\d+),"crc":"([0-9a-f]{8})","prev_crc":"([0-9a-f]{8})"),"memo_crc":"([0-9a-f]{8})"\}\n?$/.exec(text);
  if (!m || crcHex(crc32(m[1]!)) !== m[8]) return null;
  const n = [m[2], m[3], m[4], m[5]].map(Number);
  if (!n.every(Number.isSafeInteger) || n[2]! <= 0 || n[3]! <= 0) return null;
  return { dev: n[0]!, ino: n[1]!, offset: n[2]!, seq: n[3]!, crc: parseCrcHex(m[6]!), prevCrc: parseCrcHex(m[7]!) };
}

/**
 * Where a reader may start checking the log: the memo's position when every MUST above holds, else
 * null (check from the start). Never throws: a memo that cannot be read is no memo.
 */
export function trustedStart(io: FsLayer, paths: StatePaths): (LogPosition & { prevCrc: number }) | null {
  let memo: VerifiedMemo | null;
  try {
    const buf = readWhole(io, paths.verifiedMemo, 4096);
    memo = buf === undefined ? null : decodeMemo(buf.toString('latin1'));
  } catch {
    return null;
  }
  if (!memo) return null;
  let fd: number;
  try {
    fd = io.openSync(paths.log, FLAGS.read);
  } catch {
    return null;
  }
  try {
    // A rotated log is read across its segments: its offsets are not the active file's (no memo).
    if (io.logLayout?.(fd)) return null;
    const st = io.fstatSync(fd);
    if (st.dev !== memo.dev || st.ino !== memo.ino || st.size < memo.offset) return null;
    return lastRecordIntact(io, fd, memo) ? { offset: memo.offset, seq: memo.seq, crc: memo.crc, prevCrc: memo.prevCrc } : null;
  } catch {
    return null;
  } finally {
    io.closeSync(fd);
  }
}

/** Whether the line that ends at the memo's offset is the record it names, intact and chained on prev_crc. */
function lastRecordIntact(io: FsLayer, fd: number, memo: VerifiedMemo): boolean {
  for (let want = 64 * 1024; ; want *= 4) {
    const from = Math.max(0, memo.offset - want);
    const buf = Buffer.allocUnsafe(memo.offset - from);
    let got = 0;
    while (got < buf.length) {
      const n = io.readSync(fd, buf, got, buf.length - got, from + got);
      if (n === 0) return false;
      got += n;
    }
    if (buf[buf.length - 1] !== 0x0a) return false;
    const nl = buf.lastIndexOf(0x0a, buf.length - 2);
    if (nl < 0 && from > 0) {
      if (want >= 64 * 1024 * 1024) return false; // longer than any record cairn writes
      continue;
    }
    const start = nl + 1;
    const end = buf.length - 1;
    return verifyLine(buf, start, end, memo.prevCrc) === memo.crc && lineSeq(buf, start, end) === memo.seq;
  }
}

/**
 * Records that the log (inode `ino`, as scanned) is verified up to `end`, whose last record chained on
 * `prevCrc`. Called by a writer when it writes current.json (store.ts writeDerived): the state changes
 * then anyway, so a read-only or refused command never writes it. A wrong `prevCrc` only makes the
 * memo fail its own check (a full check next time), never trusted. Replaced atomically without fsync
 * (volatileReplace): a memo lost by a crash is ignored. Never
 * throws: a folder the user may only read keeps no memo, and costs a full check each time.
 */
export function rememberVerified(io: FsLayer, paths: StatePaths, ino: number, end: LogPosition, prevCrc: number): void {
  try {
    const lfd = io.openSync(paths.log, FLAGS.read);
    let st;
    try {
      if (io.logLayout?.(lfd)) return;
      st = io.fstatSync(lfd);
    } finally {
      io.closeSync(lfd);
    }
    // Replaced by rename since it was read: what was verified was another file.
    if (st.ino !== ino || st.size < end.offset) return;
    if (!io.lstatSync(paths.verifiedMemo)) ignoreMemo(io, paths);
    volatileReplace(io, paths.verifiedMemo, encodeMemo({ dev: st.dev, ino: st.ino, offset: end.offset, seq: end.seq, crc: end.crc, prevCrc }));
  } catch {
    /* no memo: the next read-only command checks the whole log */
  }
}

/**
 * Adds log-verified.json to a .gitignore written before it existed (as repair-state adds
 * repair-copies/), so a folder committed to git does not pick up a file that changes with every
 * command. A folder without a .gitignore is left as its owner made it.
 */
function ignoreMemo(io: FsLayer, paths: StatePaths): void {
  const text = readWhole(io, paths.gitignore)?.toString('utf8');
  if (text === undefined || text.split('\n').some((l) => l.trim() === 'log-verified.json' || l.trim() === '/log-verified.json')) return;
  atomicWrite(io, paths.gitignore, `${text}${text.endsWith('\n') || text === '' ? '' : '\n'}log-verified.json\n`);
}
