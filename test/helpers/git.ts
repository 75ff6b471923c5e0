// Runs the real `git` program for tests, never reading or writing the user's own git config.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scratch } from './tmp.js';

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
