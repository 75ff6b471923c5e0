import { resolve as resolvePath } from 'node:path';
import { pruneStore, type PruneKept, type PruneRemoval, type PruneRewrite } from '../store/prune.js';
import { type CommonOptions, stateDirOf, withStore } from './common.js';

export interface PruneOptions extends CommonOptions {
  /** Say what would go and remove nothing. */
  dryRun?: boolean;
}

export interface PruneResult {
  state_dir: string;
  dry_run: boolean;
  /** seq of the state the rules were applied to. */
  seq: number;
  /** Files removed (or, in a dry run, that would be), each with its size and the config key that chose it. */
  removed: PruneRemoval[];
  /** Total bytes of `removed`. */
  bytes: number;
  /** Files a rule matched that are kept anyway, and why. */
  kept: PruneKept[];
  /** Checkpoint files rewritten so the chain validate-state follows ends at the oldest file left. */
  rewritten: PruneRewrite[];
  notes: string[];
}

/**
 * prune: applies the retention settings of config.json (backups_keep, backups_max_age_days,
 * checkpoints_keep, checkpoints_finished_max_age_days, checkpoints_failed_max_age_days, attempt_logs_max_age_days,
 * failed_attempt_logs_max_age_days, archived_workstreams_max_age_days) to backups, checkpoint files
 * and attempt logs. Never removes the log or anything loading needs (see store/prune-plan.ts); records
 * nothing in the log. With `dryRun`, the same plan, nothing removed.
 */
export async function prune(o: PruneOptions): Promise<PruneResult> {
  const dryRun = o.dryRun === true;
  return withStore(o, { readOnly: dryRun }, async (store) => {
    const plan = await pruneStore(store, (o.clock ?? Date.now)(), dryRun);
    return {
      state_dir: resolvePath(stateDirOf(o)),
      dry_run: dryRun,
      seq: store.state.seq,
      removed: plan.remove,
      bytes: plan.remove.reduce((n, r) => n + r.bytes, 0),
      kept: plan.kept,
      rewritten: plan.rewrite.map(({ file, why }) => ({ file, why })),
      notes: plan.notes,
    };
  });
}
