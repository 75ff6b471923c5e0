import { CairnError } from '../errors.js';
import { CheckpointFinder, type CheckpointPoint } from '../history/checkpoint-finder.js';
import { compactJson } from '../log/canonical.js';
import type { FsLayer } from './fsio.js';
import { applyRecord, corruptError, decodeLine } from './load.js';
import { type LogPosition, scanLogSlice } from './logfile.js';
import { historyGone, logStart } from './log-base.js';
import { startState } from './log-base-state.js';
import type { StatePaths } from './paths.js';
import { listCheckpoints, type CheckpointEntry } from './recovery-files.js';
import { segmentDir } from './segments.js';
import { type CheckpointDoc, checkpointDoc } from './snapshot.js';

/**
 * Checkpoints computed from the log (DESIGN §10): every point at which a workstream's tasks moved,
 * and the checkpoint document at any of them, with no need of the files in checkpoints/ (a cache of
 * what the log implies: deleting them costs nothing). The log is streamed a slice at a time and the
 * reading stops at the end of the decision asked for, so a point early in a long log is cheap and
 * memory holds the state, never the log.
 */

/** Records per slice: the reading stops at most this far past the point asked for. */
const SLICE = 4096;

export interface PointsScan {
  /** The workstream's points, oldest first (up to the target's decision, or one past it, when a target was given). */
  points: CheckpointPoint[];
  /** The document at the target, when the target is a point (or a task transition inside a point's decision). */
  doc: CheckpointDoc | null;
  found: CheckpointPoint | null;
  neighbours: { before: number | null; after: number | null };
  /** The documents at the points named in `capture`. */
  captured: Map<number, CheckpointDoc>;
  /** seq of the last record read. */
  lastSeq: number;
}

/**
 * Replays the log from its start for workstream `wsId`; with `target`, only as far as needed. The
 * documents at the points in `capture` are kept too (to compare the files on disk with the log).
 * Old segments moved out (log-archive): the replay starts from the base's state, so the points are
 * those after the base; a target at or before it is HISTORY_GONE (exit 2).
 */
export function scanPoints(io: FsLayer, paths: StatePaths, wsId: string, o: { target?: number; capture?: ReadonlySet<number> } = {}): PointsScan {
  const begin = logStart(io, paths.log);
  if (begin.base && o.target !== undefined && o.target <= begin.base.seq) throw historyGone(begin.base, segmentDir(paths.log));
  const state = startState(io, paths.log, begin);
  const finder = new CheckpointFinder(wsId, o.target);
  const captured = new Map<number, CheckpointDoc>();
  const docAt = (): CheckpointDoc => {
    const pts = finder.points;
    // Every point is in the log, so the chain is the log's: the point before, and the first one.
    return checkpointDoc(state, wsId, { previous: pts.length > 1 ? pts[pts.length - 2]!.seq : null, oldest_kept: pts[0]!.seq });
  };
  let doc: CheckpointDoc | null = null;
  let done = false;
  let pos: LogPosition = begin.pos;
  while (!done) {
    const slice = scanLogSlice(io, paths.log, pos, SLICE, (buf, start, end, seq) => {
      if (done) return;
      const r = decodeLine(buf, start, end, seq);
      const had = finder.points.length;
      finder.before(state, r);
      applyRecord(state, r, seq);
      const step = finder.after(state, r);
      const p = finder.points.length > had ? finder.points.at(-1)! : null;
      if (p && o.capture?.has(p.seq)) captured.set(p.seq, docAt());
      if (step === 'more') return;
      if (step === 'target') doc = captured.get(p!.seq) ?? docAt();
      done = true;
    });
    if (slice.problem?.kind === 'corrupt') throw corruptError(slice.problem);
    pos = slice.end;
    if (!slice.more) break;
  }
  return { points: finder.points, doc, found: finder.found, neighbours: finder.neighbours(), captured, lastSeq: pos.seq };
}

/**
 * The checkpoint of `wsId` at `seq`, from the log. Not a point: UNKNOWN_CHECKPOINT (exit 2) naming
 * the nearest points before and after it.
 */
export function checkpointAt(io: FsLayer, paths: StatePaths, wsId: string, seq: number, lastTaskSeq: number): CheckpointDoc {
  const scan = scanPoints(io, paths, wsId, { target: seq });
  if (scan.doc) return scan.doc;
  const { before, after } = scan.neighbours;
  const near = [before, after].filter((x): x is number => x !== null);
  const why = seq > scan.lastSeq ? `the log ends at seq ${scan.lastSeq}` : 'no task of it changed state there';
  throw new CairnError('UNKNOWN_CHECKPOINT', `seq ${seq} is not a checkpoint of workstream ${wsId}: ${why}${near.length ? ` (the nearest points are ${[before !== null ? `${before} before` : null, after !== null ? `${after} after` : null].filter(Boolean).join(' and ')})` : ''}`, {
    details: { workstream_id: wsId, checkpoint: String(seq), before, after, closest: near.map(String), available: ['latest'], last_task_seq: lastTaskSeq },
    hint: `Pick a point: cairn checkpoints --workstream-id ${wsId} lists them all${near.length ? `, e.g. --to-checkpoint ${near[0]}` : ''}; or --to-checkpoint latest`,
  });
}

/** Where a point's checkpoint file stands: written (its hash holds and it says what the log says), or why not. */
export interface FileMark {
  written: boolean;
  file: string | null;
  /** `differs from the log`, the hash problem, or null. */
  problem: string | null;
  /** The file's own document when written (its previous/oldest_kept say where it stood among the files). */
  doc: CheckpointDoc | null;
}

/** A checkpoint without where it stands among the files (previous, oldest_kept) and its hash: what the log decides. */
export function checkpointContent(d: CheckpointDoc): string {
  const { previous: _p, oldest_kept: _o, hash: _h, ...rest } = d;
  return compactJson(rest);
}

/** The files of checkpoints/<ws>/ by seq, with their hash checked (not yet compared with the log: markOf does that). */
export function fileMarks(io: FsLayer, paths: StatePaths, wsId: string): Map<number, CheckpointEntry> {
  const out = new Map<number, CheckpointEntry>();
  for (const e of listCheckpoints(io, paths, wsId)) if (e.name !== 'latest') out.set(Number(e.name), e);
  return out;
}

/** The mark of one point given its file entry (if any) and the document the log gives there: written only when the two agree. */
export function markOf(entry: CheckpointEntry | undefined, fromLog: CheckpointDoc | undefined): FileMark {
  if (!entry) return { written: false, file: null, problem: null, doc: null };
  if (!entry.doc) return { written: false, file: entry.file, problem: entry.error, doc: null };
  if (!fromLog || checkpointContent(entry.doc) !== checkpointContent(fromLog)) return { written: false, file: entry.file, problem: 'differs from the log', doc: null };
  return { written: true, file: entry.file, problem: null, doc: entry.doc };
}
