import { watch, type FSWatcher } from 'chokidar';
import { CairnError } from '../errors.js';
import { ulid } from 'ulid';
import { decide, type Command } from '../model/decide.js';
import { TERMINAL_WORKSTREAM_STATES } from '../model/states.js';
import type { LogRecord } from '../model/types.js';
import { isAlive, LocalExecutor, processStartTime, type TaskExecutor } from '../runner/index.js';
import type { ExecutorConfig } from '../schemas/config.js';
import type { HeldLock } from '../store/lock.js';
import type { Store } from '../store/store.js';
import { Executor } from './effects.js';
import { SchedulerIndex } from './index-state.js';
import { plan, type Runtime } from './plan.js';
import { recoverOrphans } from './recover.js';
import { adoptJobs, adoptStrayJobs, slurmExecutor } from './adopt.js';

export interface EngineOptions {
  workers: number;
  clock?: () => number;
  /** Every record applied while the scheduler runs (its own and other processes'), for progress output. */
  onRecord?: (r: LogRecord) => void;
  /** Notes for the operator (orphans killed, temp files removed, …). */
  onNote?: (msg: string) => void;
  /** Where attempts run; default config.json's executor (local worker processes). */
  executor?: ExecutorConfig;
}

export type EngineResult = { outcome: 'done' | 'interrupted'; failed: string[]; completed: string[]; cancelled: string[] };

/**
 * The scheduler: one small loop that plans (pure), carries the effects out through runner/ and the
 * store, and feeds outcomes back as commands. One per state folder (the scheduler lock).
 */
export class Engine {
  readonly id = ulid();
  readonly pool: TaskExecutor;
  readonly rt: Runtime;
  readonly index: SchedulerIndex;
  private lock: HeldLock | null = null;
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;
  private stopping = false;
  private fatal: unknown = null;
  readonly clock: () => number;
  readonly exec: Executor;
  private lastWorkersWrite = 0;
  private readonly seen = new Set<string>();
  /** Schedulers found dead at start: their unrecorded Slurm submissions are looked for (adopt.ts). */
  private readonly lostSchedulers: string[] = [];
  /** Whether begin() recorded this scheduler's start (and started its workers). */
  private begun = false;

  constructor(readonly store: Store, readonly opts: EngineOptions) {
    this.clock = opts.clock ?? Date.now;
    const cfg = store.config;
    const executor = opts.executor ?? cfg.executor;
    // The local executor is today's worker pool, unchanged; Slurm runs each attempt as a job (DESIGN §11).
    this.pool = executor.kind === 'slurm'
      ? slurmExecutor(executor, cfg, this.id, this.clock)
      : new LocalExecutor({ heartbeatMs: cfg.heartbeat_ms, graceMs: cfg.kill_grace_ms, now: this.clock, stderrFor: (id) => store.openWorkerLog(id) });
    this.rt = { now: this.clock(), workers: new Map(), waitingSince: new Map(), inFlight: new Set() };
    this.index = new SchedulerIndex(store.state);
    this.exec = new Executor(this);
    this.exec.listen();
    store.onApply((r) => {
      this.index.onRecord(r);
      opts.onRecord?.(r);
      this.poke();
    });
  }

  /** Commits a core command; rejects with the CairnError when it is illegal now. */
  commit(cmd: Command): Promise<LogRecord[]> {
    return this.store.commit((s, now) => decide(s, cmd, { now }));
  }

  /** A failure that must stop the scheduler (the log cannot be written, the lock was lost). */
  fail(e: unknown): void {
    if (e instanceof CairnError && (e.code === 'ILLEGAL_TRANSITION' || e.code === 'ILLEGAL_REQUEST' || e.code === 'UNKNOWN_TASK')) return;
    this.fatal ??= e;
    this.poke();
  }

  /** Wakes the loop now (a record, an outcome, a file change). */
  poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /**
   * Takes the scheduler lock and recovers what a dead scheduler left (records only when it finds
   * something). The start itself is recorded by begin(), once there is work.
   */
  async start(): Promise<void> {
    const prev = this.store.state.scheduler();
    if (prev !== null) this.lostSchedulers.push(prev.id);
    this.lock = await this.store.acquireSchedulerLock(prev !== null && !isAlive(prev.pid, prev.process_start) ? prev.pid : null);
    if (!this.lock) {
      const other = this.store.state.scheduler();
      throw new CairnError('SCHEDULER_RUNNING', `another scheduler runs on this state folder${other ? ` (pid ${other.pid}, since ${other.started_at})` : ''}`, {
        details: { pid: other?.pid ?? null },
        hint: 'Watch it with: cairn status --watch. Stop it with Ctrl-C in its terminal (or kill -TERM <pid>) before starting another.',
      });
    }
    // A Slurm job outlives its scheduler: begin() adopts it instead of requeueing its task.
    const keep = this.pool.kind === 'slurm' ? (t: { job_id?: string }) => t.job_id !== undefined : undefined;
    const rec = await recoverOrphans(this.store, this.store.config.kill_grace_ms, this.clock, keep);
    for (const n of rec.notes) this.opts.onNote?.(n);
    if (rec.requeued.length) this.opts.onNote?.(`requeued ${rec.requeued.length} task(s) left running by a scheduler that is gone (no retry spent)${rec.killed.length ? `; killed leftover processes of ${rec.killed.join(', ')}` : ''}`);
  }

  /**
   * Records the scheduler's start and starts its workers. Called only when some workstream is
   * active: a run with nothing to do appends no record and rewrites no committed file (.state/ is
   * committed to git, DESIGN §4).
   */
  private async begin(): Promise<void> {
    this.begun = true;
    await this.commit({ kind: 'scheduler_start', scheduler_id: this.id, pid: process.pid, process_start: processStartTime(process.pid) });
    const used = this.store.state.workerIds().map((id) => Number(/^w(\d+)$/.exec(id)?.[1] ?? 0));
    let next = Math.max(0, ...used);
    const adoptable = this.pool.kind === 'slurm' ? adoptJobs.count(this) : 0;
    await Promise.all(Array.from({ length: Math.max(this.opts.workers, adoptable) }, () => this.exec.startWorker(`w${++next}`)));
    if (adoptable > 0) await adoptJobs(this);
    if (this.pool.kind === 'slurm') await adoptStrayJobs(this, this.lostSchedulers);
    this.watcher = watch(this.store.paths.log, { ignoreInitial: true, awaitWriteFinish: false });
    this.watcher.on('change', () => this.poke());
  }

  /** Runs until no active workstream is left, or until stop() (Ctrl-C). */
  async run(): Promise<EngineResult> {
    const active = () => this.store.state.workstreamIds().filter((id) => !TERMINAL_WORKSTREAM_STATES.has(this.store.state.workstream(id)!.state));
    for (const id of active()) this.seen.add(id);
    if (this.seen.size > 0 && !this.stopping) await this.begin();
    for (;;) {
      if (this.fatal) throw this.fatal;
      if (this.stopping) return this.result('interrupted');
      try {
        this.store.refresh();
      } catch (e) {
        this.fail(e);
        continue;
      }
      for (const id of active()) this.seen.add(id);
      this.rt.now = this.clock();
      const effects = plan(this.store.state, this.index, this.rt, this.store.config);
      let wakeAt = this.rt.now + 1000;
      for (const e of effects) {
        if (e.kind === 'wake_at') wakeAt = e.at;
        else this.exec.run(e);
      }
      this.housekeeping();
      if (active().length === 0 && this.rt.inFlight.size === 0 && this.idle()) return this.result('done');
      await this.sleep(Math.max(5, wakeAt - this.clock()));
    }
  }

  private idle(): boolean {
    for (const w of this.rt.workers.values()) if (w.key !== null) return false;
    return true;
  }

  private result(outcome: EngineResult['outcome']): EngineResult {
    const s = this.store.state;
    const ids = [...this.seen];
    const inState = (st: string) => ids.filter((id) => s.workstream(id)?.state === st);
    return { outcome, failed: inState('failed'), completed: inState('completed'), cancelled: inState('cancelled') };
  }

  private housekeeping(): void {
    const now = this.clock();
    if (this.begun && now - this.lastWorkersWrite >= 1000) {
      this.lastWorkersWrite = now;
      try {
        this.store.writeWorkers({
          scheduler: { id: this.id, pid: process.pid },
          written_at: new Date(now).toISOString(),
          workers: [...this.rt.workers.values()].map((w) => ({
            id: w.id, pid: this.pool.pid(w.id), state: this.store.state.worker(w.id)?.state ?? 'unknown', task: w.key,
            last_heartbeat_at: new Date(w.lastHeartbeat).toISOString(), silent_ms: now - w.lastHeartbeat,
          })),
        });
      } catch (e) {
        this.opts.onNote?.(`workers.json could not be written: ${(e as Error).message}`);
      }
    }
    // Snapshot as it goes (paced by the store), and at once whenever nothing runs (DESIGN §4).
    const write = this.idle() && !this.store.derivedUpToDate ? this.store.writeDerived() : this.store.maybeWriteDerived();
    write.catch((e) => this.fail(e));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.timer = setTimeout(() => { this.wake = null; resolve(); }, ms);
      this.wake = () => { clearTimeout(this.timer!); resolve(); };
    });
  }

  /** Ctrl-C / SIGTERM: stop the loop; shutdown() then stops workers and requeues their tasks. */
  requestStop(): void {
    this.stopping = true;
    this.poke();
  }

  /** Stops workers and tasks, requeues what was running (no retry spent), records the stop, releases the lock. */
  async shutdown(reason: string): Promise<void> {
    this.stopping = true;
    await this.watcher?.close();
    try {
      if (this.begun) {
        await this.exec.stopAll(reason);
        await this.commit({ kind: 'scheduler_stop', reason });
        this.writeNoWorkers();
      }
      await this.store.writeDerived(); // nothing when the derived files already reflect the last record
    } finally {
      await this.lock?.release();
    }
  }

  /** workers.json after the run: its workers are gone, so the live list is empty. */
  private writeNoWorkers(): void {
    try {
      this.store.writeWorkers({ scheduler: { id: this.id, pid: process.pid }, written_at: new Date(this.clock()).toISOString(), workers: [] });
    } catch (e) {
      this.opts.onNote?.(`workers.json could not be written: ${(e as Error).message}`);
    }
  }

  get isStopping(): boolean {
    return this.stopping;
  }
}

