import { gzipSync, gunzipSync } from 'node:zlib';
import { lineSeq } from '../log/codec.js';
import { atomicWrite, prepareAtomic } from './atomic.js';
import { DIR_MODE, FLAGS, type FsLayer, fsyncDir, ioError } from './fsio.js';
import type { LogPosition } from './logfile.js';
import type { StatePaths } from './paths.js';
import { inflate, listSegments, segmentName } from './segments.js';

/**
 * Log rotation: the active transitions.jsonl is closed into `log/<first>-<last>.jsonl.gz` and an
 * empty transitions.jsonl continues the crc chain (its first record chains on the segment's last).
 * Done by the committer, under the state lock, right after a commit that took the log past
 * `log_segment_bytes`; no offset moves (segmented-fs.ts reads segments then the active file as one file).
 *
 * MUST, in this order, so a kill between any two steps loses nothing and every reader reads the
 * same log:
 *   1. the segment is written to a temp name in log/ and fsynced (a kill leaves a temp file, which
 *      no reader looks at and the next start removes);
 *   2. renamed to its name and log/ fsynced (a kill leaves the segment and the active file holding
 *      the same records: where they overlap the active file wins, and they are identical);
 *   3. an empty transitions.jsonl replaces the active one (temp, fsync, rename, folder fsync).
 * The next rotation finishes one a kill interrupted after step 2.
 */

/** For the crash tests: `CAIRN_ROTATE_CRASH_AT=<step>` kills the process (SIGKILL) right after that step. */
export const ROTATE_STEPS = ['segment-written', 'segment-renamed', 'active-emptied'] as const;
type Step = (typeof ROTATE_STEPS)[number];

function reached(step: Step): void {
  if (process.env.CAIRN_ROTATE_CRASH_AT === step) process.kill(process.pid, 'SIGKILL');
}

export interface Rotated {
  /** The segment written (null: an interrupted rotation was finished without a new one). */
  segment: string | null;
  first: number;
  last: number;
}

/**
 * Rotates the log that ends at `end`, whose active file starts at logical byte `activeStart`.
 * Returns null (and changes nothing) when the active file holds no whole record, or repeats a
 * segment it disagrees with (validate-state reports that; rotation waits for repair-state).
 */
export function rotateLog(io: FsLayer, paths: StatePaths, activeStart: number, end: LogPosition): Rotated | null {
  const content = readRange(io, paths.log, activeStart, end.offset);
  if (content.length === 0) return null;
  const first = lineSeq(content, 0, Math.max(0, content.indexOf(10)));
  if (first < 1) return null;
  // An earlier rotation killed after its rename: the segment(s) the active file repeats.
  const repeated = listSegments(io, paths.segments).filter((s) => s.first >= first);
  let skip = 0;
  let from = first;
  for (const s of repeated) {
    const got = inflate(io, s);
    if (got.error || !content.subarray(skip, skip + got.data.length).equals(got.data)) return null;
    skip += got.data.length;
    from = s.last + 1;
  }
  const rest = content.subarray(skip);
  let segment: string | null = null;
  if (rest.length > 0) {
    segment = segmentName(from, end.seq);
    const gz = gzipSync(rest);
    // A segment is the only copy once the active file is emptied: check it before it counts.
    if (!gunzipSync(gz).equals(rest)) throw ioError('rotate', 'the compressed segment does not read back as the log', undefined);
    ensureDir(io, paths);
    const next = prepareAtomic(io, `${paths.segments}/${segment}`, gz);
    reached('segment-written');
    next.commit();
    reached('segment-renamed');
  }
  atomicWrite(io, paths.log, Buffer.alloc(0));
  reached('active-emptied');
  return { segment, first: from, last: end.seq };
}

function ensureDir(io: FsLayer, paths: StatePaths): void {
  if (io.lstatSync(paths.segments)) return;
  io.mkdirSync(paths.segments, DIR_MODE);
  fsyncDir(io, paths.root);
}

/** Bytes [from, to) of the log as readers see it (the active file's, here). */
function readRange(io: FsLayer, file: string, from: number, to: number): Buffer {
  const buf = Buffer.alloc(Math.max(0, to - from));
  const fd = io.openSync(file, FLAGS.read);
  try {
    let got = 0;
    while (got < buf.length) {
      const n = io.readSync(fd, buf, got, buf.length - got, from + got);
      if (n <= 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } finally {
    io.closeSync(fd);
  }
}
