import { type FSWatcher, readFileSync } from 'node:fs';
import path from 'node:path';
import type { TaskOutcome } from '../../model/types.js';
import type { ExecutorConfig } from '../../schemas/config.js';
import { JOB_FILES, parseExitFile, type ExitFile } from './job-script.js';

/*
 * One Slurm attempt as the pool follows it, and the small pieces around it: its job folder and the
 * files the job leaves there, and sbatch's arguments.
 */

/** What an attempt asks of Slurm besides the command (the task's resources and timeout). */
export interface Allocation {
  cpus?: number;
  memory_mb?: number;
  gpus?: number;
  timeout_seconds?: number | null;
}

export interface SlurmPoolOptions {
  heartbeatMs: number;
  /** TERM → KILL grace of a timeout or cancel. */
  graceMs: number;
  config: ExecutorConfig;
  /** Written into each job's comment, so a job is known as this run's even if its id is reused. */
  schedulerId: string;
  now?: () => number;
}

/** One attempt as the pool follows it. */
export interface Job {
  key: string;
  attempt: number;
  logPath: string;
  dir: string;
  name: string;
  jobId: string | null;
  adopted: boolean;
  /** sbatch runs now; or, after the controller did not answer, when to look for the job and submit again. */
  submitting: boolean;
  retryAt: number | null;
  killing: 'TERM' | 'KILL' | null;
  /** Polls that found the job finished or gone without its exit file. */
  unseen: number;
  killTimer: NodeJS.Timeout | null;
  /** inotify on the job folder, so the exit file is seen the moment it is renamed into place (the 100 ms read stays: NFS has no inotify). */
  watcher?: FSWatcher | null;
  /** When the job began to run (its `started` file), once seen. */
  runningAt?: number;
}


/** The folder of an attempt's job files: next to its log (logs/<ws>/<task>.<attempt>.job/). */
export function jobDirOf(logPath: string): string {
  return `${logPath.replace(/\.log$/, '')}.job`;
}

export function closeWatch(job: Job): void {
  job.watcher?.close();
  job.watcher = null;
}

export function readExit(dir: string): ExitFile | null {
  try {
    return parseExitFile(readFileSync(path.join(dir, JOB_FILES.exit), 'utf8'));
  } catch {
    return null;
  }
}

/** When the job began to run (ms, from the `started` file it writes first); null before. */
export function readStarted(dir: string): number | null {
  try {
    const ms = Number(readFileSync(path.join(dir, JOB_FILES.started), 'utf8').split(' ')[0]);
    return Number.isFinite(ms) && ms > 0 ? ms : null;
  } catch {
    return null;
  }
}

/** The job id that claimed an attempt: null when none has, '' while the claimant is writing it. */
export function readClaim(dir: string): string | null {
  try {
    return readFileSync(path.join(dir, JOB_FILES.claim), 'utf8').trim();
  } catch {
    return null;
  }
}

export function jobIdOf(stdout: string): string {
  return stdout.trim().split(';')[0]!.trim();
}

export function spawnError(message: string): TaskOutcome {
  return { kind: 'spawn_error', exit_code: null, signal: null, duration_ms: 0, message };
}

/** sbatch's arguments for one attempt. The time limit is cairn's timeout plus a margin: cairn enforces its own first. */
export function sbatchArgs(o: SlurmPoolOptions, job: Job, r: Allocation): string[] {
  const c = o.config;
  const args = [
    '--parsable', '--no-requeue', `--job-name=${job.name}`, `--comment=cairn:${o.schedulerId}`,
    `--output=${job.logPath}`, '--open-mode=append', `--chdir=${job.dir}`, '--ntasks=1',
  ];
  if (c.partition) args.push(`--partition=${c.partition}`);
  if (c.account) args.push(`--account=${c.account}`);
  if (r.cpus !== undefined) args.push(`--cpus-per-task=${r.cpus}`);
  if (r.memory_mb !== undefined) args.push(`--mem=${r.memory_mb}M`);
  if (r.gpus !== undefined && r.gpus > 0) args.push(`--gpus=${r.gpus}`);
  if (typeof r.timeout_seconds === 'number') args.push(`--time=${Math.ceil(r.timeout_seconds / 60) + 2}`);
  args.push(...(c.extra_args ?? []), path.join(job.dir, JOB_FILES.script));
  return args;
}
