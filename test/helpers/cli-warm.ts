// The pool of warm CLI servers of one test process (see cli-server.ts): one per command running at
// once, so commands a test starts together still run in separate processes and race for real.
import { type ChildProcess, spawn } from 'node:child_process';
import type { CliResult } from './cli.js';
import type { WarmReply, WarmRequest } from './cli-server.js';
import { CLI_SERVER, ROOT } from './paths.js';

interface Server {
  child: ChildProcess;
  /** The load-time variables it started with (LOAD_TIME_ENV): a command needing others gets another server. */
  key: string;
  ready: Promise<void>;
  busy: boolean;
  gone: boolean;
  /** The server's own stderr (Node's messages if it dies), for the result of a command it died in. */
  log: string;
  pending: ((r: WarmReply | { died: { code: number | null; signal: NodeJS.Signals | null } }) => void) | null;
}

const idle: Server[] = [];
let nextId = 1;
let answered = 0;

/** How many commands warm servers of this thread have answered (the tests check the warm path is taken). */
export function warmCommands(): number {
  return answered;
}

/**
 * Variables read once, when a module loads or Node starts: a server holds the values it started
 * with, so a command is only given to a server started with the same ones.
 */
const LOAD_TIME_ENV = ['CAIRN_LOCK_NO_LINKS', 'CAIRN_NO_BUNDLE', 'NODE_OPTIONS', 'NODE_DEBUG', 'NODE_V8_COVERAGE', 'NODE_PATH', 'UV_THREADPOOL_SIZE'];

function keyOf(env: Record<string, string>): string {
  return JSON.stringify(LOAD_TIME_ENV.map((k) => env[k] ?? null));
}

function start(env: Record<string, string>): Server {
  const child = spawn(process.execPath, [CLI_SERVER], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  const s: Server = { child, key: keyOf(env), ready: Promise.resolve(), busy: false, gone: false, log: '', pending: null };
  child.stdout!.resume();
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { s.log += d; });
  s.ready = new Promise((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('error', reject);
    child.once('exit', (code, signal) => reject(new Error(`the warm cairn server exited before it was ready (${code ?? signal}):\n${s.log}`)));
  });
  child.on('message', (m) => {
    if ((m as { ready?: boolean }).ready) return;
    const p = s.pending;
    s.pending = null;
    p?.(m as WarmReply);
  });
  child.on('exit', (code, signal) => {
    s.gone = true;
    const i = idle.indexOf(s);
    if (i >= 0) idle.splice(i, 1);
    const p = s.pending;
    s.pending = null;
    p?.({ died: { code, signal } });
  });
  return s;
}

/** Lets the test process end while servers wait idle; they exit when its IPC channel closes. */
function hold(s: Server, on: boolean): void {
  const ch = s.child as ChildProcess & { channel?: { ref(): void; unref(): void } };
  const streams = [s.child.stdout, s.child.stderr] as unknown as ({ ref?(): void; unref?(): void } | null)[];
  if (on) {
    s.child.ref();
    ch.channel?.ref();
    for (const st of streams) st?.ref?.();
  } else {
    s.child.unref();
    ch.channel?.unref();
    for (const st of streams) st?.unref?.();
  }
}

/** Runs `cairn <args>` in an idle warm server (a new one when all are busy). */
export async function runWarm(args: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<CliResult> {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) clean[k] = v;
  const key = keyOf(clean);
  const i = idle.findIndex((x) => x.key === key);
  const s = i >= 0 ? idle.splice(i, 1)[0]! : start(clean);
  s.busy = true;
  hold(s, true);
  await s.ready;
  const req: WarmRequest = { id: nextId++, argv: args, cwd, env: clean };
  // As the real helper does: a command that outlives its time is killed (here, with its server).
  const timer = setTimeout(() => s.child.kill('SIGKILL'), timeoutMs);
  const reply = await new Promise<WarmReply | { died: { code: number | null; signal: NodeJS.Signals | null } }>((resolve) => {
    s.pending = resolve;
    s.child.send(req);
  });
  clearTimeout(timer);
  s.busy = false;
  if ('died' in reply) return { code: reply.died.code, signal: reply.died.signal, stdout: '', stderr: s.log };
  if (reply.retiring === null && !s.gone) {
    hold(s, false);
    idle.push(s);
  } else if (process.env.TEST_CLI_WARM_DEBUG) {
    process.stderr.write(`warm cairn server retires after cairn ${args.join(' ')}: ${reply.retiring}\n`);
  }
  answered++;
  return { code: reply.code, signal: null, stdout: reply.stdout, stderr: reply.stderr };
}
