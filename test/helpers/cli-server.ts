// A warm `cairn`: a child process that loads the CLI once and then runs one command at a time on
// request over IPC, as `node bin/cairn.js <args>` would in a fresh process, and answers with the
// exit code and everything written to stdout and stderr. It saves the ~0.3–0.5 s of Node start-up
// and module loading that a fresh process pays per command. test/helpers/cli.ts decides which
// commands may run here (see `needsRealProcess`) and keeps a pool of these per test file.
//
// What a fresh process would give each command, this gives it too: the cwd and the environment of
// the request (process.env is replaced, not merged), process.exitCode unset, stdout and stderr as
// pipes (not TTYs), stdin /dev/null; at the end the 'exit' listeners run (they release the locks
// still held and remove the lock candidate files, as at a real exit). A command that leaves
// anything behind — a timer, a handle, a signal listener, an uncaught error — makes this process
// answer and then exit, so the next command gets a fresh one.
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { CLI_BUNDLE, CLI_SOURCES, ROOT } from './paths.js';

/** A request: run `cairn <argv>` in `cwd` with exactly the environment `env`. */
export interface WarmRequest {
  id: number;
  argv: string[];
  cwd: string;
  env: Record<string, string>;
}

/** The answer: what a child process running the command would have shown its parent. */
export interface WarmReply {
  id: number;
  code: number;
  stdout: string;
  stderr: string;
  /** Why this server exits after answering (null: it stays for the next command). */
  retiring: string | null;
}

type Write = (chunk: unknown, encoding?: unknown, cb?: unknown) => boolean;

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGPIPE', 'SIGUSR1', 'SIGUSR2'] as const;
// Not 'exit': lock.ts adds its release-at-exit hook once, on first use, and it belongs there.
const EVENTS = ['beforeExit', 'uncaughtException', 'unhandledRejection', 'warning', 'message', 'disconnect'] as const;

/** What this process holds when idle: anything more after a command was left behind by it. */
function footprint(): string {
  // CloseReq: a descriptor being closed, on its way out.
  const resources = process.getActiveResourcesInfo().filter((r) => r !== 'CloseReq').sort();
  const listeners = [...SIGNALS, ...EVENTS].map((e) => `${e}:${process.listenerCount(e)}`);
  return [...resources, ...listeners].join(',');
}

type Main = { main: (argv: string[]) => Promise<void> };

/** The `main` bin/cairn.js would run: the bundle unless it is missing, older than the last tsc build, or CAIRN_NO_BUNDLE=1. */
async function loadMain(): Promise<Main> {
  const mtime = (f: string) => {
    try {
      return statSync(f).mtimeMs;
    } catch {
      return -1;
    }
  };
  const bundle = process.env.CAIRN_NO_BUNDLE !== '1' && mtime(CLI_BUNDLE) >= 0 && mtime(CLI_BUNDLE) >= mtime(`${ROOT}dist/.tsbuildinfo`);
  return bundle ? (createRequire(CLI_BUNDLE)(CLI_BUNDLE) as Main) : ((await import(pathToFileURL(CLI_SOURCES).href)) as Main);
}

async function serve(): Promise<void> {
  const { main } = await loadMain();
  const realExit = process.exit.bind(process);
  const writes = { out: process.stdout.write.bind(process.stdout) as Write, err: process.stderr.write.bind(process.stderr) as Write };
  // main installs stdout/stderr 'error' listeners once per command; a fresh process would count from 0.
  process.stdout.setMaxListeners(0);
  process.stderr.setMaxListeners(0);

  let current: { out: Buffer[]; err: Buffer[]; exited: number | null; finish: (code: number, why: string | null) => void } | null = null;

  const capture = (into: 'out' | 'err'): Write => (chunk, encoding, cb) => {
    const done = typeof encoding === 'function' ? encoding : cb;
    // A real process stops at its first process.exit: nothing written after it is seen.
    if (current && current.exited === null) {
      const enc = typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8';
      current[into].push(typeof chunk === 'string' ? Buffer.from(chunk, enc) : Buffer.from(chunk as Uint8Array));
    }
    if (typeof done === 'function') process.nextTick(done as () => void);
    return true;
  };
  process.stdout.write = capture('out') as typeof process.stdout.write;
  process.stderr.write = capture('err') as typeof process.stderr.write;
  (process as { exit: (code?: number) => void }).exit = (code?: number) => {
    if (current && current.exited === null) current.exited = typeof code === 'number' ? code : typeof process.exitCode === 'number' ? process.exitCode : 0;
  };
  // As Node does for an uncaught error: the stack on stderr, exit code 1 (after the 'exit' listeners).
  const crash = (e: unknown) => {
    if (!current) {
      writes.err(`cairn test server: uncaught error between commands: ${(e as Error)?.stack ?? String(e)}\n`);
      realExit(70);
    }
    const c = current!;
    if (c.exited === null) c.err.push(Buffer.from(`${(e as Error)?.stack ?? String(e)}\n\nNode.js ${process.version}\n`));
    c.finish(c.exited ?? 1, 'an uncaught error');
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);

  process.on('message', (raw) => {
    const req = raw as WarmRequest;
    void runOne(req).then((reply) => {
      process.send!(reply, () => {
        if (reply.retiring !== null) realExit(0);
      });
    });
  });
  process.on('disconnect', () => realExit(0));
  await new Promise((r) => setImmediate(r));
  const idle = footprint();

  async function runOne(req: WarmRequest): Promise<WarmReply> {
    process.chdir(req.cwd);
    for (const k of Object.keys(process.env)) delete process.env[k];
    Object.assign(process.env, req.env);
    process.exitCode = undefined;
    const settled = new Promise<{ code: number; why: string | null }>((resolve) => {
      current = { out: [], err: [], exited: null, finish: (code, why) => resolve({ code, why }) };
    });
    const c = current!;
    main(req.argv).then(
      () => c.finish(c.exited ?? (typeof process.exitCode === 'number' ? process.exitCode : 0), null),
      (e: unknown) => crash(e),
    );
    const { code, why } = await settled;
    // What a real exit runs: lock.ts releases what is still held and removes its candidate files.
    process.emit('exit', code);
    current = null;
    process.exitCode = undefined;
    // Let closed handles go (a worker thread ending, a file handle closing) before looking.
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 0));
    const left = footprint();
    const retiring = why ?? (left === idle ? null : `left behind: ${left} (idle: ${idle})`);
    return { id: req.id, code, stdout: Buffer.concat(c.out).toString('utf8'), stderr: Buffer.concat(c.err).toString('utf8'), retiring };
  }
  process.send!({ ready: true });
}

void serve();
