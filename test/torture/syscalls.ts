import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { init } from '../../src/index.js';
import { Collector, type Figures, fixture, removeDir, tempDir, type TortureOptions } from './common.js';

/** One traced system call, in the order strace saw it start. */
export interface Call {
  pid: number;
  name: string;
  args: string;
  ret: string;
}

const TRACED = 'openat,open,creat,write,pwrite64,writev,pwritev,fsync,fdatasync,rename,renameat,renameat2,close,ftruncate,mkdir,mkdirat';

/** Parses `strace -f -y` output, joining `<unfinished ...>` / `<... resumed>` halves. */
export function parseTrace(text: string): Call[] {
  const calls: Call[] = [];
  const open = new Map<number, { at: number; head: string }>();
  const finish = (pid: number, line: string, at: number | null) => {
    const m = /^(\w+)\((.*)\)\s+=\s+(.*)$/s.exec(line);
    if (!m) return;
    const call = { pid, name: m[1]!, args: m[2]!, ret: m[3]! };
    if (at === null) calls.push(call);
    else calls[at] = call;
  };
  for (const raw of text.split('\n')) {
    const m = /^(\d+)\s+(.*)$/.exec(raw);
    if (!m) continue;
    const pid = Number(m[1]);
    const body = m[2]!;
    if (body.endsWith('<unfinished ...>')) {
      calls.push({ pid, name: '?', args: '', ret: '' });
      open.set(pid, { at: calls.length - 1, head: body.slice(0, -'<unfinished ...>'.length).trimEnd() });
      continue;
    }
    const r = /^<\.\.\. (\w+) resumed>(.*)$/s.exec(body);
    if (r) {
      const o = open.get(pid);
      open.delete(pid);
      if (o) finish(pid, o.head + r[2]!, o.at);
      continue;
    }
    finish(pid, body, null);
  }
  return calls.filter((c) => c.name !== '?');
}

/** The path strace -y printed for the call's first argument (an fd), if any. */
function fdPath(c: Call): string | null {
  return /^-?\d+<([^>]*)>/.exec(c.args)?.[1] ?? null;
}

function strings(c: Call): string[] {
  return [...c.args.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!);
}

function isSync(c: Call): boolean {
  return c.name === 'fsync' || c.name === 'fdatasync';
}

function isWrite(c: Call): boolean {
  return c.name === 'write' || c.name === 'pwrite64' || c.name === 'writev' || c.name === 'pwritev';
}

function marker(c: Call): string | null {
  if (c.name !== 'write' || !/^1</.test(c.args)) return null;
  return strings(c)[0]?.replace(/\\n$/, '') ?? null;
}

export interface CheckResult {
  replaces: number;
  commits: number;
  violations: string[];
}

/**
 * Checks the durability protocol in a trace:
 *   - every rename of a temp file over a target: the temp was created with O_CREAT|O_EXCL (mode 0600)
 *     in the target's own folder, its data was fsynced after its last write and before the rename,
 *     and the folder was fsynced after the rename, before the program reported anything more;
 *   - the log is opened O_APPEND; between a commit's start marker and its success marker every log
 *     write is followed by an fdatasync (or fsync) of the log before the next write and before the
 *     marker; three concurrent commits take fewer than three writes (group commit);
 *   - a torn tail cut off the log is synced before the store reports it open.
 */
export function checkTrace(calls: Call[], stateDir: string): CheckResult {
  const v: string[] = [];
  const log = path.join(stateDir, 'transitions.jsonl');
  const markers = calls.map((c, i) => ({ i, m: marker(c) })).filter((x) => x.m !== null) as { i: number; m: string }[];
  const nextMarkerAfter = (i: number) => markers.find((x) => x.i > i)?.i ?? calls.length;
  let replaces = 0;
  calls.forEach((c, i) => {
    if (!/^rename/.test(c.name)) return;
    const [from, to] = strings(c);
    if (!from || !to || !/\.tmp-\d+-[0-9a-f]{8}$/.test(from)) return;
    replaces++;
    const what = path.relative(stateDir, to);
    if (path.dirname(from) !== path.dirname(to)) v.push(`${what}: temp file ${from} is not in the target's folder`);
    const created = calls.findIndex((o, j) => j < i && /^open/.test(o.name) && strings(o)[0] === from);
    if (created < 0) v.push(`${what}: no open of the temp file before its rename`);
    else {
      const a = calls[created]!.args;
      if (!/O_CREAT/.test(a) || !/O_EXCL/.test(a)) v.push(`${what}: temp file not created exclusively (${a})`);
      if (!/, 0600\b/.test(a)) v.push(`${what}: temp file not created 0600 (${a})`);
    }
    let lastWrite = -1;
    calls.forEach((o, j) => { if (j < i && isWrite(o) && fdPath(o) === from) lastWrite = j; });
    const synced = calls.some((o, j) => j > lastWrite && j < i && isSync(o) && fdPath(o) === from);
    if (!synced) v.push(`${what}: data not fsynced between the last write and the rename`);
    const dir = path.dirname(to);
    const until = nextMarkerAfter(i);
    const dirSynced = calls.some((o, j) => j > i && j < until && o.name === 'fsync' && fdPath(o) === dir);
    if (!dirSynced) v.push(`${what}: folder ${dir} not fsynced after the rename (before the next report)`);
  });

  const logOpens = calls.filter((c) => /^open/.test(c.name) && strings(c)[0] === log && /O_WRONLY|O_RDWR/.test(c.args));
  if (logOpens.length === 0) v.push('the log was never opened for writing');
  for (const o of logOpens) if (!/O_APPEND/.test(o.args)) v.push(`the log was opened for writing without O_APPEND (${o.args})`);

  let commits = 0;
  const section = (start: string, end: RegExp, most: number) => {
    const s = markers.find((x) => x.m === start);
    const e = markers.find((x) => end.test(x.m) && (!s || x.i > s.i));
    if (!s || !e) {
      v.push(`markers ${start} … ${end.source} not found in the trace`);
      return;
    }
    commits++;
    const writes = calls.map((c, j) => ({ c, j })).filter(({ c, j }) => j > s.i && j < e.i && isWrite(c) && fdPath(c) === log);
    if (writes.length === 0) v.push(`${e.m}: no write to the log before success was reported`);
    if (writes.length > most) v.push(`${e.m}: ${writes.length} log writes for ${most === 1 ? 'one commit' : 'three grouped commits'}`);
    writes.forEach(({ j }, k) => {
      const stop = k + 1 < writes.length ? writes[k + 1]!.j : e.i;
      if (!calls.some((o, x) => x > j && x < stop && isSync(o) && fdPath(o) === log)) {
        v.push(`${e.m}: a log write was not fdatasynced before ${k + 1 < writes.length ? 'the next write' : 'success was reported'}`);
      }
    });
  };
  section('BEFORE-COMMIT', /^COMMITTED/, 1);
  section('BEFORE-GROUP', /^GROUP/, 2);

  const opened = markers.find((x) => x.m === 'OPENED');
  const cut = calls.findIndex((c) => c.name === 'ftruncate' && fdPath(c) === log);
  if (cut < 0) v.push('the torn tail was not cut off the log');
  else if (!opened || !calls.some((o, j) => j > cut && j < opened.i && isSync(o) && fdPath(o) === log)) v.push('the cut of the torn tail was not synced before the store reported it open');
  return { replaces, commits, violations: v };
}

/** Whether strace can trace here: null when it can, else why not. */
function straceProblem(): string | null {
  const r = spawnSync('strace', ['-f', '-qq', '-e', 'trace=getpid', '-o', '/dev/null', 'true'], { encoding: 'utf8' });
  if (r.error) return `strace is not installed (${(r.error as NodeJS.ErrnoException).code ?? r.error.message})`;
  if (r.status !== 0) return `strace cannot trace here: ${r.stderr.trim().split('\n')[0]}`;
  return null;
}

/**
 * Suite 3, syscall order. Runs test/fixtures/torture/sys-writer.ts under `strace -f -y` on a state
 * whose log ends in a torn tail: it opens the store (setting the tail aside), makes one commit, then
 * three concurrent ones, then writes every derived file, printing a marker on stdout after each step.
 * `checkTrace` asserts the durability protocol on the trace. Runs `rounds` times (CI 3, full 20).
 *
 * Without strace the suite is skipped with a message, except under CI (CI=true), where that is a
 * failure: CI must install strace (.ci/run).
 */
export async function syscalls(opts: TortureOptions): Promise<Figures> {
  const c = new Collector('syscalls', opts);
  const problem = straceProblem();
  if (problem) {
    if (process.env.CI === 'true') {
      c.fail(`${problem}; CI must install strace (apt-get install -y strace in .ci/run)`);
      return c.done({ traces: 0, violations: 1 });
    }
    return c.done({}, `${problem}; install strace to run it`);
  }
  const rounds = opts.size === 'full' ? 20 : 3;
  let replaces = 0;
  let commits = 0;
  let violations = 0;
  let calls = 0;
  for (let k = 0; k < rounds; k++) {
    const root = tempDir('strace');
    try {
      const stateDir = path.join(root, '.state');
      init({ stateDir });
      fs.appendFileSync(path.join(stateDir, 'transitions.jsonl'), '{"seq":1,"id":"01TORN","ts":"2025');
      const trace = path.join(root, 'trace.txt');
      const r = spawnSync('strace', ['-f', '-qq', '-y', '-s', '96', '-e', `trace=${TRACED}`, '-o', trace, process.execPath, fixture('sys-writer'), stateDir], { encoding: 'utf8', timeout: 120_000 });
      if (r.status !== 0) {
        c.fail(`round ${k}: the traced writer failed (${r.status ?? r.signal}): ${r.stderr.trim().slice(0, 400)}`);
        violations++;
        continue;
      }
      const parsed = parseTrace(fs.readFileSync(trace, 'utf8'));
      calls += parsed.length;
      const res = checkTrace(parsed, fs.realpathSync(stateDir));
      replaces += res.replaces;
      commits += res.commits;
      violations += res.violations.length;
      for (const m of res.violations) c.fail(`round ${k}: ${m}`);
      if (res.replaces < 5) c.fail(`round ${k}: only ${res.replaces} atomic replaces traced`);
    } finally {
      removeDir(root);
    }
  }
  return c.done({ traces: rounds, 'syscalls parsed': calls, 'atomic replaces checked': replaces, 'commit reports checked': commits, violations });
}
