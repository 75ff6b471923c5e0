// A real git repository in a scratch folder, with a `cairn` on PATH (as a user installs it) and
// git's identity and config kept inside the scratch folder: the real ~/.gitconfig is never read or touched.
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { cairn, said } from './cli.js';
import { CAIRN_BIN } from './paths.js';
import { scratch } from './tmp.js';

export interface Repo {
  dir: string;
  env: NodeJS.ProcessEnv;
  /** git <args> in the repository; returns what it said. */
  git(args: string[], ok?: boolean): { code: number; stdout: string; stderr: string };
  /** Writes a one-task-per-id spec file and returns its path. */
  spec(id: string, tasks?: { id: string; command: string; depends_on?: string[] }[]): string;
}

export function makeRepo(): Repo {
  const root = scratch('cairn-git-');
  const bin = join(root, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'cairn'), `#!/bin/sh\nexec "${process.execPath}" "${CAIRN_BIN}" "$@"\n`);
  chmodSync(join(bin, 'cairn'), 0o755);
  const home = join(root, 'home');
  mkdirSync(home);
  writeFileSync(join(home, '.gitconfig'), '');
  const dir = join(root, 'repo');
  mkdirSync(dir);
  const env: NodeJS.ProcessEnv = {
    PATH: `${bin}${delimiter}${process.env.PATH ?? ''}`,
    HOME: home,
    GIT_CONFIG_GLOBAL: join(home, '.gitconfig'),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'tester', GIT_AUTHOR_EMAIL: 'tester@example.com',
    GIT_COMMITTER_NAME: 'tester', GIT_COMMITTER_EMAIL: 'tester@example.com',
    GIT_TERMINAL_PROMPT: '0',
  };
  const git = (args: string[], ok = true) => {
    const r = spawnSync('git', args, { cwd: dir, env: { ...process.env, ...env }, encoding: 'utf8' });
    const out = { code: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
    if (ok) assert.equal(out.code, 0, `git ${args.join(' ')}\n${r.stdout}\n${r.stderr}`);
    return out;
  };
  git(['init', '-q', '-b', 'main']);
  const spec = (id: string, tasks = [{ id: 't', command: 'true' }]) => {
    const f = join(root, `${id}.json`);
    writeFileSync(f, JSON.stringify({ id, tasks }));
    return f;
  };
  return { dir, env, git, spec };
}

// Plain helpers: git with a private config in any folder (history tests).

let globalConfig = '';

/** An environment for git: a private empty global config, a fixed author, no system config. */
export function gitEnv(): NodeJS.ProcessEnv {
  if (!globalConfig) {
    globalConfig = join(scratch('cairn-gitcfg-'), 'gitconfig');
    writeFileSync(globalConfig, '[user]\n\tname = Tester\n\temail = tester@example.com\n[init]\n\tdefaultBranch = main\n');
  }
  return { ...process.env, GIT_CONFIG_GLOBAL: globalConfig, GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_DATE: undefined, GIT_COMMITTER_DATE: undefined };
}

/** `git <args>` in `cwd`; throws with git's message when it fails. Returns stdout. */
export function git(cwd: string, ...args: string[]): string {
  const r = spawnSync('git', args, { cwd, env: gitEnv(), encoding: 'utf8' });
  if (r.error) throw new Error(`git is needed by this test and could not run: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** A new git repository in a scratch folder; returns its path. */
export function gitRepo(): string {
  const dir = scratch('cairn-git-');
  git(dir, 'init', '-q');
  return dir;
}

/** cairn <args> in the repository, which must exit 0. */
export async function okIn(repo: Repo, args: string[]): Promise<void> {
  const r = await cairn(args, { cwd: repo.dir, env: repo.env });
  assert.equal(r.code, 0, `cairn ${args.join(' ')}\n${said(r)}`);
}

/** git add -A and commit everything in the repository. */
export function commitAll(repo: Repo, msg: string): void {
  repo.git(['add', '-A']);
  repo.git(['commit', '-q', '-m', msg]);
}
