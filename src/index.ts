/**
 * cairn's public API: every command of the CLI and every script calls these verbs and nothing
 * deeper (a test reads the imports and keeps it so).
 */
export { CairnError, EXIT, exitCodeFor, type ErrorCode } from './errors.js';
export { RECORD_TYPES, type RecordType } from './model/catalogue.js';
export { TASK_TRANSITIONS, WORKSTREAM_TRANSITIONS, WORKER_TRANSITIONS } from './model/transitions.js';
export type { LogRecord, Task, Workstream, Worker, Resource, TaskOutcome, WorkstreamSpec } from './model/types.js';
export type { CommonOptions } from './api/common.js';
export { stateDirOf, operatorOf } from './api/common.js';
export { init } from './api/init.js';
export { submit, loadSpec, type SubmitResult } from './api/submit.js';
export { status, type StatusOptions } from './api/status.js';
export { showTask, showDependencies } from './api/tasks.js';
export { events } from './api/events.js';
export { validateState, type ValidateReport } from './api/validate.js';
export { restoreState, type RestoreOptions, type RestoreResult } from './api/restore.js';
export * from './api/recovery/index.js';
export { run, type RunOptions, type RunResult } from './api/run.js';
