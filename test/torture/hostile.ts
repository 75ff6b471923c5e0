import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CairnError, events, init, restoreState, run, status, submit, validateState } from '../../src/index.js';
import { ID_PATTERN } from '../../src/model/ids.js';
import type { LogRecord } from '../../src/model/types.js';
import { Store } from '../../src/store/store.js';
import { CLI, Collector, errText, FAST_LOCK, type Figures, fixture, removeDir, tempDir, type TortureOptions, treeDiff, treeOf } from './common.js';
import { Rng } from './prng.js';
import { steppingClock, workloadStep } from './workload.js';

interface Tally {
  idsTried: number;
  idsMisjudged: number;
  symlinkCases: number;
  verbsRun: number;
  unhandled: number;
  writesOutside: number;
  commandsInjected: number;
  payloadsAltered: number;
  modesChecked: number;
  badModes: number;
  cliRuns: number;
  badCli: number;
}

/** Valid by the pattern but reserved by the spec schema (they could reach an object prototype). */
const RESERVED = new Set(['constructor', 'prototype']);
const FIXED_BAD_IDS = ['constructor', 'prototype', '..', '.', '../x', '../../outside/secret.txt', 'a/b', '/etc/passwd', 'a\u0000b', 'x'.repeat(129), '.hidden', '', ' ', 'a b',
  '-rf', 'ws;touch x', '$(touch x)', '`touch x`', 'ü', 'a\\b', 'a\nb', '__proto__', '~root', 'a*', 'C:\\x', '%2e%2e', 'a\u202eb'];
const FIXED_GOOD_IDS = ['CON', 'a..b', 'x'.repeat(128), '0', 'a.b-c_d'];

/**
 * Suite 7, hostile input. In a sandbox holding the state folder and an `outside/` folder (secrets,
 * a victim file, a real state folder elsewhere):
 *   - ids with `..`, `/`, NUL, control characters, 129 characters, shell syntax — as workstream,
 *     task, dependency and resource ids — are refused (BAD_ID or SCHEMA_INVALID) before anything is
 *     written, and every id matching the pattern is accepted (random ids too: CI 60, full 600);
 *   - `.state`, current.json, the log, config.json, checkpoints, the archive, backups, logs,
 *     interventions.log, metrics.json and the lock replaced by symlinks to files or folders outside:
 *     every verb either refuses with a code or replaces the link, and nothing outside changes;
 *   - params, task env, reasons and operators holding `$(touch …)`, `; touch …` and backticks are data:
 *     a real `cairn run` hands them to its tasks verbatim through the environment, and no marker
 *     file ever appears;
 *   - under umask 000 every file cairn creates is 0600 and every folder 0700.
 * "Nothing outside changes" is checked by hashing the whole sandbox except `.state` (and the output
 * folder the spec's own commands write to) before and after.
 */
export async function hostile(opts: TortureOptions): Promise<Figures> {
  const c = new Collector('hostile', opts);
  const rng = new Rng(opts.seed);
  const t: Tally = { idsTried: 0, idsMisjudged: 0, symlinkCases: 0, verbsRun: 0, unhandled: 0, writesOutside: 0, commandsInjected: 0, payloadsAltered: 0, modesChecked: 0, badModes: 0, cliRuns: 0, badCli: 0 };
  const root = tempDir('hostile');
  const marker = `pwned-${opts.seed}-${rng.int(0, 1e9)}`;
  try {
    const sandbox = path.join(root, 'sandbox');
    fs.mkdirSync(sandbox);
    const outside = makeOutside(sandbox);
    const base = await baseState(path.join(root, 'base'), rng);
    const outsideBefore = treeOf(sandbox, (r) => r === '.state' || r.startsWith('.state/') || r === 'out' || r.startsWith('out/') || r.startsWith('runstate') || r.startsWith('specs'));

    await hostileIds(sandbox, base, rng, opts.size === 'full' ? 600 : 60, t, c);
    await symlinks(sandbox, base, outside, t, c);
    await payloads(sandbox, marker, t, c);
    await modes(root, t, c);

    const after = treeOf(sandbox, (r) => r === '.state' || r.startsWith('.state/') || r === 'out' || r.startsWith('out/') || r.startsWith('runstate') || r.startsWith('specs'));
    const diff = treeDiff(outsideBefore, after);
    if (diff.length > 0) {
      t.writesOutside++;
      c.fail(`files outside .state changed: ${diff.slice(0, 10).join(' ')}`);
    }
    const found = [sandbox, process.cwd(), '/tmp', root].flatMap((d) => (fs.existsSync(d) ? fs.readdirSync(d).filter((n) => n.includes(marker)).map((n) => path.join(d, n)) : []));
    if (found.length > 0) {
      t.commandsInjected += found.length;
      c.fail(`a payload ran: ${found.join(', ')} exist`);
    }
  } finally {
    removeDir(root);
    for (const d of [process.cwd(), '/tmp']) for (const n of fs.readdirSync(d).filter((x) => x.includes(marker))) fs.rmSync(path.join(d, n), { force: true });
  }
  return c.done({
    'ids tried': t.idsTried, 'ids misjudged': t.idsMisjudged, 'symlink cases': t.symlinkCases, 'verbs run': t.verbsRun, 'CLI runs': t.cliRuns,
    'unhandled errors': t.unhandled, 'bad CLI exits': t.badCli, 'writes outside .state': t.writesOutside, 'commands injected': t.commandsInjected,
    'payloads altered': t.payloadsAltered, 'modes checked': t.modesChecked, 'wrong modes': t.badModes,
  });
}

function makeOutside(sandbox: string): { dir: string; victimJson: string; victimLog: string; secret: string; realState: string } {
  const dir = path.join(sandbox, 'outside');
  fs.mkdirSync(path.join(dir, 'dir'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'secret.txt'), 'do not touch\n');
  fs.writeFileSync(path.join(dir, 'dir', 'keep.txt'), 'keep\n');
  const realState = path.join(dir, 'real', '.state');
  fs.mkdirSync(path.dirname(realState));
  init({ stateDir: realState });
  const victimJson = path.join(dir, 'victim.json');
  fs.copyFileSync(path.join(realState, 'current.json'), victimJson);
  const victimLog = path.join(dir, 'victim.log');
  fs.writeFileSync(victimLog, 'a victim log line\n');
  return { dir, victimJson, victimLog, secret: path.join(dir, 'secret.txt'), realState };
}

/** A state with history: checkpoints, archive, backups, metrics, interventions. */
async function baseState(dir: string, rng: Rng): Promise<string> {
  const stateDir = path.join(dir, '.state');
  fs.mkdirSync(dir);
  init({ stateDir });
  fs.writeFileSync(path.join(stateDir, 'config.json'), JSON.stringify({ ...FAST_LOCK, backup_interval_ms: 0, backups_keep: 3, lock_timeout_ms: 3000 }));
  const clock = steppingClock();
  const store = await Store.open(stateDir, { clock });
  for (let i = 0; i < 50; i++) {
    await store.commit(workloadStep(rng, clock));
    if (i % 10 === 9) await store.writeDerived();
  }
  await store.close();
  await restoreState({ stateDir, fromTransitions: path.join(stateDir, 'transitions.jsonl'), operator: 'hostile', clock });
  return stateDir;
}

function freshState(sandbox: string, base: string): string {
  const stateDir = path.join(sandbox, '.state');
  fs.rmSync(stateDir, { recursive: true, force: true });
  fs.cpSync(base, stateDir, { recursive: true });
  return stateDir;
}

function spec(id: string, over: { task?: string; dep?: string; resource?: string; param?: string; env?: string } = {}): Record<string, unknown> {
  const task = over.task ?? 'build';
  const s: Record<string, unknown> = {
    id,
    params: { [over.param ?? 'channel']: 'beta' },
    tasks: [
      { id: 'lint', command: 'true' },
      { id: task, command: ['true'], depends_on: [over.dep ?? 'lint'], ...(over.resource !== undefined ? { resources: [over.resource] } : {}), env: { [over.env ?? 'MODE']: 'x' } },
    ],
  };
  if (over.resource !== undefined) s.resources = { [over.resource]: { max_holders: 1 } };
  return s;
}

function writeSpec(sandbox: string, doc: unknown): string {
  const dir = path.join(sandbox, 'specs');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `spec-${fs.readdirSync(dir).length}.json`);
  fs.writeFileSync(file, JSON.stringify(doc));
  return file;
}

function randomId(rng: Rng): string {
  const alphabet = ['a', 'Z', '0', '9', '.', '_', '-', '/', '\\', '\u0000', ' ', '$', '`', ';', '\n', '(', ')', '..', '~', 'é', '\u202e', '*', '"'];
  if (rng.chance(0.15)) return 'v'.repeat(rng.int(120, 140));
  let s = '';
  for (let n = rng.int(0, 12); n > 0; n--) s += rng.pick(alphabet);
  return s;
}

/** Ids in every position: refused iff they break the id pattern, and a refusal writes nothing. */
async function hostileIds(sandbox: string, base: string, rng: Rng, randoms: number, t: Tally, c: Collector): Promise<void> {
  const ids: string[] = [...FIXED_BAD_IDS, ...FIXED_GOOD_IDS];
  for (let i = 0; i < randoms; i++) ids.push(randomId(rng));
  const stateDir = freshState(sandbox, base);
  let n = 0;
  for (const id of ids) {
    for (const where of ['workstream', 'task', 'dep', 'resource'] as const) {
      t.idsTried++;
      n++;
      const wsId = where === 'workstream' ? id : `hostile-${n}`;
      const doc = spec(wsId, where === 'task' ? { task: id } : where === 'dep' ? { dep: id } : where === 'resource' ? { resource: id } : {});
      const valid = ID_PATTERN.test(id) && !RESERVED.has(id);
      const before = treeOf(stateDir, (r) => r.startsWith('state.lock'));
      let error: unknown = null;
      try {
        await submit({ stateDir, spec: writeSpec(sandbox, doc) });
      } catch (e) {
        error = e;
      }
      t.verbsRun++;
      const changed = treeDiff(before, treeOf(stateDir, (r) => r.startsWith('state.lock')));
      const label = `${where} id ${JSON.stringify(id)}`;
      if (error !== null && !(error instanceof CairnError)) {
        t.unhandled++;
        c.fail(`${label}: ${errText(error)}`);
        continue;
      }
      // A dependency on a valid id that is not a task of the spec is still refused (unknown task).
      const expectOk = valid && where !== 'dep' && !(where === 'workstream' && fs.existsSync(path.join(stateDir, 'archive', `${id}.json`)));
      if (expectOk && error !== null && (error as CairnError).code !== 'DUPLICATE_WORKSTREAM') {
        t.idsMisjudged++;
        c.fail(`${label}: a valid id was refused: ${errText(error)}`);
      }
      if (!valid && error === null) {
        t.idsMisjudged++;
        c.fail(`${label}: an invalid id was accepted`);
      }
      if (!valid && error instanceof CairnError && !['BAD_ID', 'SCHEMA_INVALID'].includes(error.code)) {
        t.idsMisjudged++;
        c.fail(`${label}: refused with ${error.code}, not BAD_ID or SCHEMA_INVALID`);
      }
      if (error !== null && changed.length > 0) {
        t.writesOutside++;
        c.fail(`${label}: refused but changed ${changed.slice(0, 5).join(' ')}`);
      }
    }
  }
  // Accepted odd-but-valid ids must not break later loads: the state still opens from its snapshot.
  const s = await Store.open(stateDir, { readOnly: true });
  if (s.source !== 'current.json' || s.warnings.length > 0) c.fail(`after the valid odd ids, the state loads from ${s.source}: ${s.warnings.join('; ')}`);
  const v = validateState({ stateDir });
  if (!v.ok) c.fail(`after hostile ids, validate-state: ${v.problems.map((p) => `[${p.code}] ${p.message}`).join('; ').slice(0, 400)}`);
  for (const id of ['../x', 'a/b', '..']) {
    for (const call of [() => status({ stateDir, workstreamId: id }), () => Promise.resolve(events({ stateDir, workstreamId: id }))]) {
      t.verbsRun++;
      try {
        await call();
      } catch (e) {
        if (!(e instanceof CairnError)) {
          t.unhandled++;
          c.fail(`status/events with workstream ${JSON.stringify(id)}: ${errText(e)}`);
        }
      }
    }
  }
  // A CLI sample: an id with a path in it is exit 2 with a message.
  for (const id of ['../../outside/x', 'a/b', 'x'.repeat(129)]) {
    const r = cli(sandbox, ['submit', writeSpec(sandbox, spec(id)), '--state-dir', stateDir]);
    t.cliRuns++;
    if (r.status !== 2 || !/error \[(BAD_ID|SCHEMA_INVALID)\]/.test(r.stderr)) {
      t.badCli++;
      c.fail(`CLI submit with workstream id ${JSON.stringify(id)}: exit ${r.status}, ${r.stderr.trim().slice(0, 200)}`);
    }
  }
}

type Verb = 'status' | 'submit' | 'validate' | 'restore' | 'events' | 'open-close';

async function runVerb(v: Verb, stateDir: string, sandbox: string, n: number): Promise<void> {
  const log = path.join(stateDir, 'transitions.jsonl');
  switch (v) {
    case 'status': await status({ stateDir, all: true }); return;
    case 'submit': await submit({ stateDir, spec: writeSpec(sandbox, spec(`after-link-${n}`)) }); return;
    case 'validate': validateState({ stateDir }); return;
    case 'restore': await restoreState({ stateDir, fromTransitions: log, operator: 'hostile' }); return;
    case 'events': events({ stateDir }); return;
    case 'open-close': {
      const s = await Store.open(stateDir);
      await s.close();
    }
  }
}

/** Files and folders of .state replaced by symlinks to things outside. */
async function symlinks(sandbox: string, base: string, o: ReturnType<typeof makeOutside>, t: Tally, c: Collector): Promise<void> {
  const anyWs = (dir: string) => fs.readdirSync(path.join(dir, 'checkpoints')).find((f) => f.endsWith('_latest.json'))?.replace(/_latest\.json$/, '') ?? 'none';
  const anyArchive = (dir: string) => fs.readdirSync(path.join(dir, 'archive')).find((f) => f.endsWith('.json')) ?? 'none.json';
  const cases: { name: string; link: (dir: string) => string; to: string }[] = [
    { name: '.state', link: (d) => d, to: o.realState },
    { name: 'current.json', link: (d) => path.join(d, 'current.json'), to: o.victimJson },
    { name: 'transitions.jsonl', link: (d) => path.join(d, 'transitions.jsonl'), to: o.victimLog },
    { name: 'config.json', link: (d) => path.join(d, 'config.json'), to: o.victimJson },
    { name: 'metrics.json', link: (d) => path.join(d, 'metrics.json'), to: o.victimJson },
    { name: 'interventions.log', link: (d) => path.join(d, 'interventions.log'), to: o.victimLog },
    { name: 'checkpoints/<ws>_latest.json', link: (d) => path.join(d, 'checkpoints', `${anyWs(d)}_latest.json`), to: o.victimJson },
    { name: 'checkpoints/<ws>/', link: (d) => path.join(d, 'checkpoints', anyWs(d)), to: path.join(o.dir, 'dir') },
    { name: 'checkpoints/', link: (d) => path.join(d, 'checkpoints'), to: path.join(o.dir, 'dir') },
    { name: 'archive/<ws>.json', link: (d) => path.join(d, 'archive', anyArchive(d)), to: o.victimJson },
    { name: 'archive/', link: (d) => path.join(d, 'archive'), to: path.join(o.dir, 'dir') },
    { name: 'backups/', link: (d) => path.join(d, 'backups'), to: path.join(o.dir, 'dir') },
    { name: 'logs/', link: (d) => path.join(d, 'logs'), to: path.join(o.dir, 'dir') },
    { name: 'state.lock', link: (d) => path.join(d, 'state.lock'), to: path.join(o.dir, 'dir') },
  ];
  const verbs: Verb[] = ['status', 'validate', 'events', 'submit', 'restore', 'open-close'];
  let n = 0;
  for (const k of cases) {
    for (const v of verbs) {
      n++;
      const stateDir = freshState(sandbox, base);
      const link = k.link(stateDir);
      fs.rmSync(link, { recursive: true, force: true });
      fs.symlinkSync(k.to, link);
      const outsideBefore = treeOf(o.dir);
      const realBefore = treeOf(o.realState);
      t.verbsRun++;
      let outcome = 'ok';
      try {
        await runVerb(v, stateDir, sandbox, n);
      } catch (e) {
        outcome = e instanceof CairnError ? e.code : 'UNHANDLED';
        if (!(e instanceof CairnError)) {
          t.unhandled++;
          c.fail(`symlinked ${k.name}, ${v}: ${e instanceof Error ? `${e.name}: ${e.message} ${e.stack?.split('\n')[1]?.trim()}` : String(e)}`);
        } else if (k.name === '.state' && e.code !== 'UNSAFE_PATH') c.fail(`symlinked .state, ${v}: refused with ${e.code}, not UNSAFE_PATH`);
      }
      if (process.env.CAIRN_TORTURE_VERBOSE) console.log(`hostile: symlinked ${k.name}: ${v} -> ${outcome}`);
      const diff = [...treeDiff(outsideBefore, treeOf(o.dir)), ...treeDiff(realBefore, treeOf(o.realState)).map((d) => `real/${d}`)];
      if (diff.length > 0) {
        t.writesOutside++;
        c.fail(`symlinked ${k.name}, ${v}: wrote outside .state: ${diff.slice(0, 5).join(' ')}`);
      }
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
    t.symlinkCases++;
    // One CLI run per case: a code from 0–3, a message on failure, never INTERNAL or a stack.
    const stateDir = freshState(sandbox, base);
    const link = k.link(stateDir);
    fs.rmSync(link, { recursive: true, force: true });
    fs.symlinkSync(k.to, link);
    const r = cli(sandbox, ['submit', writeSpec(sandbox, spec(`cli-link-${n}`)), '--state-dir', stateDir]);
    t.cliRuns++;
    if (r.status === null || ![0, 1, 2, 3].includes(r.status) || /error \[INTERNAL\]/.test(r.stderr) || /\n\s+at .+:\d+:\d+\)?$/m.test(r.stderr) || (r.status !== 0 && !/error \[[A-Z_]+\]: \S/.test(r.stderr))) {
      t.badCli++;
      c.fail(`CLI submit with symlinked ${k.name}: exit ${r.status}, ${r.stderr.trim().slice(0, 300)}`);
    }
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

function cli(cwd: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Shell syntax in params, env, reasons and operators is data: a real run hands it over verbatim. */
async function payloads(sandbox: string, marker: string, t: Tally, c: Collector): Promise<void> {
  const m = (s: string) => path.join(sandbox, `${marker}-${s}`);
  const values: Record<string, string> = {
    p1: `$(touch ${m('a')})`,
    p2: `; touch ${m('b')}`,
    p3: `\`touch ${m('c')}\``,
    p4: `'; touch ${m('d')}; echo '`,
    p5: `" && touch ${m('e')} && "`,
    p6: `x\ntouch ${m('f')}`,
    p7: `$(touch ${marker}-rel)`,
  };
  const out = path.join(sandbox, 'out');
  fs.mkdirSync(out, { recursive: true });
  const names = Object.keys(values);
  const printer = names.map((k) => `printf '%s\\0' "$CAIRN_PARAM_${k.toUpperCase()}"`).join('; ');
  const doc = {
    id: 'payloads',
    params: values,
    tasks: [
      { id: 'shell', command: `{ ${printer}; printf '%s\\0' "$HOSTILE_ENV"; } > '${out}/shell.bin'`, env: { HOSTILE_ENV: values.p1 } },
      { id: 'argv', command: ['/bin/sh', '-c', `printf '%s\\0' "$CAIRN_PARAM_P2" "$CAIRN_WORKSTREAM_ID" "$CAIRN_TASK_ID" > '${out}/argv.bin'`], depends_on: ['shell'] },
    ],
  };
  const runState = path.join(sandbox, 'runstate', '.state');
  fs.mkdirSync(path.dirname(runState), { recursive: true });
  const file = writeSpec(sandbox, doc);
  const cwd = process.cwd();
  process.chdir(sandbox); // a relative `touch` in a payload would land here
  try {
    t.verbsRun++;
    const r = await run({ stateDir: runState, spec: file, workers: 2, config: { ...FAST_LOCK } });
    if (r.outcome !== 'completed') c.fail(`payload run ended ${r.outcome}: ${r.notes.join('; ').slice(0, 300)}`);
  } catch (e) {
    c.fail(`payload run: ${errText(e)}`);
  } finally {
    process.chdir(cwd);
  }
  const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\0').slice(0, -1) : []);
  const shell = read(path.join(out, 'shell.bin'));
  const want = [...names.map((k) => values[k]!), values.p1!];
  if (JSON.stringify(shell) !== JSON.stringify(want)) {
    t.payloadsAltered++;
    c.fail(`params reached the shell task altered: ${JSON.stringify(shell).slice(0, 300)}`);
  }
  const argv = read(path.join(out, 'argv.bin'));
  if (JSON.stringify(argv) !== JSON.stringify([values.p2, 'payloads', 'argv'])) {
    t.payloadsAltered++;
    c.fail(`params reached the argv task altered: ${JSON.stringify(argv).slice(0, 300)}`);
  }
  // Reasons and operators through the CLI: recorded as given, never run.
  const reason = `${values.p1} ${values.p3}`;
  const operator = values.p2;
  const r = cli(sandbox, ['restore-state', '--from-transitions', path.join(runState, 'transitions.jsonl'), '--yes', '--state-dir', runState, '--reason', reason, '--operator', operator]);
  t.cliRuns++;
  if (r.status !== 0) {
    t.badCli++;
    c.fail(`CLI restore-state with a hostile reason: exit ${r.status}: ${r.stderr.trim().slice(0, 300)}`);
  }
  const recs: LogRecord[] = events({ stateDir: runState, types: ['state_restored'] }).records;
  const last = recs[recs.length - 1];
  if (!last || last.reason !== reason || last.operator !== operator) {
    t.payloadsAltered++;
    c.fail(`the hostile reason/operator was not recorded verbatim: ${JSON.stringify(last)?.slice(0, 300)}`);
  }
}

/** Under umask 000: files 0600, folders 0700, through the API (a child) and through the CLI. */
async function modes(root: string, t: Tally, c: Collector): Promise<void> {
  const dir = path.join(root, 'umask');
  fs.mkdirSync(dir);
  const stateDir = path.join(dir, '.state');
  const specFile = path.join(dir, 'spec.json');
  fs.writeFileSync(specFile, JSON.stringify({ id: 'umask-run', tasks: [{ id: 'a', command: 'echo hello' }, { id: 'b', command: ['true'], depends_on: ['a'] }] }));
  const child = spawn(process.execPath, [fixture('umask-child'), stateDir, specFile], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => { out += d.toString(); });
  const code = await new Promise<number | null>((r) => child.on('close', (x) => r(x)));
  if (code !== 0 || !out.includes('DONE')) c.fail(`umask child failed (${code}): ${err.trim().slice(0, 400)}`);
  checkModes(stateDir, 'API', t, c);

  const cliDir = path.join(root, 'umask-cli');
  fs.mkdirSync(cliDir);
  const cliState = path.join(cliDir, '.state');
  const script = 'umask 000 && "$0" "$1" init --state-dir "$2" && "$0" "$1" submit "$3" --state-dir "$2"';
  const r = spawnSync('/bin/sh', ['-c', script, process.execPath, CLI, cliState, specFile], { cwd: cliDir, encoding: 'utf8', timeout: 60_000 });
  t.cliRuns += 2;
  if (r.status !== 0) {
    t.badCli++;
    c.fail(`CLI init + submit under umask 000: exit ${r.status}: ${r.stderr.trim().slice(0, 300)}`);
  }
  checkModes(cliState, 'CLI', t, c);
}

function checkModes(stateDir: string, via: string, t: Tally, c: Collector): void {
  const walk = (p: string) => {
    const st = fs.lstatSync(p);
    t.modesChecked++;
    const mode = st.mode & 0o777;
    const want = st.isDirectory() ? 0o700 : 0o600;
    if (st.isSymbolicLink() || mode !== want) {
      t.badModes++;
      c.fail(`${via}, umask 000: ${path.relative(path.dirname(stateDir), p)} is ${st.isSymbolicLink() ? 'a symlink' : `0${mode.toString(8)}`}, not 0${want.toString(8)}`);
    }
    if (st.isDirectory()) for (const n of fs.readdirSync(p)) walk(path.join(p, n));
  };
  if (fs.existsSync(stateDir)) walk(stateDir);
  else c.fail(`${via}, umask 000: no state folder was created`);
}

