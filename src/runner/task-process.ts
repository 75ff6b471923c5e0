import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { ARG_MAX, MAX_ARG_STRLEN } from '../model/exec-limits.js';
import type { Command, TaskOutcome } from '../model/types.js';
import { processStartTime } from './kill.js';

/** Where and with what a task process runs; `fd` receives both stdout and stderr. */
export interface ProcessOptions {
  cwd: string | null;
  env: Record<string, string>;
  fd: number;
}

/** A task process that started: it leads its own process group `pid`. */
export interface RunningProcess {
  ok: true;
  pid: number;
  processStart: string | null;
  /** Resolves when the leader has exited (other members of its group may remain). */
  exited: Promise<TaskOutcome>;
}

/** A task process that could not be started (missing program, bad cwd, …). */
export interface FailedStart {
  ok: false;
  outcome: TaskOutcome;
}

/**
 * The worker's own environment, read once: a worker never changes it, and copying process.env
 * (one getenv per variable) for every attempt was a measurable part of a short task's cost.
 */
const workerEnv: NodeJS.ProcessEnv = { ...process.env };

/** Builds the outcome of an attempt that never started; `errno` is the OS's code when it gave one. */
export function spawnError(message: string, durationMs = 0, errno?: string): TaskOutcome {
  const outcome: TaskOutcome = { kind: 'spawn_error', exit_code: null, signal: null, duration_ms: durationMs, message };
  if (errno !== undefined && /^E[A-Z0-9]+$/.test(errno)) outcome.errno = errno;
  return outcome;
}

/** What a failed exec means for the user, by errno; the raw error text for anything else. */
function startProblem(file: string, err: NodeJS.ErrnoException, size: ExecSize): string {
  const what = `cannot start ${JSON.stringify(file)}`;
  switch (err.code) {
    case 'ENOENT': return `${what}: no such program (ENOENT); check the command's first word and PATH`;
    case 'EACCES': return `${what}: permission denied (EACCES); is it an executable file (chmod +x)?`;
    case 'E2BIG': {
      const cause = size.largest.bytes > MAX_ARG_STRLEN
        ? `${size.largest.name} is ${size.largest.bytes} bytes, over the OS limit of ${MAX_ARG_STRLEN} bytes for one argument or environment variable`
        : `its arguments and environment come to ${size.total} bytes, over the OS limit of about ${ARG_MAX} bytes in all`;
      return `${what}: ${cause} (E2BIG); pass large data in a file instead`;
    }
    default: return `${what}: ${err.message}`;
  }
}

function cwdProblem(cwd: string | null): { message: string; errno?: string } | null {
  if (cwd === null) return null;
  try {
    return statSync(cwd).isDirectory() ? null : { message: `cwd ${cwd} is not a directory (ENOTDIR)`, errno: 'ENOTDIR' };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { message: `cwd ${cwd} does not exist (ENOENT)`, errno: code };
    return { message: `cwd ${cwd} is not usable: ${code ?? String(err)}`, errno: code };
  }
}

/** Bytes execve copies (each string with its NUL), and the largest string by what names it. */
interface ExecSize {
  total: number;
  largest: { name: string; bytes: number };
}

function execSize(file: string, args: string[], env: NodeJS.ProcessEnv): ExecSize {
  const size: ExecSize = { total: 0, largest: { name: 'the program name', bytes: 0 } };
  const add = (name: string, bytes: number): void => {
    size.total += bytes;
    if (bytes > size.largest.bytes) size.largest = { name, bytes };
  };
  add('the program name', Buffer.byteLength(file) + 1);
  args.forEach((a, i) => add(`argument ${i + 1}`, Buffer.byteLength(a) + 1));
  for (const [k, v] of Object.entries(env)) if (v !== undefined) add(k, Buffer.byteLength(k) + Buffer.byteLength(v) + 2);
  return size;
}

/**
 * Starts `command` as the leader of a new process group (a string under /bin/sh -c, an array without a
 * shell, argv[0] looked up on PATH). A failure to start is a value, never a throw.
 */
export async function startProcess(command: Command, opts: ProcessOptions): Promise<RunningProcess | FailedStart> {
  const problem = cwdProblem(opts.cwd);
  if (problem !== null) return { ok: false, outcome: spawnError(problem.message, 0, problem.errno) };
  const [file, args] = typeof command === 'string' ? ['/bin/sh', ['-c', command]] : [command[0] ?? '', command.slice(1)];
  const env = { ...workerEnv, ...opts.env };
  const startedAt = performance.now();
  const failedStart = (err: NodeJS.ErrnoException): FailedStart => ({
    ok: false,
    outcome: spawnError(startProblem(file, err, execSize(file, args, env)), Math.round(performance.now() - startedAt), err.code),
  });
  let child: ChildProcess;
  try {
    child = spawn(file, args, {
      cwd: opts.cwd ?? undefined,
      env,
      stdio: ['ignore', opts.fd, opts.fd],
      // Own process group (and session), so a kill of -pgid reaches every grandchild, and a Ctrl-C
      // meant for the scheduler's terminal does not reach the task.
      detached: true,
    });
  } catch (err) {
    // Node throws (instead of emitting 'error') for exec failures other than ENOENT/EACCES/EAGAIN/
    // EMFILE/ENFILE — E2BIG from a huge param, for one. Uncaught, it killed the worker before the
    // attempt was reported, and the task was reassigned to the next worker, forever.
    return failedStart(err as NodeJS.ErrnoException);
  }
  const failed = new Promise<NodeJS.ErrnoException>((resolve) => child.once('error', resolve));
  if (child.pid === undefined) {
    // libuv reports exec failures synchronously but Node delivers them as an 'error' event.
    return failedStart(await failed);
  }
  // Read now: the leader cannot be reaped before this synchronous code yields to the event loop.
  const processStart = processStartTime(child.pid);
  const exited = new Promise<TaskOutcome>((resolve) => {
    child.once('exit', (code, signal) => {
      const duration = Math.round(performance.now() - startedAt);
      if (signal !== null) {
        resolve({ kind: 'signal', exit_code: null, signal, duration_ms: duration, message: `killed by ${signal}` });
      } else {
        const exitCode = code ?? -1;
        resolve({ kind: 'exit', exit_code: exitCode, signal: null, duration_ms: duration, message: exitCode === 0 ? null : `exited with code ${exitCode}` });
      }
    });
  });
  return { ok: true, pid: child.pid, processStart, exited };
}

/** Turns the outcome of a validate command into the attempt's outcome: any failure is kind 'validation'. */
export function validationOutcome(outcome: TaskOutcome): TaskOutcome {
  if (outcome.kind === 'exit' && outcome.exit_code === 0) return outcome;
  return { ...outcome, kind: 'validation', message: `validate failed: ${outcome.message ?? outcome.kind}` };
}
