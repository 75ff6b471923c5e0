import { setTimeout as sleep } from 'node:timers/promises';
import { CairnError } from '../errors.js';
import { hasProcfs, liveGroupMembers, readStat } from './proc.js';

/** How `killGroup` ended: already gone, gone after SIGTERM, gone after SIGKILL, or still there after SIGKILL. */
export type KillResult = 'gone' | 'terminated' | 'killed' | 'stuck';

/** What `killOrphanGroup` did: killed the group, found nothing, refused because the pid is someone else's now. */
export type OrphanKillResult = 'killed' | 'gone' | 'reused' | 'stuck';

/** Options of `killGroup`; all in milliseconds. */
export interface KillOptions {
  /** How long the group gets to exit after SIGTERM before SIGKILL. */
  graceMs: number;
  /** How often to look whether the group is gone. */
  pollMs?: number;
  /** How long to wait after SIGKILL before giving up with 'stuck' (a process in uninterruptible sleep). */
  killWaitMs?: number;
}

let procfs: boolean | undefined;
function procfsAvailable(): boolean {
  procfs ??= hasProcfs();
  return procfs;
}

/*
 * MUST: never signal a pgid <= 1. kill(-0) would signal cairn's own group and kill(-1) every
 * process the user owns; a corrupt or missing pgid must fail loudly instead.
 */
function assertPgid(pgid: number): void {
  if (!Number.isInteger(pgid) || pgid <= 1) {
    throw new CairnError('INTERNAL', `refusing to signal process group ${String(pgid)}`, { details: { pgid } });
  }
}

/** Sends `signal` to every process of group `pgid`; false when the group does not exist. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  assertPgid(pgid);
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

/** True while some process of group `pgid` is alive; zombies do not count (their parent may be stopped). */
export function groupAlive(pgid: number): boolean {
  try {
    if (!signalGroup(pgid, 0)) return false;
  } catch (err) {
    // EPERM: the group exists but belongs to someone else; it is alive, and not ours to kill.
    if ((err as NodeJS.ErrnoException).code === 'EPERM') return true;
    throw err;
  }
  // kill(-pgid, 0) succeeds while a zombie leader waits to be reaped, e.g. by a SIGSTOPped worker.
  return procfsAvailable() ? liveGroupMembers(pgid).length > 0 : true;
}

async function waitGone(pgid: number, ms: number, pollMs: number): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (!groupAlive(pgid)) return true;
    if (Date.now() >= until) return false;
    await sleep(Math.min(pollMs, Math.max(1, until - Date.now())));
  }
}

/**
 * Sends SIGTERM to the whole group, waits up to `graceMs` for it to go, then SIGKILLs it; resolves once
 * no live process of the group remains. It needs no help from the worker that spawned the group.
 */
export async function killGroup(pgid: number, opts: KillOptions): Promise<KillResult> {
  const pollMs = opts.pollMs ?? 25;
  if (!groupAlive(pgid)) return 'gone';
  signalGroup(pgid, 'SIGTERM');
  // A stopped process keeps SIGTERM pending; SIGCONT lets it act on it (or die of it).
  signalGroup(pgid, 'SIGCONT');
  if (await waitGone(pgid, opts.graceMs, pollMs)) return 'terminated';
  signalGroup(pgid, 'SIGKILL');
  return (await waitGone(pgid, opts.killWaitMs ?? 10_000, pollMs)) ? 'killed' : 'stuck';
}

/** The start time of `pid` (field 22 of /proc/<pid>/stat, clock ticks since boot), or null if unknown. */
export function processStartTime(pid: number): string | null {
  return readStat(pid)?.starttime ?? null;
}

/** True when `pid` runs and is not a zombie, and (when `processStart` is given) is the same process that started then. */
export function isAlive(pid: number, processStart: string | null): boolean {
  if (!procfsAvailable()) {
    try {
      process.kill(pid, 0);
      return processStart === null;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM' && processStart === null;
    }
  }
  const stat = readStat(pid);
  if (stat === null || stat.state === 'Z' || stat.state === 'X') return false;
  return processStart === null || stat.starttime === processStart;
}

/**
 * Kills a task's process group left behind by a dead scheduler or worker, but only when it is provably
 * the same group: the leader `pgid` (alive or a zombie) still has start time `processStart`, or the
 * leader is gone and the remaining members all started after it.
 */
export async function killOrphanGroup(pgid: number, processStart: string | null, opts: KillOptions): Promise<OrphanKillResult> {
  assertPgid(pgid);
  // MUST: never kill a reused pid. Without a recorded start time (or /proc) nothing can be proved.
  const leader = readStat(pgid);
  if (leader !== null) {
    if (processStart === null || leader.starttime !== processStart) return 'reused';
  } else {
    if (!groupAlive(pgid)) return 'gone';
    if (processStart === null || !procfsAvailable()) return 'reused';
    // A pgid stays allocated while any member lives, so members of a leaderless group are the
    // leader's descendants; one that started before the leader proves the id was recycled.
    const start = BigInt(processStart);
    if (liveGroupMembers(pgid).some((m) => BigInt(m.starttime) < start)) return 'reused';
  }
  const result = await killGroup(pgid, opts);
  return result === 'terminated' ? 'killed' : result;
}
