import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CairnError, events, exitCodeFor, init, restoreState, status, submit, validateState } from '../../src/index.js';
import { compactJson } from '../../src/log/canonical.js';
import { type FsLayer, realFs } from '../../src/store/fsio.js';
import { StatePaths } from '../../src/store/paths.js';
import { listCheckpoints } from '../../src/store/recovery-files.js';
import { replayFile } from '../../src/store/replace.js';
import { Store } from '../../src/store/store.js';
import { CLI, Collector, FAST_LOCK, type Figures, logRecords, removeDir, scratchDir, type TortureOptions, treeDiff, treeOf } from './common.js';
import { FILE_MUTATIONS, LOG_MUTATIONS, type Mutation, mutate } from './mutate.js';
import { fingerprint } from './power-loss.js';
import { Rng } from './prng.js';
import { salvageFigures, type SalvageTally } from './salvage.js';
import { steppingClock, workloadStep } from './workload.js';

type Op = 'status' | 'validate' | 'events' | 'restore-dry' | 'submit' | 'restore' | 'restore-backup' | 'open-close' | 'submit-spec';
const READ_ONLY: ReadonlySet<Op> = new Set(['status', 'validate', 'events', 'restore-dry']);
type Target = 'log' | 'current' | 'checkpoint' | 'archive' | 'backup' | 'metrics' | 'config' | 'spec';

const SPEC = {
  id: 'fuzz-submitted',
  params: { channel: 'beta', note: 'a $(touch x) `y` ; z' },
  defaults: { max_retries: 2, timeout_seconds: 600 },
  resources: { repo: { max_holders: 1 } },
  tasks: [
    { id: 'lint', command: 'npm run lint' },
    { id: 'build', command: ['npm', 'run', 'build'], depends_on: ['lint'], resources: ['repo'], critical: true, priority: 5, validate: 'test -f dist/index.js' },
    { id: 'test', command: 'npm test', depends_on: ['build'], env: { CI: '1' } },
  ],
};

interface Tally {
  iterations: number;
  opened: number;
  refused: number;
  unhandled: number;
  wroteWhenRefusing: number;
  wroteReadOnly: number;
  corruptWritten: number;
  polluted: number;
  cliRuns: number;
  cliBad: number;
  /** Damaged current.json, archive, backup and checkpoint files checked for trust. */
  damagedSnapshots: number;
  trusted: number;
}

/**
 * Suite 6, fuzz. From one realistic state (log, current.json, checkpoints, archive, backups,
 * metrics, config) and one spec, each iteration damages one file (bit flips, truncation, garbage,
 * spliced lines, huge lines, deep nesting, __proto__/constructor keys, wrong types — and for the
 * log, the same changes with the crc chain recomputed so they pass the checksum) and runs one verb
 * through the API. It must hold that:
 *   - only CairnErrors come out (anything else is "unhandled"), each with a message;
 *   - a verb that refuses (exit 2 or 3) changes nothing, and a read-only verb never changes anything;
 *   - a log with mid-log damage is never written to;
 *   - no prototype is polluted.
 *   - a damaged derived file is never trusted: when current.json, an archive file or a backup was
 *     damaged, the state loaded through it equals a full replay of the log, and a damaged checkpoint
 *     that rollback would accept holds exactly what it held before ("tampered files trusted").
 * Every 50th iteration also runs the same verb through the real CLI: exit code 0–3, and on failure a
 * message on stderr, no stack trace, never INTERNAL.
 */
export async function fuzz(opts: TortureOptions): Promise<Figures> {
  const c = new Collector('fuzz', opts);
  const rng = new Rng(opts.seed);
  const total = Number(process.env.CAIRN_FUZZ_N ?? (opts.size === 'full' ? 10_000 : 1000));
  const root = scratchDir('fuzz');
  const t: Tally = { iterations: 0, opened: 0, refused: 0, unhandled: 0, wroteWhenRefusing: 0, wroteReadOnly: 0, corruptWritten: 0, polluted: 0, cliRuns: 0, cliBad: 0, damagedSnapshots: 0, trusted: 0 };
  const byCode = new Map<string, number>();
  const slow: string[] = [];
  let salv: SalvageTally | null = null;
  try {
    const base = await baseState(root, rng.fork(1));
    const files = [...treeOf(base)].filter(([, v]) => v.startsWith('file:')).map(([k]) => k);
    const pick = (re: RegExp) => files.filter((f) => re.test(f));
    const choices: Record<Exclude<Target, 'spec'>, string[]> = {
      log: ['transitions.jsonl'], current: ['current.json'], checkpoint: pick(/^checkpoints\//), archive: pick(/^archive\//),
      backup: pick(/^backups\//), metrics: ['metrics.json'], config: ['config.json'],
    };
    const specText = Buffer.from(JSON.stringify(SPEC, null, 2));
    for (let i = 0; i < total; i++) {
      t.iterations++;
      const target = rng.weighted([[40, 'log'], [15, 'current'], [9, 'checkpoint'], [6, 'archive'], [5, 'backup'], [3, 'metrics'], [5, 'config'], [17, 'spec']] as const);
      const isLog = target === 'log';
      const m: Mutation = rng.pick(isLog ? LOG_MUTATIONS : FILE_MUTATIONS);
      const work = path.join(root, 'it');
      fs.rmSync(work, { recursive: true, force: true });
      fs.cpSync(path.dirname(base), work, { recursive: true });
      const stateDir = path.join(work, '.state');
      const specFile = path.join(work, 'spec.json');
      let file = specFile;
      if (target === 'spec') fs.writeFileSync(specFile, mutate(rng, specText, m, false));
      else {
        fs.writeFileSync(specFile, specText);
        const list = choices[target];
        if (list.length === 0) continue;
        file = path.join(stateDir, rng.pick(list));
        fs.writeFileSync(file, mutate(rng, fs.readFileSync(file), m, isLog));
      }
      const op: Op = target === 'spec' ? 'submit-spec'
        : rng.weighted([[15, 'status'], [15, 'validate'], [8, 'events'], [10, 'restore-dry'], [20, 'submit'], [12, 'restore'], [5, 'restore-backup'], [15, 'open-close']] as const);
      const where = `iteration ${i}: ${op} after ${m} of ${path.relative(work, file)}`;
      const cliCopy = i % 50 === 0 ? path.join(root, 'cli') : null;
      if (cliCopy) {
        fs.rmSync(cliCopy, { recursive: true, force: true });
        fs.cpSync(work, cliCopy, { recursive: true });
      }
      const logState = isLog ? logRecords(path.join(stateDir, 'transitions.jsonl')).problem : null;
      if (target === 'current' || target === 'archive' || target === 'backup' || target === 'checkpoint') {
        t.damagedSnapshots++;
        const trusted = await trustedTampering(target, stateDir, path.relative(stateDir, file), path.join(path.dirname(base), path.relative(work, file)));
        if (trusted) {
          t.trusted++;
          c.fail(`${where}: the damaged file was trusted: ${trusted}`);
        }
      }
      const before = treeOf(stateDir, skipLock);
      let error: unknown = null;
      const began = Date.now();
      if (process.env.CAIRN_TORTURE_VERBOSE === '2') console.log(`fuzz: ${where}`);
      try {
        await runOp(op, stateDir, specFile);
      } catch (e) {
        error = e;
      }
      const took = Date.now() - began;
      if (took > 300) slow.push(`${where}: ${took} ms`);
      const changed = treeDiff(before, treeOf(stateDir, skipLock));
      if (error === null) t.opened++;
      else if (error instanceof CairnError && error.message.length > 0) {
        t.refused++;
        byCode.set(error.code, (byCode.get(error.code) ?? 0) + 1);
        const exit = exitCodeFor(error.code);
        if ((exit === 2 || exit === 3) && changed.length > 0) {
          t.wroteWhenRefusing++;
          c.fail(`${where}: refused with ${error.code} but changed ${changed.slice(0, 5).join(' ')}`);
        }
      } else {
        t.unhandled++;
        c.fail(`${where}: unhandled ${error instanceof Error ? `${error.name}: ${error.message.slice(0, 200)} ${error.stack?.split('\n').slice(1, 4).join(' | ')}` : String(error)}`);
      }
      if (READ_ONLY.has(op) && changed.length > 0) {
        t.wroteReadOnly++;
        c.fail(`${where}: a read-only verb changed ${changed.slice(0, 5).join(' ')}`);
      }
      if (logState?.kind === 'corrupt' && !READ_ONLY.has(op) && op !== 'submit-spec' && error === null) {
        t.corruptWritten++;
        c.fail(`${where}: the log is damaged mid-way (seq ${logState.seq}) and ${op} wrote anyway`);
      }
      const proto = Object.prototype as Record<string, unknown>;
      if (proto.polluted !== undefined || Object.keys(proto).length > 0) {
        t.polluted++;
        c.fail(`${where}: Object.prototype was polluted (${Object.keys(proto).join(', ')})`);
        for (const k of Object.keys(proto)) delete proto[k];
      }
      if (cliCopy) {
        t.cliRuns++;
        const bad = runCli(op, path.join(cliCopy, '.state'), path.join(cliCopy, 'spec.json'));
        if (bad) {
          t.cliBad++;
          c.fail(`${where}: CLI ${bad}`);
        }
      }
    }
    salv = await salvageFigures(c, rng.fork(7), base, root, opts.size === 'full' ? 5000 : 500, opts.size === 'full' ? 25 : 25);
  } finally {
    removeDir(root);
  }
  const codes = [...byCode].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}=${v}`).join(' ');
  console.log(`fuzz: refusals by code: ${codes}`);
  if (process.env.CAIRN_TORTURE_VERBOSE) for (const s of slow) console.log(`fuzz: slow ${s}`);
  return c.done({
    inputs: t.iterations, 'verbs that succeeded': t.opened, 'refused with a code': t.refused, 'unhandled exceptions': t.unhandled,
    'writes while refusing': t.wroteWhenRefusing, 'writes by read-only verbs': t.wroteReadOnly, 'writes to a damaged log': t.corruptWritten,
    'prototype pollutions': t.polluted, 'CLI runs': t.cliRuns, 'bad CLI exits': t.cliBad,
    'snapshots, archives, backups and checkpoints damaged': t.damagedSnapshots, 'tampered files trusted': t.trusted,
    ...salvageCounts(salv),
  });
}

/** The repair figure: records lost per damaged log, by kind of damage (see salvage.ts). */
function salvageCounts(s: SalvageTally | null): Record<string, number> {
  if (!s) return {};
  const out: Record<string, number> = { 'damaged logs repaired': Object.values(s.logs).reduce((a, b) => a + b, 0) };
  for (const k of Object.keys(s.logs) as (keyof SalvageTally['logs'])[]) {
    out[`${k}: logs`] = s.logs[k];
    out[`${k}: records lost`] = s.lost[k];
    out[`${k}: most lost in one log`] = s.maxLost[k];
    out[`${k}: records set aside after one that no longer applied`] = s.setAside[k];
  }
  out['full repairs'] = s.fullRepairs;
  out['acknowledged states lost'] = s.statesLost;
  return out;
}

const skipLock = (rel: string) => rel === 'state.lock' || rel.startsWith('state.lock/');

async function baseState(root: string, rng: Rng): Promise<string> {
  const stateDir = path.join(root, 'base', '.state');
  fs.mkdirSync(path.dirname(stateDir));
  init({ stateDir });
  fs.writeFileSync(path.join(stateDir, 'config.json'), JSON.stringify({ ...FAST_LOCK, backup_interval_ms: 0, backups_keep: 4, checkpoints_keep: 3 }, null, 2));
  const clock = steppingClock();
  const store = await Store.open(stateDir, { clock });
  for (let i = 0; i < 60; i++) {
    await store.commit(workloadStep(rng, clock));
    if (i % 12 === 11) await store.writeDerived();
  }
  await store.close();
  await restoreState({ stateDir, fromTransitions: path.join(stateDir, 'transitions.jsonl'), operator: 'fuzz', reason: 'base state', clock });
  // Every file of the base equals a replay of its log, so "as before the damage" means "as the log says".
  const v = validateState({ stateDir });
  if (!v.ok) throw new Error(`fuzz: the base state does not validate: ${v.problems.map((p) => `[${p.code}] ${p.message}`).join('; ')}`);
  return stateDir;
}

/**
 * The real layer without fsync: the fuzz is about what cairn makes of damaged input, not about
 * durability (the power-loss suite is), and syncing every write would cost most of its time.
 */
const fs_: FsLayer = { ...realFs, fsyncSync: () => {}, fdatasyncSync: () => {} };

async function runOp(op: Op, stateDir: string, specFile: string): Promise<void> {
  const log = path.join(stateDir, 'transitions.jsonl');
  const o = { stateDir, fs: fs_ };
  switch (op) {
    case 'status': await status({ ...o, all: true }); return;
    case 'validate': validateState(o); return;
    case 'events': events(o); return;
    case 'restore-dry': await restoreState({ ...o, fromTransitions: log, dryRun: true }); return;
    case 'submit':
    case 'submit-spec': await submit({ ...o, spec: specFile }); return;
    case 'restore': await restoreState({ ...o, fromTransitions: log, operator: 'fuzz' }); return;
    case 'restore-backup': await restoreState({ ...o, fromBackup: 'latest', operator: 'fuzz' }); return;
    case 'open-close': {
      const s = await Store.open(stateDir, { fs: fs_ });
      await s.close();
    }
  }
}

/**
 * How a damaged derived file was trusted, or null. current.json, archive files and backups are
 * trusted when a state loaded through them (a backup named as the only snapshot, as restore-state
 * --from-backup does) differs from a full replay of the log. A checkpoint is trusted when the reader
 * rollback uses accepts it and its content is not what the undamaged file held.
 */
async function trustedTampering(target: 'current' | 'archive' | 'backup' | 'checkpoint', stateDir: string, rel: string, original: string): Promise<string | null> {
  try {
    if (target === 'checkpoint') {
      const m = /^checkpoints\/(?:(.+)_latest|(.+)\/\d+)\.json$/.exec(rel)!;
      const entry = listCheckpoints(realFs, new StatePaths(stateDir), m[1] ?? m[2]!).find((e) => e.file === rel);
      if (!entry?.doc) return null;
      return compactJson(entry.doc) === compactJson(JSON.parse(fs.readFileSync(original, 'utf8'))) ? null : `rollback would use ${rel} (seq ${entry.seq})`;
    }
    const full = replayFile(realFs, path.join(stateDir, 'transitions.jsonl')).state;
    const opened = target === 'backup'
      ? await Store.open(stateDir, { readOnly: true, snapshotFile: path.join(stateDir, rel) })
      : await Store.open(stateDir, { readOnly: true });
    if (opened.source === 'log' || fingerprint(opened.stateInternal) === fingerprint(full)) return null;
    return `the state loaded from ${opened.source} differs from a replay of the log`;
  } catch {
    return null; // refused: not trusted
  }
}

/** Runs the verb through bin/cairn.js; a description of what is wrong, or null. */
function runCli(op: Op, stateDir: string, specFile: string): string | null {
  const log = path.join(stateDir, 'transitions.jsonl');
  const args: Record<Op, string[]> = {
    status: ['status', '--json'],
    validate: ['validate-state'],
    events: ['events'],
    'restore-dry': ['restore-state', '--from-transitions', log, '--dry-run'],
    submit: ['submit', specFile],
    'submit-spec': ['submit', specFile],
    restore: ['restore-state', '--from-transitions', log, '--yes'],
    'restore-backup': ['restore-state', '--from-backup', 'latest', '--yes'],
    'open-close': ['submit', specFile],
  };
  const r = spawnSync(process.execPath, [CLI, ...args[op], '--state-dir', stateDir], { encoding: 'utf8', timeout: 60_000, maxBuffer: 256 * 1024 * 1024, env: { ...process.env, CAIRN_DEBUG: '' } });
  if (r.status === null) return `did not exit (${r.signal})`;
  if (![0, 1, 2, 3].includes(r.status)) return `exited ${r.status}: ${r.stderr.trim().slice(0, 300)}`;
  if (/\n\s+at .+:\d+:\d+\)?$/m.test(r.stderr)) return `printed a stack trace: ${r.stderr.trim().slice(0, 300)}`;
  if (/error \[INTERNAL\]/.test(r.stderr)) return `failed with INTERNAL: ${r.stderr.trim().slice(0, 300)}`;
  if (r.status !== 0 && !/error \[[A-Z_]+\]: \S/.test(r.stderr) && !(op === 'validate' && r.status === 1)) return `exited ${r.status} without a message: ${r.stderr.trim().slice(0, 300)}`;
  return null;
}
