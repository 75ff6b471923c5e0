// Runs the real `cairn` binary as a child process and collects what it says.
import { spawn } from 'node:child_process';
import { CAIRN_BIN, ROOT } from './paths.js';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  /** Run under this umask (octal text such as '000' or '077'), through `sh -c 'umask …; exec node …'`. */
  umask?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** `cairn <args>`; resolves when it exits (never rejects on a non-zero exit). */
export function cairn(args: string[], o: CliOptions = {}): Promise<CliResult> {
  const env = { ...process.env, CAIRN_STATE_DIR: undefined, CAIRN_OPERATOR: 'tester', ...o.env };
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
