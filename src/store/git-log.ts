import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';

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
 * A log as a git revision holds it: the active transitions.jsonl and the closed segments of
 * `log/` (their gzip bytes, named `<first>-<last>.jsonl.gz`) that hold its older part.
 */
export interface CommittedLog {
  active: Buffer;
  segments: { name: string; data: Buffer }[];
}

/**
 * Runs `fn` on a copy of a log that is not this folder's (one read from git) in a private temporary
 * folder outside the state folder: the active file as `transitions.jsonl` and its segments in
 * `log/` beside it, so the log readers, which read files through the segmented layer, read it as
 * they read ours: segments then the active file as one log, with the same damage rules (a missing
 * or damaged segment is corruption, never a torn tail). The copy is removed afterwards whatever happens.
 */
export function withTempLog<T>(log: CommittedLog, fn: (file: string) => T): T {
  const dir = mkdtempSync(path.join(tmpdir(), 'cairn-log-'));
  try {
    const file = path.join(dir, 'transitions.jsonl');
    writeFileSync(file, log.active, { mode: 0o600 });
    if (log.segments.length > 0) {
      mkdirSync(path.join(dir, 'log'), { mode: 0o700 });
      for (const seg of log.segments) writeFileSync(path.join(dir, 'log', path.basename(seg.name)), seg.data, { mode: 0o600 });
    }
    return fn(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The bytes of a committed log's last segment, inflated (empty when it has none or it does not inflate). */
export function lastSegmentText(log: CommittedLog): Buffer {
  const seg = log.segments.at(-1);
  if (!seg) return Buffer.alloc(0);
  try {
    return gunzipSync(seg.data);
  } catch {
    return Buffer.alloc(0);
  }
}
