import type { RecordType, Severity } from './catalogue.js';
import type { TaskCounts, TaskState, WorkerState, WorkstreamState } from './states.js';

/** A command as the spec gives it: a string runs under /bin/sh -c, an array runs without a shell. */
export type Command = string | string[];

/** How an attempt ended, stored in the record as plain JSON (a failure of work is a value). */
export interface TaskOutcome {
  kind: FailureKind;
  exit_code: number | null;
  signal: string | null;
  duration_ms: number;
  message: string | null;
  /** Only on a spawn_error the OS reported: its error code (E2BIG, ENOENT, EACCES, …). Older records lack it. */
  errno?: string;
}

/** A task's definition after normalization: every default filled in. */
export interface TaskDef {
  id: string;
  command: Command;
  depends_on: string[];
  resources: Record<string, number>;
  critical: boolean;
  priority: number;
  timeout_seconds: number | null;
  max_retries: number;
  retry_base_seconds: number;
  retry_cap_seconds: number;
  validate: Command | null;
  cwd: string | null;
  env: Record<string, string>;
  /** What an executor that allocates (Slurm) asks for: CPUs, memory in MB, GPUs. Absent when the spec does not say. */
  cpus?: number;
  memory_mb?: number;
  gpus?: number;
}

/** A normalized workstream spec, as stored in `workstream_submitted`. */
export interface WorkstreamSpec {
  id: string;
  params: Record<string, string>;
  resources: Record<string, { max_holders: number | null }>;
  tasks: TaskDef[];
}

/** A task as the state knows it: its definition plus its live fields. */
export interface Task extends TaskDef {
  workstream_id: string;
  state: TaskState;
  /** Definition order, the last tie-breaker of readiness. */
  order: number;
  /** Length of the longest dependency path from this task to the end, itself included. */
  path_length: number;
  retry_count: number;
  /** Attempts started so far; the running attempt's number while running. */
  attempt: number;
  worker_id: string | null;
  pid: number | null;
  pgid: number | null;
  /** Start time of the task's process (clock ticks since boot), to never kill a reused pid. */
  process_start: string | null;
  scheduler_id: string | null;
  /** Set only when the current or last attempt ran outside a worker process: the executor and its job id (a Slurm job). */
  executor?: 'slurm';
  job_id?: string;
  started_at: string | null;
  deadline: string | null;
  retry_at: string | null;
  queued_at: string | null;
  finished_at: string | null;
  last_outcome: TaskOutcome | null;
  /** Why the task was last cancelled: operator, cascade, critical_failure, rollback. */
  cancel_trigger: string | null;
  blocked_by: string | null;
  resource_warned: boolean;
  updated_seq: number;
}

export interface Workstream {
  id: string;
  state: WorkstreamState;
  params: Record<string, string>;
  submitted_at: string;
  finished_at: string | null;
  /** Task ids in definition order. */
  task_ids: string[];
  counts: TaskCounts;
  /** seq of the last record that changed a task of this workstream (checkpoints are taken as of it). */
  last_task_seq: number;
  /** ts of that record. */
  last_task_at: string;
  failure: { reason: string; task_id: string | null } | null;
  updated_seq: number;
}

export interface Worker {
  id: string;
  state: WorkerState;
  pid: number | null;
  /** `<workstream_id>/<task_id>` of the task it runs. */
  task: string | null;
  scheduler_id: string | null;
  started_at: string;
  pending_request: { kind: 'restart' | 'shutdown'; reassign: boolean; seq: number } | null;
  updated_seq: number;
}

export interface Resource {
  id: string;
  max_holders: number | null;
  /** `<workstream_id>/<task_id>` → units held. */
  holders: Record<string, number>;
  updated_seq: number;
}

export interface SchedulerInfo {
  id: string;
  pid: number;
  process_start: string | null;
  started_at: string;
}

/** What ended an attempt badly, as `cairn metrics` and metrics.json count failures. */
export type FailureKind = 'exit' | 'timeout' | 'signal' | 'spawn_error' | 'worker_lost' | 'validation' | 'cancelled';

/** A recovery of one kind: how often it was used and how its targets' next ends went. */
export interface RecoveryCounts {
  count: number;
  succeeded: number;
  failed: number;
  /** Time to recover of each succeeded recovery of a failed task, in ms, comma-separated in log order. */
  ttr_ms: string;
}

/**
 * Counters kept by `apply` for metrics.json: the figures of `cairn metrics` over the whole log,
 * kept up to date record by record. Lists of durations are comma-separated text, not arrays: an
 * append is a string concatenation (no copy), a draft shares them, and a snapshot writes them as
 * one line of digits (about five bytes a completed task).
 */
export interface Metrics {
  attempts: number;
  retries: number;
  timeouts: number;
  reassignments: number;
  task_duration_ms_total: number;
  tasks_finished: number;
  recoveries: Record<string, RecoveryCounts>;
  /** Task key → the recovery awaiting the task's next end, and when the failure it answered happened. */
  recovery_targets: Record<string, { kind: string; failed_at: string | null }>;
  /** Attempts that ended badly, by kind (task_reassigned counts as worker_lost). */
  failures: Record<FailureKind, number>;
  /** Attempts that exited non-zero, by exit code. */
  exit_codes: Record<string, number>;
  /** Records that left a task failed. */
  tasks_failed: number;
  /** How many tasks started 1, 2, … times (keyed by the count as text). */
  attempts_per_task: Record<string, number>;
  /** task_completed records. */
  completed: number;
  /** Per workstream, each completion's time from its attempt's start, in ms, comma-separated in log order. */
  durations_ms: Record<string, string>;
  /** ts of the log's first record (null before any). */
  first_ts: string | null;
}

/** The common envelope of every record (DESIGN §3). */
export interface Envelope {
  seq: number;
  id: string;
  ts: string;
  type: RecordType;
  severity: Severity;
  operator: string | null;
  reason?: string;
  caused_by?: string;
  crc: string;
}

/** A record as it lives in the log: the envelope plus its entity and payload fields. */
export type LogRecord = Envelope & { [field: string]: unknown };

/** A record before the store gives it seq, id, ts and crc. */
export type Draft = { type: RecordType; severity?: Severity; operator?: string | null; reason?: string; caused_by?: string } & {
  [field: string]: unknown;
};

export function taskKey(workstreamId: string, taskId: string): string {
  return `${workstreamId}/${taskId}`;
}

export function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}
