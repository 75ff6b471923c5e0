// The Slurm tests need the single-node cluster .ci/slurm-up starts. Under CI=true a missing cluster
// fails them (never a silent skip); elsewhere they skip with a message saying how to start it.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * One Slurm test file at a time: some stop slurmctld for seconds (an outage is what they test), and a
 * file starting or asserting job states meanwhile failed (npm test runs three files at once). The
 * lock is a folder holding its owner's pid; one whose owner is gone is taken over.
 */
const LOCK = join(tmpdir(), 'cairn-slurm-tests.lock');
let locked = false;

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function lockSlurmTests(): void {
  if (locked) return;
  const deadline = Date.now() + 30 * 60_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, 'pid'), String(process.pid));
      locked = true;
      process.on('exit', () => rmSync(LOCK, { recursive: true, force: true }));
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let owner = NaN;
    try { owner = Number(readFileSync(join(LOCK, 'pid'), 'utf8')); } catch { /* being written or removed */ }
    if (Number.isInteger(owner) && owner > 0 && !alive(owner)) rmSync(LOCK, { recursive: true, force: true });
    if (Date.now() > deadline) throw new Error(`another Slurm test file has held ${LOCK} for 30 minutes`);
    sleepMs(500);
  }
}

/** Why Slurm cannot run jobs here, or null when it answers. */
export function slurmMissing(): string | null {
  try {
    execFileSync('sinfo', ['-h', '-o', '%T'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 15_000 });
    const ping = execFileSync('scontrol', ['ping'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 15_000 });
    if (!/is UP/.test(ping)) return `slurmctld does not answer (scontrol ping: ${ping.trim()})`;
    return null;
  } catch (e) {
    return `Slurm is not available here (${(e as Error).message.split('\n')[0]})`;
  }
}

/** The `skip` option for a Slurm describe(): false when Slurm answers; a message otherwise (outside CI only). */
export function slurmSkip(): false | string {
  lockSlurmTests();
  // In CI the file before may have just started slurmctld again: give it a minute to answer.
  let why = slurmMissing();
  const end = Date.now() + (process.env.CI === 'true' ? 60_000 : 0);
  while (why !== null && Date.now() < end) {
    sleepMs(2000);
    why = slurmMissing();
  }
  if (why === null) return false;
  if (process.env.CI === 'true') throw new Error(`the Slurm tests need a running single-node Slurm, and ${why}: run .ci/slurm-up (as root) before the tests`);
  const msg = `SKIPPED Slurm tests: ${why}. Start it with: sudo .ci/slurm-up`;
  process.stderr.write(`${msg}\n`);
  return msg;
}

/** The Slurm state of each listed job (one squeue), for assertions. */
export function jobStates(): Map<string, string> {
  const out = execFileSync('squeue', ['--me', '-h', '-t', 'all', '-o', '%i %T'], { encoding: 'utf8', timeout: 30_000 });
  return new Map(out.trim().split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/) as [string, string]));
}

/** The records of a state folder's log, parsed. */
export function records(state: string): Record<string, any>[] {
  return readFileSync(`${state}/transitions.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

/** Stops slurmctld (by its pid file) and resolves when it is gone. */
export async function stopSlurmctld(): Promise<void> {
  const pid = Number(readFileSync('/run/cairn-slurm/slurmctld.pid', 'utf8'));
  process.kill(pid, 'SIGTERM');
  await until(() => { try { process.kill(pid, 0); return false; } catch { return true; } }, 60_000, 'slurmctld to stop');
}

/** Starts slurmctld again and resolves when it answers. */
export async function startSlurmctld(): Promise<void> {
  execFileSync('slurmctld', [], { stdio: 'ignore' });
  await until(() => slurmMissing() === null, 60_000, 'slurmctld to answer');
}

/** Waits for `cond` (checked every 100 ms) up to a generous deadline; fails naming what it waited for. */
export async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`gave up waiting ${ms} ms for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
