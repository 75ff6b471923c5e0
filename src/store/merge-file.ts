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

interface ReadLog { buf: Buffer; records: LogRecord[]; crcs: number[]; end: LogPosition; state: State }

function readLog(io: FsLayer, file: string, side: string, replay: boolean): ReadLog {
  const buf = readWhole(io, file);
  if (buf === undefined) throw new CairnError('BAD_INPUT', `${side} (${file}) does not exist`, { hint: 'cairn merge-driver is run by git with %O %A %B; see cairn merge-driver --help' });
  const records: LogRecord[] = [];
  const crcs: number[] = [];
  const state = new State();
  const scan = scanLog(io, file, LOG_START, (b, start, end, seq, crc) => {
    records.push(replay ? applyLine(state, b, start, end, seq) : decodeLine(b, start, end, seq));
    crcs.push(crc);
  });
  if (scan.problem || scan.size !== buf.length) {
    throw new CairnError('MERGE_CONFLICT', `${side} is not a valid log: ${scan.problem ? `${scan.problem.reason} at seq ${scan.problem.seq}` : 'it changed while read'}`, {
      details: { side, seq: scan.problem?.seq ?? null },
      hint: 'Repair that side first (cairn validate-state, cairn repair-state on its branch), then merge again',
    });
  }
  return { buf, records, crcs, end: scan.end, state };
}

/** Merges theirs into ours as `git merge` asks (see the module comment); `now` is the clock of new records. */
export function mergeLogFiles(io: FsLayer, files: { ours: string; theirs: string }, now: () => number): MergeFileResult {
  const ours = readLog(io, files.ours, 'ours (%A)', true);
  const theirs = readLog(io, files.theirs, 'theirs (%B)', false);
  let k = 0;
  while (k < ours.records.length && k < theirs.records.length && ours.crcs[k] === theirs.crcs[k] && ours.records[k]!.seq === theirs.records[k]!.seq) k++;
  const base = { fork_seq: k, ours_after_fork: ours.records.length - k, theirs_after_fork: theirs.records.length - k, added: [], skipped: [], conflicts: [] };
  if (theirs.records.length === k) return { ...base, clean: true, mode: 'ours', result_seq: ours.end.seq };
  if (ours.records.length === k) {
    // Ours has nothing after the fork: theirs is ours plus what it added, runs included.
    atomicWrite(io, files.ours, theirs.buf);
    return { ...base, clean: true, mode: 'fast_forward', result_seq: theirs.end.seq };
  }
  const known = new Set<string>();
  for (const r of ours.records) {
    known.add(r.id);
    known.add(originOf(r));
  }
  const steps = planMerge(decisionsOf(theirs.records.slice(k)), known);
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
