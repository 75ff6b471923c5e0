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

/** A closed segment of a log (`log/<first>-<last>.jsonl.gz`) as a revision holds it: its name and gzip bytes. */
export interface GitSegment {
  name: string;
  data: Buffer;
}

/**
 * The files of `<dir>/log/` named like segments (`^\d{12}-\d{12}\.jsonl\.gz$`) in the tree of
 * `rev`, with their bytes, in name order; [] when the revision has no such folder. One `git
 * ls-tree` and one `git cat-file --batch` however many segments there are.
 */
export function gitSegmentsAt(cwd: string, rev: string, dir: string): GitSegment[] {
  const folder = dir === '' ? 'log/' : `${dir}/log/`;
  const ls = runGit(cwd, ['ls-tree', '-z', '--full-tree', rev, '--', folder]);
  if (ls.code !== 0) throw new CairnError('IO_ERROR', `git ls-tree ${rev} ${folder}: ${ls.stderr.trim().split('\n').at(-1) || `exit ${ls.code}`}`, { hint: 'check the repository with git fsck' });
  const found: { name: string; oid: string }[] = [];
  for (const entry of ls.stdout.toString('utf8').split('\0')) {
    // <mode> SP <type> SP <oid> TAB <path>
    const m = /^\d+ blob ([0-9a-f]+)\t(.*)$/s.exec(entry);
    const name = m ? m[2]!.slice(folder.length) : '';
    if (m && /^\d{12}-\d{12}\.jsonl\.gz$/.test(name)) found.push({ name, oid: m[1]! });
  }
  if (found.length === 0) return [];
  const out = gitOrThrow(cwd, ['cat-file', '--batch'], 'IO_ERROR', 'check the repository with git fsck', { input: found.map((f) => f.oid).join('\n') + '\n' });
  const segs: GitSegment[] = [];
  let at = 0;
  for (const f of found) {
    // Each object: "<oid> blob <size>\n<bytes>\n".
    const nl = out.indexOf(0x0a, at);
    const head = out.toString('utf8', at, nl).split(' ');
    if (head[0] !== f.oid || head[1] !== 'blob') throw new CairnError('IO_ERROR', `git cat-file gave ${head.join(' ')} for ${folder}${f.name}`, { hint: 'check the repository with git fsck' });
    const size = Number(head[2]);
    segs.push({ name: f.name, data: out.subarray(nl + 1, nl + 1 + size) });
    at = nl + 1 + size + 1;
  }
  return segs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The bytes of `<rev>:<file>`, or null when the revision has no such file. */
export function gitBlob(cwd: string, rev: string, file: string): Buffer | null {
  const r = runGit(cwd, ['cat-file', 'blob', `${rev}:${file}`]);
  return r.code === 0 ? r.stdout : null;
}
