import { resolve as resolvePath } from 'node:path';
import { CairnError } from '../errors.js';
import { type ArchiveAsk, carryOutArchive, pendingMove, planArchive } from '../store/log-archive.js';
import { type CommonOptions, operatorOf, stateDirOf, withStore } from './common.js';

export interface LogArchiveOptions extends CommonOptions {
  /** The folder the segments go to (outside the state folder; created when missing). */
  to: string;
  /** Move the closed segments whose records all come before this seq. */
  beforeSeq?: number;
  /** Move every closed segment but the newest K. */
  keepSegments?: number;
  dryRun?: boolean;
}

export interface LogArchiveResult {
  state_dir: string;
  dry_run: boolean;
  archived_to: string;
  /** Segments moved (or that would be), oldest first. */
  segments: { name: string; first: number; last: number; bytes: number }[];
  /** The base the log now starts from (null in a dry run, or when only an interrupted move was finished). */
  base: { file: string; seq: number } | null;
  /** The seq the log here starts after (0: the whole log is here). */
  history_from_seq: number;
  /** The seq of the log_archived record of an interrupted move this run finished (its own ask was not carried out), else null. */
  finished_interrupted: number | null;
}

/**
 * log-archive: moves closed log segments out of `.state/log/` into `to`, covered by a base (the
 * state at the last moved seq, log/base-<seq>.json); records `log_archived`. See store/log-archive.ts.
 */
export async function logArchive(o: LogArchiveOptions): Promise<LogArchiveResult> {
  if (typeof o.to !== 'string' || o.to === '') throw new CairnError('BAD_INPUT', '--to DIR is required: the folder the segments go to', { hint: 'For example: cairn log-archive --to ../cairn-archive --keep-segments 2' });
  if ((o.beforeSeq === undefined) === (o.keepSegments === undefined)) {
    throw new CairnError('BAD_INPUT', 'give exactly one of --before-seq N and --keep-segments K', { hint: 'For example: cairn log-archive --to ../cairn-archive --keep-segments 2' });
  }
  for (const [flag, v, min] of [['--before-seq', o.beforeSeq, 2], ['--keep-segments', o.keepSegments, 0]] as const) {
    if (v !== undefined && !(Number.isSafeInteger(v) && v >= min)) throw new CairnError('BAD_INPUT', `${flag} must be a whole number >= ${min}, got ${String(v)}`, { hint: 'Nothing was changed.' });
  }
  const dryRun = o.dryRun === true;
  return withStore(o, { readOnly: dryRun }, async (store) => {
    // MUST: one log_archived record a move. A move killed before its base was written is finished
    // as its record says (the record is committed before the move), with no second record.
    const pending = pendingMove(store.io, store.paths);
    const ask: ArchiveAsk = pending ? { to: pending.archived_to, beforeSeq: pending.base_seq + 1 } : { to: o.to, beforeSeq: o.beforeSeq, keepSegments: o.keepSegments };
    let plan = planArchive(store.io, store.paths, ask);
    const out = (base: LogArchiveResult['base'], from: number): LogArchiveResult => ({
      state_dir: resolvePath(stateDirOf(o)), dry_run: dryRun, archived_to: plan.to, base, history_from_seq: from, finished_interrupted: pending?.seq ?? null,
      segments: [...plan.leftover, ...plan.move].map((s) => ({ name: s.name, first: s.first, last: s.last, bytes: s.bytes })),
    });
    if (dryRun) return out(null, plan.current?.seq ?? 0);
    const names = [...plan.leftover, ...plan.move].map((s) => s.name);
    // Only leftovers of a move whose base is written: its record already says what went where.
    if (!pending && plan.move.length > 0) await store.commit(() => [{
      type: 'log_archived', operator: operatorOf(o), reason: o.reason ?? `log-archive --to ${plan.to}`, action: 'log_archive',
      segments: names, archived_to: plan.to, base_seq: plan.base?.seq ?? plan.current!.seq,
    }]);
    const now = new Date((o.clock ?? Date.now)()).toISOString();
    const name = await store.withLock(async (lock) => {
      // Planned again under the lock: the log may have rotated since.
      plan = planArchive(store.io, store.paths, ask);
      lock.assertHeld();
      return carryOutArchive(store.io, store.paths, plan, now);
    });
    return out(name && plan.base ? { file: name, seq: plan.base.seq } : null, plan.base?.seq ?? plan.current?.seq ?? 0);
  });
}
