// `cairn` for synchronous tests: as cairn() in cli.ts, warm where it may be (see needsRealProcess),
// a fresh process where it must. The warm path blocks the calling thread in Atomics.wait while a
// worker thread (cli-sync-worker.ts) has a warm server run the command.
import { spawnSync } from 'node:child_process';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { type CliOptions, type CliResult, cliEnv, needsRealProcess } from './cli.js';
import type { SyncRequest } from './cli-sync-worker.js';
import { CAIRN_BIN, ROOT } from './paths.js';

let thread: { port: MessagePort; flag: Int32Array } | null = null;

function worker(): { port: MessagePort; flag: Int32Array } {
  if (thread) return thread;
  const { port1, port2 } = new MessageChannel();
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const w = new Worker(new URL('./cli-sync-worker.js', import.meta.url), { workerData: { port: port2, flag }, transferList: [port2] });
  // Neither keeps the test process alive: its servers exit when it ends.
  w.unref();
  port1.unref();
  thread = { port: port1, flag };
  return thread;
}

/**
 * `cairn <args>`, synchronously; the same result as `await cairn(args, o)`. `o.maxBuffer` applies to
 * the real path (spawnSync's limit); `timeoutMs` (default 60 s) kills a command that takes longer.
 */
export function cairnSync(args: string[], o: CliOptions & { maxBuffer?: number } = {}): CliResult {
  const env = cliEnv(o);
  const cwd = o.cwd ?? ROOT;
  const timeoutMs = o.timeoutMs ?? 60_000;
  if (needsRealProcess(args, o)) {
    const [cmd, argv] = o.umask === undefined
      ? [process.execPath, [CAIRN_BIN, ...args]]
      : ['/bin/sh', ['-c', `umask ${o.umask}; exec "$0" "$@"`, process.execPath, CAIRN_BIN, ...args]];
    const r = spawnSync(cmd, argv, { cwd, env, encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: o.maxBuffer ?? 256 * 1024 * 1024 });
    if (r.error && (r.error as NodeJS.ErrnoException).code !== 'ETIMEDOUT') throw r.error;
    return { code: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }
  const t = worker();
  Atomics.store(t.flag, 0, 0);
  const req: SyncRequest = { args, cwd, env, timeoutMs };
  t.port.postMessage(req);
  // The worker kills a command at timeoutMs; the extra minute covers starting a server.
  if (Atomics.wait(t.flag, 0, 0, timeoutMs + 60_000) === 'timed-out') throw new Error(`the warm cairn server did not answer cairn ${args.join(' ')}`);
  const m = receiveMessageOnPort(t.port)!.message as { ok: CliResult } | { error: string };
  if ('error' in m) throw new Error(`the warm cairn server failed on cairn ${args.join(' ')}: ${m.error}`);
  return m.ok;
}
