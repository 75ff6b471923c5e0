import { spawn } from 'node:child_process';
import type { Command } from '../model/types.js';
import { groupAlive, killGroup, signalGroup } from './kill.js';

/** How a foreground run ended. */
export interface ForegroundResult {
  exit_code: number | null;
  signal: string | null;
  duration_ms: number;
  /** Set when the command could not be started at all. */
  spawn_error: string | null;
}

export interface ForegroundOptions {
  cwd: string | null;
  /** Added to this process's environment, as a worker does (CAIRN_WORKSTREAM_ID, CAIRN_TASK_ID, CAIRN_ATTEMPT, CAIRN_PARAM_*, the task's env). */
  env: Record<string, string>;
  /**
   * Keep the terminal's stdin and process group, so the command can read from the terminal and
   * Ctrl-C reaches it directly. Otherwise stdin is closed and the command gets its own process group
   * (like on a worker), which is killed as a whole when it ends or when this process is interrupted.
   */
  interactive: boolean;
  /** Where the command's stdout goes: this process's stdout, or its stderr (when stdout carries JSON). */
  stdout: 'stdout' | 'stderr';
  /** SIGTERM → SIGKILL grace for leftovers of the group. */
  graceMs: number;
}

/**
 * Runs a task's command once in the foreground (debug_task): a string under /bin/sh -c, an array
 * without a shell, streaming its output to the terminal. It changes no state and writes no log.
 */
export async function runForeground(command: Command, o: ForegroundOptions): Promise<ForegroundResult> {
  const [file, args] = typeof command === 'string' ? ['/bin/sh', ['-c', command]] : [command[0] ?? '', command.slice(1)];
  const started = performance.now();
  const out = o.stdout === 'stdout' ? 'inherit' : process.stderr;
  const child = spawn(file, args, {
    cwd: o.cwd ?? undefined,
    env: { ...process.env, ...o.env },
    stdio: [o.interactive ? 'inherit' : 'ignore', out, 'inherit'],
    detached: !o.interactive,
  });
  const pgid = !o.interactive ? child.pid ?? null : null;
  // Ctrl-C or SIGTERM to cairn: pass it on to the command's own group (an interactive one got it already).
  const forward = (sig: NodeJS.Signals) => () => {
    if (pgid !== null && pgid > 1) {
      try { signalGroup(pgid, sig); } catch { /* gone */ }
    }
  };
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    return await new Promise<ForegroundResult>((resolve) => {
      child.once('error', (err) => resolve({ exit_code: null, signal: null, duration_ms: Math.round(performance.now() - started), spawn_error: `cannot start ${JSON.stringify(file)}: ${err.message}` }));
      child.once('exit', (code, signal) => resolve({ exit_code: code, signal, duration_ms: Math.round(performance.now() - started), spawn_error: null }));
    });
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    // Processes the command left in its group must not outlive the debug run.
    if (pgid !== null && pgid > 1 && groupAlive(pgid)) await killGroup(pgid, { graceMs: o.graceMs });
  }
}
