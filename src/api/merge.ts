import * as path from 'node:path';
import { CairnError } from '../errors.js';
import { dirname, join } from 'node:path';
import { realFs } from '../store/fsio.js';
import { listBases } from '../store/log-base.js';
import { type MergeSegments, mergeLogFiles, type MergeFileResult } from '../store/merge-file.js';
import { gitBlob, gitSegmentsAt, runGit } from '../runner/git.js';
import { readWhole } from '../store/fsio.js';
import { lineSeq } from '../log/codec.js';
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
  const r = mergeLogFiles(io, { ours: o.ours, theirs: o.theirs }, o.clock ?? Date.now, sideSegments(io, o));
  const next = r.clean
    ? []
    : [
        `keep ours: git add ${p} (the file holds our log now), then redo by hand what the other branch did that is listed above (cairn submit <spec>, the recovery commands)`,
        `or take theirs: git checkout --theirs ${p} && git add ${p}, then redo ours by hand`,
        'records of a run cannot be merged: run the workstream on one branch only, or merge before running',
      ];
  return { ...r, path: p, next };
}

/**
 * The segments (log/*.jsonl.gz) of each side of a rotated log, which git does not give a merge
 * driver: ours' from HEAD, theirs' from the commit `git merge` names in GITHEAD_<oid> (the only
 * place git says it while the driver runs), each used only when that commit's transitions.jsonl
 * is the very file git gave (%A, %B). Null for a side whose log did not rotate, or whose commit
 * is not known (a rebase or cherry-pick: then merge-file chains theirs on ours, or stops clearly).
 */
function sideSegments(io: NonNullable<MergeDriverOptions['fs']>, o: MergeDriverOptions): MergeSegments {
  const none: MergeSegments = { ours: null, theirs: null };
  if (o.path === undefined) return none;
  const rotated = (file: string) => {
    const b = readWhole(io, file);
    if (b === undefined) return false;
    // Empty: a log that rotated at its last write holds everything in its segments.
    if (b.length === 0) return true;
    const nl = b.indexOf(0x0a);
    return lineSeq(b, 0, nl < 0 ? b.length : nl) > 1;
  };
  const ours = rotated(o.ours);
  const theirs = rotated(o.theirs);
  if (!ours && !theirs) return none;
  // git runs a merge driver at the top of the work tree, and %P is relative to it.
  const top = runGit(process.cwd(), ['rev-parse', '--show-toplevel']);
  if (top.code !== 0) return none;
  const cwd = top.stdout.toString('utf8').trim();
  const dir = path.posix.dirname(o.path) === '.' ? '' : path.posix.dirname(o.path);
  const same = (rev: string, file: string) => {
    const blob = gitBlob(cwd, rev, o.path!);
    return blob !== null && blob.equals(readWhole(io, file) ?? Buffer.alloc(0));
  };
  const theirCommits = Object.keys(process.env).flatMap((k) => (/^GITHEAD_[0-9a-f]{40,64}$/.test(k) ? [k.slice('GITHEAD_'.length)] : []));
  const theirCommit = theirCommits.length === 1 ? theirCommits[0]! : null;
  return {
    ours: ours && same('HEAD', o.ours) ? gitSegmentsAt(cwd, 'HEAD', dir) : null,
    theirs: theirs && theirCommit !== null && same(theirCommit, o.theirs) ? gitSegmentsAt(cwd, theirCommit, dir) : null,
  };
}
