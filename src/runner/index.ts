/** The runner: the only part of cairn that spawns or kills processes. */
export { WorkerPool, type CurrentAttempt, type PoolOptions, type WorkerPoolEvents } from './pool.js';
export {
  groupAlive,
  isAlive,
  killGroup,
  killOrphanGroup,
  processStartTime,
  signalGroup,
  type KillOptions,
  type KillResult,
  type OrphanKillResult,
} from './kill.js';
export type {
  HeartbeatMessage,
  KillMessage,
  OutcomeMessage,
  ParentMessage,
  ReadyMessage,
  RunMessage,
  RunRequest,
  SpawnedMessage,
  StopMessage,
  ValidatingMessage,
  WorkerMessage,
} from './protocol.js';
export { runGit, gitOrThrow, type GitResult } from './git.js';
export { LocalExecutor } from './local.js';
export type { AdoptedJob, AttemptStarted, ExecutorEvents, ExecutorKind, TaskExecutor } from './executor.js';
export { SlurmPool, jobDirOf, type Allocation, type SlurmPoolOptions } from './slurm/pool.js';
export { cancelSlurmJob, findStrayJobs, slurmJobStates, slurmInstalled, type SlurmJobState } from './slurm/query.js';
