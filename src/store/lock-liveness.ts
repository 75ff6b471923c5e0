import { readFileSync } from 'node:fs';
import { readStat } from '../runner/proc.js';

/**
 * Whether the process named in a lock's owner file is gone, so the lock can be taken over at once
 * instead of after the stale time (a scheduler SIGKILLed right after it took its lock must not keep
 * the next `cairn run` out for the stale time; issue 11 §3).
 *
 * MUST: a live owner is never judged gone. Only an owner on this host is judged, and only from
 * /proc (Linux): its pid has no process, or a zombie, or a process that is not the owner — its start
 * time differs from the `process_start` the owner recorded, or, in an owner file without it (written
 * by an older cairn), it started more than a second after the owner's `acquired_at` (an owner takes
 * its lock after it starts, so a process that started later reuses the pid). Anything unclear (no
 * /proc, another host, a garbled file) leaves the lock to the stale time, as before.
 */

/** Clock ticks per second in /proc's start times (USER_HZ: 100 on every Linux platform Node runs on). */
const HZ = 100;
/** Slack between the start time read from /proc (10 ms ticks, boot clock) and the wall clock. */
const MARGIN_MS = 1000;

let mine: string | null | undefined;
/** This process's start time as /proc records it (ticks since boot), read once; null without /proc. */
export function ownStart(): string | null {
  if (mine === undefined) mine = readStat(process.pid)?.starttime ?? null;
  return mine;
}

/** What an owner file says about its process. */
export interface OwnerProcess {
  pid: number | null;
  host: string | null;
  acquired_at: string | null;
  process_start: string | null;
}

/** True only when the owner is provably not running on this host (see the block comment above). */
export function ownerGone(o: OwnerProcess, host: string): boolean {
  if (o.host !== host || o.pid === null || !Number.isInteger(o.pid) || o.pid <= 0) return false;
  if (ownStart() === null) return false; // no /proc here: nothing can be proved
  const st = readStat(o.pid);
  if (st === null) return noSuchProcess(o.pid); // /proc mounted with hidepid hides live ones too
  if (st.state === 'Z' || st.state === 'X') return true;
  if (o.process_start !== null) return st.starttime !== o.process_start;
  const acquired = o.acquired_at === null ? NaN : Date.parse(o.acquired_at);
  const started = startedAtMs(st.starttime);
  return Number.isFinite(acquired) && started !== null && started > acquired + MARGIN_MS;
}

function noSuchProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Wall-clock time a process started, from its start time in ticks since boot and /proc/uptime. */
function startedAtMs(ticks: string): number | null {
  let up: number;
  try {
    up = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  } catch {
    return null;
  }
  if (!Number.isFinite(up)) return null;
  return Date.now() - (up - Number(ticks) / HZ) * 1000;
}
