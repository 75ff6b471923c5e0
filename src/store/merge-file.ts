import { monotonicFactory } from 'ulid';
import { CairnError } from '../errors.js';
import { decisionsOf, originOf, planMerge, type RebasedFrom } from '../history/merge-plan.js';
import { State } from '../model/state.js';
import type { LogRecord } from '../model/types.js';
import { atomicWrite } from './atomic.js';
import { decideBatch } from './decide-batch.js';
import { type FsLayer, readWhole } from './fsio.js';
import { applyLine, decodeLine } from './load.js';
import { LOG_START, type LogPosition, scanLog } from './logfile.js';
import { lineSeq } from '../log/codec.js';
import { realFs } from './fsio.js';
import { withTempLog } from './git-log.js';
import { bufferedCryptoPrng } from './ulid-prng.js';

/**
 * The file side of `cairn merge-driver`: git gives three versions of transitions.jsonl (%O the
 * ancestor, %A ours, %B theirs) and takes the result in %A. MUST: %A is rewritten only when the
 * merge is clean, whole, by temp file and rename; on a conflict it is left as git wrote it (our
 * own valid log). No other file is written. %O is not trusted (a criss-cross merge gives a virtual
 * ancestor): both chains are verified and the fork is their longest common (seq, crc) prefix.
 */

/** A record as a merge report names it. */
export interface NamedRecord { seq: number; id: string; type: string; ids: string; operator: string | null; action: string | null }

export interface MergeFileResult {
  clean: boolean;
  /** The last record both sides share (0 when none). */
  fork_seq: number;
  ours_after_fork: number;
  theirs_after_fork: number;
  /** How the result came about: nothing to take, theirs taken whole (ours had nothing new), or theirs decided again on ours. */
  mode: 'ours' | 'fast_forward' | 'redecided';
  /** The other side's decisions decided again on ours, with the seqs they got. */
  added: { from: RebasedFrom; what: string; seqs: [number, number] }[];
  /** The other side's decisions ours already has (by id or rebased_from), or that change nothing on ours. */
  skipped: { from: RebasedFrom; what: string; why: string }[];
  /** What stopped the merge, each with the records it is about. */
  conflicts: { what: string; why: string; records: NamedRecord[] }[];
  /** seq of the last record of the result (of %A as left, on a conflict). */
  result_seq: number;
}

/** A closed segment of one side's log, as its commit holds it (name and gzip bytes). */
export interface SideSegment { name: string; data: Buffer }

/**
 * The segments (log/*.jsonl.gz) of each side, read from git by the caller: ours' from HEAD, theirs'
 * from the commit being merged, or null when that commit is not known (git names it only in
 * `git merge`). Git gives the driver the active transitions.jsonl of each side, nothing else.
 */
export interface MergeSegments { ours: SideSegment[] | null; theirs: SideSegment[] | null }

interface ReadLog {
  /** The side's active file as git gave it: what a result is made of. */
  buf: Buffer;
  records: LogRecord[];
  crcs: number[];
  /** seq of records[0] (1, unless only the active file of a rotated log could be read). */
  from: number;
  end: LogPosition;
  state: State;
  /** The last seq its segments hold (0: none). */
  segmentsEnd: number;
}

function notValid(side: string, why: string, seq: number | null): CairnError {
  return new CairnError('MERGE_CONFLICT', `${side} is not a valid log: ${why}`, {
    details: { side, seq },
    hint: 'Repair that side first (cairn validate-state, cairn repair-state on its branch), then merge again',
  });
}

/** The seq of the first record of a log's bytes (0 when it starts with none). */
function firstSeqOf(buf: Buffer): number {
  const nl = buf.indexOf(0x0a);
  return lineSeq(buf, 0, nl < 0 ? buf.length : nl);
}

/**
 * Reads one side: its active file, after its segments when it rotated (the segments and the active
 * file as one log, read as every reader reads a rotated log). `from`, for a rotated side whose
 * segments are not known: where its active file must chain on (the other side's record before its
 * first seq); the records before it are then that other side's.
 */
function readLog(io: FsLayer, file: string, side: string, replay: boolean, segments: SideSegment[] | null, from?: LogPosition): ReadLog {
  const buf = readWhole(io, file);
  if (buf === undefined) throw new CairnError('BAD_INPUT', `${side} (${file}) does not exist`, { hint: 'cairn merge-driver is run by git with %O %A %B; see cairn merge-driver --help' });
  const first = firstSeqOf(buf);
  // An empty active file with segments: the log rotated at its last write.
  const rotated = (first > 1 || buf.length === 0) && segments !== null && segments.length > 0;
  const read = (path: string, fs: FsLayer, start: LogPosition): ReadLog => {
    const records: LogRecord[] = [];
    const crcs: number[] = [];
    const state = new State();
    const scan = scanLog(fs, path, start, (b, s0, e0, seq, crc) => {
      records.push(replay ? applyLine(state, b, s0, e0, seq) : decodeLine(b, s0, e0, seq));
      crcs.push(crc);
    });
    const size = rotated ? scan.size - (scan.base ?? 0) : scan.size - start.offset;
    if (scan.problem || size !== buf.length) throw notValid(side, scan.problem ? `${scan.problem.reason} at seq ${scan.problem.seq}` : 'it changed while read', scan.problem?.seq ?? null);
    return { buf, records, crcs, from: start.seq + 1, end: scan.end, state, segmentsEnd: rotated ? first - 1 : start.seq };
  };
  if (rotated) return withTempLog({ active: buf, segments: segments! }, (path) => read(path, realFs, LOG_START));
  if (first > 1 && from) return read(file, io, from);
  if (first > 1) {
    throw new CairnError('MERGE_CONFLICT', `${side}'s transitions.jsonl starts at seq ${first}: the older part of its log is in log/*.jsonl.gz of its commit, which the merge driver could not read`, {
      details: { side, first_seq: first },
      hint: 'merge with git merge (the driver reads the segments of HEAD and of the commit git merge names), or restore-state --from-transitions on one side and merge again',
    });
  }
  return read(file, io, LOG_START);
}

/** Merges theirs into ours as `git merge` asks (see the module comment); `now` is the clock of new records. */
export function mergeLogFiles(io: FsLayer, files: { ours: string; theirs: string }, now: () => number, segs: MergeSegments = { ours: null, theirs: null }): MergeFileResult {
  const ours = readLog(io, files.ours, 'ours (%A)', true, segs.ours);
  // A rotated theirs whose segments are unknown is read from its active file, chained on ours'
  // record before it: then everything before it is ours' too, and the fork is at or after it.
  const theirsFirst = firstSeqOf(readWhole(io, files.theirs) ?? Buffer.alloc(0));
  const chainOn = theirsFirst > 1 && (segs.theirs === null || segs.theirs.length === 0) && theirsFirst - 1 <= ours.records.length
    ? { offset: 0, seq: theirsFirst - 1, crc: ours.crcs[theirsFirst - 2]! }
    : undefined;
  let theirs: ReadLog;
  try {
    theirs = readLog(io, files.theirs, 'theirs (%B)', false, segs.theirs, chainOn);
  } catch (e) {
    if (chainOn && e instanceof CairnError && e.code === 'MERGE_CONFLICT' && e.details?.seq === theirsFirst) {
      throw new CairnError('MERGE_CONFLICT', `theirs (%B) rotated its log after the fork: its transitions.jsonl starts at seq ${theirsFirst} and does not continue ours' seq ${theirsFirst - 1}, and the segments holding the rest could not be read`, {
        details: { side: 'theirs (%B)', first_seq: theirsFirst },
        hint: 'merge with git merge (the driver then reads the segments of the commit it names), or merge before rotating',
      });
    }
    throw e;
  }
  // The fork: the last seq both chains share (records before theirs.from are ours' by the chain).
  let k = theirs.from - 1;
  const oursAt = (seq: number) => ours.crcs[seq - 1];
  while (k < ours.records.length && k - theirs.from + 1 < theirs.records.length && oursAt(k + 1) === theirs.crcs[k - theirs.from + 1]) k++;
  const theirsAfter = theirs.records.slice(k - theirs.from + 1);
  const oursEnd = ours.records.length;
  const base = { fork_seq: k, ours_after_fork: oursEnd - k, theirs_after_fork: theirsAfter.length, added: [], skipped: [], conflicts: [] };
  if (theirsAfter.length === 0 && theirs.segmentsEnd <= k) return { ...base, clean: true, mode: 'ours', result_seq: ours.end.seq };
  if (oursEnd === k) {
    // Ours has nothing after the fork: theirs is ours plus what it added, runs included (and git
    // takes the segments it rotated into, if any, with the rest of its tree).
    atomicWrite(io, files.ours, theirs.buf);
    return { ...base, clean: true, mode: 'fast_forward', result_seq: theirs.end.seq };
  }
  if (theirs.segmentsEnd > k) {
    // MUST: the merged tree would hold their segments (git merges log/ as files) with records ours
    // does not have, beside our transitions.jsonl: a log no reader could read. Stop instead.
    const r: MergeFileResult = { ...base, clean: false, mode: 'redecided', result_seq: ours.end.seq };
    r.conflicts.push({
      what: `their log rotated after the fork (seq ${k}): log/ on their side holds seq ${k + 1}-${theirs.segmentsEnd}`,
      why: 'git would put those segments beside our log, which goes another way after the fork; merge before rotating, or take one side whole and redo the other\'s interventions by hand',
      records: theirs.records.filter((x) => x.seq > k && x.seq <= theirs.segmentsEnd).slice(0, 20).map(named),
    });
    return r;
  }
  const known = new Set<string>();
  for (const r of ours.records) {
    known.add(r.id);
    known.add(originOf(r));
  }
  const steps = planMerge(decisionsOf(theirsAfter), known);
  const r: MergeFileResult = { ...base, clean: false, mode: 'redecided', result_seq: ours.end.seq };
  for (const s of steps) {
    if (s.kind === 'conflict') r.conflicts.push({ what: s.what, why: s.why, records: s.records.map(named) });
    if (s.kind === 'already') r.skipped.push({ from: s.from, what: s.what, why: s.why });
  }
  if (r.conflicts.length > 0) return r;
  const todo = steps.flatMap((s) => (s.kind === 'redecide' ? [s] : []));
  // New records never go back in time: ts = max(the last record's, now).
  const lastTs = Math.max(0, ...ours.records.map((x) => Date.parse(x.ts)).filter((x) => Number.isFinite(x)).slice(-1));
  const clock = () => Math.max(lastTs, now());
  const batch = todo.map((s) => ({ s, decide: (v: Parameters<typeof s.decide>[0], t: number) => s.decide(v, t).map((d) => ({ ...d, rebased_from: s.from })) }));
  const { outcomes } = decideBatch(ours.state, ours.end, batch, clock, monotonicFactory(bufferedCryptoPrng()));
  let text = '';
  for (const o of outcomes) {
    if (o.error !== null) {
      const e = o.error as Error;
      r.conflicts.push({ what: o.p.s.what, why: `it does not apply on ours any more: ${e instanceof CairnError ? `[${e.code}] ` : ''}${e.message}`, records: o.p.s.records.map(named) });
    } else if (o.records!.length === 0) {
      r.skipped.push({ from: o.p.s.from, what: o.p.s.what, why: 'on ours it changes nothing (already so)' });
    } else {
      r.added.push({ from: o.p.s.from, what: o.p.s.what, seqs: [o.records![0]!.seq, o.records!.at(-1)!.seq] });
      text += o.text;
      r.result_seq = o.records!.at(-1)!.seq;
    }
  }
  if (r.conflicts.length > 0) return { ...r, added: [], result_seq: ours.end.seq };
  if (text !== '') atomicWrite(io, files.ours, Buffer.concat([ours.buf, Buffer.from(text)]));
  return { ...r, clean: true };
}

function named(r: LogRecord): NamedRecord {
  const ids = typeof r.workstream_id === 'string' && typeof r.task_id === 'string' ? `${r.workstream_id}/${r.task_id}` : String(r.workstream_id ?? r.worker_id ?? r.resource_id ?? '');
  return { seq: r.seq, id: r.id, type: r.type, ids, operator: r.operator, action: typeof r.action === 'string' ? r.action : null };
}
