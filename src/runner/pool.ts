import { fork, type ChildProcess } from 'node:child_process';
import { closeSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { CairnError } from '../errors.js';
import { killOrphanGroup } from './kill.js';
import type { OutcomeMessage, RunRequest, SpawnedMessage, ValidatingMessage, WorkerMessage } from './protocol.js';
import { isWorkerMessage } from './protocol.js';

/** Settings of a pool; all times in milliseconds. */
export interface PoolOptions {
  /** How often each worker sends a heartbeat. */
  heartbeatMs: number;
  /** SIGTERM → SIGKILL grace a worker gives its task when it stops or loses the scheduler. */
  graceMs?: number;
  /** How long `start` waits for the worker's `ready`. */
  readyTimeoutMs?: number;
  /** The clock `lastHeartbeat` is read with. */
  now?: () => number;
  /** Node flags for the worker processes; by default none (the scheduler's --inspect etc. are not inherited). */
  execArgv?: string[];
  /** Where a worker's own stderr goes (a file descriptor, e.g. its log under .state/logs/workers/); default inherit. */
  stderrFor?: (workerId: string) => number | 'inherit';
}

/** The events of a pool; every one names the worker first. */
export interface WorkerPoolEvents {
  heartbeat: [workerId: string, at: number];
  spawned: [workerId: string, msg: SpawnedMessage];
  validating: [workerId: string, msg: ValidatingMessage];
  outcome: [workerId: string, msg: OutcomeMessage];
  /** The worker process is gone; any task group it left behind has been killed by then. */
  exit: [workerId: string, code: number | null, signal: NodeJS.Signals | null];
}

/** The attempt a worker runs, as far as the pool has heard. */
export interface CurrentAttempt {
  request: RunRequest;
  phase: 'command' | 'validate';
  pid: number | null;
  pgid: number | null;
  processStart: string | null;
}

interface Entry {
  child: ChildProcess;
  pid: number;
  lastHeartbeat: number;
  current: CurrentAttempt | null;
  exited: Promise<void>;
}

const WORKER_MAIN = fileURLToPath(new URL('./worker-main.js', import.meta.url));

/** How long a dead worker's channel may take to deliver what the worker sent last. */
const CHANNEL_DRAIN_MS = 1_000;

/** Resolves once `child`'s IPC channel has closed (every message it sent delivered), or after `ms`. */
function channelClosed(child: ChildProcess, ms: number): Promise<void> {
  if (!child.connected) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      child.off('disconnect', done);
      resolve();
    };
    // A task that inherited the channel could hold it open after the worker died: do not wait on it.
    const timer = setTimeout(done, ms);
    child.once('disconnect', done);
  });
}

/** Starts, drives and watches the worker processes of one scheduler; it decides no policy (timeouts are the caller's). */
export class WorkerPool extends EventEmitter<WorkerPoolEvents> {
  private readonly workers = new Map<string, Entry>();
  private readonly opts: Required<PoolOptions>;

  constructor(opts: PoolOptions) {
    super();
    this.opts = { graceMs: 2_000, readyTimeoutMs: 10_000, now: Date.now, execArgv: [], stderrFor: () => 'inherit', ...opts };
  }

  /** Forks worker `workerId` and resolves with its pid once it reports ready. */
  start(workerId: string): Promise<number> {
    if (this.workers.has(workerId)) throw new CairnError('ILLEGAL_REQUEST', `worker ${workerId} is already running`, { details: { worker_id: workerId } });
    const args = [`--heartbeat-ms=${this.opts.heartbeatMs}`, `--grace-ms=${this.opts.graceMs}`];
    const stderr = this.opts.stderrFor(workerId);
    let child: ChildProcess;
    try {
      // stdout stays closed: with --json the scheduler's stdout carries one document and nothing else.
      child = fork(WORKER_MAIN, args, { stdio: ['ignore', 'ignore', stderr, 'ipc'], execArgv: this.opts.execArgv, serialization: 'json' });
    } finally {
      // The worker has its own copy; keeping ours open leaked one descriptor per worker ever started.
      if (typeof stderr === 'number') closeSync(stderr);
    }
    return new Promise<number>((resolve, reject) => {
      const fail = (why: string): void => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new CairnError('INTERNAL', `worker ${workerId} did not start: ${why}`, { details: { worker_id: workerId } }));
      };
      const timer = setTimeout(() => fail(`no ready within ${this.opts.readyTimeoutMs} ms`), this.opts.readyTimeoutMs);
      const onEarlyExit = (code: number | null, signal: string | null): void => fail(`exited (code ${code}, signal ${signal})`);
      child.on('error', (err) => {
        if (!this.workers.has(workerId)) fail(err.message);
        // After ready the only errors are sends to a worker that just died; its 'exit' tells the rest.
        else process.stderr.write(`cairn: worker ${workerId}: ${err.message}\n`);
      });
      child.once('exit', onEarlyExit);
      child.on('message', (raw: unknown) => {
        if (!isWorkerMessage(raw)) return;
        if (raw.type === 'ready' && !this.workers.has(workerId)) {
          clearTimeout(timer);
          child.off('exit', onEarlyExit);
          this.adopt(workerId, child, raw.pid);
          resolve(raw.pid);
          return;
        }
        this.onMessage(workerId, raw);
      });
    });
  }

  private adopt(workerId: string, child: ChildProcess, pid: number): void {
    const entry: Entry = { child, pid, lastHeartbeat: this.opts.now(), current: null, exited: Promise.resolve() };
    entry.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        // Messages the worker sent just before it died (the failed start of its task) are read before
        // its channel closes: wait for that, so the outcome is handled before the death.
        void channelClosed(child, CHANNEL_DRAIN_MS)
          .then(() => this.onExit(workerId, entry, code, signal))
          .finally(resolve);
      });
    });
    this.workers.set(workerId, entry);
  }

  private async onExit(workerId: string, entry: Entry, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    // A worker killed outright (SIGKILL, OOM) could not kill its task; a task without a worker must not run on.
    const cur = entry.current;
    if (cur !== null && cur.pgid !== null) {
      try {
        await killOrphanGroup(cur.pgid, cur.processStart, { graceMs: this.opts.graceMs });
      } catch (err) {
        process.stderr.write(`cairn: cannot kill the task group ${cur.pgid} of worker ${workerId}: ${(err as Error).message}\n`);
      }
    }
    if (this.workers.get(workerId) === entry) this.workers.delete(workerId);
    this.emit('exit', workerId, code, signal);
  }

  private onMessage(workerId: string, msg: WorkerMessage): void {
    const entry = this.workers.get(workerId);
    if (entry === undefined) return;
    entry.lastHeartbeat = this.opts.now();
    const cur = entry.current;
    switch (msg.type) {
      case 'ready':
        return;
      case 'heartbeat':
        this.emit('heartbeat', workerId, msg.at);
        return;
      case 'spawned':
      case 'validating':
        if (cur !== null && cur.request.key === msg.key && cur.request.attempt === msg.attempt) {
          Object.assign(cur, { phase: msg.type === 'spawned' ? 'command' : 'validate', pid: msg.pid, pgid: msg.pgid, processStart: msg.processStart });
        }
        if (msg.type === 'spawned') this.emit('spawned', workerId, msg);
        else this.emit('validating', workerId, msg);
        return;
      case 'outcome':
        if (cur !== null && cur.request.key === msg.key && cur.request.attempt === msg.attempt) {
          const validateFollows = msg.phase === 'command' && msg.outcome.kind === 'exit' && msg.outcome.exit_code === 0 && cur.request.validate !== null;
          if (validateFollows) Object.assign(cur, { pid: null, pgid: null, processStart: null });
          else entry.current = null;
        }
        this.emit('outcome', workerId, msg);
        return;
      default: {
        const never: never = msg;
        return never;
      }
    }
  }

  private entry(workerId: string): Entry {
    const entry = this.workers.get(workerId);
    if (entry === undefined || !entry.child.connected) throw new CairnError('UNKNOWN_WORKER', `no running worker ${workerId}`, { details: { worker_id: workerId } });
    return entry;
  }

  /** Sends one attempt to an idle worker; throws ILLEGAL_REQUEST when it is busy. */
  run(workerId: string, request: RunRequest): void {
    const entry = this.entry(workerId);
    if (entry.current !== null) {
      throw new CairnError('ILLEGAL_REQUEST', `worker ${workerId} is busy with ${entry.current.request.key}`, { details: { worker_id: workerId } });
    }
    entry.current = { request, phase: 'command', pid: null, pgid: null, processStart: null };
    entry.child.send({ type: 'run', ...request });
  }

  /** Asks the worker to send `signal` to its running task's group (SIGKILL after `graceMs` when given). */
  kill(workerId: string, signal: NodeJS.Signals = 'SIGTERM', graceMs?: number): void {
    const entry = this.entry(workerId);
    const cur = entry.current;
    if (cur === null) return;
    entry.child.send({ type: 'kill', signal, key: cur.request.key, attempt: cur.request.attempt, ...(graceMs === undefined ? {} : { graceMs }) });
  }

  /** Asks the worker to kill its task and exit; resolves when it has exited (at once if it does not run). */
  async stop(workerId: string): Promise<void> {
    const entry = this.workers.get(workerId);
    if (entry === undefined) return;
    if (entry.child.connected) entry.child.send({ type: 'stop' });
    else entry.child.kill('SIGTERM');
    await entry.exited;
  }

  /** SIGKILLs the worker and its task's group without asking (it may be stopped or hung); resolves when both are gone. */
  async forceStop(workerId: string): Promise<void> {
    const entry = this.workers.get(workerId);
    if (entry === undefined) return;
    const cur = entry.current;
    // The group first, while the worker (stopped or not) still holds the leader's pid against reuse.
    if (cur !== null && cur.pgid !== null) await killOrphanGroup(cur.pgid, cur.processStart, { graceMs: 0 });
    entry.child.kill('SIGKILL');
    await entry.exited;
  }

  /** Stops every worker (see `stop`). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.workers.keys()].map((id) => this.stop(id)));
  }

  /** When the pool last heard from the worker (any message counts), on the pool's clock; null if unknown. */
  lastHeartbeat(workerId: string): number | null {
    return this.workers.get(workerId)?.lastHeartbeat ?? null;
  }

  /** The worker's pid, or null when it does not run. */
  pid(workerId: string): number | null {
    return this.workers.get(workerId)?.pid ?? null;
  }

  /** The attempt the worker runs, or null when it is idle or unknown. */
  current(workerId: string): CurrentAttempt | null {
    const cur = this.workers.get(workerId)?.current;
    return cur === undefined || cur === null ? null : { ...cur };
  }

  /** The ids of the workers that run now. */
  workerIds(): string[] {
    return [...this.workers.keys()];
  }
}
