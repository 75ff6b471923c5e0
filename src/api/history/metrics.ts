import { CairnError } from '../../errors.js';
import { METRIC_DEFINITIONS, MetricsFold, type MetricsFigures } from '../../history/metrics.js';
import { resolveWorkstream } from '../../model/resolve.js';
import { realFs } from '../../store/fsio.js';
import { streamRecords } from '../../store/records.js';
import { historyStartLine, historyStart, logStart } from '../../store/log-base.js';
import { StatePaths } from '../../store/paths.js';
import { checkRoot } from '../../store/store.js';
import { type CommonOptions, stateDirOf, withStore } from '../common.js';
import type { LogBound } from './log.js';
import { type ResolvedPoint, resolvePoint } from './points.js';

export interface MetricsQuery {
  /** Count only what came after this point (a seq, a date-time, git:<rev>, now). */
  since?: string;
  /** Count only up to and including this point. */
  until?: string;
  /** Only this workstream's records. */
  workstream?: string;
}

/** The figures of a window of the log, with the window as resolved and the definitions of each figure. */
export interface MetricsResult extends MetricsFigures {
  since: LogBound | null;
  until: LogBound | null;
  workstream_id: string | null;
  definitions: Record<string, string>;
  warnings: string[];
}

/**
 * `cairn metrics`: recoveries, failures, attempts, durations and throughput in a window of the log
 * (history/metrics.ts), computed by streaming the log from its start to the window's end a slice at
 * a time, so any past window works and the log is never whole in memory. Bad points are refused
 * (exit 2) before anything is read; a --since at or after --until is refused too.
 */
export async function metrics(o: CommonOptions & MetricsQuery): Promise<MetricsResult> {
  const root = stateDirOf(o);
  const io = o.fs ?? realFs;
  checkRoot(io, root);
  const warnings: string[] = [];
  const since = o.since === undefined ? null : resolvePoint(o, o.since);
  const until = o.until === undefined ? null : resolvePoint(o, o.until);
  for (const p of [since, until]) {
    if (p?.git && !p.git.prefix) warnings.push(`${p.text}: the log committed at ${p.git.commit.slice(0, 12)} is not a prefix of this log; its last seq, ${p.seq}, is used as the bound`);
  }
  if (since && until && since.seq >= until.seq) {
    throw new CairnError('BAD_INPUT', `--since ${since.text} (seq ${since.seq}) is not before --until ${until.text} (seq ${until.seq}): the window is empty`, {
      hint: 'Give a --since point earlier than --until (cairn log lists the seqs and times)',
    });
  }
  // A workstream id is checked against the state (also an archived one), so a typo is not an empty report.
  // Old segments moved out: a window from the start counts from the base (a --since before it is HISTORY_GONE).
  const start = since ? null : historyStart(logStart(io, new StatePaths(root).log).base);
  if (start) warnings.push(`counted from seq ${start.seq}: ${historyStartLine(start).slice(1, -1)}`);
  const ws = o.workstream === undefined ? null : await withStore(o, { readOnly: true }, async (s) => resolveWorkstream(s.state, o.workstream!).id);
  const fold = new MetricsFold({
    low: since?.seq ?? 0, high: until?.seq ?? Number.MAX_SAFE_INTEGER,
    ...(ws !== null ? { workstreamId: ws } : {}),
    fromTs: since?.ts ?? null, toTs: until?.ts ?? null,
  });
  await streamRecords(io, new StatePaths(root).log, ws !== null ? { workstreamId: ws } : {}, (batch) => {
    for (const r of batch) if (!fold.visit(r)) return false;
    return true;
  });
  return { since: bound(since), until: bound(until), workstream_id: ws, ...fold.figures(), definitions: METRIC_DEFINITIONS, warnings };
}

function bound(p: ResolvedPoint | null): LogBound | null {
  return p && { text: p.text, seq: p.seq, ts: p.ts };
}
