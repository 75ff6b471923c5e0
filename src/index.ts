/**
 * cairn's public API: every command of the CLI and every script calls these verbs and nothing
 * deeper (a test reads the imports and keeps it so).
 */
import type * as Recovery from './api/recovery/index.js';
import type * as RunApi from './api/run.js';
import type * as HistoryApi from './api/history/index.js';
import type * as PruneApi from './api/prune.js';

export { CairnError, EXIT, exitCodeFor, fromSystemError, type ErrorCode } from './errors.js';
export { VERSION } from './version.js';
export { RECORD_TYPES, type RecordType } from './model/catalogue.js';
export { TASK_TRANSITIONS, WORKSTREAM_TRANSITIONS, WORKER_TRANSITIONS } from './model/transitions.js';
export { TASK_STATES, WORKSTREAM_STATES, WORKER_STATES } from './model/states.js';
export type { LogRecord, Task, Workstream, Worker, Resource, TaskOutcome, WorkstreamSpec } from './model/types.js';
export type { CommonOptions } from './api/common.js';
export { stateDirOf, operatorOf } from './api/common.js';
export { MAX_WORKERS } from './schemas/config.js';
export { init } from './api/init.js';
export { openState, type StateHandle } from './api/open-state.js';
export type { StateView } from './model/state.js';
export { submit, loadSpec, parseSpec, type SubmitResult } from './api/submit.js';
export { status, statusOf, type StatusOptions } from './api/status.js';
export { serveToken, snapshotTime } from './api/serve-token.js';
export { showTask, showDependencies } from './api/tasks.js';
export { slurmLiveText, type SlurmLive } from './api/slurm-live.js';
export { events, streamEvents, type EventQuery } from './api/events.js';
export { historyStartLine, type HistoryStart } from './store/log-base.js';
export { validateState, type ValidateReport } from './api/validate.js';
export { restoreState, type RestoreOptions, type RestoreResult } from './api/restore.js';
export type { PruneOptions, PruneResult } from './api/prune.js';
export { gitSetup, driverWarning, repositoryOf, type GitSetupResult } from './api/git.js';
export type { MergeDriverOptions, MergeDriverResult } from './api/merge.js';
export type { ActionOptions, ActionResult, RecordView, TaskTarget, DebugResult, RollbackOptions, WorkerRequestOptions, RepairResult, TaskChanges, FailureReport, TaskDiagnosis, PlanStep, DagFormat, Change, SystemCheckpointView, BackupView } from './api/recovery/index.js';
export { parseMaxHolders } from './api/recovery/parse.js';
export type { RunOptions, RunResult } from './api/run.js';

/*
 * The recovery tools and `run` load their modules on first call, not when the API is imported:
 * `status`, `events` and the other everyday commands start ~30 ms sooner (a quarter of the
 * module loading that is cairn's own). Each wrapper has the type of the function it loads.
 */
let recoveryModule: Promise<typeof Recovery> | undefined;
const recovery = (): Promise<typeof Recovery> => (recoveryModule ??= import('./api/recovery/index.js'));

type Verb = (...args: never[]) => Promise<unknown>;
type VerbName = { [K in keyof typeof Recovery]: (typeof Recovery)[K] extends Verb ? K : never }[keyof typeof Recovery];

function lazy<K extends VerbName>(name: K): (typeof Recovery)[K] {
  const call = async (...args: unknown[]) => ((await recovery())[name] as unknown as (...a: unknown[]) => Promise<unknown>)(...args);
  return call as unknown as (typeof Recovery)[K];
}

export const retryTask = lazy('retryTask');
export const skipTask = lazy('skipTask');
export const cancelTask = lazy('cancelTask');
export const debugTask = lazy('debugTask');
export const retryWorkstream = lazy('retryWorkstream');
export const retryFailedTasks = lazy('retryFailedTasks');
export const resumeWorkstream = lazy('resumeWorkstream');
export const rollbackWorkstream = lazy('rollbackWorkstream');
export const listCheckpoints = lazy('listCheckpoints');
export const showCheckpoint = lazy('showCheckpoint');
export const analyzeWorkstreamFailure = lazy('analyzeWorkstreamFailure');
export const checkWorker = lazy('checkWorker');
export const showWorkerLogs = lazy('showWorkerLogs');
export const restartWorker = lazy('restartWorker');
export const forceShutdownWorker = lazy('forceShutdownWorker');
export const showResources = lazy('showResources');
export const setResourceLimit = lazy('setResourceLimit');
export const visualizeDag = lazy('visualizeDag');
export const removeDependency = lazy('removeDependency');
export const repairState = lazy('repairState');
export const updateTask = lazy('updateTask');
export const submitUpdate = lazy('submitUpdate');
export const rerunWorkstream = lazy('rerunWorkstream');
export const resetWorkstream = lazy('resetWorkstream');
export const recover = lazy('recover');
export type { RecoverOptions, RecoverResult, StepResult, StepStatus, RecoverPlan, RecoverStep } from './api/recovery/index.js';
export const nameCheckpoint = lazy('nameCheckpoint');
export const createSystemCheckpoint = lazy('createSystemCheckpoint');
export const listSystemCheckpoints = lazy('listSystemCheckpoints');
export const restoreSystemCheckpoint = lazy('restoreSystemCheckpoint');
export const listBackupFiles = lazy('listBackupFiles');

/** The git merge driver (api/merge.ts), loaded on first call: it brings the recovery tools' decide. */
export async function mergeDriver(o: import('./api/merge.js').MergeDriverOptions): Promise<import('./api/merge.js').MergeDriverResult> {
  return (await import('./api/merge.js')).mergeDriver(o);
}

/** The main job (api/run.ts), loaded on first call like the recovery tools. */
export async function run(o: RunApi.RunOptions): Promise<RunApi.RunResult> {
  return (await import('./api/run.js')).run(o);
}

/** The history verbs (api/history/), loaded on first call: points in time, state --at, diff, history, log. */
let historyModule: Promise<typeof HistoryApi> | undefined;
const history = (): Promise<typeof HistoryApi> => (historyModule ??= import('./api/history/index.js'));
export type { ResolvedPoint, GitSource } from './api/history/index.js';
export async function resolvePoint(...a: Parameters<typeof HistoryApi.resolvePoint>): Promise<ReturnType<typeof HistoryApi.resolvePoint>> {
  return (await history()).resolvePoint(...a);
}
export type { HistoryQuery, TaskHistory, WorkstreamHistory, AttemptWithLog, StoryEvent, TaskSummary, LogQuery, LogResult, LogBound, DecisionLine } from './api/history/index.js';
export async function readHistory(...a: Parameters<typeof HistoryApi.readHistory>): ReturnType<typeof HistoryApi.readHistory> {
  return (await history()).readHistory(...a);
}
export async function streamLog(...a: Parameters<typeof HistoryApi.streamLog>): ReturnType<typeof HistoryApi.streamLog> {
  return (await history()).streamLog(...a);
}
export type { StateAtOptions, PointHeader, DiffOptions, DiffResult } from './api/history/index.js';
export async function stateAt(o: HistoryApi.StateAtOptions): Promise<Awaited<ReturnType<typeof HistoryApi.stateAt>>> {
  return (await history()).stateAt(o);
}
export async function diff(o: HistoryApi.DiffOptions): Promise<HistoryApi.DiffResult> {
  return (await history()).diff(o);
}
export type { MetricsQuery, MetricsResult } from './api/history/index.js';
/** `cairn metrics`: recoveries, failures, attempts, durations, throughput in a window of the log. */
export async function metrics(o: import('./api/common.js').CommonOptions & HistoryApi.MetricsQuery): Promise<HistoryApi.MetricsResult> {
  return (await history()).metrics(o);
}
export { METRIC_DEFINITIONS } from './history/metrics.js';

export type { LogArchiveOptions, LogArchiveResult } from './api/log-archive.js';
/** Moving old log segments out (api/log-archive.ts), loaded on first call. */
export async function logArchive(o: import('./api/log-archive.js').LogArchiveOptions): Promise<import('./api/log-archive.js').LogArchiveResult> {
  return (await import('./api/log-archive.js')).logArchive(o);
}

/** Retention (api/prune.ts), loaded on first call: no everyday command needs it. */
export async function prune(o: PruneApi.PruneOptions): Promise<PruneApi.PruneResult> {
  return (await import('./api/prune.js')).prune(o);
}

export type { ServeOptions, RunningServer } from './server/index.js';
/** `cairn serve` (src/server/): the HTTP API, dashboard and metrics, loaded on first call (fastify is heavy). */
export async function serve(o: import('./server/index.js').ServeOptions): Promise<import('./server/index.js').RunningServer> {
  return (await import('./server/index.js')).serve(o);
}
