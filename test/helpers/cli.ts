// Runs `cairn` and collects what it says: in a fresh child process where the process boundary is
// part of what a test checks, else in a warm CLI server (cli-server.ts) that saves Node's start-up.
import { spawn } from 'node:child_process';
import { CAIRN_BIN, ROOT } from './paths.js';
import { runWarm } from './cli-warm.js';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  /** Run under this umask (octal text such as '000' or '077'), through `sh -c 'umask …; exec node …'`. Implies `real`. */
  umask?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /**
   * Run `node bin/cairn.js` as a fresh child process even where a warm server would do: for a test
   * about the process itself (its pid in a lock, what a fresh start finds, what it leaves at exit).
   */
  real?: boolean;
}

/**
 * Commands and flags that always run in a fresh process: `run` and `debug-task` spawn workers and
 * tasks and handle signals, `serve` and `--watch` live until a signal stops them. Any argument equal
 * to one of these makes the call real (an id that happens to be 'run' only costs time).
 */
const REAL_ARGS = new Set(['run', 'debug-task', 'serve', '--watch']);

/**
 * Whether `cairn <args>` needs a fresh `node bin/cairn.js` process: when asked (`real`, or
 * TEST_CLI_REAL=1 for the whole run), under a umask, or for the commands in REAL_ARGS.
 * Everything else runs warm, with the same arguments, cwd, environment, stdin (none), stdout,
 * stderr, exit code and effect on the state (test/cli-warm.test.ts runs a sample both ways and
 * compares); variables read at load time (CAIRN_LOCK_NO_LINKS, NODE_OPTIONS) pick a server
 * started with them.
 */
export function needsRealProcess(args: readonly string[], o: CliOptions): boolean {
  if (o.real || o.umask !== undefined || process.env.TEST_CLI_REAL === '1') return true;
  return args.some((a) => REAL_ARGS.has(a));
}

/** The environment a command gets: the test's, without CAIRN_STATE_DIR, operator 'tester', then `o.env`. */
export function cliEnv(o: CliOptions): NodeJS.ProcessEnv {
  return { ...process.env, CAIRN_STATE_DIR: undefined, CAIRN_OPERATOR: 'tester', ...o.env };
}

/** `cairn <args>`; resolves when it exits (never rejects on a non-zero exit). cairnSync (cli-sync.ts) is the same, synchronously. */
export function cairn(args: string[], o: CliOptions = {}): Promise<CliResult> {
  const env = cliEnv(o);
  if (!needsRealProcess(args, o)) return runWarm(args, o.cwd ?? ROOT, env, o.timeoutMs ?? 60_000);
  return cairnReal(args, o, env);
}

function cairnReal(args: string[], o: CliOptions, env: NodeJS.ProcessEnv): Promise<CliResult> {
  const [cmd, argv] = o.umask === undefined
    ? [process.execPath, [CAIRN_BIN, ...args]]
    : ['/bin/sh', ['-c', `umask ${o.umask}; exec "$0" "$@"`, process.execPath, CAIRN_BIN, ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { cwd: o.cwd ?? ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** `cairn <args> --json`, parsed; fails the test with everything the command said when stdout is not one JSON document. */
export async function cairnJson(args: string[], o: CliOptions = {}): Promise<CliResult & { doc: any }> {
  const r = await cairn([...args, '--json'], o);
  let doc: unknown;
  try {
    doc = JSON.parse(r.stdout);
  } catch {
    throw new Error(`cairn ${args.join(' ')} --json did not print one JSON document (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  return { ...r, doc };
}

/** A compact description of a CLI run for assertion messages. */
export function said(r: CliResult): string {
  return `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}
