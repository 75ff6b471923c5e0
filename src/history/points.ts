import { CairnError } from '../errors.js';

/**
 * A point in the history of a state folder (DESIGN §10), as the user wrote it: a seq, an ISO 8601
 * date-time (the state as of the last decision at or before it), `git:<rev>` (the state folder as
 * committed at that revision), or `now` (the end of the log). Pure: resolving it against a log is the
 * store's job (store/points.ts), against git the API's (api/history/points.ts).
 */
export type Point =
  | { kind: 'seq'; text: string; seq: number }
  | { kind: 'time'; text: string; ms: number }
  | { kind: 'git'; text: string; rev: string }
  | { kind: 'now'; text: string };

const ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;
/** A git revision: what `git rev-parse` takes, without what a shell or git option would read. */
const REV = /^[A-Za-z0-9_./~^@{}:+-]{1,256}$/;

export const POINT_HELP = 'a point is a seq (1234), an ISO 8601 date-time (2026-12-06T10:00:00Z; without an offset, local time), git:<rev> (git:HEAD~3, git:main, git:<sha>) or now';

export function parsePoint(text: string): Point {
  const t = text.trim();
  if (t === 'now' || t === 'HEAD') return { kind: 'now', text: t };
  if (/^\d+$/.test(t)) {
    const seq = Number(t);
    if (Number.isSafeInteger(seq)) return { kind: 'seq', text: t, seq };
  }
  if (t.startsWith('git:')) {
    const rev = t.slice(4);
    if (!REV.test(rev) || rev.startsWith('-')) throw bad(text, `"${rev}" is not a git revision`);
    return { kind: 'git', text: t, rev };
  }
  if (ISO.test(t)) {
    // A date alone is that day's midnight; a date-time without an offset is local time (as git's --since).
    const ms = /^\d{4}-\d{2}-\d{2}$/.test(t) ? Date.parse(`${t}T00:00:00`) : Date.parse(t.replace(' ', 'T').replace(',', '.'));
    if (Number.isFinite(ms)) return { kind: 'time', text: t, ms };
  }
  throw bad(text, 'it is not a seq, a date-time or git:<rev>');
}

function bad(text: string, why: string): CairnError {
  return new CairnError('BAD_INPUT', `"${text}" is not a point in time: ${why}`, { hint: POINT_HELP, details: { point: text } });
}
