/*
 * The worker: a child of the scheduler, forked with an IPC channel, running one task attempt at a time.
 * See protocol.ts for the messages. Flags: --heartbeat-ms=<n> (default 10000), --grace-ms=<n> (default 2000).
 *
 * MUST: a task never outlives its worker's link to the scheduler. When the IPC channel closes (the
 * scheduler exited or was SIGKILLed), on SIGTERM/SIGHUP, on `stop` and on a crash of this program,
 * the task's process group is killed before the worker exits.
 */
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { Command, TaskOutcome } from '../model/types.js';
import { groupAlive, killGroup, signalGroup } from './kill.js';
import { runRequestProblem, type KillMessage, type ParentMessage, type RunMessage, type WorkerMessage } from './protocol.js';
import { spawnError, startProcess, validationOutcome } from './task-process.js';

const { values: flags } = parseArgs({ options: { 'heartbeat-ms': { type: 'string' }, 'grace-ms': { type: 'string' } } });
const heartbeatMs = positive(flags['heartbeat-ms'], 10_000);
const graceMs = positive(flags['grace-ms'], 2_000);

function positive(text: string | undefined, fallback: number): number {
  const n = Number(text);
  return text !== undefined && Number.isFinite(n) && n >= 0 ? n : fallback;
}

/** The attempt in progress; `pgid` is set while one of its processes runs. */
interface Attempt {
  key: string;
  attempt: number;
  pgid: number | null;
  /** A kill that arrived while no process ran (just before spawn, between phases); applied at the next spawn. */
  pendingKill: KillMessage | null;
  /** The command's process started (`spawned` sent), or its outcome was sent: a crash need not report a failed start. */
  settled: boolean;
  done: Promise<void>;
}
let current: Attempt | null = null;
let stopping = false;
let lastSend: Promise<void> = Promise.resolve();

function send(msg: WorkerMessage): void {
  if (!process.connected || process.send === undefined) {
    // The scheduler is gone (perhaps before this worker even listened for 'disconnect'): stop.
    void shutdown(0);
    return;
  }
  lastSend = new Promise((resolve) => {
    // The callback also receives send errors (channel closed meanwhile); there is no one left to tell.
    process.send!(msg, undefined, {}, () => resolve());
  });
}

function log(fd: number, text: string): void {
  try {
    writeSync(fd, text);
  } catch {
    // A full disk must not stop the attempt from being reported.
  }
}

async function runPhase(req: RunMessage, phase: 'command' | 'validate', command: Command, fd: number): Promise<TaskOutcome> {
  const started = await startProcess(command, { cwd: req.cwd, env: req.env, fd });
  if (!started.ok) {
    log(fd, `cairn: ${started.outcome.message ?? 'cannot start'}\n`);
    return started.outcome;
  }
  const { pid, processStart } = started;
  send({ type: phase === 'command' ? 'spawned' : 'validating', key: req.key, attempt: req.attempt, pid, pgid: pid, processStart });
  if (current !== null) {
    current.settled = true;
    current.pgid = pid;
    const pending = current.pendingKill;
    current.pendingKill = null;
    if (pending !== null) signalAttempt(current, pending);
  }
  // A stop (or the scheduler's death) that came while the spawn finished must still reach this group.
  if (stopping) void killGroup(pid, { graceMs });
  const outcome = await started.exited;
  // Processes the task left behind in its group would keep writing to the log and hold resources.
  if (groupAlive(pid)) {
    log(fd, `cairn: killing processes left in the group of ${phase} ${pid}\n`);
    await killGroup(pid, { graceMs });
  }
  if (current !== null) current.pgid = null;
  return outcome;
}

async function runAttempt(req: RunMessage): Promise<void> {
  let fd: number;
  try {
    // MUST: never overwrite or follow a symlink to an existing log; each attempt gets a fresh file.
    const mode = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | constants.O_APPEND;
    fd = openSync(req.logPath, mode, 0o600);
  } catch (err) {
    const outcome = spawnError(`cannot create log ${req.logPath}: ${(err as Error).message}`);
    send({ type: 'outcome', key: req.key, attempt: req.attempt, phase: 'command', outcome });
    return;
  }
  try {
    const outcome = await runPhase(req, 'command', req.command, fd);
    if (current !== null) current.settled = true;
    send({ type: 'outcome', key: req.key, attempt: req.attempt, phase: 'command', outcome });
    if (outcome.kind !== 'exit' || outcome.exit_code !== 0 || req.validate === null || stopping) return;
    log(fd, `\n--- cairn: validate ${JSON.stringify(req.validate)} ---\n`);
    const validated = validationOutcome(await runPhase(req, 'validate', req.validate, fd));
    send({ type: 'outcome', key: req.key, attempt: req.attempt, phase: 'validate', outcome: validated });
  } finally {
    closeSync(fd);
  }
}

function onRun(msg: RunMessage): void {
  const problem = current !== null ? `worker is busy with ${current.key} attempt ${current.attempt}` : runRequestProblem(msg);
  if (stopping || problem !== null) {
    const outcome = spawnError(stopping ? 'worker is stopping' : problem ?? '');
    send({ type: 'outcome', key: String(msg.key), attempt: Number(msg.attempt), phase: 'command', outcome });
    return;
  }
  const req: RunMessage = { ...msg, cwd: msg.cwd ?? null, validate: msg.validate ?? null };
  const attempt: Attempt = { key: req.key, attempt: req.attempt, pgid: null, pendingKill: null, settled: false, done: Promise.resolve() };
  current = attempt;
  attempt.done = runAttempt(req)
    .catch((err: unknown) => crash(err))
    .finally(() => {
      if (current === attempt) current = null;
    });
}

function onKill(msg: KillMessage): void {
  const target = current;
  if (target === null) return;
  if ((msg.key !== undefined && msg.key !== target.key) || (msg.attempt !== undefined && msg.attempt !== target.attempt)) return;
  // A kill sent right after `run` can arrive before the spawn has finished: it must not be lost.
  if (target.pgid === null) target.pendingKill = msg;
  else signalAttempt(target, msg);
}

function signalAttempt(target: Attempt, msg: KillMessage): void {
  const pgid = target.pgid;
  if (pgid === null) return;
  try {
    signalGroup(pgid, msg.signal);
  } catch (err) {
    process.stderr.write(`cairn worker: cannot send ${String(msg.signal)} to group ${pgid}: ${(err as Error).message}\n`);
    return;
  }
  if (msg.graceMs !== undefined) {
    setTimeout(() => {
      if (target.pgid === pgid && groupAlive(pgid)) signalGroup(pgid, 'SIGKILL');
    }, msg.graceMs).unref();
  }
}

let heartbeat: NodeJS.Timeout | undefined;

async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearInterval(heartbeat);
  const attempt = current;
  if (attempt !== null) {
    if (attempt.pgid !== null) await killGroup(attempt.pgid, { graceMs });
    await attempt.done;
  }
  // Let the last outcome reach the scheduler before the channel goes away (bounded: it may be dead).
  await Promise.race([lastSend, sleep(1_000)]);
  process.exit(code);
}

let crashing = false;

function crash(err: unknown): void {
  if (crashing) return;
  crashing = true;
  process.stderr.write(`cairn worker ${process.pid} crashed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  const attempt = current;
  try {
    if (attempt?.pgid != null) signalGroup(attempt.pgid, 'SIGKILL');
  } catch {
    // The group is gone already; exiting matters more.
  }
  // MUST: an attempt whose process never started is reported as a failed start before this worker
  // exits. A worker that just died gets its task reassigned without spending a retry, so a start that
  // kills its worker every time would otherwise go round the workers for ever.
  if (attempt !== null && !attempt.settled) {
    const message = `the worker crashed while starting the task: ${err instanceof Error ? err.message : String(err)}`;
    const errno = (err as NodeJS.ErrnoException | null)?.code;
    send({ type: 'outcome', key: attempt.key, attempt: attempt.attempt, phase: 'command', outcome: spawnError(message, 0, typeof errno === 'string' ? errno : undefined) });
  }
  // Bounded: the scheduler may be gone, and a crashed worker must not linger.
  void Promise.race([lastSend, sleep(1_000)]).finally(() => process.exit(70));
}

function main(): void {
  if (process.send === undefined) {
    process.stderr.write('cairn worker: must be started by the scheduler with an IPC channel\n');
    process.exit(2);
  }
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  process.on('disconnect', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  process.on('SIGHUP', () => void shutdown(0));
  // Ctrl-C reaches the whole foreground group; the scheduler decides what to stop, or its death does.
  process.on('SIGINT', () => undefined);
  process.on('message', (raw: unknown) => {
    const msg = raw as ParentMessage;
    switch (msg?.type) {
      case 'run':
        return onRun(msg);
      case 'kill':
        return onKill(msg);
      case 'stop':
        return void shutdown(0);
      default:
        process.stderr.write(`cairn worker: ignoring unknown message ${JSON.stringify(raw)}\n`);
    }
  });
  heartbeat = setInterval(() => send({ type: 'heartbeat', at: Date.now() }), heartbeatMs);
  send({ type: 'ready', pid: process.pid });
  // A scheduler killed while this worker was starting closed the channel before 'disconnect' had a listener.
  if (!process.connected) void shutdown(0);
}

main();
