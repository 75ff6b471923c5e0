import type { Worker } from '../model/types.js';

/** check_worker, pure: a verdict on one worker from the log's view and the scheduler's live health. */
export interface LiveHealth {
  pid: number | null;
  state: string;
  task: string | null;
  last_heartbeat_at: string | null;
  silent_ms: number | null;
}

export type Verdict = 'healthy' | 'silent' | 'unresponsive' | 'shutdown' | 'not_running' | 'no_health_data';

export interface WorkerCheck {
  verdict: Verdict;
  healthy: boolean;
  advice: string;
  commands: string[];
}

/**
 * The worker decision tree of the recovery procedures: unresponsive → wait for health_timeout
 * (it may recover); still silent after shutdown_after → force shutdown (reassigning its task) or
 * restart it. With no scheduler running no worker process exists at all.
 */
export function checkWorker(w: Worker, live: LiveHealth | null, schedulerLive: boolean, cfg: { health_timeout_ms: number; shutdown_after_ms: number }): WorkerCheck {
  const id = w.id;
  if (w.state === 'shutdown') {
    return { verdict: 'shutdown', healthy: false, advice: `worker ${id} is shut down; the scheduler started a replacement if one was needed`, commands: [`cairn show-worker-logs --worker-id ${id}`, 'cairn status'] };
  }
  if (!schedulerLive) {
    return {
      verdict: 'not_running', healthy: false,
      advice: `no scheduler runs, so worker ${id} has no process${w.task ? `; its task ${w.task} is orphaned` : ''}. Repair the state (requeues orphaned tasks) or start the scheduler (it does the same)`,
      commands: ['cairn repair-state --dry-run', 'cairn run', `cairn force-shutdown-worker --worker-id ${id} --reassign`],
    };
  }
  if (!live) return { verdict: 'no_health_data', healthy: false, advice: 'the scheduler has not written workers.json yet; check again in a second', commands: [`cairn check-worker --worker-id ${id}`] };
  const silent = live.silent_ms ?? 0;
  if (w.state === 'unresponsive') {
    const left = Math.max(0, cfg.shutdown_after_ms - silent);
    return {
      verdict: 'unresponsive', healthy: false,
      advice: `no heartbeat for ${Math.round(silent / 1000)} s; the scheduler shuts it down and reassigns its task in about ${Math.round(left / 1000)} s. To act now: restart it, or force it down and reassign its task`,
      commands: [`cairn show-worker-logs --worker-id ${id}`, `cairn restart-worker --worker-id ${id}`, `cairn force-shutdown-worker --worker-id ${id} --reassign`],
    };
  }
  if (silent >= cfg.health_timeout_ms / 2) {
    return { verdict: 'silent', healthy: false, advice: `no heartbeat for ${Math.round(silent / 1000)} s (unresponsive at ${Math.round(cfg.health_timeout_ms / 1000)} s); wait for it to recover`, commands: [`cairn check-worker --worker-id ${id}`, `cairn show-worker-logs --worker-id ${id}`] };
  }
  return { verdict: 'healthy', healthy: true, advice: `worker ${id} is ${w.state}${w.task ? ` running ${w.task}` : ''}; last heartbeat ${Math.round(silent / 1000)} s ago`, commands: [] };
}
