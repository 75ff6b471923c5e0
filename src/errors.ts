/**
 * The one error type cairn throws on purpose. Every error has a stable `code`, structured `details`
 * and a `hint` naming the command that gets the user out of trouble. The CLI maps codes to exit codes.
 */
export type ErrorCode =
  | 'BAD_INPUT' // flags or arguments are wrong
  | 'SCHEMA_INVALID' // a spec or file does not match its JSON Schema
  | 'BAD_ID' // an id does not match the id pattern
  | 'DAG_CYCLE' // the dependencies of a workstream form a cycle
  | 'UNKNOWN_WORKSTREAM' // no workstream with that id
  | 'UNKNOWN_TASK' // no task with that id
  | 'AMBIGUOUS_TASK' // a bare task id matches tasks in several workstreams
  | 'UNKNOWN_WORKER' // no worker with that id
  | 'UNKNOWN_RESOURCE' // no resource with that id
  | 'UNKNOWN_CHECKPOINT' // no checkpoint with that seq
  | 'UNKNOWN_POINT' // a point in time (seq, date-time, git:<rev>) that the log or git does not have
  | 'HISTORY_GONE' // the point is before the log's base: its segments were moved out (log-archive); copy them back to read it
  | 'DUPLICATE_WORKSTREAM' // a workstream with that id already exists
  | 'DUPLICATE_NAME' // a named checkpoint (of that workstream) or system checkpoint with that name already exists
  | 'ILLEGAL_TRANSITION' // the state machine does not allow this change from the current state
  | 'ILLEGAL_REQUEST' // the request makes no sense in the current state (not a single transition)
  | 'CONFIRMATION_REQUIRED' // a destructive action needs --yes when stdin is not a terminal
  | 'NO_SCHEDULER' // the action needs a live scheduler and none runs
  | 'NOT_INITIALIZED' // there is no state folder
  | 'UNSAFE_PATH' // a symlink or a foreign file where cairn expects its own
  | 'LOG_CORRUPT' // a record in the middle of the log fails its checksum or does not parse
  | 'LOG_INVALID' // a record is well-formed but breaks the state machine during replay
  | 'LOG_MERGE_CONFLICT' // git merged the log line by line (no merge driver): two branches' records, or conflict markers, in one file
  | 'MERGE_CONFLICT' // the merge driver could not put the other branch's records on ours; our log is left as it was
  | 'SNAPSHOT_INVALID' // a snapshot or derived file is unusable
  | 'STATE_LOCKED' // the state lock could not be taken in time
  | 'LOCK_COMPROMISED' // the state lock was lost while held; writing stopped
  | 'LOG_REPLACED' // another process replaced the log file while this one had it open; writing stopped
  | 'SCHEDULER_RUNNING' // another scheduler holds the scheduler lock
  | 'IO_ERROR' // the file system failed (EIO, ENOSPC, EACCES on a file, …); nothing was reported as done
  | 'PERMISSION_DENIED' // this user may not read (or, for a command that writes, write) the state folder; nothing was changed
  | 'WORKERS_FAILING' // worker processes kept dying, so `cairn run` stopped; the tasks stay as the log has them
  | 'SLURM_UNAVAILABLE' // --executor slurm, but the Slurm client programs (sbatch, squeue, scancel) are not installed here
  | 'STATE_NOT_SHARED' // a Slurm job ran on a node that cannot see the state folder; the run stopped
  | 'INTERNAL'; // a bug in cairn

/** Exit codes of DESIGN §6. */
export const EXIT = {
  OK: 0,
  FAILURE: 1,
  BAD_INPUT: 2,
  DAMAGED: 3,
  BUSY: 4,
  INTERRUPTED: 130,
} as const;

export class CairnError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;
  readonly hint: string | undefined;
  constructor(code: ErrorCode, message: string, opts: { details?: Record<string, unknown>; hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'CairnError';
    this.code = code;
    this.details = opts.details ?? {};
    this.hint = opts.hint;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, details: this.details, hint: this.hint ?? null };
  }
}

/** The exit code a CLI run ends with when it fails with this error. */
export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'BAD_INPUT':
    case 'SCHEMA_INVALID':
    case 'BAD_ID':
    case 'DAG_CYCLE':
    case 'UNKNOWN_WORKSTREAM':
    case 'UNKNOWN_TASK':
    case 'AMBIGUOUS_TASK':
    case 'UNKNOWN_WORKER':
    case 'UNKNOWN_RESOURCE':
    case 'UNKNOWN_CHECKPOINT':
    case 'UNKNOWN_POINT':
    case 'HISTORY_GONE':
    case 'DUPLICATE_WORKSTREAM':
    case 'DUPLICATE_NAME':
    case 'ILLEGAL_TRANSITION':
    case 'ILLEGAL_REQUEST':
    case 'CONFIRMATION_REQUIRED':
    case 'NOT_INITIALIZED':
    case 'UNSAFE_PATH':
    case 'PERMISSION_DENIED':
    case 'SLURM_UNAVAILABLE':
      return EXIT.BAD_INPUT;
    case 'NO_SCHEDULER':
    case 'MERGE_CONFLICT':
      return EXIT.FAILURE;
    case 'LOG_CORRUPT':
    case 'LOG_INVALID':
    case 'LOG_MERGE_CONFLICT':
    case 'SNAPSHOT_INVALID':
      return EXIT.DAMAGED;
    case 'STATE_LOCKED':
    case 'SCHEDULER_RUNNING':
      return EXIT.BUSY;
    case 'LOCK_COMPROMISED':
    case 'LOG_REPLACED':
    case 'IO_ERROR':
    case 'WORKERS_FAILING':
    case 'STATE_NOT_SHARED':
    case 'INTERNAL':
      return EXIT.FAILURE;
    default:
      return unreachable(code);
  }
}

/**
 * A file-system error that escaped as a plain Node error (EACCES on a file deep in the state
 * folder, EROFS, ENOSPC, …) as an IO_ERROR naming the file and what is needed, instead of an
 * INTERNAL "this is a bug"; null when `e` is not one.
 */
export function fromSystemError(e: unknown): CairnError | null {
  const err = e as NodeJS.ErrnoException | undefined;
  if (!(err instanceof Error) || typeof err.code !== 'string' || typeof err.syscall !== 'string') return null;
  const file = typeof err.path === 'string' ? ` ${err.path}` : '';
  const denied = err.code === 'EACCES' || err.code === 'EPERM' || err.code === 'EROFS';
  return new CairnError('IO_ERROR', `${err.syscall}${file} failed: ${err.code === 'EROFS' ? 'the file system is read-only' : denied ? 'permission denied' : err.message} (${err.code})`, {
    details: { op: err.syscall, path: err.path ?? null, errno: err.code },
    hint: denied
      ? 'cairn needs to read and write every file in its state folder: run it as the user who owns the folder, or give this user access (chown -R / chmod -R u+rwX), then run the command again.'
      : err.code === 'ENOSPC' ? 'Free some disk space, then run the command again.' : 'Check the disk and the file named, then run the command again.',
    cause: e,
  });
}

/** Compile-time exhaustiveness check for switches over unions. */
export function unreachable(x: never): never {
  throw new CairnError('INTERNAL', `unreachable case: ${JSON.stringify(x)}`);
}
