import { readdirSync, readFileSync } from 'node:fs';

/** The fields of `/proc/<pid>/stat` that cairn uses to tell processes apart. */
export interface ProcStat {
  pid: number;
  /** One letter: R, S, D, Z (zombie), T (stopped), … */
  state: string;
  ppid: number;
  pgrp: number;
  /** Field 22: start time in clock ticks since boot, kept as a string (it is compared, never computed). */
  starttime: string;
}

/** Parses one `/proc/<pid>/stat` line, or returns null when it is not in the expected shape. */
export function parseStat(line: string): ProcStat | null {
  // comm (field 2) is in parentheses and may itself contain spaces and ')': only the LAST ')' ends it.
  const open = line.indexOf('(');
  const close = line.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const pid = Number(line.slice(0, open).trim());
  // After ')' come fields 3, 4, 5, …; field n is at index n - 3.
  const rest = line.slice(close + 1).trim().split(/\s+/);
  const [state, ppid, pgrp, starttime] = [rest[0], rest[1], rest[2], rest[19]];
  if (!Number.isInteger(pid) || state === undefined || starttime === undefined || !/^\d+$/.test(starttime)) return null;
  return { pid, state, ppid: Number(ppid), pgrp: Number(pgrp), starttime };
}

/** Reads `/proc/<pid>/stat`; null when the process does not exist (or /proc is not there). */
export function readStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  return parseStat(text);
}

/** True when /proc can be read, so zombies can be told from live processes. */
export function hasProcfs(): boolean {
  return readStat(process.pid) !== null;
}

/** Every process of group `pgid` that is not a zombie, as read from /proc (Linux only). */
export function liveGroupMembers(pgid: number): ProcStat[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const members: ProcStat[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat !== null && stat.pgrp === pgid && stat.state !== 'Z' && stat.state !== 'X') members.push(stat);
  }
  return members;
}
