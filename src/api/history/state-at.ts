import { parsePoint } from '../../history/points.js';
import type { StateView } from '../../model/state.js';
import { isAlive } from '../../runner/kill.js';
import { realFs } from '../../store/fsio.js';
import { withTempLog } from '../../store/git-log.js';
import { loadState } from '../../store/load.js';
import type { LogPosition } from '../../store/logfile.js';
import { StatePaths } from '../../store/paths.js';
import { pointAtSeq } from '../../store/points.js';
import { SNAPSHOT_EVERY } from '../../store/snapshots.js';
import { CairnError } from '../../errors.js';
import { stateAt as replayTo } from '../../store/state-at.js';
import { checkRoot } from '../../store/store.js';
import { type CommonOptions, stateDirOf } from '../common.js';
import { statusOf } from '../status.js';
import { resolvePoint } from './points.js';

/** Which point a state is the state at, as `state --at` and `diff` print it in their headers. */
export interface PointHeader {
  point: string;
  kind: 'seq' | 'time' | 'git' | 'now';
  seq: number;
  ts: string | null;
  /** For git points: the commit the revision names, and whether its log is a prefix of ours. */
  commit: string | null;
  prefix: boolean | null;
}

/** A point with its state, and the log that holds it (this folder's, or a copy of git's). */
export interface PointState {
  header: PointHeader;
  state: StateView;
  /** The log file the point is in, while `fn` runs (a git copy is removed afterwards). */
  file: string;
  at: LogPosition;
  /** Whether `file` is this folder's own log. */
  own: boolean;
  /** Whether the point is the end of this folder's log: the state now. */
  atEnd: boolean;
  /** What the state was built from: current.json, `snapshot <seq>`, or `log`. */
  source: string;
  /** Records applied on top of it. */
  replayed: number;
  warnings: string[];
}

/**
 * Runs `fn` on the state at the point `text` (a seq, a time, git:<rev>, now). `now` is the state as
 * `status` loads it (current.json and the log after it); any other point on this folder's log is
 * its nearest whole-state snapshot plus a short replay, writing snapshots where a stretch lacks
 * them; a git revision whose log went another way is replayed from the committed log (using our
 * snapshots as far as the two histories agree). An unknown point is UNKNOWN_POINT or BAD_INPUT (exit 2).
 */
export function withPointState<T>(o: CommonOptions, text: string, fn: (p: PointState) => T): T {
  const root = stateDirOf(o);
  const io = o.fs ?? realFs;
  checkRoot(io, root);
  const paths = new StatePaths(root);
  if (parsePoint(text).kind === 'now') {
    const loaded = loadState(io, paths);
    const header: PointHeader = { point: text.trim(), kind: 'now', seq: loaded.end.seq, ts: loaded.end.seq > 0 ? loaded.state.lastTs : null, commit: null, prefix: null };
    return fn({ header, state: loaded.state, file: paths.log, at: loaded.end, own: true, atEnd: true, source: loaded.source, replayed: loaded.end.seq - loaded.baseSeq, warnings: loaded.warnings });
  }
  const parsed = parsePoint(text);
  if (parsed.kind === 'seq' && parsed.seq > 0) {
    // A seq on our log: the replay from the nearest snapshot finds the end of its decision itself.
    const got = replayTo(io, paths, paths.log, parsed.seq, true, snapshotEvery());
    if (got.at === null) resolvePoint(o, text); // past the end: says what the log holds (UNKNOWN_POINT)
    const at = got.at!;
    const header: PointHeader = { point: parsed.text, kind: 'seq', seq: at.seq, ts: at.ts, commit: null, prefix: null };
    return fn({ header, state: got.state, file: paths.log, at, own: true, atEnd: atEndOf(io, paths, at), source: sourceOf(got.baseSeq), replayed: got.replayed, warnings: [] });
  }
  const p = resolvePoint(o, text);
  const header: PointHeader = { point: p.text, kind: p.kind, seq: p.seq, ts: p.ts, commit: p.git?.commit ?? null, prefix: p.git?.prefix ?? null };
  if (p.at) {
    const got = replayTo(io, paths, paths.log, p.at.seq, true, snapshotEvery());
    return fn({ header, state: got.state, file: paths.log, at: p.at, own: true, atEnd: atEndOf(io, paths, p.at), source: sourceOf(got.baseSeq), replayed: got.replayed, warnings: [] });
  }
  const git = p.git!;
  return withTempLog(git.log, (file) => {
    const got = replayTo(realFs, paths, file, p.seq, false);
    const at = got.at ?? pointAtSeq(realFs, file, p.seq); // the committed log ends inside a decision: pointAtSeq says so
    const warnings = [`${p.text} (${git.commit.slice(0, 12)}): the log committed there is not a prefix of this folder's log; replayed from git`];
    return fn({ header: { ...header, ts: at.ts ?? header.ts }, state: got.state, file, at, own: false, atEnd: false, source: `git ${git.commit.slice(0, 12)}${got.baseSeq > 0 ? ` from snapshot ${got.baseSeq}` : ''}`, replayed: got.replayed, warnings });
  });
}

/** Whether a point is the end of this folder's log (the state now). */
function atEndOf(io: NonNullable<CommonOptions['fs']>, paths: StatePaths, at: LogPosition): boolean {
  return at.offset === io.lstatSync(paths.log)?.size;
}

function snapshotEvery(): number {
  const v = process.env.CAIRN_SNAPSHOT_EVERY;
  if (v === undefined || v === '') return SNAPSHOT_EVERY;
  if (!/^\d{1,9}$/.test(v) || Number(v) < 1) {
    throw new CairnError('BAD_INPUT', `CAIRN_SNAPSHOT_EVERY is ${JSON.stringify(v)}, not a positive whole number of records`, { hint: `unset it to use the default (${SNAPSHOT_EVERY})` });
  }
  return Number(v);
}

function sourceOf(baseSeq: number): string {
  return baseSeq > 0 ? `snapshot ${baseSeq}` : 'log';
}

export interface StateAtOptions extends CommonOptions {
  at: string;
  workstreamId?: string;
  all?: boolean;
}

/**
 * `cairn state --at <point>`: what `cairn status` would have shown at that point, in the same
 * document (workstreams finished by then listed as archived, or in full with `all` or a
 * workstream id), with `at` saying which point. At a past point the scheduler the state records is
 * shown as running (it was, as far as the log knows then); at the end of the log (now) it is checked
 * by pid as status does.
 */
export async function stateAt(o: StateAtOptions) {
  return withPointState(o, o.at, (p) => {
    const sched = p.state.scheduler();
    const alive = !p.atEnd || sched === null || isAlive(sched.pid, sched.process_start);
    const doc = statusOf(p.state, { ...o, workstreamId: o.workstreamId, all: o.all }, { seq: p.header.seq, source: p.source, warnings: p.warnings, schedulerAlive: alive });
    return { at: p.header, ...doc };
  });
}
