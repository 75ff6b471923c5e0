import { CairnError } from '../../errors.js';
import { type DecisionFilter, type DecisionLine, keeps, summarize } from '../../history/decisions.js';
import { realFs } from '../../store/fsio.js';
import { logPages, pageDecisions } from '../../store/history-read.js';
import type { LogPosition } from '../../store/logfile.js';
import { logStart } from '../../store/log-base.js';
import { StatePaths } from '../../store/paths.js';
import { checkRoot } from '../../store/store.js';
import { type CommonOptions, stateDirOf } from '../common.js';
import { type ResolvedPoint, resolvePoint } from './points.js';

export interface LogQuery extends DecisionFilter {
  /** Only decisions after this point (a seq, a date-time, git:<rev>, now). */
  since?: string;
  /** Only decisions up to and including this point. */
  until?: string;
  /** At most this many decisions (the newest). */
  maxCount?: number;
  /** Bytes read so far of the part of the log in range; `pass` 1 finds the pages, 2 reads them newest first. */
  onProgress?: (pass: 1 | 2, done: number, total: number) => void;
}

/** A point as `cairn log` names it back: the text given and the decision it resolved to. */
export interface LogBound {
  text: string;
  seq: number;
  ts: string | null;
}

export interface LogResult {
  since: LogBound | null;
  until: LogBound | null;
  shown: number;
  /** The sink asked to stop (stdout's reader went away). */
  stopped: boolean;
  warnings: string[];
}

/**
 * Streams the decisions of the log to `sink`, newest first, one line a decision (DESIGN §10). Bad
 * input is refused before anything is read: a point that is not one, or that the log (or git) does
 * not have, exits 2 saying what exists, and so does a max count that is not a whole number >= 1.
 *
 * Newest first without the log in memory: a first pass (no JSON, only the scanner's chain check)
 * notes the decision boundary every few thousand records; the second reads those pages from the
 * last to the first, one page parsed at a time, and hands each page's lines newest first to the
 * sink. Memory holds one page and a few hundred boundaries for a million records; with -n, or when
 * the sink stops (`cairn log | head`), only the newest pages are ever parsed. Reading the file
 * backwards would save the first pass but cannot check the crc chain, which runs forward, and a
 * line read backwards cannot tell whether it ends a decision of several records.
 */
export async function streamLog(o: CommonOptions & LogQuery, sink: (lines: DecisionLine[]) => Promise<boolean> | boolean): Promise<LogResult> {
  const root = stateDirOf(o);
  const io = o.fs ?? realFs;
  checkRoot(io, root);
  if (o.maxCount !== undefined && !(Number.isSafeInteger(o.maxCount) && o.maxCount >= 1)) {
    throw new CairnError('BAD_INPUT', `--max-count must be a whole number >= 1, got ${JSON.stringify(o.maxCount)}`, { hint: 'For example: cairn log -n 20' });
  }
  const warnings: string[] = [];
  const since = o.since === undefined ? null : resolvePoint(o, o.since);
  const until = o.until === undefined ? null : resolvePoint(o, o.until);
  for (const p of [since, until]) if (p?.git && !p.git.prefix) warnings.push(diverged(p));
  const result: LogResult = { since: bound(since), until: bound(until), shown: 0, stopped: false, warnings };
  const low = since?.seq ?? 0;
  const high = until?.seq ?? Number.MAX_SAFE_INTEGER;
  if (low >= high) return result;
  const file = new StatePaths(root).log;
  const begin = logStart(io, file);
  if (begin.base) warnings.push(`history before seq ${begin.pos.seq + 1} is archived in ${begin.base.archived_to} (moved out on ${begin.base.archived_at.slice(0, 10)})`);
  const from: LogPosition = since?.at ?? begin.pos;
  const pages = await logPages(io, file, from, high, o.onProgress && ((d, t) => o.onProgress!(1, d - from.offset, t - from.offset)));
  const last = pages[pages.length - 1]!;
  for (let i = pages.length - 1; i > 0; i--) {
    const lines: DecisionLine[] = [];
    for (const records of pageDecisions(io, file, pages[i - 1]!, pages[i]!)) {
      const d = summarize(records);
      if (d.first_seq > low && d.last_seq <= high && keeps(d, o)) lines.push(d);
    }
    lines.reverse();
    if (o.maxCount !== undefined) lines.splice(o.maxCount - result.shown);
    o.onProgress?.(2, last.offset - pages[i - 1]!.offset, last.offset - from.offset);
    if (lines.length === 0) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      continue;
    }
    result.shown += lines.length;
    if ((await sink(lines)) === false) return { ...result, stopped: true };
    if (o.maxCount !== undefined && result.shown >= o.maxCount) break;
  }
  return result;
}

function bound(p: ResolvedPoint | null): LogBound | null {
  return p && { text: p.text, seq: p.seq, ts: p.ts };
}

function diverged(p: ResolvedPoint): string {
  return `${p.text}: the log committed at ${p.git!.commit.slice(0, 12)} is not a prefix of this log (the histories went apart); its last seq, ${p.seq}, is used as the bound`;
}
