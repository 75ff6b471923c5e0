import { atomicWrite } from './atomic.js';
import { type FsLayer, readWhole } from './fsio.js';
import type { StatePaths } from './paths.js';

/** The merge driver's name in .gitattributes and in git's config (`merge.cairn.driver`). */
export const LOG_DRIVER = 'cairn';
/** A driver that keeps ours (`true` leaves %A as it is): derived files are rebuilt from the merged log. */
export const OURS_DRIVER = 'cairn-ours';

/**
 * What `cairn git-setup` writes to the state folder's .gitattributes, one rule a line (paths are
 * relative to the state folder). The log: LF always (a CRLF conversion changes every byte a crc
 * covers) and merged only by the driver. The derived files: collapsed in diffs (linguist-generated)
 * and, when both branches changed them, ours kept: loading is newest valid snapshot + replay of the
 * log after its seq, so a current.json behind the merged log loses nothing.
 */
export const GITATTRIBUTES_LINES = [
  `transitions.jsonl text eol=lf merge=${LOG_DRIVER}`,
  `current.json text eol=lf linguist-generated merge=${OURS_DRIVER}`,
  `metrics.json text eol=lf linguist-generated merge=${OURS_DRIVER}`,
  `interventions.log text eol=lf linguist-generated merge=${OURS_DRIVER}`,
  `checkpoints/** text eol=lf linguist-generated merge=${OURS_DRIVER}`,
  `archive/** text eol=lf linguist-generated merge=${OURS_DRIVER}`,
];

const HEADER = '# Written by cairn git-setup. The log is never merged line by line: the cairn merge driver\n# (registered in the repository\'s git config by cairn git-setup) decides the other branch again.\n';

/**
 * Writes the rules into .gitattributes of the state folder: the whole file when there is none, the
 * missing lines appended when there is one (a user's own lines are kept). Idempotent.
 */
export function writeGitattributes(io: FsLayer, paths: StatePaths): 'written' | 'updated' | 'unchanged' {
  const text = readWhole(io, paths.gitattributes)?.toString('utf8');
  if (text === undefined) {
    atomicWrite(io, paths.gitattributes, HEADER + GITATTRIBUTES_LINES.join('\n') + '\n');
    return 'written';
  }
  const have = new Set(text.split('\n').map((l) => l.trim()));
  const missing = GITATTRIBUTES_LINES.filter((l) => !have.has(l));
  if (missing.length === 0) return 'unchanged';
  atomicWrite(io, paths.gitattributes, `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${missing.join('\n')}\n`);
  return 'updated';
}

/** Whether the state folder's .gitattributes names the cairn merge driver. */
export function namesDriver(io: FsLayer, paths: StatePaths): boolean {
  const text = readWhole(io, paths.gitattributes)?.toString('utf8');
  return text !== undefined && text.split('\n').some((l) => !l.trimStart().startsWith('#') && new RegExp(`\\smerge=${LOG_DRIVER}(\\s|$)`).test(l));
}
