import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cairnSync } from './helpers/cli-sync.js';

/** Paths and small helpers shared by the `cairn run` scenario tests (real processes, real kills). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CAIRN = path.join(ROOT, 'bin', 'cairn.js');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');

export function tmp(prefix = 'cairn-run-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/** Writes a spec and a config (fast timings for tests) into `dir`; returns the spec's path. */
export function setup(dir: string, spec: unknown, config: Record<string, unknown> = {}): string {
  const stateDir = path.join(dir, '.state');
  cairnSync(['init', '--state-dir', stateDir], { cwd: process.cwd(), env: KEEP_ENV });
  writeFileSync(path.join(stateDir, 'config.json'), JSON.stringify({ heartbeat_ms: 100, health_timeout_ms: 2000, kill_grace_ms: 300, lock_stale_ms: 2000, lock_update_ms: 1000, ...config }));
  const file = path.join(dir, 'spec.json');
  writeFileSync(file, JSON.stringify(spec));
  return file;
}

/** What cairnSync would change in the test's environment, kept as it is. */
const KEEP_ENV = { CAIRN_STATE_DIR: process.env.CAIRN_STATE_DIR, CAIRN_OPERATOR: process.env.CAIRN_OPERATOR };

/** Runs the CLI to the end (warm unless it must be a fresh process: `run` always is; see cairnSync). */
export function cairn(dir: string, args: string[], timeoutMs = 120_000) {
  const r = cairnSync([...args, '--state-dir', path.join(dir, '.state')], { cwd: dir, env: KEEP_ENV, timeoutMs, maxBuffer: 256 * 1024 * 1024 });
  return { code: r.code, stdout: r.stdout, stderr: r.stderr };
}

/** Starts `cairn run` in the background. */
export function startRun(dir: string, args: string[]): ChildProcess {
  return spawn(process.execPath, [CAIRN, 'run', ...args, '--state-dir', path.join(dir, '.state')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function exited(p: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) resolve(p.exitCode);
    else p.once('exit', (code) => resolve(code));
  });
}

/** The JSON of `cairn <args> --json`. */
export function json<T = any>(dir: string, args: string[]): T {
  const r = cairn(dir, [...args, '--json']);
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`cairn ${args.join(' ')} printed no JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
  }
}

export function records(dir: string): any[] {
  return json<{ records: any[] }>(dir, ['events']).records;
}

/** Polls `cond` every 20 ms until it holds or `ms` pass. */
export async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (not reaped in this sandbox) is dead for our purposes.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export function node(fixture: string, ...args: string[]): string[] {
  return [process.execPath, path.join(FIXTURES, fixture), ...args];
}
