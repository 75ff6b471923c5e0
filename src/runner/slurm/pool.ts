import { mkdirSync, watch, writeFileSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { CairnError } from '../../errors.js';
import { splitKey, type TaskOutcome } from '../../model/types.js';
import type { AdoptedJob, ExecutorEvents, TaskExecutor } from '../executor.js';
import type { RunRequest } from '../protocol.js';
import { ACTIVE_JOB_STATES, cancelJobs, controllerUnreachable, type JobInfo, listJobs, showJob, slurm } from './commands.js';
import { JOB_FILES, jobScript, NOT_SHARED_EXIT, statusOutcome, type ExitFile } from './job-script.js';
import { type Allocation, closeWatch, type Job, jobDirOf, jobIdOf, readClaim, readExit, readStarted, sbatchArgs, type SlurmPoolOptions, spawnError } from './job.js';

export { jobDirOf, type Allocation, type SlurmPoolOptions } from './job.js';

/** How often the exit files of running jobs are read (never more often than squeue would make no sense). */
const EXIT_CHECK_MS = 100;

/** Polls without the exit file after the job has left squeue's active states, before the attempt counts as lost. */
const LOST_AFTER_POLLS = 3;

/** While every job is accounted for, squeue backs off up to this many poll intervals (the exit files say when a job ends). */
const IDLE_POLL_FACTOR = 4;

/**
 * The Slurm executor: each attempt is one job (sbatch of a script under the attempt's log folder),
 * its state comes from ONE squeue per poll for all jobs, its outcome from the exit file the job
 * writes. Slots (the log's workers) live in the scheduler's process and always answer heartbeats:
 * while slurmctld does not answer, every task stays as it is and the pool keeps asking.
 */
export class SlurmPool extends EventEmitter<ExecutorEvents> implements TaskExecutor {
  readonly kind = 'slurm' as const;
  private readonly slots = new Map<string, Job | null>();
  private readonly now: () => number;
  private beat: NodeJS.Timeout | null = null;
  private poller: NodeJS.Timeout | null = null;
  /** The next squeue's delay: poll_ms when something needs Slurm's word, doubling up to IDLE_POLL_FACTOR × poll_ms otherwise. */
  private pollDelay: number;
  private exits: NodeJS.Timeout | null = null;
  /** The last squeue listing, for the state a finished job had. */
  private lastListing: Map<string, JobInfo> | null = null;
  private polling = false;
  private down: string | null = null;
  private stopped = false;
  readonly pollMs: number;

  constructor(private readonly o: SlurmPoolOptions) {
    super();
    this.now = o.now ?? Date.now;
    this.pollMs = o.config.poll_ms ?? 2_000;
    this.pollDelay = this.pollMs;
  }

  start(workerId: string): Promise<number> {
    this.slots.set(workerId, null);
    this.beat ??= setInterval(() => {
      const at = this.now();
      for (const id of this.slots.keys()) this.emit('heartbeat', id, at);
    }, this.o.heartbeatMs);
    if (this.poller === null) this.schedulePoll();
    // Exit files are read far more often than squeue runs: a file read costs the controller nothing,
    // and a finished job's slot is free for the next attempt at once.
    this.exits ??= setInterval(() => this.readExits(), Math.min(EXIT_CHECK_MS, this.pollMs));
    return Promise.resolve(process.pid);
  }

  run(workerId: string, req: RunRequest & Allocation): void {
    if (this.slots.get(workerId)) throw new CairnError('ILLEGAL_REQUEST', `worker ${workerId} is busy`, { details: { worker_id: workerId } });
    // Absolute: the job starts in its own folder, possibly on another node.
    const request = { ...req, logPath: path.resolve(req.logPath) };
    const dir = jobDirOf(request.logPath);
    const [ws, task] = splitKey(request.key);
    const job: Job = {
      key: request.key, attempt: request.attempt, logPath: request.logPath, dir, name: `cairn.${ws}.${task}.a${request.attempt}`,
      jobId: null, adopted: false, submitting: true, retryAt: null, killing: null, unseen: 0, killTimer: null,
    };
    this.slots.set(workerId, job);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      // 0700: the script holds the task's environment.
      writeFileSync(path.join(dir, JOB_FILES.script), jobScript(request, dir, path.resolve(request.cwd ?? process.cwd())), { mode: 0o700 });
    } catch (e) {
      this.finishWith(workerId, job, [{ phase: 'command', outcome: spawnError(`cannot write the job script in ${dir}: ${(e as Error).message}`) }]);
      return;
    }
    this.watchExit(workerId, job);
    void this.submit(workerId, job, sbatchArgs(this.o, job, request));
  }

  private watchExit(workerId: string, job: Job): void {
    try {
      job.watcher = watch(job.dir, { persistent: false }, (_event, name) => {
        if (job.jobId === null || this.slots.get(workerId) !== job) return;
        if (name === JOB_FILES.started) this.checkStarted(workerId, job);
        if (name === JOB_FILES.exit) {
          const exit = readExit(job.dir);
          if (exit !== null) this.finished(workerId, job, exit, this.lastListing?.get(job.jobId));
        }
      });
      job.watcher.on('error', () => closeWatch(job));
    } catch {
      job.watcher = null; // no inotify here: the periodic read finds the exit file
    }
  }

  /** Reports once when the job began to run: the scheduler counts the task's timeout from there, not from its time in Slurm's queue. */
  private checkStarted(workerId: string, job: Job): void {
    if (job.runningAt !== undefined) return;
    const at = readStarted(job.dir);
    if (at === null) return;
    job.runningAt = at;
    this.emit('running', workerId, { key: job.key, attempt: job.attempt, at });
  }

  /** The next squeue, after `pollDelay`; a poll that finds something to follow closely resets the delay to poll_ms. */
  private schedulePoll(): void {
    if (this.stopped) return;
    this.poller = setTimeout(() => {
      void this.poll().finally(() => this.schedulePoll());
    }, this.pollDelay);
  }

  private async submit(workerId: string, job: Job, args: string[]): Promise<void> {
    job.submitting = true;
    const r = await slurm('sbatch', args, 60_000);
    job.submitting = false;
    if (this.slots.get(workerId) !== job || this.stopped) {
      if (r.code === 0) await cancelJobs([jobIdOf(r.stdout)]);
      return;
    }
    if (r.code === 0) return this.submitted(workerId, job, jobIdOf(r.stdout));
    if (r.missing) return this.finishWith(workerId, job, [{ phase: 'command', outcome: spawnError('sbatch is not installed (the slurm executor needs the Slurm client programs on this host)') }]);
    if (controllerUnreachable(r)) {
      // It may have been queued all the same: the next poll looks for it by name before submitting again.
      this.setDown(`sbatch: ${r.stderr || 'timed out'}`);
      job.retryAt = this.now() + this.pollMs;
      (job as Job & { args?: string[] }).args = args;
      return;
    }
    this.finishWith(workerId, job, [{ phase: 'command', outcome: spawnError(`sbatch refused the job: ${r.stderr || `exit ${r.code}`}`) }]);
  }

  private submitted(workerId: string, job: Job, jobId: string): void {
    job.jobId = jobId;
    job.retryAt = null;
    this.emit('spawned', workerId, { type: 'spawned', key: job.key, attempt: job.attempt, pid: null, pgid: null, processStart: null, executor: 'slurm', jobId });
    if (job.killing !== null) void this.signal(job, job.killing);
  }

  adoptJob(workerId: string, a: AdoptedJob): void {
    const [ws, task] = splitKey(a.key);
    const logPath = path.resolve(a.logPath);
    const job: Job = {
      key: a.key, attempt: a.attempt, logPath, dir: jobDirOf(logPath), name: `cairn.${ws}.${task}.a${a.attempt}`,
      jobId: a.jobId, adopted: true, submitting: false, retryAt: null, killing: null, unseen: 0, killTimer: null,
    };
    this.slots.set(workerId, job);
    this.watchExit(workerId, job);
  }

  kill(workerId: string, signal: NodeJS.Signals = 'SIGTERM', graceMs?: number): void {
    const job = this.slots.get(workerId);
    if (!job || job.killing !== null) return;
    job.killing = signal === 'SIGKILL' ? 'KILL' : 'TERM';
    this.pollDelay = this.pollMs;
    if (job.jobId === null && !job.submitting) {
      // Never accepted by Slurm (the controller was away): nothing runs, the attempt just ends.
      this.finishWith(workerId, job, [{ phase: 'command', outcome: { kind: 'signal', exit_code: null, signal, duration_ms: 0, message: 'stopped before Slurm accepted the job' } }]);
      return;
    }
    if (job.jobId !== null) void this.signal(job, job.killing);
    const grace = graceMs ?? this.o.graceMs;
    if (job.killing === 'TERM') {
      job.killTimer = setTimeout(() => {
        if (this.slots.get(workerId) === job) {
          job.killing = 'KILL';
          void this.signal(job, 'KILL');
        }
      }, grace);
    }
  }

  /** TERM reaches the batch shell (which ends the command and writes its exit file); KILL ends the job. */
  private async signal(job: Job, sig: 'TERM' | 'KILL'): Promise<void> {
    if (job.jobId === null) return;
    const r = await cancelJobs([job.jobId], sig);
    // A pending job cannot be signalled: cancel it outright. KILL always ends the job too.
    if (sig === 'KILL' || (r !== null && r.code !== 0)) await cancelJobs([job.jobId]);
  }

  async stop(workerId: string): Promise<void> {
    await this.forceStop(workerId);
  }

  async forceStop(workerId: string): Promise<void> {
    const job = this.slots.get(workerId);
    this.slots.delete(workerId);
    if (job) {
      if (job.killTimer) clearTimeout(job.killTimer);
      closeWatch(job);
      if (job.jobId !== null) await cancelJobs([job.jobId]);
    }
  }

  /** Ctrl-C: every job is cancelled (the next run requeues its task, so it must not run on), then the pool stops. */
  async stopAll(): Promise<void> {
    this.stopped = true;
    const ids = [...this.slots.values()].flatMap((j) => (j?.jobId ? [j.jobId] : []));
    for (const j of this.slots.values()) {
      if (j?.killTimer) clearTimeout(j.killTimer);
      if (j) closeWatch(j);
    }
    this.slots.clear();
    if (this.beat) clearInterval(this.beat);
    if (this.poller) clearTimeout(this.poller);
    if (this.exits) clearInterval(this.exits);
    this.beat = this.poller = this.exits = null;
    await cancelJobs(ids);
  }

  pid(workerId: string): number | null {
    return this.slots.has(workerId) ? process.pid : null;
  }

  workerIds(): string[] {
    return [...this.slots.keys()];
  }

  /** One squeue for every job; exit files decide outcomes, squeue only says who still runs. */
  private async poll(): Promise<void> {
    if (this.polling || this.stopped) return;
    const watched = [...this.slots.entries()].filter((e): e is [string, Job] => e[1] !== null && !e[1].submitting);
    if (watched.length === 0) return;
    this.polling = true;
    try {
      const listed = await listJobs();
      if (this.stopped) return;
      if ('error' in listed) this.setDown(listed.error);
      else this.setUp();
      const jobs = 'jobs' in listed ? listed.jobs : null;
      if (jobs !== null) this.lastListing = jobs;
      // Back off while every job is accounted for; follow closely while Slurm is away, a job is being
      // killed, resubmitted or looked for (it left squeue without its exit file).
      const close = jobs === null || watched.some(([, j]) => j.jobId === null || j.killing !== null || j.unseen > 0 || !ACTIVE_JOB_STATES.has(jobs.get(j.jobId)?.state ?? ''));
      this.pollDelay = close ? this.pollMs : Math.min(this.pollDelay * 2, this.pollMs * IDLE_POLL_FACTOR);
      for (const [workerId, job] of watched) {
        if (this.slots.get(workerId) !== job) continue;
        if (job.jobId === null) {
          if (jobs !== null && job.retryAt !== null && this.now() >= job.retryAt) await this.resubmit(workerId, job, jobs);
          continue;
        }
        const exit = readExit(job.dir);
        const info = jobs?.get(job.jobId);
        if (exit !== null) {
          this.finished(workerId, job, exit, info);
          continue;
        }
        if (jobs === null || (info && ACTIVE_JOB_STATES.has(info.state))) {
          job.unseen = 0;
          continue;
        }
        // A second copy of the attempt ran nothing: follow the copy that claimed it.
        const claimant = readClaim(job.dir);
        if (claimant !== null && claimant !== '' && claimant !== job.jobId) {
          this.emit('note', `${job.key}: job ${job.jobId} found attempt ${job.attempt} already run by job ${claimant} (submitted by a lost scheduler); following that one`);
          job.jobId = claimant;
          job.unseen = 0;
          continue;
        }
        if (++job.unseen >= LOST_AFTER_POLLS) await this.lost(workerId, job, info);
      }
    } finally {
      this.polling = false;
    }
  }

  private readExits(): void {
    if (this.stopped) return;
    for (const [workerId, job] of this.slots) {
      if (job === null || job.jobId === null) continue;
      this.checkStarted(workerId, job);
      if (this.slots.get(workerId) !== job) continue;
      const exit = readExit(job.dir);
      if (exit !== null) this.finished(workerId, job, exit, this.lastListing?.get(job.jobId));
    }
  }

  /** sbatch did not answer: the job may be queued all the same; submit again only if squeue does not know it by name. */
  private async resubmit(workerId: string, job: Job, jobs: Map<string, JobInfo>): Promise<void> {
    const mine = [...jobs.values()].find((j) => j.name === job.name && j.comment === `cairn:${this.o.schedulerId}`);
    if (mine) return this.submitted(workerId, job, mine.id);
    job.retryAt = null;
    await this.submit(workerId, job, (job as Job & { args?: string[] }).args ?? []);
  }

  private finished(workerId: string, job: Job, exit: ExitFile, info: JobInfo | undefined): void {
    const ms = Math.max(0, exit.endMs - exit.startMs);
    const slurmSays = info && !ACTIVE_JOB_STATES.has(info.state) && info.state !== 'COMPLETED' && info.state !== 'FAILED' ? `Slurm job ${job.jobId} ${info.state}` : '';
    let command = statusOutcome(exit.command, ms);
    // An OOM kill of a child can leave exit 0 behind (nextflow #1285): Slurm's word wins.
    if (command.kind === 'exit' && command.exit_code === 0 && info && (info.state === 'OUT_OF_MEMORY' || info.state === 'TIMEOUT')) {
      command = { kind: 'signal', exit_code: null, signal: 'SIGKILL', duration_ms: ms, message: `Slurm job ${job.jobId} ${info.state}` };
    } else if (slurmSays) command = { ...command, message: command.message === null ? slurmSays : `${command.message} (${slurmSays})` };
    const phases: { phase: 'command' | 'validate'; outcome: TaskOutcome }[] = [{ phase: 'command', outcome: command }];
    if (exit.validate !== null && command.kind === 'exit' && command.exit_code === 0) phases.push({ phase: 'validate', outcome: statusOutcome(exit.validate, ms) });
    this.finishWith(workerId, job, phases);
  }

  /** The job ended (or vanished) without writing its exit file. */
  private async lost(workerId: string, job: Job, info: JobInfo | undefined): Promise<void> {
    const detail = await showJob(job.jobId!);
    if (detail?.ExitCode?.startsWith(`${NOT_SHARED_EXIT}:`)) {
      this.emit('fatal', new CairnError('STATE_NOT_SHARED', `Slurm job ${job.jobId} (${job.key}) ran on ${detail.NodeList ?? 'a node'} that cannot see the state folder (${path.dirname(job.logPath)})`, {
        details: { job_id: job.jobId, node: detail.NodeList ?? null },
        hint: 'Put the state folder on a file system every compute node mounts at the same path (NFS, Lustre, …) and run again (docs/scale-out.md).',
      }));
      // Not the task's failure: no outcome, so the attempt stays running until the stop requeues it (no retry spent).
      return;
    }
    const state = info?.state ?? detail?.JobState;
    const why = state ? `${state}${(info?.reason ?? detail?.Reason) && (info?.reason ?? detail?.Reason) !== 'None' ? `, ${info?.reason ?? detail?.Reason}` : ''}` : 'no longer known to Slurm';
    let outcome: TaskOutcome;
    if (job.killing !== null) outcome = { kind: 'signal', exit_code: null, signal: `SIG${job.killing}`, duration_ms: 0, message: `Slurm job ${job.jobId} cancelled by cairn (${why})` };
    else if (job.adopted && info === undefined && detail === null) {
      // Adopted after a crash and gone without a trace: requeue it, no retry spent (DESIGN §11).
      outcome = { kind: 'worker_lost', exit_code: null, signal: null, duration_ms: 0, message: `Slurm job ${job.jobId} is unknown to Slurm and left no exit status; requeued` };
    } else outcome = { kind: 'signal', exit_code: null, signal: null, duration_ms: 0, message: `Slurm job ${job.jobId} ended without an exit status (${why}): killed or lost outside cairn` };
    this.finishWith(workerId, job, [{ phase: 'command', outcome }]);
  }

  private finishWith(workerId: string, job: Job, phases: { phase: 'command' | 'validate'; outcome: TaskOutcome }[]): void {
    if (job.killTimer) clearTimeout(job.killTimer);
    closeWatch(job);
    if (this.slots.get(workerId) === job) this.slots.set(workerId, null);
    for (const p of phases) this.emit('outcome', workerId, { type: 'outcome', key: job.key, attempt: job.attempt, phase: p.phase, outcome: p.outcome });
  }

  private setDown(why: string): void {
    if (this.down === null) this.emit('note', `slurmctld is not answering (${why}); every task stays as it is, and cairn asks again every ${this.pollMs} ms`);
    this.down = why;
  }

  private setUp(): void {
    if (this.down !== null) this.emit('note', 'slurmctld answers again; carrying on');
    this.down = null;
  }
}
