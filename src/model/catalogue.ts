/**
 * The catalogue of record types: every fact cairn can append to the log, with its default severity,
 * the entity it is about, and a one-line description. Names are snake_case, past tense.
 */
export type Severity = 'info' | 'warning' | 'error' | 'critical';
export type Entity = 'workstream' | 'task' | 'worker' | 'resource' | 'scheduler' | 'state';

interface Entry {
  readonly entity: Entity;
  readonly severity: Severity;
  readonly description: string;
}

export const RECORD_TYPES = {
  workstream_submitted: { entity: 'workstream', severity: 'info', description: 'A workstream and all its tasks were accepted from a spec; tasks start pending.' },
  workstream_started: { entity: 'workstream', severity: 'info', description: 'The first task of a pending workstream was queued.' },
  workstream_completed: { entity: 'workstream', severity: 'info', description: 'Every task is completed, skipped or cancelled, and not all of them cancelled; the workstream moves to the archive.' },
  workstream_failed: { entity: 'workstream', severity: 'critical', description: 'A critical task failed, or nothing can make progress while a task is failed or blocked.' },
  workstream_cancelled: { entity: 'workstream', severity: 'warning', description: 'Every task of the workstream was cancelled (trigger all_tasks_cancelled); it moves to the archive.' },
  workstream_reopened: { entity: 'workstream', severity: 'warning', description: 'A recovery brought a failed or cancelled workstream back from the archive.' },
  workstream_rolled_back: { entity: 'workstream', severity: 'warning', description: 'Task states were reset to a checkpoint; names the checkpoint seq.' },
  workstream_resumed: { entity: 'workstream', severity: 'warning', description: 'An operator resumed a workstream, optionally from a task and with changed params.' },
  workstream_updated: { entity: 'workstream', severity: 'warning', description: 'submit --update applied a changed spec: names the tasks changed and added (their own records follow) and any new params.' },
  workstream_reset: { entity: 'workstream', severity: 'warning', description: 'reset-workstream sent a finished workstream back to pending: every task pending again with retry_count 0 (attempt numbers go on; the old attempts stay in the log).' },
  task_queued: { entity: 'task', severity: 'info', description: 'Dependencies are satisfied (or a retry is due); the task waits for a worker and resources.' },
  task_blocked: { entity: 'task', severity: 'warning', description: 'A dependency failed; the task waits for an operator.' },
  task_unblocked: { entity: 'task', severity: 'info', description: 'No dependency is failed any more; the task is pending again.' },
  task_started: { entity: 'task', severity: 'info', description: 'An attempt started on a worker with its resources taken; pid, process group and deadline recorded.' },
  task_validating: { entity: 'task', severity: 'info', description: 'The command exited 0 and the validate command runs on the same worker.' },
  task_completed: { entity: 'task', severity: 'info', description: 'The attempt (and its validation) succeeded.' },
  task_attempt_failed: { entity: 'task', severity: 'warning', description: 'An attempt failed with retries left; retry_at says when the next one is due.' },
  task_timed_out: { entity: 'task', severity: 'warning', description: 'An attempt ran past its deadline and was killed, with retries left; retry_at says when.' },
  task_failed: { entity: 'task', severity: 'error', description: 'An attempt failed and no retries are left.' },
  task_validation_failed: { entity: 'task', severity: 'error', description: 'The validate phase failed (its command failed, or its worker was shut down without reassign); not retried automatically.' },
  task_adopted: { entity: 'task', severity: 'warning', description: 'A new scheduler took over a cluster job (job_id) that a lost scheduler had started and that was still queued, running or finished unseen: the same attempt goes on under a new worker, no new run, no retry spent.' },
  task_reassigned: { entity: 'task', severity: 'warning', description: 'The worker or scheduler running the task was lost; the task is queued again without spending a retry.' },
  task_cancelled: { entity: 'task', severity: 'warning', description: 'The task was cancelled by an operator, a cascade, a rollback or a critical failure.' },
  task_skipped: { entity: 'task', severity: 'warning', description: 'An operator marked the task skipped; its dependents proceed.' },
  task_retried: { entity: 'task', severity: 'warning', description: 'An operator sent the task back to pending, optionally with a new timeout, retry limit or retry count.' },
  task_reset: { entity: 'task', severity: 'warning', description: 'A rollback or reopen set the task to a given state and retry count.' },
  task_dependency_removed: { entity: 'task', severity: 'warning', description: 'An operator removed one dependency edge of a task.' },
  task_updated: { entity: 'task', severity: 'warning', description: 'An operator changed the definition of a task that has not completed (update-task, submit --update); holds the old and the new definition; its state stays.' },
  task_added: { entity: 'task', severity: 'warning', description: 'submit --update added a task to a workstream that has not completed; it starts pending.' },
  resource_declared: { entity: 'resource', severity: 'info', description: 'A named resource was declared with its max_holders.' },
  resource_limit_changed: { entity: 'resource', severity: 'warning', description: 'An operator changed the max_holders of a resource.' },
  resource_exhausted: { entity: 'resource', severity: 'critical', description: 'A queued task has waited longer than resource_wait_warn for a resource (logged once per wait).' },
  worker_started: { entity: 'worker', severity: 'info', description: 'A worker process started and is idle.' },
  worker_unresponsive: { entity: 'worker', severity: 'error', description: 'No heartbeat arrived for health_timeout.' },
  worker_recovered: { entity: 'worker', severity: 'info', description: 'An unresponsive worker sent a heartbeat again.' },
  worker_shutdown: { entity: 'worker', severity: 'warning', description: 'A worker stopped: unresponsive too long, on request, or with its scheduler (severity info when its run ended: trigger done or interrupted).' },
  worker_restart_requested: { entity: 'worker', severity: 'warning', description: 'An operator asked the scheduler to restart a worker.' },
  worker_shutdown_requested: { entity: 'worker', severity: 'warning', description: 'An operator asked the scheduler to shut a worker down, reassigning its task or not.' },
  scheduler_started: { entity: 'scheduler', severity: 'info', description: 'A scheduler took the scheduler lock; its id, pid and start time are recorded.' },
  scheduler_stopped: { entity: 'scheduler', severity: 'info', description: 'The scheduler stopped (cleanly, or found gone: trigger scheduler_lost); its shut-down workers, named in released_workers, leave the state.' },
  checkpoint_named: { entity: 'workstream', severity: 'info', description: 'An operator named a checkpoint of a workstream (cairn checkpoint): the name, unique per workstream, stands for checkpoint_seq, its last task transition then.' },
  system_checkpoint_created: { entity: 'state', severity: 'info', description: 'An operator named the whole state at checkpoint_seq (with the log\'s crc there) as a system checkpoint (cairn system-checkpoint create); changes no state.' },
  system_checkpoint_restored: { entity: 'state', severity: 'warning', description: 'cairn system-checkpoint restore: first record of the decision that returns every workstream to a system checkpoint (rollbacks, cancels and resource limits follow in the same batch).' },
  state_restored: { entity: 'state', severity: 'warning', description: 'current.json was rebuilt from a backup or from the log.' },
  log_archived: { entity: 'state', severity: 'warning', description: 'cairn log-archive moved closed log segments out of .state/log/ (segments, archived_to); the log now starts after base_seq, whose state log/base-<seq>.json holds; changes no state.' },
  state_repaired: { entity: 'state', severity: 'warning', description: 'repair_state fixed the state; the actions are listed.' },
  record_lost: { entity: 'state', severity: 'error', description: 'repair_state could not keep a damaged record: this placeholder keeps its seq, says what could be read of it and where its bytes were set aside.' },
  workstream_carried_forward: { entity: 'workstream', severity: 'warning', description: 'repair_state restored a workstream as a newer hash-valid current.json, archive file or checkpoint held it, after the log lost records; names the file and each difference.' },
} as const satisfies Record<string, Entry>;

export type RecordType = keyof typeof RECORD_TYPES;
export const RECORD_TYPE_NAMES = Object.keys(RECORD_TYPES) as RecordType[];

export function isRecordType(t: unknown): t is RecordType {
  return typeof t === 'string' && TYPE_SET.has(t);
}

/** The record type names as a set: apply asks once per record, on replay a million times. */
const TYPE_SET: ReadonlySet<string> = new Set(Object.keys(RECORD_TYPES));

/**
 * The fixed order of keys on disk: the envelope first, then entity fields, then the rest sorted,
 * and `crc` always last (its checksum covers everything before it). `batch` sits right after
 * `type` so the log scanner can find it without parsing the line.
 */
export const KEY_ORDER = [
  'seq', 'id', 'ts', 'type', 'batch', 'severity', 'operator', 'reason', 'caused_by',
  'workstream_id', 'task_id', 'worker_id', 'resource_id', 'from', 'to', 'trigger',
  'attempt', 'retry_count', 'retry_at',
] as const;
