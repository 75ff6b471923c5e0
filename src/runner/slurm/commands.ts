import { execFile } from 'node:child_process';

/*
 * The Slurm client programs cairn calls: sbatch, squeue, scancel, scontrol. Each runs with a
 * timeout and is parsed only after it has exited (nextflow #1045 parsed a half-written output).
 * No sacct: without accounting (the usual small cluster) it does not answer.
 */

/** What a Slurm program said. `timedOut` or a non-zero `code` means the controller may not have answered. */
export interface SlurmRun {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** The program is not installed (ENOENT). */
  missing: boolean;
}

/** Runs a Slurm program; never throws. SLURM_* of a surrounding job is not passed on (it would redirect sbatch). */
export function slurm(program: string, args: string[], timeoutMs = 30_000): Promise<SlurmRun> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('SLURM_')) env[k] = v;
  return new Promise((resolve) => {
    execFile(program, args, { timeout: timeoutMs, env, maxBuffer: 64 * 1024 * 1024, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { killed?: boolean; code?: number | string }) | null;
      resolve({
        code: e === null ? 0 : typeof e.code === 'number' ? e.code : null,
        stdout: String(stdout),
        stderr: String(stderr).trim(),
        timedOut: e?.killed === true,
        missing: e?.code === 'ENOENT',
      });
    });
  });
}

/** A job as squeue lists it. */
export interface JobInfo {
  id: string;
  state: string;
  name: string;
  comment: string;
  reason: string;
  /** The node(s) it runs on; empty while it is pending. */
  node: string;
}

/** Job states that mean the job may still run (or will): wait for it. COMPLETING counts as running. */
export const ACTIVE_JOB_STATES: ReadonlySet<string> = new Set([
  'PENDING', 'CONFIGURING', 'RUNNING', 'COMPLETING', 'SUSPENDED', 'REQUEUED', 'REQUEUE_FED', 'REQUEUE_HOLD', 'RESIZING',
  'SIGNALING', 'STAGE_OUT', 'STOPPED',
]);

const SEP = '\u001f';

/**
 * All of the user's jobs Slurm still knows (finished ones for MinJobAge), in ONE call for all jobs:
 * never one squeue per job (controller load), never a single -j (a purged id is an error).
 * Null when the controller did not answer.
 */
export async function listJobs(timeoutMs?: number): Promise<{ jobs: Map<string, JobInfo> } | { error: string }> {
  const r = await slurm('squeue', ['--me', '--noheader', '--states=all', `--format=%i${SEP}%T${SEP}%j${SEP}%k${SEP}%r${SEP}%N`], timeoutMs);
  if (r.code !== 0) return { error: r.missing ? 'squeue is not installed' : r.timedOut ? 'squeue timed out' : r.stderr || `squeue exited ${r.code}` };
  const jobs = new Map<string, JobInfo>();
  for (const line of r.stdout.split('\n')) {
    const [id, state, name, comment, reason, node] = line.split(SEP);
    if (!id || !state) continue;
    jobs.set(id.trim(), { id: id.trim(), state: state.trim().replace(/\+$/, ''), name: name ?? '', comment: comment ?? '', reason: (reason ?? '').trim(), node: (node ?? '').trim() });
  }
  return { jobs };
}

/** Errors of sbatch after which the job may or may not be queued: look for it by name before trying again. */
export function controllerUnreachable(r: SlurmRun): boolean {
  return r.timedOut || /unable to contact slurm controller|socket timed out|connection refused|communications connection failure|slurm_persist_conn|zero bytes were transmitted/i.test(r.stderr);
}

/** `scontrol show job <id>` as key=value pairs (ExitCode, Reason, NodeList, …); null when unknown. */
export async function showJob(id: string): Promise<Record<string, string> | null> {
  const r = await slurm('scontrol', ['show', 'job', '--oneliner', id], 10_000);
  if (r.code !== 0) return null;
  const out: Record<string, string> = {};
  for (const m of r.stdout.matchAll(/(\w+)=(\S*)/g)) out[m[1]!] ??= m[2]!;
  return out;
}

/**
 * scancel, batched (scancel takes many ids at once). `signal`: send it instead of ending the job.
 * TERM goes to the batch shell only (--batch), which passes it on to the command's process group in
 * one kill(2), as the local executor does: with --full, slurmstepd signals the processes one by one,
 * and a shell whose `sleep` died first could run its next line before its own TERM arrived. KILL goes
 * to every process of the job (--full): nothing is left to trap it.
 */
export async function cancelJobs(ids: string[], signal?: 'TERM' | 'KILL'): Promise<SlurmRun | null> {
  if (ids.length === 0) return null;
  const args = signal === undefined ? [...ids] : [signal === 'TERM' ? '--batch' : '--full', `--signal=${signal}`, ...ids];
  return slurm('scancel', args, 30_000);
}
