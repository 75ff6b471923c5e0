import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/**
 * Where a state folder sits in its git work tree, for `git show <rev>:<path>`: the folder's real
 * path relative to the top of the work tree, with forward slashes ('' when it is the top itself).
 * Null when the folder is not inside `top`.
 */
export function pathInRepo(top: string, stateDir: string): string | null {
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  const rel = path.relative(real(top), real(stateDir));
  if (rel.startsWith('..') || path.isAbsolute(rel)) return null;
  return rel.split(path.sep).join('/');
}

/**
 * Runs `fn` on a copy of a log that is not this folder's (one read from git) in a private temporary
 * folder outside the state folder, so the log readers, which read files, read it as they read ours.
 * The copy is removed afterwards whatever happens.
 */
export function withTempLog<T>(log: Buffer, fn: (file: string) => T): T {
  const dir = mkdtempSync(path.join(tmpdir(), 'cairn-log-'));
  try {
    const file = path.join(dir, 'transitions.jsonl');
    writeFileSync(file, log, { mode: 0o600 });
    return fn(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
