import type { JobInfo } from './commands.js';

/** Of the jobs named in `names` with a comment in `comments`: the first (lowest id) of each name, and the extra copies. */
export function jobNameCopies(jobs: JobInfo[], names: Set<string>, comments: Set<string>): { keep: Map<string, string>; extra: string[] } {
  const keep = new Map<string, string>();
  const extra: string[] = [];
  const mine = jobs.filter((j) => names.has(j.name) && comments.has(j.comment)).sort((a, b) => Number(a.id) - Number(b.id));
  for (const j of mine) {
    if (keep.has(j.name)) extra.push(j.id);
    else keep.set(j.name, j.id);
  }
  return { keep, extra };
}
