import * as path from 'node:path';
import { CairnError } from '../../errors.js';
import { parsePoint, type Point } from '../../history/points.js';
import { lineSeq, statedCrc } from '../../log/codec.js';
import { gitOrThrow, gitSegmentsAt, runGit } from '../../runner/git.js';
import { realFs } from '../../store/fsio.js';
import { type CommittedLog, lastSegmentText, pathInRepo } from '../../store/git-log.js';
import { loadState } from '../../store/load.js';
import { StatePaths } from '../../store/paths.js';
import { type LogPoint, pointAtSeq, pointAtTime } from '../../store/points.js';
import { checkRoot } from '../../store/store.js';
import { LOG_START, type LogPosition } from '../../store/logfile.js';
import { nearestPosition } from '../../store/snapshots.js';
import { type CommonOptions, stateDirOf } from '../common.js';

/** A git revision a point named, and the log committed there. */
export interface GitSource {
  rev: string;
  commit: string;
  /** The state folder's path in the repository. */
  path: string;
  /** transitions.jsonl and the segments of log/ beside it, as committed at `commit`. */
  log: CommittedLog;
  /** Whether that log is a prefix of this folder's log (then `at` is set and the fast path applies). */
  prefix: boolean;
}

/** A point resolved against this state folder (and git, for git:<rev>). */
export interface ResolvedPoint {
  text: string;
  kind: Point['kind'];
  /** The end of the decision in this folder's log; null for a git revision whose log went another way. */
  at: LogPoint | null;
  /** The seq of the state named (in the git revision's own log when `at` is null). */
  seq: number;
  ts: string | null;
  git: GitSource | null;
}

/**
 * Resolves a point (history/points.ts) to the end of a decision: a seq to the end of the decision
 * holding it, a time to the last decision stamped at or before it, git:<rev> to the log committed
 * at that revision (a prefix of ours, or a log of its own), now to the end of the log. An unknown
 * point is UNKNOWN_POINT (exit 2) saying what exists.
 */
export function resolvePoint(o: CommonOptions, text: string): ResolvedPoint {
  const root = stateDirOf(o);
  const io = o.fs ?? realFs;
  checkRoot(io, root);
  const log = new StatePaths(root).log;
  const p = parsePoint(text);
  switch (p.kind) {
    case 'seq': {
      const at = pointAtSeq(io, log, p.seq, walkFrom(io, root, log, p.seq));
      return { text: p.text, kind: p.kind, at, seq: at.seq, ts: at.ts, git: null };
    }
    case 'time': {
      const at = pointAtTime(io, log, p.ms, p.text);
      return { text: p.text, kind: p.kind, at, seq: at.seq, ts: at.ts, git: null };
    }
    case 'now': {
      // The end of the loaded log is the end of its last decision already: no second walk.
      const { end, state } = loadState(io, new StatePaths(root));
      const at: LogPoint = { ...end, ts: end.seq > 0 ? state.lastTs : null };
      return { text: p.text, kind: p.kind, at, seq: at.seq, ts: at.ts, git: null };
    }
    case 'git':
      return resolveGit(io, root, log, p);
    default:
      return unreachable(p);
  }
}

function resolveGit(io: NonNullable<CommonOptions['fs']>, root: string, log: string, p: Extract<Point, { kind: 'git' }>): ResolvedPoint {
  const top = runGit(root, ['rev-parse', '--show-toplevel']);
  if (top.code !== 0) {
    throw new CairnError('UNKNOWN_POINT', `${p.text}: the state folder ${root} is not in a git repository (git: ${top.stderr.trim().split('\n').at(-1)})`, {
      hint: 'git: points read the state as committed; commit the state folder (git init, git add .state, git commit) or name a seq or a time',
    });
  }
  const topDir = top.stdout.toString('utf8').trim();
  const rel = pathInRepo(topDir, root);
  if (rel === null) throw new CairnError('UNKNOWN_POINT', `${p.text}: the state folder ${root} is outside the git work tree ${topDir}`, { hint: 'name a seq or a time' });
  const commit = gitOrThrow(topDir, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${p.rev}^{commit}`], 'BAD_INPUT', 'name a revision git knows: git log --oneline lists them').toString('utf8').trim();
  const file = rel === '' ? 'transitions.jsonl' : `${rel}/transitions.jsonl`;
  const shown = runGit(topDir, ['show', `${commit}:${file}`]);
  if (shown.code !== 0) {
    throw new CairnError('UNKNOWN_POINT', `${p.text} (${commit.slice(0, 12)}) has no ${file}: the state folder was not committed at that revision`, {
      hint: `git log --oneline -- ${path.posix.dirname(file)} lists the commits that hold it`,
      details: { commit, path: file, git_stderr: shown.stderr.trim() },
    });
  }
  // The older part of the log may be in log/*.jsonl.gz at that revision: read with the active file as one log.
  const committed: CommittedLog = { active: shown.stdout, segments: gitSegmentsAt(topDir, commit, rel) };
  const first = committed.active.length > 0 ? lineSeq(committed.active, 0, Math.max(0, committed.active.indexOf(0x0a))) : 0;
  if (first > 1 && committed.segments.length === 0) {
    // With segments, the readers name a gap themselves (segments.ts); with none, say which are missing.
    throw new CairnError('LOG_CORRUPT', `${p.text} (${commit.slice(0, 12)}): ${file} starts at seq ${first}, and the revision has no ${path.posix.join(path.posix.dirname(file), 'log')}/*.jsonl.gz segment holding seq 1-${first - 1}: they are missing from that commit`, {
      hint: 'commit the segments with the log (git add .state/log), or name a revision that has them',
      details: { commit, path: file, first_seq: first },
    });
  }
  const last = lastRecord(committed.active) ?? lastRecord(lastSegmentText(committed));
  const source: GitSource = { rev: p.rev, commit, path: rel, log: committed, prefix: false };
  if (!last) return { text: p.text, kind: 'git', at: { offset: 0, seq: 0, crc: 0, ts: null }, seq: 0, ts: null, git: { ...source, prefix: true } };
  // The committed log is a prefix of ours when our record at its last seq has its crc: the chain
  // makes every record before it equal too.
  try {
    const at = pointAtSeq(io, log, last.seq, walkFrom(io, root, log, last.seq));
    if (at.seq === last.seq && at.crc === last.crc) return { text: p.text, kind: 'git', at, seq: at.seq, ts: at.ts, git: { ...source, prefix: true } };
  } catch (e) {
    if (!(e instanceof CairnError && e.code === 'UNKNOWN_POINT')) throw e;
  }
  return { text: p.text, kind: 'git', at: null, seq: last.seq, ts: last.ts, git: source };
}

/**
 * Where a walk to `seq` may start: the position of the nearest whole-state snapshot before it that
 * holds in the log (store/snapshots.ts), else the start of the log. Strictly before, so the walk
 * reads the decision that ends at `seq` and learns its ts.
 */
function walkFrom(io: NonNullable<CommonOptions['fs']>, root: string, log: string, seq: number): LogPosition {
  return nearestPosition(io, new StatePaths(root), log, seq - 1, false)?.pos ?? LOG_START;
}

/** The seq, crc and ts of the last whole record of a log's bytes (null when it has none). */
function lastRecord(buf: Buffer): { seq: number; crc: number; ts: string | null } | null {
  let end = buf.length;
  while (end > 0) {
    if (buf[end - 1] !== 0x0a) {
      end = buf.lastIndexOf(0x0a, end - 1) + 1; // a torn last line is not a record
      continue;
    }
    const lineEnd = end - 1;
    const start = buf.lastIndexOf(0x0a, lineEnd - 1) + 1;
    const seq = lineSeq(buf, start, lineEnd);
    const crc = statedCrc(buf, start, lineEnd);
    if (seq > 0 && crc >= 0) {
      const m = /"ts":"([^"]*)"/.exec(buf.toString('utf8', start, Math.min(lineEnd, start + 200)));
      return { seq, crc, ts: m ? m[1]! : null };
    }
    end = start;
  }
  return null;
}

function unreachable(x: never): never {
  throw new CairnError('INTERNAL', `unknown point kind ${JSON.stringify(x)}`);
}
