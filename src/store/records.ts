import { CairnError } from '../errors.js';
import type { LogRecord } from '../model/types.js';
import type { FsLayer } from './fsio.js';
import { corruptError } from './load.js';
import { type LogPosition, scanLog, scanLogSlice } from './logfile.js';
import { startOf } from './log-base.js';

export interface RecordFilter {
  types?: string[];
  workstreamId?: string;
  taskId?: string;
  workerId?: string;
  sinceSeq?: number;
  /** Keep only the last N matches. */
  last?: number;
}

/**
 * Streams the good records of a log file through `filter` (checking the chain on the way).
 * Cheap filters run on the raw bytes' seq before any JSON is parsed.
 */
export function readRecords(io: FsLayer, file: string, f: RecordFilter = {}): { records: LogRecord[]; lastSeq: number } {
  const out: LogRecord[] = [];
  const match = matcher(f);
  const scan = scanLog(io, file, startOf(io, file), (buf, start, end, seq) => {
    const r = match(buf, start, end, seq);
    if (!r) return;
    out.push(r);
    if (f.last !== undefined && out.length > f.last * 2) out.splice(0, out.length - f.last);
  });
  if (scan.problem?.kind === 'corrupt') throw corruptError(scan.problem);
  const records = f.last !== undefined ? out.slice(-f.last) : out;
  return { records, lastSeq: scan.end.seq };
}

/** The record of a good line when it passes the filter (bytes first, then the parsed fields), else null. */
function matcher(f: RecordFilter): (buf: Buffer, start: number, end: number, seq: number) => LogRecord | null {
  const since = f.sinceSeq ?? 0;
  const types = f.types && f.types.length > 0 ? new Set(f.types) : null;
  const maybe = rawFilter(f);
  return (buf, start, end, seq) => {
    if (seq <= since || !maybe(buf, start, end)) return null;
    const r = JSON.parse(buf.toString('utf8', start, end)) as LogRecord;
    if (types && !types.has(r.type)) return null;
    if (f.workstreamId !== undefined && r.workstream_id !== f.workstreamId) return null;
    if (f.taskId !== undefined && r.task_id !== f.taskId) return null;
    if (f.workerId !== undefined && r.worker_id !== f.workerId) return null;
    return r;
  };
}

/**
 * A test on a line's bytes that every match passes, so most lines are skipped before JSON.parse:
 * the codec writes compact JSON, and ids and type names need no escaping, so a record of task
 * `t` holds the bytes `"task_id":"t"`. Lines that pass are still parsed and checked exactly.
 */
function rawFilter(f: RecordFilter): (buf: Buffer, start: number, end: number) => boolean {
  const all: Buffer[] = [];
  if (f.workstreamId !== undefined) all.push(Buffer.from(`"workstream_id":${JSON.stringify(f.workstreamId)}`));
  if (f.taskId !== undefined) all.push(Buffer.from(`"task_id":${JSON.stringify(f.taskId)}`));
  if (f.workerId !== undefined) all.push(Buffer.from(`"worker_id":${JSON.stringify(f.workerId)}`));
  const anyType = f.types && f.types.length > 0 ? f.types.map((t) => Buffer.from(`"type":${JSON.stringify(t)}`)) : null;
  if (all.length === 0 && !anyType) return () => true;
  return (buf, start, end) => {
    // Searched within the line only: indexOf on the whole chunk would run past it to the chunk's end.
    const line = buf.subarray(start, end);
    return all.every((n) => line.includes(n)) && (!anyType || anyType.some((n) => line.includes(n)));
  };
}

/** Records read per slice by streamRecords: a few MiB, so a turn of the event loop comes often. */
const SLICE_RECORDS = 8192;

/**
 * Streams the matching records of a log of any size to `sink`, a slice at a time, oldest first,
 * checking the chain on the way; the event loop gets a turn between slices (so a closed stdout is
 * noticed) and `sink` returning false stops the reading there. Memory holds one slice (or, with
 * `last`, the last N matches), never the log.
 */
export async function streamRecords(io: FsLayer, file: string, f: RecordFilter, sink: (records: LogRecord[]) => Promise<boolean> | boolean): Promise<{ lastSeq: number; stopped: boolean }> {
  let kept: LogRecord[] = [];
  let pos: LogPosition = startOf(io, file);
  const match = matcher(f);
  for (;;) {
    const slice = scanLogSlice(io, file, pos, SLICE_RECORDS, (buf, start, end, seq) => {
      const r = match(buf, start, end, seq);
      if (r) kept.push(r);
    });
    if (slice.problem?.kind === 'corrupt') throw corruptError(slice.problem);
    pos = slice.end;
    if (f.last !== undefined) {
      if (kept.length > f.last) kept = kept.slice(-f.last);
    } else if (kept.length > 0) {
      const batch = kept;
      kept = [];
      if ((await sink(batch)) === false) return { lastSeq: pos.seq, stopped: true };
    } else {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (!slice.more) break;
  }
  if (f.last !== undefined && kept.length > 0 && (await sink(kept)) === false) return { lastSeq: pos.seq, stopped: true };
  return { lastSeq: pos.seq, stopped: false };
}

export function requireFile(io: FsLayer, file: string): void {
  const st = io.lstatSync(file);
  if (!st || !st.isFile()) throw new CairnError('BAD_INPUT', `${file} is not a readable file`, { hint: 'Pass the path of a transitions.jsonl file.' });
}
