import { CairnError } from '../errors.js';
import { dirname, join } from 'node:path';
import { realFs } from '../store/fsio.js';
import { listBases } from '../store/log-base.js';
import { mergeLogFiles, type MergeFileResult } from '../store/merge-file.js';
import type { CommonOptions } from './common.js';

export interface MergeDriverOptions extends Pick<CommonOptions, 'fs' | 'clock'> {
  /** %O: the ancestor git chose (not trusted: the fork is computed from both chains). */
  base: string;
  /** %A: ours; the result is written here. */
  ours: string;
  /** %B: theirs. */
  theirs: string;
  /** %P: the path of the log in the repository, for messages. */
  path?: string;
}

export type MergeDriverResult = MergeFileResult & { path: string; next: string[] };

/**
 * merge-driver: what git runs to merge two versions of transitions.jsonl (registered by git-setup).
 * Clean: %A holds our records, then the other branch's submissions and interventions decided again
 * as new records. A conflict leaves %A as our own valid log and says which records stopped it.
 */
export function mergeDriver(o: MergeDriverOptions): MergeDriverResult {
  const io = o.fs ?? realFs;
  for (const [flag, file] of [['%O', o.base], ['%A', o.ours], ['%B', o.theirs]] as const) {
    if (!io.lstatSync(file)?.isFile()) {
      throw new CairnError('BAD_INPUT', `${flag} ${file} is not a file`, { hint: 'git runs this as: cairn merge-driver %O %A %B %P (see cairn git-setup)' });
    }
  }
  const p = o.path ?? 'transitions.jsonl';
  // A log whose old segments were moved out (log-archive) starts at its base, which this driver
  // does not read: refused clearly rather than as a log that starts at the wrong seq.
  const bases = o.path ? listBases(io, join(dirname(o.path), 'log')) : [];
  if (bases.length > 0) {
    throw new CairnError('MERGE_CONFLICT', `${p} starts at its base ${join(dirname(p), 'log', bases[0]!)} (cairn log-archive moved its older segments out); the merge driver merges only a log that starts at seq 1, and our log is left as it was`, {
      details: { path: p, base: bases[0] },
      hint: `Keep ours (git add ${p}) and redo what the other branch did by hand (cairn submit, the recovery commands), or take theirs (git checkout --theirs ${p} && git add ${p}); merge branches before archiving their logs`,
    });
  }
  const r = mergeLogFiles(io, { ours: o.ours, theirs: o.theirs }, o.clock ?? Date.now);
  const next = r.clean
    ? []
    : [
        `keep ours: git add ${p} (the file holds our log now), then redo by hand what the other branch did that is listed above (cairn submit <spec>, the recovery commands)`,
        `or take theirs: git checkout --theirs ${p} && git add ${p}, then redo ours by hand`,
        'records of a run cannot be merged: run the workstream on one branch only, or merge before running',
      ];
  return { ...r, path: p, next };
}
