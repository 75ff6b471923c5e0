import { CairnError } from '../errors.js';
import { lineBatch } from '../log/codec.js';
import type { FsLayer } from './fsio.js';
import { corruptError } from './load.js';
import { LOG_START, type LogPosition, scanLogSlice } from './logfile.js';
import { historyGone, logStart, startOf } from './log-base.js';
import { segmentDir } from './segments.js';

/** The end of one decision in a log: the state there is a replay of everything before `offset`. */
export interface LogPoint extends LogPosition {
  /** ts of that decision (null at seq 0, before the first record). */
  ts: string | null;
}

/** The seq and time range of a log, for messages that say what exists. */
export interface LogRange {
  first: { seq: number; ts: string } | null;
  last: { seq: number; ts: string } | null;
}

const TS_KEY = Buffer.from(',"ts":"');
const SLICE = 4096;

/** The ts of a record line, read from its bytes (the codec writes it third, as `,"ts":"…"`). */
export function lineTs(buf: Buffer, start: number, end: number): string {
  const at = buf.indexOf(TS_KEY, start);
  if (at < 0 || at >= end) return '';
  const from = at + TS_KEY.length;
  const to = buf.indexOf(0x22, from);
  return to < 0 || to > end ? '' : buf.toString('latin1', from, to);
}

/**
 * Walks the decisions of the log at `file` from `from`, calling `stop(point)` at the end of each;
 * stops reading (within a slice) once it returns true. Damage in the middle of the log is LOG_CORRUPT:
 * history is read from a log that is whole, never guessed past a bad record.
 */
export function walkDecisions(io: FsLayer, file: string, from: LogPosition, stop: (p: LogPoint) => boolean, slice = SLICE): LogPoint {
  let done = false;
  let left = 0;
  let ts = '';
  let last: LogPoint = { ...from, ts: null };
  let pos = from;
  for (;;) {
    const r = scanLogSlice(io, file, pos, slice, (buf, start, end, seq, crc, offset) => {
      if (done) return;
      if (left === 0) {
        const b = lineBatch(buf, start, end);
        left = b > 1 ? b : 1;
        ts = lineTs(buf, start, end);
      }
      if (--left > 0) return;
      last = { offset: offset + (end - start) + 1, seq, crc, ts };
      if (stop(last)) done = true;
    });
    if (r.problem?.kind === 'corrupt') throw corruptError(r.problem);
    pos = r.end;
    if (done || !r.more) return last;
  }
}

/** First and last record of the log (a full read of the log: only for error messages). */
export function logRange(io: FsLayer, file: string): LogRange {
  let first: LogRange['first'] = null;
  const last = walkDecisions(io, file, startOf(io, file), (p) => {
    first ??= { seq: p.seq, ts: p.ts ?? '' };
    return false;
  });
  return { first, last: last.seq > 0 ? { seq: last.seq, ts: last.ts ?? '' } : null };
}

export function describeRange(r: LogRange): string {
  if (!r.last || !r.first) return 'the log is empty (no records yet)';
  return `the log holds seq 1 to ${r.last.seq}, from ${r.first.ts} to ${r.last.ts}`;
}

/**
 * The end of the decision that holds record `seq` (a seq inside a decision is the state after the
 * whole decision: a state halfway through one never existed). Seq 0 is the empty state before the log.
 */
export function pointAtSeq(io: FsLayer, file: string, seq: number, from: LogPosition = LOG_START): LogPoint {
  if (seq <= from.seq) {
    if (seq === 0) return { ...LOG_START, ts: null };
    if (seq === from.seq) return { ...from, ts: null };
  }
  const begin = startOf(io, file);
  if (seq === begin.seq && seq > 0) return { ...begin, ts: null };
  // Before the base (segments moved out) the walk starts at seq 0, and the scan says HISTORY_GONE.
  const start = from.seq < seq && from.offset >= begin.offset ? from : begin.seq < seq ? begin : LOG_START;
  // The walk's length is known: one slice for it (each slice allocates and fills a 4 MiB chunk).
  const p = walkDecisions(io, file, start, (q) => q.seq >= seq, Math.max(SLICE, seq - start.seq));
  if (p.seq < seq) throw unknown(`seq ${seq} is past the end of the log`, io, file);
  return p;
}

/**
 * The end of the last decision stamped at or before `ms`. The log's time runs forward, so the walk
 * stops at the first decision stamped after it. A time before the first record is not a point.
 */
export function pointAtTime(io: FsLayer, file: string, ms: number, text: string, from: LogPosition & { ts?: string | null } = LOG_START): LogPoint {
  const begin = logStart(io, file);
  if (begin.base && from.offset < begin.pos.offset) {
    if (begin.base.ts === null || ms < Date.parse(begin.base.ts)) throw historyGone(begin.base, segmentDir(file));
    from = { ...begin.pos, ts: begin.base.ts };
  }
  let best: LogPoint | null = from.seq > 0 ? { ...from, ts: from.ts ?? null } : null;
  walkDecisions(io, file, from, (p) => {
    if (Date.parse(p.ts ?? '') > ms) return true;
    best = p;
    return false;
  });
  if (!best) throw unknown(`${text} is before the log's first record`, io, file);
  return best;
}

function unknown(what: string, io: FsLayer, file: string): CairnError {
  const range = logRange(io, file);
  return new CairnError('UNKNOWN_POINT', `${what}: ${describeRange(range)}`, {
    hint: 'name a seq or a time inside that range (cairn log lists the decisions)',
    details: { first_seq: range.first?.seq ?? null, last_seq: range.last?.seq ?? null, first_ts: range.first?.ts ?? null, last_ts: range.last?.ts ?? null },
  });
}
