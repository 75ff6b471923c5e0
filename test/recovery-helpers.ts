// Shared by the recovery scenario tests: a fresh state folder, the real CLI, fixture programs, and
// a way to build a situation from records when a real run cannot produce it on cue.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { decide, type Command } from '../src/model/decide.js';
import { parseSpec } from '../src/model/spec.js';
import type { LogRecord } from '../src/model/types.js';
import { parseStat } from '../src/runner/proc.js';
import { processStartTime } from '../src/runner/kill.js';
import { validateRecord } from '../src/schemas/validate.js';
import { initState } from '../src/store/init.js';
import { Store } from '../src/store/store.js';
import { cairnSync } from './helpers/cli-sync.js';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const BIN = join(ROOT, 'bin/cairn.js');
export const fixture = (name: string): string => join(ROOT, 'test/fixtures', name);
export const node = process.execPath;

/** A temp folder with an initialized state folder in it; removed by `cleanup`. */
export function tempState(): { dir: string; state: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-recovery-'));
  const state = join(dir, '.state');
  initState(state);
  return { dir, state, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface CliResult {
  code: number;
  out: string;
  err: string;
  json: <T = Record<string, any>>() => T;
}

/**
 * Runs `cairn <args> --state-dir <state> --operator alice` as an operator would (stdin not a
 * terminal), with the test's environment and cwd; warm unless it must be a fresh process (cairnSync).
 */
export function cli(state: string, args: string[], env: Record<string, string> = {}): CliResult {
  const keep = { CAIRN_STATE_DIR: process.env.CAIRN_STATE_DIR, CAIRN_OPERATOR: process.env.CAIRN_OPERATOR };
  const r = cairnSync([...args, '--state-dir', state, '--operator', 'alice'], { cwd: process.cwd(), env: { ...keep, ...env } });
  return { code: r.code ?? -1, out: r.stdout, err: r.stderr, json: () => JSON.parse(r.stdout) };
}

/** Runs a scripts/<name> executable the same way. */
export function script(state: string, name: string, args: string[]): CliResult {
  const r = spawnSync(join(ROOT, 'scripts', name), [...args, '--state-dir', state, '--operator', 'alice'], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr, json: () => JSON.parse(r.stdout) };
}

/** Writes a spec file into `dir` and returns its path. */
export function specFile(dir: string, spec: Record<string, unknown>): string {
  const file = join(dir, `${String(spec.id)}.json`);
  writeFileSync(file, JSON.stringify(spec));
  return file;
}

/** `cairn run <spec>` to the end (the workstream completes or fails). */
export function runSpec(state: string, dir: string, spec: Record<string, unknown>): CliResult {
  return cli(state, ['run', specFile(dir, spec), '--workers', '2', '--json']);
}

/** A task that exits 3 / sleeps / succeeds, as spec commands. */
export const cmd = {
  fail: () => [node, fixture('exit-3.mjs')],
  sleep: (ms: number) => [node, fixture('sleep.mjs'), String(ms)],
  ok: () => [node, '-e', ''],
};

/** Every record of the log. */
export function records(state: string): LogRecord[] {
  const r = cli(state, ['events', '--json']);
  assert.equal(r.code, 0, r.err);
  return r.json<{ records: LogRecord[] }>().records;
}

/** `status --json --all`: task states by workstream/task. */
export function status(state: string): { ws: Record<string, string>; tasks: Record<string, { state: string; retry_count: number; cancel_trigger: string | null; max_retries: number; [k: string]: unknown }>; doc: Record<string, any> } {
  const r = cli(state, ['status', '--json', '--all']);
  assert.equal(r.code, 0, r.err);
  const doc = r.json();
  const ws: Record<string, string> = {};
  const tasks: Record<string, any> = {};
  for (const w of doc.archived) ws[w.id] = w.state;
  for (const w of doc.workstreams) {
    ws[w.id] = w.state;
    for (const t of w.tasks) tasks[`${w.id}/${t.id}`] = t;
  }
  for (const w of doc.archived) {
    const one = cli(state, ['status', '--json', '--workstream-id', w.id]).json();
    for (const t of one.workstreams[0].tasks) tasks[`${w.id}/${t.id}`] = t;
  }
  return { ws, tasks, doc };
}

export function stateOf(state: string, key: string): string {
  return status(state).tasks[key]!.state;
}

/** The lines of interventions.log. */
export function interventions(state: string): string[] {
  const f = join(state, 'interventions.log');
  return existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n').filter(Boolean) : [];
}

/** Asserts a tool's manual action: one batch of records by alice with the tool as action, warning severity, one interventions line. */
export function assertManualAction(state: string, action: string, recs: LogRecord[], linesBefore: number): void {
  assert.ok(recs.length > 0, 'records were written');
  for (const r of recs) {
    assert.equal(r.operator, 'alice');
    assert.equal(r.action, action);
    assert.ok(['warning', 'error', 'critical'].includes(r.severity), `${r.type} has severity ${r.severity}`);
    const v = validateRecord(r);
    assert.ok(v.ok, `${r.type} matches its schema: ${JSON.stringify(!v.ok && v.errors)}`);
  }
  assert.ok(recs.some((r) => r.severity === 'warning'));
  const ts = new Set(recs.map((r) => r.ts));
  assert.equal(ts.size, 1, 'one batch');
  const lines = interventions(state);
  assert.equal(lines.length, linesBefore + 1, 'one interventions.log line');
  const last = lines.at(-1)!;
  assert.match(last, new RegExp(`operator="alice" action=${action} `));
  assert.match(last, new RegExp(`seq=${recs[0]!.seq}${recs.length > 1 ? `-${recs.at(-1)!.seq}` : ''}$`));
}

/** Records appended after `seq`. */
export function since(state: string, seq: number): LogRecord[] {
  return records(state).filter((r) => r.seq > seq);
}

export function lastSeq(state: string): number {
  return records(state).at(-1)?.seq ?? 0;
}

/** Builds a situation from core commands, as the scheduler would record them (no scheduler process). */
export async function given(state: string, cmds: (Command | ((s: Store) => Command))[]): Promise<void> {
  const store = await Store.open(state);
  try {
    for (const c of cmds) await store.commit((s) => decide(s, typeof c === 'function' ? c(store) : c, { now: Date.now() }));
  } finally {
    await store.close();
  }
}

export function submitCmd(spec: Record<string, unknown>): Command {
  return { kind: 'submit', spec: parseSpec(spec, { defaultId: () => 'ws-x' }) };
}

/** A real process in its own group standing in for a task a dead scheduler left running. */
export function orphanProcess(ms = 60_000): { child: ChildProcess; pid: number; start: string | null } {
  const child = spawn(node, [fixture('sleep.mjs'), String(ms)], { detached: true, stdio: 'ignore' });
  return { child, pid: child.pid!, start: processStartTime(child.pid!) };
}

/** kill(pid, 0), except that a zombie counts as dead. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const f = `/proc/${pid}/stat`;
  const st = existsSync(f) ? parseStat(readFileSync(f, 'utf8')) : null;
  return st === null ? !existsSync('/proc/self/stat') : st.state !== 'Z';
}

export const startTask = (ws: string, task: string, worker: string, p: { pid: number; start: string | null } | null): Command => ({
  kind: 'task_start', workstream_id: ws, task_id: task, worker_id: worker, pid: p?.pid ?? null, pgid: p?.pid ?? null, process_start: p?.start ?? null, scheduler_id: 'dead-scheduler', deadline: null,
});

export const startWorker = (id: string): Command => ({ kind: 'worker_start', worker_id: id, pid: 999_999, scheduler_id: 'dead-scheduler' });

export const outcome = (ws: string, task: string, attempt: number, exit: number): Command => ({
  kind: 'task_outcome', workstream_id: ws, task_id: task, attempt, phase: 'command',
  outcome: { kind: 'exit', exit_code: exit, signal: null, duration_ms: 5, message: exit === 0 ? null : `exited with code ${exit}` },
});

export async function waitFor(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
