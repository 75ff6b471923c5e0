import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
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

/** Builds the outcome of an attempt that never started. */
export function spawnError(message: string, durationMs = 0): TaskOutcome {
  return { kind: 'spawn_error', exit_code: null, signal: null, duration_ms: durationMs, message };
}

function cwdProblem(cwd: string | null): string | null {
  if (cwd === null) return null;
  try {
    return statSync(cwd).isDirectory() ? null : `cwd ${cwd} is not a directory`;
  } catch (err) {
    return `cwd ${cwd} is not usable: ${(err as NodeJS.ErrnoException).code ?? String(err)}`;
  }
}

/**
 * Starts `command` as the leader of a new process group (a string under /bin/sh -c, an array without a
 * shell, argv[0] looked up on PATH). A failure to start is a value, never a throw.
 */
export async function startProcess(command: Command, opts: ProcessOptions): Promise<RunningProcess | FailedStart> {
  const problem = cwdProblem(opts.cwd);
  if (problem !== null) return { ok: false, outcome: spawnError(problem) };
  const [file, args] = typeof command === 'string' ? ['/bin/sh', ['-c', command]] : [command[0] ?? '', command.slice(1)];
  const startedAt = performance.now();
  const child = spawn(file, args, {
    cwd: opts.cwd ?? undefined,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', opts.fd, opts.fd],
    // Own process group (and session), so a kill of -pgid reaches every grandchild, and a Ctrl-C
    // meant for the scheduler's terminal does not reach the task.
    detached: true,
  });
  const failed = new Promise<Error>((resolve) => child.once('error', resolve));
  if (child.pid === undefined) {
    // libuv reports exec failures synchronously but Node delivers them as an 'error' event.
    const err = await failed;
    return { ok: false, outcome: spawnError(`cannot start ${JSON.stringify(file)}: ${err.message}`, Math.round(performance.now() - startedAt)) };
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
