import { CairnError } from '../errors.js';
import type { SchedulerInfo } from '../model/types.js';
import { isAlive } from '../runner/kill.js';
import type { StoreConfig } from '../store/config.js';
import { isLocked } from '../store/lock.js';
import type { StatePaths } from '../store/paths.js';

/**
 * Refuses with SCHEDULER_RUNNING (exit 4) while a scheduler works on the folder: its scheduler lock
 * is fresh, and the scheduler the log names (if any) is alive. `refusal` says what is not done.
 * For the changes a running scheduler cannot follow (a log replaced under it, a repair of files it
 * writes): it would stop with LOG_REPLACED, or keep writing over the repair.
 */
export async function refuseWhileScheduling(paths: StatePaths, cfg: StoreConfig, sched: SchedulerInfo | null, refusal: string): Promise<void> {
  const locked = await isLocked(paths.schedulerLockTarget, cfg.lock_stale_ms);
  const alive = sched !== null && isAlive(sched.pid, sched.process_start);
  if (locked && (alive || sched === null)) {
    throw new CairnError('SCHEDULER_RUNNING', `a scheduler runs on this state folder${sched ? ` (pid ${sched.pid})` : ''}; ${refusal}`, {
      hint: 'Stop it first (Ctrl-C in its terminal, or kill -TERM <pid>); it recovers the log tail and orphaned tasks by itself when it starts again.',
    });
  }
}
