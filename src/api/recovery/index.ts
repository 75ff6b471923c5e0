/** The recovery verbs of the public API (one module per tool group); re-exported by src/index.ts. */
export type { ActionOptions, ActionResult, RecordView } from './action.js';
export { retryTask, skipTask, cancelTask, debugTask, type TaskTarget, type DebugResult } from './tasks.js';
export { retryWorkstream, retryFailedTasks, resumeWorkstream, rollbackWorkstream, type RollbackOptions } from './workstreams.js';
export { listCheckpoints, showCheckpoint } from './checkpoints.js';
export { analyzeWorkstreamFailure } from './analyze.js';
export { checkWorker, showWorkerLogs, restartWorker, forceShutdownWorker, type WorkerRequestOptions } from './workers.js';
export { showResources, setResourceLimit, visualizeDag, removeDependency } from './resources.js';
export { parseMaxHolders } from './parse.js';
export { updateTask, submitUpdate, rerunWorkstream, resetWorkstream, type TaskChanges } from './update.js';
export { repairState, type RepairResult } from './repair.js';
export { nameCheckpoint } from './named.js';
export { createSystemCheckpoint, listSystemCheckpoints, restoreSystemCheckpoint, type SystemCheckpointView } from './system-checkpoints.js';
export { listBackupFiles, type BackupView } from './backups.js';
export type { FailureReport, TaskDiagnosis, PlanStep } from '../../recovery/analyze.js';
export type { DagFormat } from '../../recovery/visualize-dag.js';
export type { Change } from '../../model/diff.js';
export { recover, type RecoverOptions, type RecoverResult, type StepResult, type StepStatus } from './recover.js';
export type { RecoverPlan, RecoverStep } from '../../recovery/recover-plan.js';
