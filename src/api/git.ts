import * as path from 'node:path';
import { CairnError } from '../errors.js';
import { runGit } from '../runner/git.js';
import { onPath } from '../runner/which.js';
import { GITATTRIBUTES_LINES, LOG_DRIVER, namesDriver, OURS_DRIVER, writeGitattributes } from '../store/gitattributes.js';
import { realFs } from '../store/fsio.js';
import { StatePaths } from '../store/paths.js';
import { checkRoot } from '../store/root.js';
import { type CommonOptions, stateDirOf } from './common.js';

/**
 * The command git runs for a merge of the log. By name, found on PATH, not the absolute path of
 * this installation: the config is shared by every worktree of the repository, and an absolute
 * path breaks when the worktree (or node_modules) that wrote it is removed. `--driver` changes it
 * (e.g. `npx --no-install cairn` for a project-local install).
 */
export const DEFAULT_DRIVER = 'cairn';

export interface GitSetupResult {
  state_dir: string;
  repository: string;
  /** What happened to .gitattributes in the state folder. */
  attributes: 'written' | 'updated' | 'unchanged';
  attributes_file: string;
  /** Each git config key cairn sets, its value, and whether it changed. */
  config: { key: string; value: string; changed: boolean }[];
  /** Where the driver's program is on PATH now, or null (a warning says so). */
  driver_found: string | null;
  warnings: string[];
}

/** The top folder of the git repository that holds `dir`; BAD_INPUT (exit 2) when there is none. */
export function repositoryOf(dir: string): string {
  let at = path.resolve(dir);
  while (!realFs.lstatSync(at)?.isDirectory() && path.dirname(at) !== at) at = path.dirname(at);
  const r = runGit(at, ['rev-parse', '--show-toplevel']);
  if (r.code !== 0) {
    throw new CairnError('BAD_INPUT', `${path.resolve(dir)} is not inside a git repository (git: ${r.stderr.trim().split('\n').at(-1) ?? `exit ${r.code}`})`, {
      hint: 'Run git init in the project first (or cd into the repository), then cairn git-setup',
    });
  }
  return r.stdout.toString('utf8').trim();
}

/** The merge driver keys and values git-setup registers (`driver` is how git starts cairn). */
export function driverConfig(driver = DEFAULT_DRIVER): [string, string][] {
  return [
    [`merge.${LOG_DRIVER}.name`, 'cairn: decide the other branch\'s submissions and interventions again on ours'],
    [`merge.${LOG_DRIVER}.driver`, `${driver} merge-driver %O %A %B %P`],
    [`merge.${OURS_DRIVER}.name`, 'cairn: keep ours (a file derived from the log)'],
    [`merge.${OURS_DRIVER}.driver`, 'true'],
  ];
}

/**
 * git-setup: writes .gitattributes in the state folder and registers the merge drivers in the
 * repository's config (never a global or committed config: git-flow-next found include.path of a
 * committed file imports arbitrary config). Idempotent; outside a git repository BAD_INPUT, nothing changed.
 */
export function gitSetup(o: CommonOptions & { driver?: string }): GitSetupResult {
  const root = stateDirOf(o);
  const io = o.fs ?? realFs;
  const repo = repositoryOf(root);
  checkRoot(io, root, 'write');
  const driver = o.driver ?? DEFAULT_DRIVER;
  if (driver.trim() === '' || /[\n\0]/.test(driver)) throw new CairnError('BAD_INPUT', `--driver must be a command, got ${JSON.stringify(driver)}`, { hint: 'e.g. --driver cairn, or --driver "npx --no-install cairn"' });
  const paths = new StatePaths(root);
  const attributes = writeGitattributes(io, paths);
  const config = driverConfig(driver).map(([key, value]) => {
    const had = runGit(repo, ['config', '--local', '--get', key]);
    const changed = had.code !== 0 || had.stdout.toString('utf8').replace(/\n$/, '') !== value;
    if (changed) {
      const w = runGit(repo, ['config', '--local', key, value]);
      if (w.code !== 0) throw new CairnError('IO_ERROR', `git config ${key} failed: ${w.stderr.trim()}`, { hint: 'Check that .git/config is writable, then run cairn git-setup again' });
    }
    return { key, value, changed };
  });
  const program = driver.trim().split(/\s+/)[0]!;
  const found = program.includes('/') ? program : onPath(program);
  const warnings = found ? [] : [`${program} is not on PATH: git will not find the merge driver and the merge of transitions.jsonl will fail. Put cairn on PATH (npm install -g, or a link in ~/.local/bin), or run cairn git-setup --driver "npx --no-install cairn"`];
  return { state_dir: path.resolve(root), repository: repo, attributes, attributes_file: paths.gitattributes, config, driver_found: found, warnings };
}

/**
 * The warning validate-state gives when .gitattributes names the cairn driver and the repository's
 * config does not register it: git then merges the log as text, silently. null when all is well
 * (or the folder is not in a git repository, or names no driver).
 */
export function driverWarning(o: CommonOptions): string | null {
  const root = stateDirOf(o);
  const io = o.fs ?? realFs;
  if (!namesDriver(io, new StatePaths(root))) return null;
  const r = runGit(root, ['config', '--get', `merge.${LOG_DRIVER}.driver`]);
  if (r.code === 0 && r.stdout.toString('utf8').trim() !== '') return null;
  if (runGit(root, ['rev-parse', '--git-dir']).code !== 0) return null;
  return `.gitattributes names the cairn merge driver (merge=${LOG_DRIVER}) but this repository's git config does not register it: git would merge transitions.jsonl line by line. Run: cairn git-setup`;
}

export { GITATTRIBUTES_LINES };
