/** Every state an entity can be in (DESIGN §2). The transition tables in transitions.ts use these. */
export const TASK_STATES = [
  'pending', 'blocked', 'queued', 'running', 'validating', 'retrying',
  'completed', 'failed', 'cancelled', 'skipped',
] as const;
export type TaskState = (typeof TASK_STATES)[number];

export const TERMINAL_TASK_STATES: ReadonlySet<TaskState> = new Set(['completed', 'failed', 'cancelled', 'skipped']);
/** States in which a dependency counts as satisfied for its dependents. */
export const SATISFIED_TASK_STATES: ReadonlySet<TaskState> = new Set(['completed', 'skipped', 'cancelled']);
/** States in which a task holds a worker and its resources. */
export const ACTIVE_TASK_STATES: ReadonlySet<TaskState> = new Set(['running', 'validating']);

export const WORKSTREAM_STATES = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const;
export type WorkstreamState = (typeof WORKSTREAM_STATES)[number];
export const TERMINAL_WORKSTREAM_STATES: ReadonlySet<WorkstreamState> = new Set(['completed', 'failed', 'cancelled']);

export const WORKER_STATES = ['idle', 'busy', 'unresponsive', 'shutdown'] as const;
export type WorkerState = (typeof WORKER_STATES)[number];

export type TaskCounts = Record<TaskState, number>;
export function emptyCounts(): TaskCounts {
  return { pending: 0, blocked: 0, queued: 0, running: 0, validating: 0, retrying: 0, completed: 0, failed: 0, cancelled: 0, skipped: 0 };
}
