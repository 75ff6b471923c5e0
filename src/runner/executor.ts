/*
 * The executor interface (DESIGN §11): what the scheduler needs from whatever runs its attempts.
 *
 * The scheduler hands an attempt to a numbered slot (a "worker" in the log) and hears back, as
 * events: the attempt started (with its external id), how each phase ended, heartbeats. Two kinds:
 * - local: WorkerPool, today's worker processes, unchanged (one Node child per slot, IPC);
 * - slurm: SlurmPool, one Slurm job per attempt; its slots live in the scheduler's process.
 * The log, the plan and the recovery tools do not care which one runs a task.
 */
import type { EventEmitter } from 'node:events';
import type { OutcomeMessage, RunRequest, ValidatingMessage } from './protocol.js';

export type ExecutorKind = 'local' | 'slurm';

/** An attempt started: its process (local) or its job (slurm). A Slurm job has no pid or process group here. */
export interface AttemptStarted {
  type: 'spawned';
  key: string;
  attempt: number;
  pid: number | null;
  pgid: number | null;
  processStart: string | null;
  /** Set for an attempt that runs outside a worker process. */
  executor?: 'slurm';
  jobId?: string;
}

/** The events of an executor; every one names the slot (worker id) first. */
export interface ExecutorEvents {
  heartbeat: [workerId: string, at: number];
  spawned: [workerId: string, msg: AttemptStarted];
  validating: [workerId: string, msg: ValidatingMessage];
  /** The attempt's command began (Slurm: the job left the queue and started at `at`, ms); its timeout counts from here. */
  running: [workerId: string, msg: { key: string; attempt: number; at: number }];
  outcome: [workerId: string, msg: OutcomeMessage];
  /** The slot's process is gone (local only); any task group it left behind has been killed by then. */
  exit: [workerId: string, code: number | null, signal: NodeJS.Signals | null];
  /** Something the run cannot go on with (a job that cannot see the state folder): the scheduler stops. */
  fatal: [err: Error];
  /** A message for the operator (the cluster stopped answering, and answers again). */
  note: [msg: string];
}

/** A job a lost scheduler started, for a new scheduler to take over (slurm only). */
export interface AdoptedJob {
  key: string;
  attempt: number;
  jobId: string;
  logPath: string;
}

/**
 * Starts slots, runs one attempt per slot, kills, and reports. Implementations decide no policy:
 * timeouts, retries and what an outcome means are the scheduler's.
 */
export interface TaskExecutor extends EventEmitter<ExecutorEvents> {
  readonly kind: ExecutorKind;
  /** Starts slot `workerId`; resolves with the pid the log records for it. */
  start(workerId: string): Promise<number>;
  /** Sends one attempt to an idle slot. */
  run(workerId: string, request: RunRequest): void;
  /** SIGTERM (or `signal`) to the slot's attempt; SIGKILL after `graceMs` when given. */
  kill(workerId: string, signal?: NodeJS.Signals, graceMs?: number): void;
  /** Stops the slot and its attempt; resolves when both are gone. */
  stop(workerId: string): Promise<void>;
  /** Stops the slot and its attempt without asking. */
  forceStop(workerId: string): Promise<void>;
  stopAll(): Promise<void>;
  pid(workerId: string): number | null;
  workerIds(): string[];
  /** Takes over a job a lost scheduler started, on an idle slot (slurm only; local attempts die with their scheduler). */
  adoptJob?(workerId: string, job: AdoptedJob): void;
}
