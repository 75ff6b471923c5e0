import { readdirSync, readFileSync } from 'node:fs';
import type { Task } from '../model/types.js';
import { StatePaths } from './paths.js';

/** The last `lines` lines of every attempt's log, oldest attempt first. */
export function attemptLogs(stateDir: string, t: Task, lines: number): { attempt: number; path: string; tail: string[] }[] {
  const paths = new StatePaths(stateDir);
  let files: string[] = [];
  try {
    files = readdirSync(paths.taskLogDir(t.workstream_id));
  } catch {
    return [];
  }
  const re = new RegExp(`^${t.id.replace(/[.]/g, '\\.')}\\.(\\d+)\\.log$`);
  return files
    .flatMap((f) => {
      const m = re.exec(f);
      return m ? [{ attempt: Number(m[1]), file: f }] : [];
    })
    .sort((a, b) => a.attempt - b.attempt)
    .map(({ attempt }) => {
      const p = paths.taskLog(t.workstream_id, t.id, attempt);
      let text = '';
      try {
        text = readFileSync(p, 'utf8');
      } catch {
        /* a log removed by hand: show it empty */
      }
      const all = text.split('\n');
      if (all[all.length - 1] === '') all.pop();
      return { attempt, path: p, tail: all.slice(-lines) };
    });
}
