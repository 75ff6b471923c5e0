import { crcHex } from '../log/codec.js';
import type { LogRecord } from '../model/types.js';
import type { FsLayer } from './fsio.js';
import { corruptError, decodeLine } from './load.js';
import { type LogPosition, scanLogSlice } from './logfile.js';
import { logStart } from './log-base.js';
import { readBaseCarried } from './log-base-state.js';
import { segmentDir } from './segments.js';
import { pointAtSeq } from './points.js';

/**
 * The names operators gave to points of the log: named checkpoints of a workstream
 * (`checkpoint_named`) and system checkpoints (`system_checkpoint_created`). They are records of
 * the log and nothing else (the state has no field for them, so no snapshot format changes): this
 * scan finds them. Only lines whose type is one of the two are parsed; the type is read from the
 * bytes (the codec writes it fourth, as `,"type":"…"`), so the scan costs little more than the
 * crc check every reader of the log makes.
 */

/** One name, as its record gives it. */
export interface NamedPoint {
  name: string;
  /** The seq the name stands for. */
  checkpoint_seq: number;
  /** The system checkpoint's crc of the log at checkpoint_seq (absent for a workstream's name). */
  checkpoint_crc?: string;
  workstream_id?: string;
  /** The record that gave the name. */
  seq: number;
  ts: string;
  operator: string | null;
  reason: string | null;
}

/** Every name in a log up to `end`; scanning on from `end` adds the names appended since. */
export interface NamedIndex {
  /** workstream id -> name -> point. */
  workstreams: Map<string, Map<string, NamedPoint>>;
  system: Map<string, NamedPoint>;
  end: LogPosition;
}

const TYPE_KEY = Buffer.from(',"type":"');
const NAMED = Buffer.from('checkpoint_named"');
const SYSTEM = Buffer.from('system_checkpoint_created"');
const SLICE = 4096;

function typeIs(buf: Buffer, at: number, want: Buffer, end: number): boolean {
  return at + want.length <= end && buf.compare(want, 0, want.length, at, at + want.length) === 0;
}

/**
 * Scans the log at `file` from `into.end` (or its start) to its end, adding every name found. Old
 * segments moved out: the names their records gave come from the base, and the scan starts after it.
 */
export function scanNamed(io: FsLayer, file: string, into?: NamedIndex): NamedIndex {
  let idx = into;
  if (!idx) {
    const begin = logStart(io, file);
    idx = { workstreams: new Map(), system: new Map(), end: begin.pos };
    for (const r of readBaseCarried(io, segmentDir(file), begin.base).names) add(idx, r);
  }
  let pos = idx.end;
  for (;;) {
    const slice = scanLogSlice(io, file, pos, SLICE, (buf, start, end, seq) => {
      const k = buf.indexOf(TYPE_KEY, start);
      if (k < 0 || k >= end) return;
      const at = k + TYPE_KEY.length;
      const named = typeIs(buf, at, NAMED, end);
      if (!named && !typeIs(buf, at, SYSTEM, end)) return;
      add(idx, decodeLine(buf, start, end, seq));
    });
    if (slice.problem?.kind === 'corrupt') throw corruptError(slice.problem);
    pos = slice.end;
    if (!slice.more) break;
  }
  idx.end = pos;
  return idx;
}

function add(idx: NamedIndex, r: LogRecord): void {
  const p: NamedPoint = {
    name: String(r.name), checkpoint_seq: Number(r.checkpoint_seq), seq: r.seq, ts: r.ts, operator: r.operator ?? null, reason: typeof r.reason === 'string' ? r.reason : null,
  };
  if (r.type === 'system_checkpoint_created') {
    idx.system.set(p.name, { ...p, checkpoint_crc: String(r.checkpoint_crc) });
    return;
  }
  const ws = String(r.workstream_id);
  let names = idx.workstreams.get(ws);
  if (!names) idx.workstreams.set(ws, (names = new Map()));
  names.set(p.name, { ...p, workstream_id: ws });
}

/**
 * Whether the log at `file` still holds record `seq` with crc `crc` (seq 0: the empty start, always
 * held). `gone`: the seq is before the log's base (its segments were moved out): not known here.
 */
export function logHolds(io: FsLayer, file: string, seq: number, crc: string): { holds: boolean; crc: string | null; gone?: true } {
  const { base } = logStart(io, file);
  if (base && seq < base.seq) return { holds: false, crc: null, gone: true };
  if (seq === 0) return { holds: true, crc: '00000000' };
  const p = pointAtSeq(io, file, seq);
  // A seq inside a decision is never named (a name stands for the end of a decision).
  if (p.seq !== seq) return { holds: false, crc: null };
  const have = crcHex(p.crc);
  return { holds: have === crc, crc: have };
}
