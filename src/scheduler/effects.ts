import { Decision } from '../model/decision.js';
import { workerShutdown } from '../model/decide.js';
import type { Task, TaskOutcome } from '../model/types.js';
import { splitKey, taskKey } from '../model/types.js';
import { killGroup, type AttemptStarted, type OutcomeMessage } from '../runner/index.js';
import type { Engine } from './engine.js';
import type { Effect, WorkerRuntime } from './plan.js';
import { DeathRow } from './restarts.js';

/**
 * Carries out the plan's effects: starts attempts on workers, kills timed-out and cancelled ones,
 * records outcomes, health changes and worker replacements. Every state change goes through
 * `decide` and the store; every process through runner/.
 */
export class Executor {
  /** Worker deaths in a row: they pace the replacements and, at the limit, stop the run. */
  private readonly deaths: DeathRow;
  /** Waits before a replacement starts; each wakes early (and the replacement is dropped) on stop. */
  private readonly pauses = new Set<() => void>();

  constructor(private readonly e: Engine) {
    this.deaths = new DeathRow(e.store.config);
  }

  run(effect: Exclude<Effect, { kind: 'wake_at' }>): void {
    switch (effect.kind) {
      case 'start': return this.start(effect.ws, effect.id, effect.worker);
      case 'retry_due': return this.track(`retry:${effect.ws}/${effect.id}`, () => this.e.commit({ kind: 'retry_due', workstream_id: effect.ws, task_id: effect.id }));
      case 'timeout': return this.kill(effect.worker, 'timeout');
      case 'kill_stale': return this.kill(effect.worker, 'cancel');
      case 'resource_warn':
        return this.track(`warn:${effect.ws}/${effect.id}`, () => this.e.commit({ kind: 'resource_wait_warn', workstream_id: effect.ws, task_id: effect.id, resource_id: effect.resource, waited_ms: effect.waited }));
      case 'unresponsive': {
        const w = this.e.rt.workers.get(effect.worker)!;
        return this.track(`health:${w.id}`, () => {
          w.unresponsiveSince = this.e.clock();
          return this.e.commit({ kind: 'worker_unresponsive', worker_id: w.id, silent_ms: effect.silent });
        });
      }
      case 'recovered': {
        const w = this.e.rt.workers.get(effect.worker)!;
        return this.track(`health:${w.id}`, () => {
          w.unresponsiveSince = null;
          return this.e.commit({ kind: 'worker_recovered', worker_id: w.id });
        });
      }
      case 'shutdown': {
        const death = effect.trigger === 'unresponsive' ? `worker ${effect.worker} stopped answering (no heartbeat)` : null;
        return void this.replace(effect.worker, effect.trigger, effect.reassign, effect.restart, death);
      }
      default: {
        const never: never = effect;
        throw new Error(`unknown effect ${JSON.stringify(never)}`);
      }
    }
  }

  /**
   * Runs a commit unless one under the same `key` is in flight, and keeps `key` in flight until it
   * is settled. A commit's sync does not block the loop, so the next plan may ask for the same
   * record again before the first is durable: that one is not made at all.
   */
  private track(key: string, commit: () => Promise<unknown>): void {
    if (this.e.rt.inFlight.has(key)) return;
    this.e.rt.inFlight.add(key);
    commit().catch((err) => this.e.fail(err)).finally(() => {
      this.e.rt.inFlight.delete(key);
      this.e.poke();
    });
  }

  async startWorker(id: string): Promise<void> {
    await this.adopt(id, await this.e.pool.start(id));
  }

  /** Records a worker process that started and makes it available for tasks. */
  private async adopt(id: string, pid: number): Promise<void> {
    const w: WorkerRuntime = { id, phase: 'up', key: null, attempt: 0, pgid: null, deadline: null, lastHeartbeat: this.e.clock(), unresponsiveSince: null, killing: null, holds: {}, settling: null };
    this.e.rt.workers.set(id, w);
    await this.e.commit({ kind: 'worker_start', worker_id: id, pid, scheduler_id: this.e.id });
  }

  /** Wires the pool's events once (called by the engine's constructor through this executor). */
  listen(): void {
    const pool = this.e.pool;
    pool.on('heartbeat', (id, at) => {
      const w = this.e.rt.workers.get(id);
      if (w) w.lastHeartbeat = Math.max(w.lastHeartbeat, at);
      if (this.e.store.state.worker(id)?.state === 'unresponsive') this.e.poke();
    });
    pool.on('spawned', (id, m) => this.spawned(id, m));
    pool.on('validating', (id, m) => {
      const w = this.e.rt.workers.get(id);
      if (w && w.key === m.key) w.pgid = m.pgid ?? w.pgid;
    });
    pool.on('running', (id, m) => {
      const w = this.e.rt.workers.get(id);
      if (!w || w.key !== m.key || w.attempt !== m.attempt) return;
      const [ws, task] = splitKey(m.key);
      const timeout = this.e.store.state.task(ws, task)?.timeout_seconds ?? null;
      w.deadline = timeout !== null ? m.at + timeout * 1000 : null;
      this.e.poke();
    });
    pool.on('outcome', (id, m) => this.outcome(id, m));
    pool.on('fatal', (err) => this.e.fail(err));
    pool.on('note', (msg) => this.e.opts.onNote?.(msg));
    pool.on('exit', (id, code, signal) => {
      const w = this.e.rt.workers.get(id);
      if (!w || w.phase === 'stopping' || this.e.isStopping) return;
      void this.replace(id, 'worker_exited', true, false, this.deathCause(id, code, signal));
    });
  }

  private start(ws: string, id: string, workerId: string): void {
    const s = this.e.store.state;
    const t = s.task(ws, id)!;
    const w = this.e.rt.workers.get(workerId)!;
    const key = taskKey(ws, id);
    const attempt = t.attempt + 1;
    w.key = key;
    w.attempt = attempt;
    w.holds = { ...t.resources };
    w.killing = null;
    w.pgid = null;
    w.deadline = t.timeout_seconds !== null ? this.e.clock() + t.timeout_seconds * 1000 : null;
    this.e.rt.inFlight.add(`start:${key}`);
    let logPath: string;
    try {
      logPath = this.e.store.prepareTaskLog(ws, id, attempt);
    } catch (err) {
      this.e.fail(err);
      return;
    }
    const alloc = this.e.pool.kind === 'slurm' ? { cpus: t.cpus, memory_mb: t.memory_mb, gpus: t.gpus, timeout_seconds: t.timeout_seconds } : {};
    this.e.pool.run(workerId, { key, attempt, command: t.command, cwd: t.cwd, env: taskEnv(t, s.workstream(ws)!.params, attempt), logPath, validate: t.validate, ...alloc });
  }

  private spawned(workerId: string, m: AttemptStarted): void {
    const w = this.e.rt.workers.get(workerId);
    if (!w || w.key !== m.key || w.attempt !== m.attempt) return;
    w.pgid = m.pgid;
    const [ws, id] = splitKey(m.key);
    const deadline = w.deadline !== null ? new Date(w.deadline).toISOString() : null;
    // A worker that just spawned our task is answering: if it was marked unresponsive, say so first.
    if (this.e.store.state.worker(workerId)?.state === 'unresponsive') {
      w.unresponsiveSince = null;
      this.e.commit({ kind: 'worker_recovered', worker_id: workerId }).catch((err) => this.e.fail(err));
    }
    const job = m.jobId !== undefined ? { executor: m.executor, job_id: m.jobId } : {};
    // A cluster job may wait in the cluster's queue: its timeout counts from when it runs ('running').
    if (m.jobId !== undefined) w.deadline = null;
    this.e.commit({ kind: 'task_start', workstream_id: ws, task_id: id, worker_id: workerId, pid: m.pid, pgid: m.pgid, process_start: m.processStart, scheduler_id: this.e.id, deadline, ...job })
      .catch((err) => {
        // The task left `queued` meanwhile (an operator cancelled or skipped it): stop the process.
        this.kill(workerId, 'cancel');
        this.e.fail(err);
      })
      .finally(() => this.endStart(m.key));
  }

  /** The start of an attempt is settled (recorded, or given up): the task may be planned again if still queued. */
  private endStart(key: string): void {
    this.e.rt.inFlight.delete(`start:${key}`);
    this.e.index.retrack(key);
    this.e.poke();
  }

  private outcome(workerId: string, m: OutcomeMessage): void {
    const w = this.e.rt.workers.get(workerId);
    // A worker being stopped or replaced reports the kill of its task: that is not the task's failure
    // (replace() reassigns it, or counts the lost worker against it, through workerShutdown).
    if (!w || w.phase === 'stopping' || w.key !== m.key || w.attempt !== m.attempt || this.e.isStopping) return;
    // A worker that reports how an attempt ended works: worker deaths before it were not a crash loop.
    this.deaths.reset();
    const [ws, id] = splitKey(m.key);
    let outcome: TaskOutcome = m.outcome;
    if (w.killing === 'timeout') outcome = { ...outcome, kind: 'timeout', message: `ran past its timeout and was killed (${outcome.signal ?? 'exit ' + String(outcome.exit_code)})` };
    const t = this.e.store.state.task(ws, id);
    const ok = m.outcome.kind === 'exit' && m.outcome.exit_code === 0;
    const final = m.phase === 'validate' || !ok || t?.validate === null || t === undefined || w.killing !== null;
    const started = this.e.rt.inFlight.has(`start:${m.key}`);
    const cmd = { kind: 'task_outcome', workstream_id: ws, task_id: id, attempt: m.attempt, phase: m.phase, outcome } as const;
    const commit = (): Promise<unknown> => started && m.phase === 'command' && !ok && outcome.kind === 'spawn_error'
      // Nothing ever ran: record the start and the spawn error together, in one decision.
      ? this.e.commit({ kind: 'task_start_failed', workstream_id: ws, task_id: id, worker_id: workerId, scheduler_id: this.e.id, outcome })
        .finally(() => this.endStart(m.key))
      : this.e.commit(cmd);
    if (!final) return this.track(`outcome:${m.key}:${m.attempt}:${m.phase}`, commit);
    w.key = null;
    w.holds = {};
    w.killing = null;
    w.deadline = null;
    w.pgid = null;
    // The next task may go to this worker before this outcome is durable: its start is decided
    // after this outcome (commits are decided in order), so the log never has the worker on two tasks.
    this.track(`outcome:${m.key}:${m.attempt}:${m.phase}`, () => {
      w.settling = m.key;
      return commit().finally(() => {
        if (w.settling === m.key) w.settling = null;
      });
    });
  }

  /** SIGTERM to the task's process group, SIGKILL after the grace period (works on a stopped worker too). */
  private kill(workerId: string, why: 'timeout' | 'cancel'): void {
    const w = this.e.rt.workers.get(workerId);
    if (!w || w.key === null || w.killing !== null) return;
    w.killing = why;
    const grace = this.e.store.config.kill_grace_ms;
    if (w.pgid !== null) killGroup(w.pgid, { graceMs: grace }).catch((err) => this.e.opts.onNote?.(`kill of ${w.key}: ${(err as Error).message}`));
    else this.e.pool.kill(workerId, 'SIGTERM', grace);
  }

  /**
   * Stops a worker for good (unresponsive too long, exited, or on request) and starts its replacement.
   * A worker that died (`death` says how) is replaced after a backoff that grows with the deaths in a
   * row; at worker_deaths_limit the run stops with WORKERS_FAILING instead (DeathRow).
   */
  private async replace(id: string, trigger: string, reassign: boolean, sameId: boolean, death: string | null = null): Promise<void> {
    const w = this.e.rt.workers.get(id);
    if (!w || w.phase === 'stopping') return;
    w.phase = 'stopping';
    this.e.rt.inFlight.add(`replace:${id}`);
    try {
      await this.e.pool.forceStop(id);
      // An attempt sent to this worker but never reported spawned will never be: free the task.
      if (w.key !== null && this.e.rt.inFlight.has(`start:${w.key}`)) this.endStart(w.key);
      await this.e.store.commit((s) => {
        const d = new Decision(s, this.e.clock());
        return workerShutdown(d, id, trigger, reassign);
      });
      this.e.rt.workers.delete(id);
      if (!this.e.isStopping) {
        const next = sameId ? id : nextWorkerId(this.e.store.state.workerIds());
        if (death === null) await this.startWorker(next);
        else await this.restart(id, death, next);
      }
    } catch (err) {
      this.e.fail(err);
    } finally {
      this.e.rt.inFlight.delete(`replace:${id}`);
      this.e.poke();
    }
  }

  /** Starts `next` in place of worker `dead`, after the backoff; a replacement that fails to start is one more death. */
  private async restart(dead: string, cause: string, next: string): Promise<void> {
    let [worker, why] = [dead, cause];
    for (;;) {
      const wait = this.deaths.died(worker, why);
      if (wait === null) {
        this.e.fail(this.deaths.error((w) => this.e.store.paths.workerLog(w)));
        return;
      }
      await this.pause(wait);
      if (this.e.isStopping) return;
      let pid: number;
      try {
        pid = await this.e.pool.start(next);
      } catch (err) {
        [worker, why] = [next, `worker ${next} did not start: ${(err as Error).message}`];
        continue;
      }
      await this.adopt(next, pid);
      return;
    }
  }

  private pause(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.pauses.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.pauses.add(done);
    });
  }

  /** How a worker died, for the operator: its exit, and the crash its log reports if any. */
  private deathCause(id: string, code: number | null, signal: NodeJS.Signals | null): string {
    const how = `worker ${id} exited (${signal !== null ? `signal ${signal}` : `code ${code}`})`;
    let crash: string | undefined;
    try {
      crash = this.e.store.workerLogTail(id, 40)?.lines.filter((l) => / crashed: /.test(l)).pop();
    } catch {
      // The log is only a clue; the exit status is the cause.
    }
    return crash === undefined ? how : `${how}: ${crash.trim()}`;
  }

  /** Ctrl-C: stop every worker (they kill their tasks) and requeue what was running, no retry spent. */
  async stopAll(reason: string): Promise<void> {
    for (const wake of [...this.pauses]) wake();
    const ids = [...this.e.rt.workers.keys()];
    for (const w of this.e.rt.workers.values()) w.phase = 'stopping';
    await this.e.pool.stopAll();
    await this.e.store.commit((s) => {
      const d = new Decision(s, this.e.clock());
      for (const id of ids) workerShutdown(d, id, reason, true);
      return d.settle();
    });
  }
}

function nextWorkerId(existing: string[]): string {
  const n = Math.max(0, ...existing.map((id) => Number(/^w(\d+)$/.exec(id)?.[1] ?? 0)));
  return `w${n + 1}`;
}

/** The environment of an attempt: the task's env plus CAIRN_* (ids and params are never pasted into commands). */
export function taskEnv(t: Task, params: Record<string, string>, attempt: number): Record<string, string> {
  const env: Record<string, string> = { ...t.env, CAIRN_WORKSTREAM_ID: t.workstream_id, CAIRN_TASK_ID: t.id, CAIRN_ATTEMPT: String(attempt) };
  for (const [k, v] of Object.entries(params)) env[`CAIRN_PARAM_${k.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}`] = v;
  return env;
}
