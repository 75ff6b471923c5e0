import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { taskId } from './gen.js';
import { type BenchContext, type BenchResult, fmt, median, REPO, resultLine, runChild } from './util.js';

/**
 * Issue 3's benchmarks, through the real binary: `cairn run <spec> --workers 2` as a fresh process.
 *
 * - run-vs-xargs: 2,000 tasks running `true` against `xargs -P 2` running `true` 2,000 times (the
 *   same program, no shell on either side), wall time from spawn to exit.
 * - run-scale: scheduling cost per task while 10,000 tasks are queued against 500. Measured from
 *   the log as the time from the first task_started to the 500th task_completed, divided by 500, so
 *   the window is the same size in both runs and start-up (submit, workers) is not in it. The
 *   10,000-task run is stopped with SIGINT (a clean stop) once that window is complete.
 */

const CAIRN = path.join(REPO, 'bin', 'cairn.js');
const ROUNDS = 3;
const WINDOW = 500;

function writeSpec(file: string, id: string, tasks: number): void {
  const spec = { id, tasks: Array.from({ length: tasks }, (_, i) => ({ id: taskId(i), command: ['true'] })) };
  fs.writeFileSync(file, JSON.stringify(spec));
}

/** Whether `cairn run` exists in this build (issue 3 lands while issue 2 is measured). */
async function runAvailable(): Promise<boolean> {
  if (!fs.existsSync(CAIRN)) return false;
  const r = await runChild(process.execPath, [CAIRN, 'run', '--help']);
  return r.code === 0 && r.stdout.includes('run');
}

async function cairnRun(stateDir: string, spec: string): Promise<number> {
  const r = await runChild(process.execPath, [CAIRN, 'run', spec, '--workers', '2', '--state-dir', stateDir, '--json']);
  if (r.code !== 0) throw new Error(`cairn run exited ${r.code ?? r.signal}: ${r.stderr.trim().slice(0, 500)}`);
  return r.ms;
}

async function xargsRun(tasks: number): Promise<number> {
  const r = await runChild('xargs', ['-P', '2', '-n', '1', 'true'], { input: 'x\n'.repeat(tasks) });
  if (r.code !== 0) throw new Error(`xargs exited ${r.code}: ${r.stderr}`);
  return r.ms;
}

/**
 * Context, not a baseline: `tasks` runs of `true` spawned from Node (child_process.spawn in its own
 * process group, as cairn's workers do) by two loops in one process, with no state at all.
 */
async function nodeSpawnRun(tasks: number): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  const loop = async (): Promise<void> => {
    while (next < tasks) {
      next++;
      await new Promise<void>((resolve, reject) => {
        const c = spawn('true', [], { stdio: 'ignore', detached: true });
        c.on('error', reject);
        c.on('exit', () => resolve());
      });
    }
  };
  await Promise.all([loop(), loop()]);
  return performance.now() - t0;
}

export async function benchRunVsXargs(ctx: BenchContext): Promise<BenchResult[]> {
  if (!(await runAvailable())) return [{ name: 'run-vs-xargs', line: 'run-vs-xargs: not measured: cairn run is not available in this build', pass: null }];
  const tasks = 2000;
  const spec = path.join(ctx.scratch, 'run-2000.json');
  writeSpec(spec, 'bench-2000', tasks);
  const cairn: number[] = [];
  const xargs: number[] = [];
  const nodeSpawn: number[] = [];
  const t0 = performance.now();
  // Three rounds, or two when the machine is so loaded that they took more than a minute.
  for (let r = 0; r < ROUNDS && !(r === 2 && performance.now() - t0 > 60_000); r++) {
    for (const k of r % 2 === 0 ? [0, 1] : [1, 0]) {
      if (k === 0) cairn.push(await cairnRun(path.join(ctx.scratch, `run-2000-${r}`), spec));
      else xargs.push(await xargsRun(tasks));
    }
    nodeSpawn.push(await nodeSpawnRun(tasks));
    ctx.note(`run round ${r + 1}: cairn ${fmt(cairn.at(-1)!)} ms, xargs ${fmt(xargs.at(-1)!)} ms, bare node spawn loop ${fmt(nodeSpawn.at(-1)!)} ms`);
    fs.rmSync(path.join(ctx.scratch, `run-2000-${r}`), { recursive: true, force: true });
  }
  const c = median(cairn);
  const x = median(xargs);
  const n = median(nodeSpawn);
  const r = resultLine('run-vs-xargs', `${fmt(c)} ms for cairn run of ${tasks} tasks (true) on 2 workers vs ${fmt(x)} ms for xargs -P 2`, c / x, { op: '<=', value: 1.5, aim: true });
  return [{ ...r, line: `${r.line} [two bare Node spawn loops, no state: ${fmt(n)} ms = ${(n / x).toFixed(2)}]` }];
}

/** ms per task from the first task_started to the WINDOW-th task_completed of a log. */
function perTask(logFile: string): number {
  let first: number | null = null;
  let done = 0;
  for (const line of fs.readFileSync(logFile, 'utf8').split('\n')) {
    if (first === null && line.includes('"type":"task_started"')) first = Date.parse((JSON.parse(line) as { ts: string }).ts);
    if (line.includes('"type":"task_completed"') && ++done === WINDOW) {
      return (Date.parse((JSON.parse(line) as { ts: string }).ts) - first!) / WINDOW;
    }
  }
  throw new Error(`${logFile} has only ${done} completed tasks, fewer than ${WINDOW}`);
}

/**
 * Runs `cairn run [spec] --workers 2` until the log holds `completions` task completions, then stops
 * it with SIGINT (a clean stop). `nodeArgs` go to the scheduler's node, `env` adds to its environment.
 */
export function runUntil(stateDir: string, spec: string | null, completions: number, o: { nodeArgs?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const args = [...(o.nodeArgs ?? []), CAIRN, 'run', ...(spec === null ? [] : [spec]), '--workers', '2', '--state-dir', stateDir, '--json'];
    const child = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...o.env } });
    let err = '';
    child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
    const log = path.join(stateDir, 'transitions.jsonl');
    let offset = fs.existsSync(log) ? fs.statSync(log).size : 0;
    let done = 0;
    let sent = false;
    const poll = setInterval(() => {
      try {
        const fd = fs.openSync(log, 'r');
        const size = fs.fstatSync(fd).size;
        const buf = Buffer.alloc(size - offset);
        fs.readSync(fd, buf, 0, buf.length, offset);
        fs.closeSync(fd);
        const text = buf.toString('utf8');
        const end = text.lastIndexOf('\n') + 1;
        offset += Buffer.byteLength(text.slice(0, end));
        done += text.slice(0, end).split('"type":"task_completed"').length - 1;
      } catch {
        return; // not created yet
      }
      if (done >= completions && !sent) {
        sent = true;
        child.kill('SIGINT');
      }
    }, 100);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(poll);
      if (code === 0 || code === 130) resolve();
      else reject(new Error(`cairn run exited ${code}: ${err.trim().slice(0, 500)}`));
    });
  });
}

export async function benchRunScale(ctx: BenchContext): Promise<BenchResult[]> {
  if (!(await runAvailable())) return [{ name: 'run-scale', line: 'run-scale: not measured: cairn run is not available in this build', pass: null }];
  const small = path.join(ctx.scratch, 'run-500.json');
  const big = path.join(ctx.scratch, 'run-10000.json');
  writeSpec(small, 'bench-500', WINDOW);
  writeSpec(big, 'bench-10000', 10_000);
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const k of r % 2 === 0 ? [0, 1] : [1, 0]) {
      const dir = path.join(ctx.scratch, `run-scale-${k}-${r}`);
      if (k === 0) {
        await cairnRun(dir, small);
        a.push(perTask(path.join(dir, 'transitions.jsonl')));
      } else {
        await runUntil(dir, big, WINDOW + 20);
        b.push(perTask(path.join(dir, 'transitions.jsonl')));
      }
      fs.rmSync(dir, { recursive: true, force: true });
    }
    ctx.note(`run-scale round ${r + 1}: ${fmt(a.at(-1)!)} ms/task with ${WINDOW} queued, ${fmt(b.at(-1)!)} ms/task with 10000 queued`);
  }
  const ma = median(a);
  const mb = median(b);
  return [resultLine('run-scale', `${fmt(mb)} ms per task with 10000 tasks queued vs ${fmt(ma)} ms with ${WINDOW} (first ${WINDOW} tasks of each)`, mb / ma, { op: '<=', value: 1.3 })];
}
