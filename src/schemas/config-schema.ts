import { DRAFT, SCHEMA_BASE, type JsonSchema } from './common.js';

/**
 * `.state/config.json`: settings of workers, timings, intervals and retention (DESIGN §4). Every key
 * is optional in the file; parseConfig fills the rest from DEFAULT_CONFIG. Flags and CAIRN_*
 * variables override the file (that merge belongs to the caller).
 */
export interface Config {
  /** Worker processes of `cairn run`; null: the number of cores, at least 2. */
  workers: number | null;
  health_timeout_ms: number;
  heartbeat_ms: number;
  shutdown_after_ms: number;
  kill_grace_ms: number;
  resource_wait_warn_ms: number;
  snapshot_interval_ms: number;
  backup_interval_ms: number;
  backups_keep: number;
  checkpoints_keep: number;
  /** Retention by age (days; null: no limit), applied after each `cairn run` and by `cairn prune` (store/prune-plan.ts). */
  backups_max_age_days: number | null;
  checkpoints_finished_max_age_days: number | null;
  /** For failed workstreams instead of checkpoints_finished_max_age_days (null: the same limit). */
  checkpoints_failed_max_age_days: number | null;
  attempt_logs_max_age_days: number | null;
  failed_attempt_logs_max_age_days: number | null;
  archived_workstreams_max_age_days: number | null;
  lock_stale_ms: number;
  lock_update_ms: number;
  lock_timeout_ms: number;
  retry_base_seconds: number;
  retry_cap_seconds: number;
  worker_restart_base_ms: number;
  worker_restart_cap_ms: number;
  worker_deaths_limit: number;
  /** Rotate transitions.jsonl into log/<first>-<last>.jsonl.gz once it is this long (store/rotate.ts); null: never. */
  log_segment_bytes: number | null;
  /** Commit the state folder with git after every intervention (DESIGN §10); off by default. */
  git_commit: boolean;
  /** Where attempts run (DESIGN §11): local worker processes, or one Slurm job each. `cairn run --executor` overrides the kind. */
  executor: ExecutorConfig;
}

/** config.json's `executor`: the kind and, for Slurm, where and how jobs are submitted. */
export interface ExecutorConfig {
  kind: 'local' | 'slurm';
  /** sbatch --partition; absent: the cluster's default partition. */
  partition?: string;
  /** sbatch --account; absent: the user's default account. */
  account?: string;
  /** More sbatch options, passed as they are (e.g. ["--qos=short"]). */
  extra_args?: string[];
  /** How often the one batched squeue runs, in ms. */
  poll_ms?: number;
}

/** The settings cairn uses when config.json, flags and environment say nothing. */
export const DEFAULT_CONFIG: Readonly<Config> = Object.freeze({
  // Not a number: the default follows the machine (see WORKERS_DEFAULT), so no fixed default is written.
  workers: null,
  health_timeout_ms: 30_000,
  heartbeat_ms: 10_000,
  shutdown_after_ms: 180_000,
  kill_grace_ms: 5_000,
  resource_wait_warn_ms: 60_000,
  snapshot_interval_ms: 1_000,
  backup_interval_ms: 60_000,
  backups_keep: 100,
  checkpoints_keep: 20,
  // No age limits by default: only the counts above, as before retention by age existed.
  backups_max_age_days: null,
  checkpoints_finished_max_age_days: null,
  checkpoints_failed_max_age_days: null,
  attempt_logs_max_age_days: null,
  failed_attempt_logs_max_age_days: null,
  archived_workstreams_max_age_days: null,
  lock_stale_ms: 10_000,
  lock_update_ms: 2_000,
  // Longer than the stale time, so a lock left by a killed process is taken over while waiting.
  lock_timeout_ms: 15_000,
  retry_base_seconds: 1,
  retry_cap_seconds: 300,
  // A worker that died is replaced after base · 2^(deaths in a row − 1), at most the cap; at the
  // limit `cairn run` stops (exit 1) instead of feeding a crash loop: 0.1 + 0.2 + … + 1.6 s, then stop.
  worker_restart_base_ms: 100,
  worker_restart_cap_ms: 5_000,
  worker_deaths_limit: 6,
  // Off: a log that is never rotated diffs, merges (the git merge driver) and reads at git:<rev>
  // points as one file; rotation is for long-lived state folders, which opt in.
  log_segment_bytes: null,
  git_commit: false,
  executor: Object.freeze({ kind: 'local' as const }),
});

/** How many workers `cairn run` starts when neither a flag, CAIRN_WORKERS nor config.json says. */
export const WORKERS_DEFAULT = 'the number of cores, at least 2';
/** More worker processes than this is a typo, not a plan (each is a Node process). */
export const MAX_WORKERS = 256;

const int = (description: string, minimum: number, key: keyof Config): JsonSchema => ({
  description: `${description} Default ${DEFAULT_CONFIG[key]}.`,
  type: 'integer',
  minimum,
  default: DEFAULT_CONFIG[key],
});

const seconds = (description: string, key: keyof Config): JsonSchema => ({
  description: `${description} Default ${DEFAULT_CONFIG[key]}.`,
  type: 'number',
  minimum: 0,
  default: DEFAULT_CONFIG[key],
});

const days = (description: string): JsonSchema => ({
  description: `${description} Ages are in days (fractions allowed); null: no limit. Applied after each cairn run and by cairn prune. Default null.`,
  type: ['number', 'null'],
  minimum: 0,
  default: null,
});

export const CONFIG_SCHEMA: JsonSchema = {
  $schema: DRAFT,
  $id: `${SCHEMA_BASE}config.schema.json`,
  title: 'cairn settings (.state/config.json)',
  description: 'Settings of a state folder. Every key is optional; a missing key takes its default. Flags and CAIRN_* environment variables override this file. Unknown keys are errors.',
  type: 'object',
  properties: {
    $schema: { description: 'The schema this file follows, for editors; ignored by cairn.', type: 'string' },
    workers: {
      description: `How many worker processes \`cairn run\` starts; --workers and CAIRN_WORKERS override it. Default ${WORKERS_DEFAULT}.`,
      type: 'integer',
      minimum: 1,
      maximum: MAX_WORKERS,
    },
    health_timeout_ms: int('A worker with no heartbeat for this long becomes unresponsive; must be more than heartbeat_ms.', 1, 'health_timeout_ms'),
    heartbeat_ms: int('How often a worker sends a heartbeat.', 1, 'heartbeat_ms'),
    shutdown_after_ms: int('An unresponsive worker is shut down after this long, its task reassigned and a replacement started.', 1, 'shutdown_after_ms'),
    kill_grace_ms: int('After SIGTERM to a task\'s process group, how long before SIGKILL.', 0, 'kill_grace_ms'),
    resource_wait_warn_ms: int('A queued task waiting this long for a resource logs resource_exhausted (once per wait).', 0, 'resource_wait_warn_ms'),
    snapshot_interval_ms: int('current.json is rewritten at most this often while running (and always at the end of a command).', 0, 'snapshot_interval_ms'),
    backup_interval_ms: int('The previous current.json is kept in backups/ at most this often.', 0, 'backup_interval_ms'),
    backups_keep: int('How many backups are kept, newest first.', 0, 'backups_keep'),
    checkpoints_keep: int('How many checkpoints are kept per workstream, newest first.', 1, 'checkpoints_keep'),
    backups_max_age_days: days('Backups modified longer ago than this are removed; the newest valid backup is always kept.'),
    checkpoints_finished_max_age_days: days('Checkpoint files of a finished (archived) workstream modified longer ago than this are removed, oldest first; its latest checkpoint is always kept.'),
    checkpoints_failed_max_age_days: days('The same for a failed workstream, usually set longer than checkpoints_finished_max_age_days (its checkpoints are what a rollback or an investigation needs); null: failed workstreams follow checkpoints_finished_max_age_days.'),
    attempt_logs_max_age_days: days('Logs (logs/<ws>/<task>.<attempt>.log) of attempts that completed the task, modified longer ago than this, are removed; logs of tasks that are not finished are always kept.'),
    failed_attempt_logs_max_age_days: days('Logs of attempts that did not complete their task (failed, timed out, retried, cancelled), modified longer ago than this, are removed; usually set longer than attempt_logs_max_age_days. Logs of tasks that are not finished are always kept.'),
    archived_workstreams_max_age_days: days('A workstream that finished longer ago than this (its finished_at) keeps only its archive file (loading needs it) and its latest checkpoint: its other checkpoint files and all its attempt logs are removed.'),
    lock_stale_ms: int('A state or scheduler lock not refreshed for this long is stale and may be taken over (at least 2000); one whose holder is dead on this host is taken over at once.', 2000, 'lock_stale_ms'),
    lock_update_ms: int('How often a held lock is refreshed (at least 1000 and at most lock_stale_ms / 2).', 1000, 'lock_update_ms'),
    lock_timeout_ms: int('How long a command waits for the state lock before it gives up with exit 4.', 0, 'lock_timeout_ms'),
    retry_base_seconds: seconds('Backoff base for tasks whose spec does not set one.', 'retry_base_seconds'),
    retry_cap_seconds: seconds('Backoff cap for tasks whose spec does not set one; must be >= retry_base_seconds.', 'retry_cap_seconds'),
    worker_restart_base_ms: int('A worker that died (or stopped answering) is replaced after this times 2^(deaths in a row - 1).', 0, 'worker_restart_base_ms'),
    worker_restart_cap_ms: int('The longest wait before replacing a worker that died.', 0, 'worker_restart_cap_ms'),
    worker_deaths_limit: int('After this many worker deaths in a row (no task attempt ending in between), cairn run stops with exit 1 and names the worker logs; the tasks stay as the log has them.', 1, 'worker_deaths_limit'),
    log_segment_bytes: {
      description: 'When transitions.jsonl passes this many bytes after a commit, it is closed into log/<first seq>-<last seq>.jsonl.gz (gzip) and an empty transitions.jsonl continues the crc chain; every reader reads the segments and the active file as one log. At most 1 GiB. null: never rotate. Default null.',
      type: ['integer', 'null'],
      minimum: 1,
      maximum: 1024 * 1024 * 1024,
      default: null,
    },
    executor: {
      description: 'Where attempts run. kind local (the default): worker processes on this machine. kind slurm: one Slurm job per attempt (sbatch), states from one batched squeue per poll, scancel for timeouts and cancels; the state folder must be on a file system the compute nodes share (docs/scale-out.md). cairn run --executor overrides kind.',
      type: 'object',
      properties: {
        kind: { description: 'local or slurm.', enum: ['local', 'slurm'] },
        partition: { description: 'sbatch --partition; absent: the cluster\'s default.', type: 'string', pattern: '^[A-Za-z0-9._,-]+$' },
        account: { description: 'sbatch --account; absent: the user\'s default.', type: 'string', pattern: '^[A-Za-z0-9._-]+$' },
        extra_args: { description: 'More sbatch options, each one argument, passed as they are (e.g. ["--qos=short"]).', type: 'array', items: { type: 'string', pattern: '^-', description: 'One sbatch option.' } },
        poll_ms: { description: 'How often the one batched squeue (for all jobs) runs. Default 2000.', type: 'integer', minimum: 50, maximum: 600000 },
      },
      required: ['kind'],
      additionalProperties: false,
      default: DEFAULT_CONFIG.executor,
    },
    git_commit: {
      description: 'After every intervention (a recovery command that records an operator: retry-task, skip-task, rollback-workstream, restore-state, repair-state, set-resource-limit, …) and once its records are durable, commit the state folder with git (only its own paths; other staged work is left alone), with a message naming the tool, target, operator, reason and seq range, so recoveries are bisectable. Not in a git repository, or git fails: the intervention still stands and a warning says why no commit was made. Default false.',
      type: 'boolean',
      default: false,
    },
  },
  additionalProperties: false,
};
