import { createRequire } from 'node:module';
import { CairnError } from '../errors.js';

// child_process (and the net and stream modules it brings) loads on the first git call: most
// commands never run git, and every command's start-up is measured.
const require = createRequire(import.meta.url);

/** What one run of the `git` program gave. */
export interface GitResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/**
 * Runs the `git` program once, synchronously, in `cwd` (history reads, the merge driver's setup,
 * git_commit). The only place cairn starts git: the rest of cairn asks for what git said. A missing
 * program is a clear error, not a crash: the user is told to install git. LC_ALL=C keeps git's
 * messages stable enough to quote; GIT_TERMINAL_PROMPT=0 keeps git from waiting on a terminal.
 */
export function runGit(cwd: string, args: readonly string[], o: { input?: string | Buffer; maxBuffer?: number } = {}): GitResult {
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const r = spawnSync('git', args, {
    cwd,
    input: o.input,
    maxBuffer: o.maxBuffer ?? 2 * 1024 * 1024 * 1024,
    env: { ...process.env, LC_ALL: 'C', GIT_TERMINAL_PROMPT: '0' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CairnError('BAD_INPUT', 'the git program is not installed (or not on PATH)', { hint: 'install git (apt-get install git), then run the command again' });
    throw new CairnError('IO_ERROR', `could not run git ${args[0] ?? ''}: ${r.error.message}`, { cause: r.error });
  }
  return { code: r.status ?? 128, stdout: r.stdout ?? Buffer.alloc(0), stderr: (r.stderr ?? Buffer.alloc(0)).toString('utf8') };
}

/** runGit, throwing `code` with git's own message when git fails. */
export function gitOrThrow(cwd: string, args: readonly string[], code: 'BAD_INPUT' | 'IO_ERROR', hint: string, o: { input?: string | Buffer } = {}): Buffer {
  const r = runGit(cwd, args, o);
  if (r.code !== 0) throw new CairnError(code, `git ${args.join(' ')}: ${r.stderr.trim().split('\n').at(-1) || `exit ${r.code}`}`, { hint, details: { git_exit: r.code, git_stderr: r.stderr.trim() } });
  return r.stdout;
}
