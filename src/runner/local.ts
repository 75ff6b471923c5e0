import type { TaskExecutor } from './executor.js';
import { WorkerPool } from './pool.js';

/**
 * The local executor: today's worker pool (a Node worker process per slot, each task in its own
 * process group), unchanged — this only names its kind, so the scheduler's path and speed stay as they were.
 */
export class LocalExecutor extends WorkerPool implements TaskExecutor {
  readonly kind = 'local' as const;
}
