/*
 * The IPC protocol between the scheduler (WorkerPool) and one worker process (worker-main).
 *
 * A worker runs one attempt at a time. For each `run` it sends, in this order:
 *   spawned → outcome{phase:'command'}                                  (no validate, or the command failed)
 *   spawned → outcome{phase:'command', exit 0} → validating → outcome{phase:'validate'}
 *   outcome{phase:'command', kind:'spawn_error'}                        (nothing was started)
 * The worker is busy from `run` until the last outcome of that list.
 */
import type { Command, TaskOutcome } from '../model/types.js';

/** Everything a worker needs to run one attempt of a task. */
export interface RunRequest {
  /** `<workstream_id>/<task_id>`. */
  key: string;
  /** 1 for the first attempt. */
  attempt: number;
  command: Command;
  /** Working directory of the command and the validate command; null means the worker's own. */
  cwd: string | null;
  /** Added to the worker's environment (CAIRN_WORKSTREAM_ID, CAIRN_TASK_ID, CAIRN_ATTEMPT, CAIRN_PARAM_*). */
  env: Record<string, string>;
  /** The attempt's log; created by the worker, never overwritten. Its folder must exist. */
  logPath: string;
  validate: Command | null;
}

/** Starts one attempt; the worker must be idle. */
export type RunMessage = { type: 'run' } & RunRequest;

/** Signals the running attempt's whole process group; when `key`/`attempt` are given, only if they match. */
export interface KillMessage {
  type: 'kill';
  signal: NodeJS.Signals;
  key?: string;
  attempt?: number;
  /** If given, SIGKILL follows when the group is still alive this long after `signal`. */
  graceMs?: number;
}

/** Asks the worker to kill any task group and exit. */
export interface StopMessage {
  type: 'stop';
}

/** What the parent sends to a worker. */
export type ParentMessage = RunMessage | KillMessage | StopMessage;

/** The worker is up and listening. */
export interface ReadyMessage {
  type: 'ready';
  pid: number;
}

/** The worker's event loop still turns; `at` is the worker's clock (epoch ms). */
export interface HeartbeatMessage {
  type: 'heartbeat';
  at: number;
}

/** The command runs; it leads its own process group `pgid` whose leader started at `processStart`. */
export interface SpawnedMessage {
  type: 'spawned';
  key: string;
  attempt: number;
  pid: number;
  pgid: number;
  processStart: string | null;
}

/** The command exited 0 and the validate command runs, in its own process group `pgid`. */
export interface ValidatingMessage {
  type: 'validating';
  key: string;
  attempt: number;
  pid: number;
  pgid: number;
  processStart: string | null;
}

/** How a phase of the attempt ended. */
export interface OutcomeMessage {
  type: 'outcome';
  key: string;
  attempt: number;
  phase: 'command' | 'validate';
  outcome: TaskOutcome;
}

/** What a worker sends to its parent. */
export type WorkerMessage = ReadyMessage | HeartbeatMessage | SpawnedMessage | ValidatingMessage | OutcomeMessage;

const WORKER_TYPES: ReadonlySet<string> = new Set(['ready', 'heartbeat', 'spawned', 'validating', 'outcome']);

/** True when `value` has the shape of a message a worker sends. */
export function isWorkerMessage(value: unknown): value is WorkerMessage {
  return typeof value === 'object' && value !== null && WORKER_TYPES.has(String((value as { type?: unknown }).type));
}

function isCommand(value: unknown): value is Command {
  return (typeof value === 'string' && value.length > 0) ||
    (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string'));
}

/** Returns why a run request is malformed, or null when it is usable. */
export function runRequestProblem(msg: Partial<RunMessage>): string | null {
  if (typeof msg.key !== 'string' || !Number.isInteger(msg.attempt)) return 'key and attempt are required';
  if (!isCommand(msg.command)) return 'command must be a non-empty string or array of strings';
  if (msg.validate !== null && msg.validate !== undefined && !isCommand(msg.validate)) return 'validate must be a command or null';
  if (typeof msg.logPath !== 'string' || msg.logPath.length === 0) return 'logPath is required';
  if (msg.cwd !== null && msg.cwd !== undefined && typeof msg.cwd !== 'string') return 'cwd must be a string or null';
  if (typeof msg.env !== 'object' || msg.env === null || Object.values(msg.env).some((v) => typeof v !== 'string')) {
    return 'env must map names to strings';
  }
  return null;
}
