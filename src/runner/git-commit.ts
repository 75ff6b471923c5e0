import { runGit, type GitResult } from './git.js';

/** What committing the state folder gave: the commit, or why none was made (in git's own words where git said why). */
export type StateCommit = { committed: true; sha: string } | { committed: false; reason: string };

function said(r: GitResult): string {
  const text = `${r.stderr}\n${r.stdout.toString('utf8')}`.trim().split('\n').map((l) => l.trim()).filter(Boolean);
  return text.at(-1) ?? `exit ${r.code}`;
}

/**
 * Commits the state folder `stateDir` (config git_commit): stages its own paths only (additions,
 * changes and removals, as its .gitignore allows) and commits exactly those paths, so work the user
 * has staged elsewhere in the repository stays staged and out of the commit. Never throws for what
 * git refuses (no repository, no identity, a hook that says no, nothing to commit): the caller's
 * records are already durable, so it only reports why there is no commit.
 */
export function commitStateFolder(stateDir: string, message: string): StateCommit {
  const top = runGit(stateDir, ['rev-parse', '--show-toplevel']);
  if (top.code !== 0) return { committed: false, reason: `the state folder is not in a git repository (git: ${said(top)})` };
  // `.` is the state folder: git resolves a pathspec from the directory it runs in.
  const add = runGit(stateDir, ['add', '--all', '--', '.']);
  if (add.code !== 0) return { committed: false, reason: `git add failed: ${said(add)}` };
  // A pathspec makes this `git commit --only`: the index's other staged paths are not committed.
  const commit = runGit(stateDir, ['commit', '--quiet', '--file=-', '--', '.'], { input: message });
  if (commit.code !== 0) return { committed: false, reason: `git commit failed: ${said(commit)}` };
  const head = runGit(stateDir, ['rev-parse', 'HEAD']);
  return { committed: true, sha: head.stdout.toString('utf8').trim() };
}
