import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { CairnError } from '../errors.js';
import { atomicWrite } from './atomic.js';
import { DIR_MODE, FLAGS, type FsLayer, fsyncDir, readWhole } from './fsio.js';
import { type BaseMeta, listBases, logStart } from './log-base.js';
import { readRecords } from './records.js';
import { type BaseCarried, readBaseCarried, writeBase } from './log-base-state.js';
import { interventionLines } from './derived.js';
import { decodeLine } from './load.js';
import { scanLog } from './logfile.js';
import type { LogRecord } from '../model/types.js';
import type { StatePaths } from './paths.js';
import { inflate, type Layout, listSegments, type Segment } from './segments.js';
import { stateAt } from './state-at.js';

/*
 * Moving closed segments out of .state/log/ (cairn log-archive), under the state lock. MUST, in this
 * order, so a kill between any two steps leaves a folder every reader reads whole:
 *   1. each segment is copied into DIR (temp, fsync, rename, DIR fsync) and read back byte for byte
 *      (a kill leaves a copy in DIR, harmless: the segment is still in log/);
 *   2. the base (the state at the last moved seq, with its offset and crc) is written atomically
 *      (a kill leaves a base and every segment: the log still reads whole from seq 1);
 *   3. the segments are removed from log/ and log/ fsynced (a kill leaves some: those the base
 *      covers are not read; the next log-archive removes them);
 *   4. older bases, which the new one covers, are removed.
 */

/** For the crash tests: `CAIRN_ARCHIVE_CRASH_AT=<step>` kills the process (SIGKILL) right after that step. */
export const ARCHIVE_STEPS = ['copied', 'base-written', 'segment-removed', 'old-bases-removed'] as const;
type Step = (typeof ARCHIVE_STEPS)[number];

function reached(step: Step): void {
  if (process.env.CAIRN_ARCHIVE_CRASH_AT === step) process.kill(process.pid, 'SIGKILL');
}

export interface ArchiveAsk {
  to: string;
  beforeSeq?: number;
  keepSegments?: number;
}

export interface ArchivePlan {
  to: string;
  /** Segments to move, oldest first. */
  move: Segment[];
  /** Segments an earlier, interrupted move left in log/ (its base covers them): moved out now. */
  leftover: Segment[];
  /** The new base: the last moved seq, and where the log goes on (null: only leftovers). */
  base: { seq: number; offset: number } | null;
  /** The base in effect now. */
  current: BaseMeta | null;
}

/** A move whose log_archived record is committed but whose base was never written (a kill before step 2). */
export interface PendingMove {
  /** The seq of the log_archived record. */
  seq: number;
  archived_to: string;
  base_seq: number;
}

/**
 * The move the last log_archived record asks for, when the log does not start at its base yet (a
 * kill before the base was written, or after it but before any segment went: a base is not read
 * while every segment is still there): the rerun finishes it rather than recording a second move.
 * Segments copied back by hand after a finished move are moved out again as recorded. Not pending
 * when no segment it covers is in log/ (the move finished, or the log was replaced since).
 */
export function pendingMove(io: FsLayer, paths: StatePaths): PendingMove | null {
  const r = readRecords(io, paths.log, { types: ['log_archived'], last: 1 }).records[0];
  if (!r || typeof r.base_seq !== 'number' || typeof r.archived_to !== 'string') return null;
  const current = logStart(io, paths.log).base;
  if (current && current.seq >= r.base_seq) return null;
  if (!listSegments(io, paths.segments).some((s) => s.last <= (r.base_seq as number))) return null;
  return { seq: r.seq, archived_to: r.archived_to, base_seq: r.base_seq };
}

/** What log-archive would move, checked: refuses (changing nothing) whatever it must not move. */
export function planArchive(io: FsLayer, paths: StatePaths, ask: ArchiveAsk): ArchivePlan {
  const to = path.resolve(ask.to);
  const rel = path.relative(path.resolve(paths.root), to);
  if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))) {
    throw new CairnError('BAD_INPUT', `--to ${ask.to} is inside the state folder ${paths.root}`, { hint: 'Give a folder outside .state/, e.g. --to ../cairn-archive.' });
  }
  const layout = readLayout(io, paths);
  const current = layout?.base ?? null;
  const leftover = current ? listSegments(io, paths.segments).filter((s) => s.last <= current.seq) : [];
  const closed = (layout?.pieces ?? []).filter((p) => p.seg !== null);
  const lastClosed = closed[closed.length - 1]?.seg?.last ?? current?.seq ?? 0;
  let n: number;
  if (ask.beforeSeq !== undefined) {
    if (ask.beforeSeq - 1 > lastClosed) {
      throw new CairnError('BAD_INPUT', `--before-seq ${ask.beforeSeq} is beyond the last closed segment (it ends at seq ${lastClosed}); records after it are in transitions.jsonl, which is never moved`, { hint: `Use --before-seq ${lastClosed + 1} or less, or --keep-segments K.` });
    }
    n = closed.filter((p) => p.seg!.last < ask.beforeSeq!).length;
  } else {
    n = Math.max(0, closed.length - (ask.keepSegments ?? 0));
  }
  const chosen = closed.slice(0, n);
  if (chosen.length === 0 && leftover.length === 0 && ask.keepSegments !== undefined && closed.length > 0) {
    throw new CairnError('BAD_INPUT', `nothing to move: the log has ${closed.length} closed segment(s) and --keep-segments ${ask.keepSegments} keeps them all`, { hint: `Give --keep-segments ${closed.length - 1} or less to move the oldest; nothing was changed.` });
  }
  if (chosen.length === 0 && leftover.length === 0) {
    throw new CairnError('BAD_INPUT', closed.length === 0 ? 'nothing to move: the log has no closed segment (log_segment_bytes in config.json rotates it)' : `nothing to move: no closed segment ends before that point (the first ends at seq ${closed[0]!.seg!.last})`, { hint: 'Nothing was changed.' });
  }
  // MUST: nothing that is not verified is moved: the whole remaining log must read clean.
  const scan = scanLog(io, paths.log, logStart(io, paths.log).pos);
  if (scan.problem && scan.problem.kind === 'corrupt') {
    throw new CairnError('LOG_CORRUPT', `the log is damaged at seq ${scan.problem.seq}: ${scan.problem.reason}; log-archive moves only verified segments`, { details: { seq: scan.problem.seq }, hint: 'Run cairn validate-state, then cairn repair-state --yes.' });
  }
  for (const s of [...leftover, ...chosen.map((p) => p.seg!)]) {
    const got = inflate(io, s);
    if (got.error) throw new CairnError('LOG_CORRUPT', `log/${s.name} is damaged: ${got.error}; log-archive moves only verified segments`, { hint: 'Run cairn repair-state --yes.' });
    const there = readWhole(io, path.join(to, s.name));
    if (there && !there.equals(readWhole(io, s.path)!)) {
      throw new CairnError('BAD_INPUT', `${path.join(to, s.name)} exists with other bytes than log/${s.name}`, { hint: 'Move that file away or choose another --to folder; nothing was changed.' });
    }
  }
  const last = chosen[chosen.length - 1];
  return { to, move: chosen.map((p) => p.seg!), leftover, current, base: last ? { seq: last.seg!.last, offset: last.start + last.length } : null };
}

function readLayout(io: FsLayer, paths: StatePaths): Layout | undefined {
  const fd = io.openSync(paths.log, FLAGS.read);
  try {
    return io.logLayout?.(fd);
  } finally {
    io.closeSync(fd);
  }
}

/** Carries out a plan (under the caller's state lock), in the order of the module comment. Returns the new base's name. */
export function carryOutArchive(io: FsLayer, paths: StatePaths, plan: ArchivePlan, nowIso: string): string | null {
  const all = [...plan.leftover, ...plan.move];
  if (!io.lstatSync(plan.to)) {
    mkdirSync(plan.to, { recursive: true, mode: DIR_MODE });
    fsyncDir(io, path.dirname(plan.to));
  }
  for (const s of all) copyVerified(io, s, plan.to);
  reached('copied');
  let name: string | null = null;
  if (plan.base) {
    const at = stateAt(io, paths, paths.log, plan.base.seq, false);
    if (!at.at || at.at.seq !== plan.base.seq || at.at.offset !== plan.base.offset) throw new CairnError('INTERNAL', `seq ${plan.base.seq} is not the end of a decision at byte ${plan.base.offset}`);
    name = writeBase(io, paths.segments, at.state, {
      seq: plan.base.seq, offset: plan.base.offset, crc: (at.at.crc >>> 0).toString(16).padStart(8, '0'), ts: at.at.ts,
      archived_at: nowIso, archived_to: plan.to, segments: [...(plan.current?.segments ?? []), ...plan.leftover.map((s) => s.name).filter((n) => !plan.current?.segments.includes(n)), ...plan.move.map((s) => s.name)],
    }, carriedUpTo(io, paths, plan.current, plan.base.seq));
    reached('base-written');
  }
  for (const s of all) io.unlinkSync(s.path);
  fsyncDir(io, paths.segments);
  reached('segment-removed');
  if (name) {
    for (const old of listBases(io, paths.segments)) if (old !== name) io.unlinkSync(path.join(paths.segments, old));
    fsyncDir(io, paths.segments);
    reached('old-bases-removed');
  }
  return name;
}

const NAME_TYPES = new Set(['checkpoint_named', 'system_checkpoint_created']);
const ACTION_KEY = Buffer.from('"action":"');

/**
 * What the new base carries: the current base's, plus the interventions.log lines and checkpoint
 * names of the manual records after it up to `seq` (a decision's records share a line, and a base
 * ends a decision, so no line is split).
 */
function carriedUpTo(io: FsLayer, paths: StatePaths, current: BaseMeta | null, seq: number): BaseCarried {
  const had = readBaseCarried(io, paths.segments, current);
  const manual: LogRecord[] = [];
  scanLog(io, paths.log, logStart(io, paths.log).pos, (buf, start, end, at) => {
    if (at > seq || buf.indexOf(ACTION_KEY, start) < 0 || buf.indexOf(ACTION_KEY, start) >= end) return;
    const r = decodeLine(buf, start, end, at);
    if (r.operator !== null && typeof r.action === 'string') manual.push(r);
  });
  return { names: [...had.names, ...manual.filter((r) => NAME_TYPES.has(r.type))], interventions: [...had.interventions, ...interventionLines(manual)] };
}

/** Copies a segment into `dir` durably and reads the copy back; an identical copy already there is kept. */
function copyVerified(io: FsLayer, s: Segment, dir: string): void {
  const bytes = readWhole(io, s.path)!;
  const target = path.join(dir, s.name);
  const there = readWhole(io, target);
  if (there?.equals(bytes)) return;
  atomicWrite(io, target, bytes);
  if (!readWhole(io, target)?.equals(bytes)) throw new CairnError('IO_ERROR', `the copy of log/${s.name} in ${dir} does not read back as the segment; it stays in log/`);
}
