import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Shared helpers of the benchmarks: medians, result lines, a scratch folder on the same disk as the
 * repository, and fresh child processes for measurements that must not share a heap.
 */

/** The repository root (this file runs from dist/bench/). */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The outcome of one benchmark: its printed line and whether the target was met (null: reported only). */
export interface BenchResult {
  name: string;
  line: string;
  pass: boolean | null;
}

/** What every benchmark receives: a scratch folder it may fill, and a note sink for the log. */
export interface BenchContext {
  scratch: string;
  /** Progress notes on stderr, so stdout holds only the result lines. */
  note: (msg: string) => void;
  /** Logs generated earlier in this run, by name, to share between benchmarks. */
  cache: Map<string, unknown>;
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Formats a number for a result line: integers above 100, three significant digits below. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Math.abs(x) >= 100) return Math.round(x).toString();
  return x.toPrecision(3);
}

/** `name: <what> = <ratio> (target <op> <t>) PASS|MISS`; op '<=' or '>='; a null target only reports. */
export function resultLine(name: string, what: string, ratio: number, target: { op: '<=' | '>='; value: number; aim?: boolean } | null): BenchResult {
  if (target === null) return { name, line: `${name}: ${what} = ${ratio.toFixed(2)} (reported)`, pass: null };
  const ok = target.op === '<=' ? ratio <= target.value : ratio >= target.value;
  const word = target.aim ? 'aim' : 'target';
  return { name, line: `${name}: ${what} = ${ratio.toFixed(2)} (${word} ${target.op} ${target.value}) ${ok ? 'PASS' : 'MISS'}`, pass: ok };
}

/**
 * A scratch folder on the same device as the repository, so a baseline and the state it is
 * compared with live on the same disk. Prefers os.tmpdir(), falls back to the repository's parent.
 */
export function makeScratch(): { dir: string; note: string } {
  const repoDev = fs.statSync(REPO).dev;
  for (const base of [os.tmpdir(), path.dirname(REPO)]) {
    try {
      if (fs.statSync(base).dev !== repoDev) continue;
      const dir = fs.mkdtempSync(path.join(base, 'cairn-bench-'));
      return { dir, note: `scratch ${dir} (same device as ${REPO})` };
    } catch {
      /* try the next */
    }
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-'));
  return { dir, note: `scratch ${dir} (WARNING: not the device of ${REPO}; figures compare different disks)` };
}

/** Runs `fn` repeatedly until at least `minMs` passed and `minOps` ran; returns ops and elapsed ms. */
export async function timed(minMs: number, minOps: number, fn: () => Promise<unknown> | unknown): Promise<{ ops: number; ms: number }> {
  const t0 = performance.now();
  let ops = 0;
  let ms = 0;
  while (ms < minMs || ops < minOps) {
    await fn();
    ops++;
    ms = performance.now() - t0;
  }
  return { ops, ms };
}

export interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Spawns a process with stdout and stderr on pipes (read fully, as a user's `| jq` would) and times it. */
export function runChild(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd: opts.cwd ?? REPO, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), ms: performance.now() - t0 });
    });
    // A program that exits without reading stdin (scontrol) must not crash the bench with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs a compiled bench module as a fresh node process and parses the one JSON line it prints. */
export async function runNodeJson<T>(script: string, args: string[], extraNodeArgs: string[] = []): Promise<T> {
  const r = await runChild(process.execPath, [...extraNodeArgs, path.join(REPO, 'dist', 'bench', script), ...args]);
  if (r.code !== 0) throw new Error(`${script} ${args.join(' ')} exited ${r.code ?? r.signal}: ${r.stderr.trim()}`);
  const last = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as T;
}
