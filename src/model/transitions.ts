import type { TaskState, WorkerState, WorkstreamState } from './states.js';
import type { RecordType } from './catalogue.js';

/**
 * THE state machines of cairn, as data, in one place (DESIGN §2).
 *
 *   from state --(record type)--> allowed next states
 *
 * `decide` consults these to refuse illegal requests, `apply` consults them to refuse an illegal
 * record during replay (failing loudly with its seq), and `validate_state` walks the whole log with
 * them. No other file compares states to decide what is allowed. A record type may allow several
 * targets (a rollback resets a task to what its checkpoint says); the record's `to` field picks one.
 */
type Table<S extends string> = { readonly [K in S]: Partial<Record<RecordType, readonly S[]>> };

const NON_TERMINAL_TASK = ['pending', 'blocked', 'queued', 'running', 'validating', 'retrying'] as const;

export const TASK_TRANSITIONS = {
  pending: {
    task_queued: ['queued'],
    task_blocked: ['blocked'],
    task_cancelled: ['cancelled'],
    task_skipped: ['skipped'],
    task_reset: ['pending', 'completed', 'skipped'],
    task_retried: ['pending'],
  },
  blocked: {
    task_unblocked: ['pending'],
    task_cancelled: ['cancelled'],
    task_skipped: ['skipped'],
    task_reset: ['pending', 'completed', 'skipped'],
    task_retried: ['pending'],
  },
  queued: {
    task_started: ['running'],
    task_cancelled: ['cancelled'],
    task_skipped: ['skipped'],
    task_reset: ['pending', 'completed', 'skipped'],
    task_retried: ['pending'],
  },
  running: {
    task_validating: ['validating'],
    task_completed: ['completed'],
    task_attempt_failed: ['retrying'],
    task_timed_out: ['retrying'],
    task_failed: ['failed'],
    task_reassigned: ['queued'],
    task_adopted: ['running'],
    task_cancelled: ['cancelled'],
    task_skipped: ['skipped'],
  },
  validating: {
    task_completed: ['completed'],
    task_validation_failed: ['failed'],
    task_reassigned: ['queued'],
    task_adopted: ['validating'],
    task_cancelled: ['cancelled'],
    task_skipped: ['skipped'],
  },
  retrying: {
    task_queued: ['queued'],
    task_cancelled: ['cancelled'],
    task_skipped: ['skipped'],
    task_reset: ['pending', 'completed', 'skipped'],
    task_retried: ['pending'],
  },
  completed: {},
  failed: {
    task_retried: ['pending'],
    task_skipped: ['skipped'],
    task_reset: ['pending', 'completed', 'skipped'],
  },
  cancelled: {
    task_retried: ['pending'],
    task_skipped: ['skipped'],
    task_reset: ['pending', 'completed', 'skipped'],
  },
  skipped: {
    task_retried: ['pending'],
    task_reset: ['pending', 'completed', 'skipped'],
  },
} as const satisfies Table<TaskState>;

export const WORKSTREAM_TRANSITIONS = {
  pending: {
    workstream_started: ['running'],
    workstream_completed: ['completed'],
    workstream_failed: ['failed'],
    workstream_cancelled: ['cancelled'],
  },
  running: {
    workstream_completed: ['completed'],
    workstream_failed: ['failed'],
    workstream_cancelled: ['cancelled'],
  },
  // reset-workstream starts a finished workstream over (its tasks pending again), even a completed one.
  completed: { workstream_reset: ['pending'] },
  failed: { workstream_reopened: ['running'], workstream_reset: ['pending'] },
  cancelled: { workstream_reopened: ['running'], workstream_reset: ['pending'] },
} as const satisfies Table<WorkstreamState>;

/**
 * The task states in which an operator may change a task's definition (task_updated; update-task,
 * submit --update). Not while an attempt runs (running, validating): the attempt already has its
 * command, and a new definition would describe an attempt that never ran — cancel it first. Never
 * once completed: its effects are applied (rerun-workstream or reset-workstream run it again).
 */
export const TASK_DEFINITION_CHANGES = {
  pending: true,
  blocked: true,
  queued: true,
  retrying: true,
  failed: true,
  cancelled: true,
  skipped: true,
  running: false,
  validating: false,
  completed: false,
} as const satisfies Record<TaskState, boolean>;

/** Task records that start or end a worker's work move the worker between idle and busy. */
const TASK_ENDS_ON_WORKER = {
  task_completed: ['idle'],
  task_attempt_failed: ['idle'],
  task_timed_out: ['idle'],
  task_failed: ['idle'],
  task_validation_failed: ['idle'],
  task_reassigned: ['idle'],
  task_cancelled: ['idle'],
  task_skipped: ['idle'],
  // The lost scheduler's worker hands its job over to the new scheduler's worker.
  task_adopted: ['idle'],
} as const;

export const WORKER_TRANSITIONS = {
  idle: {
    task_started: ['busy'],
    task_adopted: ['busy'],
    worker_unresponsive: ['unresponsive'],
    worker_shutdown: ['shutdown'],
  },
  busy: {
    ...TASK_ENDS_ON_WORKER,
    worker_unresponsive: ['unresponsive'],
    worker_shutdown: ['shutdown'],
  },
  unresponsive: {
    worker_recovered: ['idle', 'busy'],
    worker_shutdown: ['shutdown'],
    // The task of an unresponsive worker may end meanwhile (killed at its deadline, cancelled by an
    // operator, reassigned); the worker stays unresponsive until it answers again.
    task_completed: ['unresponsive'],
    task_attempt_failed: ['unresponsive'],
    task_timed_out: ['unresponsive'],
    task_failed: ['unresponsive'],
    task_validation_failed: ['unresponsive'],
    task_reassigned: ['unresponsive'],
    task_cancelled: ['unresponsive'],
    task_skipped: ['unresponsive'],
    task_adopted: ['unresponsive'],
  },
  shutdown: {
    worker_started: ['idle'],
  },
} as const satisfies Table<WorkerState>;

/** Record types that create an entity (there is no `from`). */
export const CREATION = {
  task: 'workstream_submitted',
  workstream: 'workstream_submitted',
  worker: 'worker_started',
  resource: 'resource_declared',
} as const;

export const NON_TERMINAL_TASK_STATES: readonly TaskState[] = NON_TERMINAL_TASK;

/** The next states a table allows for (from, type); empty when the transition is illegal. */
export function allowedTargets<S extends string>(table: Table<S>, from: S, type: RecordType): readonly S[] {
  const row = table[from] as Partial<Record<RecordType, readonly S[]>>;
  return row[type] ?? [];
}

/** The record types a table allows from a state, for "what can I do now?" messages. */
export function allowedTypes<S extends string>(table: Table<S>, from: S): RecordType[] {
  return Object.keys(table[from]) as RecordType[];
}
