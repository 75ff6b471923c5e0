import { CairnError } from '../errors.js';

/** The settings of worker replacement (config.json; milliseconds). */
export interface RestartConfig {
  worker_restart_base_ms: number;
  worker_restart_cap_ms: number;
  worker_deaths_limit: number;
}

/** How long to wait before replacing a worker after `deaths` deaths in a row: base · 2^(deaths−1), at most the cap. */
export function restartDelayMs(deaths: number, cfg: RestartConfig): number {
  if (deaths <= 0) return 0;
  return Math.min(cfg.worker_restart_cap_ms, cfg.worker_restart_base_ms * 2 ** Math.min(deaths - 1, 30));
}

/**
 * Counts worker deaths in a row; any task attempt a worker reports ends the row (workers can run
 * tasks, so the deaths were not a loop). Pure bookkeeping: the executor sleeps and stops.
 */
export class DeathRow {
  private count = 0;
  private last = '';
  private readonly workers: string[] = [];

  constructor(private readonly cfg: RestartConfig) {}

  /** A worker reported an attempt's outcome: the row is broken. */
  reset(): void {
    this.count = 0;
    this.workers.length = 0;
  }

  /** Records a death; returns the wait before the replacement starts, or null when the limit is reached. */
  died(workerId: string, cause: string): number | null {
    this.count++;
    this.last = cause;
    if (!this.workers.includes(workerId)) this.workers.push(workerId);
    return this.count >= this.cfg.worker_deaths_limit ? null : restartDelayMs(this.count, this.cfg);
  }

  /** The error `cairn run` stops with when the limit is reached; `logOf` gives each worker's log path. */
  error(logOf: (workerId: string) => string): CairnError {
    const logs = this.workers.map(logOf);
    return new CairnError('WORKERS_FAILING', `workers keep dying: ${this.count} in a row with no task attempt ending in between; the last: ${this.last}. Worker logs: ${logs.join(', ')}`, {
      details: { deaths: this.count, last_cause: this.last, worker_ids: [...this.workers], worker_logs: logs },
      hint: 'Read the worker logs (cairn show-worker-logs --worker-id <id>) for the cause and fix it; the tasks stay as the log has them (running ones were requeued, no retry spent), so `cairn run` carries on. The limit is worker_deaths_limit in .state/config.json.',
    });
  }
}
