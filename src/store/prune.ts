import * as path from 'node:path';
import { atomicWrite } from './atomic.js';
import { type FsLayer, fsyncDir, ioError } from './fsio.js';
import type { StatePaths } from './paths.js';
import { planPrune, type PrunePlan } from './prune-plan.js';
import type { Store } from './store.js';

export { type PrunePlan, type PruneRemoval, type PruneKept, type PruneRewrite, type RetentionRule } from './prune-plan.js';

/**
 * Carries out a retention plan (planPrune) under the caller's state lock. Checkpoint chains are
 * rewritten first: a crash after that leaves files below the raised floor, which is harmless, where
 * removing first would leave validate-state a chain with missing links. Then the files go, and an
 * attempt-log folder left empty goes with them.
 *
 * Nothing is recorded in the log: retention removes derived and cache files only (backups, checkpoint
 * files, attempt output), which the log either rebuilds or never held. It changes no state, so a record
 * would be noise in every history, diff and replay.
 */
export function applyPrune(io: FsLayer, paths: StatePaths, plan: PrunePlan): void {
  for (const w of plan.rewrite) atomicWrite(io, path.join(paths.root, w.file), w.text);
  const dirs = new Set<string>();
  for (const r of plan.remove) {
    const file = path.join(paths.root, r.file);
    try {
      io.unlinkSync(file);
    } catch (e) {
      // Gone already (removed by hand meanwhile): what the plan wanted.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError('unlink', `could not remove ${file}`, e);
    }
    dirs.add(path.dirname(file));
  }
  for (const dir of dirs) {
    if (path.dirname(dir) === paths.logs) removeIfEmpty(io, dir);
    fsyncDir(io, path.dirname(dir) === paths.logs ? paths.logs : dir);
  }
}

function removeIfEmpty(io: FsLayer, dir: string): void {
  try {
    if (io.readdirSync(dir).length === 0) io.rmdirSync(dir);
  } catch {
    // Not empty after all (a file appeared), or already gone: it stays or is gone, either is fine.
  }
}

/**
 * Retention on an open store: plans from its state and, unless `dryRun`, brings the derived files up
 * to date (so the plan sees the backup and checkpoints this command leaves) and then plans again and
 * removes under the state lock, as every writer does. Returns the plan that was carried out.
 */
export async function pruneStore(store: Store, nowMs: number, dryRun: boolean): Promise<PrunePlan> {
  if (dryRun) {
    store.refresh();
    return planPrune(store.io, store.paths, store.state, store.config, nowMs, store.source);
  }
  await store.writeDerived();
  return store.withLock(async (lock) => {
    const plan = planPrune(store.io, store.paths, store.state, store.config, nowMs, store.source);
    lock.assertHeld();
    applyPrune(store.io, store.paths, plan);
    return plan;
  });
}
