import * as fs from 'node:fs';
import * as path from 'node:path';
import { init, restoreState, submit, validateState } from '../../src/index.js';
import { compactJson } from '../../src/log/canonical.js';
import type { State } from '../../src/model/state.js';
import type { LogRecord } from '../../src/model/types.js';
import { TEMP_NAME } from '../../src/store/atomic.js';
import { readConfig } from '../../src/store/config.js';
import { interventionLines } from '../../src/store/derived.js';
import { type FsLayer, realFs } from '../../src/store/fsio.js';
import { LOG_START, scanLog } from '../../src/store/logfile.js';
import { StatePaths } from '../../src/store/paths.js';
import { rebuildDerived } from '../../src/store/repair.js';
import { workstreamDoc } from '../../src/store/snapshot.js';
import { Store } from '../../src/store/store.js';
import { Collector, errText, FAST_LOCK, type Figures, logRecords, removeDir, tempDir, type TortureOptions } from './common.js';
import { CrashFs } from './crashfs.js';
import { Rng } from './prng.js';
import { randomSpec, steppingClock, workloadStep } from './workload.js';

const CONFIG = { ...FAST_LOCK, backup_interval_ms: 0, backups_keep: 4, checkpoints_keep: 3, snapshot_interval_ms: 0 };

interface Image {
  dir: string;
  acked: Map<number, string>;
  label: string;
  index: number;
  /** Offsets of the log where a write (one group-commit batch) ended. */
  batchEnds: Set<number>;
}

interface Tally {
  images: number;
  lost: number;
  unopenable: number;
  mismatches: number;
  tornDerived: number;
  tornTails: number;
  unackedKept: number;
  writesGarbled: number;
  namesDropped: number;
  interventionsBehind: number;
  halfBatches: number;
  midBatch: number;
}

/**
 * Suite 2, simulated power loss. Each workload runs a random mix of commands (open, commits — some
 * grouped —, derived-file writes, close; `submit` and `restore-state` through the API) with the
 * crash-simulating layer of crashfs.ts, twice: once to count its mutating calls, once to cut power
 * at chosen calls. At each cut a disk image is built (unsynced writes kept, dropped, cut short or
 * garbled; unsynced names kept or dropped) and later checked with the real layer:
 *   - every record the workload saw acknowledged is in the log with the same crc;
 *   - no derived file (current.json, checkpoints, archive, backups, metrics) is torn: the atomic
 *     replace protocol must leave the old or the new version, never a mix;
 *   - the log has no mid-log damage and the state opens (a torn tail is fine);
 *   - snapshot + replay gives exactly the state a full replay of the log gives;
 *   - after recovery (open + write, or restore-state --from-transitions) validate-state is clean.
 */
export async function powerLoss(opts: TortureOptions): Promise<Figures> {
  const c = new Collector('power-loss', opts);
  const rng = new Rng(opts.seed);
  const workloads = opts.size === 'full' ? 100 : 10;
  const perWorkload = opts.size === 'full' ? 100 : 100;
  const t: Tally = { images: 0, lost: 0, unopenable: 0, mismatches: 0, tornDerived: 0, tornTails: 0, unackedKept: 0, writesGarbled: 0, namesDropped: 0, interventionsBehind: 0, halfBatches: 0, midBatch: 0 };
  let crashPoints = 0;
  for (let w = 0; w < workloads; w++) {
    const wr = rng.fork(w);
    const root = tempDir('power');
    try {
      const base = path.join(root, 'base');
      fs.mkdirSync(base);
      const stateDir = path.join(base, '.state');
      init({ stateDir });
      fs.writeFileSync(path.join(stateDir, 'config.json'), JSON.stringify(CONFIG));
      await history(stateDir, wr.fork(1), wr.int(0, 40));
      const plan = { seed: wr.int(0, 2 ** 31), commands: wr.int(4, 12) };

      // Pass 1: how many mutating calls does the workload make?
      const countCopy = path.join(root, 'count');
      fs.cpSync(base, countCopy, { recursive: true });
      const counter = new CrashFs(countCopy);
      await workload(counter, path.join(countCopy, '.state'), plan, new Map());
      const total = counter.mutations;
      crashPoints += total;

      // Pass 2: the same workload, with power cuts at chosen calls.
      const points = Array.from({ length: perWorkload }, () => wr.int(1, total + 1)).sort((a, b) => a - b);
      const live = path.join(root, 'live');
      fs.cpSync(base, live, { recursive: true });
      const crash = new CrashFs(live);
      const acked = new Map<number, string>();
      const images: Image[] = [];
      let next = 0;
      const cut = (index: number, label: string) => {
        while (next < points.length && points[next] === index) {
          const dir = path.join(root, `image-${next}`);
          const st = crash.materialize(dir, wr);
          t.writesGarbled += st.writesGarbled;
          t.namesDropped += st.namesDropped;
          images.push({ dir, acked: new Map(acked), label, index, batchEnds: new Set(crash.writeEnds.get(path.join('.state', 'transitions.jsonl')) ?? [0]) });
          next++;
        }
      };
      crash.onMutation = cut;
      await workload(crash, path.join(live, '.state'), plan, acked);
      crash.onMutation = null;
      cut(total + 1, 'after the last call'); // points past the end: a cut after everything
      while (next < points.length) cut(points[next]!, 'after the last call');
      if (crash.crossFolderRenames > 0) c.fail(`workload ${w}: the store renamed across folders ${crash.crossFolderRenames} times`);

      for (const [i, img] of images.entries()) {
        await checkImage(img, i % 2 === 0 ? 'write' : 'restore', t, c, `workload ${w} (seed ${plan.seed}), cut ${img.index} before ${img.label}`);
        removeDir(img.dir);
      }
    } finally {
      removeDir(root);
    }
  }
  return c.done({
    images: t.images, workloads, 'crash points': crashPoints, lost: t.lost, unopenable: t.unopenable, 'replay mismatches': t.mismatches,
    'torn derived files': t.tornDerived, 'torn tails recovered': t.tornTails, 'unacked records kept': t.unackedKept,
    'interventions.log behind (repaired)': t.interventionsBehind, 'logs ending inside a group-commit write': t.midBatch, 'half-applied decisions': t.halfBatches,
  });
}

/** Some history with the real layer, so images hold archives, checkpoints and backups. */
async function history(stateDir: string, rng: Rng, commits: number): Promise<void> {
  if (commits === 0) return;
  const clock = steppingClock(Date.UTC(2024, 0, 1));
  const store = await Store.open(stateDir, { clock });
  for (let i = 0; i < commits; i++) {
    await store.commit(workloadStep(rng, clock));
    if (rng.chance(0.2)) await store.writeDerived();
  }
  await store.close();
}

/** The workload: deterministic for a plan, so both passes make the same calls. */
async function workload(io: FsLayer, stateDir: string, plan: { seed: number; commands: number }, acked: Map<number, string>): Promise<void> {
  const rng = new Rng(plan.seed);
  const clock = steppingClock(Date.UTC(2025, 0, 1));
  const ack = (rs: LogRecord[]) => { for (const r of rs) acked.set(r.seq, r.crc); };
  for (let i = 0; i < plan.commands; i++) {
    const kind = rng.weighted([[60, 'commits'], [15, 'submit'], [10, 'restore'], [15, 'long']] as const);
    if (kind === 'submit') {
      const spec = randomSpec(rng, `sub-${i}-${rng.int(0, 999_999)}`, { note: '$(touch x)' });
      ack((await submit({ stateDir, fs: io, clock, spec })).records);
      continue;
    }
    if (kind === 'restore') {
      await restoreState({ stateDir, fs: io, clock, fromTransitions: path.join(stateDir, 'transitions.jsonl'), operator: 'torture', reason: 'power-loss workload' });
      continue;
    }
    const store = await Store.open(stateDir, { fs: io, clock });
    const n = kind === 'long' ? rng.int(5, 15) : rng.int(1, 5);
    for (let k = 0; k < n; k++) {
      if (rng.chance(0.25)) {
        const m = rng.int(2, 4);
        const all = await Promise.all(Array.from({ length: m }, () => store.commit(workloadStep(rng, clock))));
        for (const rs of all) ack(rs);
      } else ack(await store.commit(workloadStep(rng, clock)));
      if (kind === 'long' && rng.chance(0.4)) await store.writeDerived();
    }
    await store.close();
  }
}

/** A state as plain JSON: every workstream (active or archived), workers, resources, scheduler, metrics. */
export function fingerprint(s: State): string {
  const ws: Record<string, unknown> = {};
  for (const id of [...s.workstreams.keys()].sort()) ws[id] = workstreamDoc(s, id);
  return compactJson({
    seq: s.seq, crc: s.crc, workstreams: ws,
    workers: Object.fromEntries(s.workers), resources: Object.fromEntries(s.resources), scheduler: s.sched, metrics: s.metricsData,
  });
}

const DERIVED = /^(current\.json|metrics\.json|config\.json|checkpoints\/.*\.json|archive\/.*\.json|backups\/.*\.json)$/;

function derivedFiles(stateDir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const n of fs.readdirSync(d)) {
      const p = path.join(d, n);
      const r = rel ? `${rel}/${n}` : n;
      if (fs.lstatSync(p).isDirectory()) walk(p, r);
      else if (!TEMP_NAME.test(n) && DERIVED.test(r)) out.push(r);
    }
  };
  if (fs.existsSync(stateDir)) walk(stateDir, '');
  return out;
}

/**
 * The layer images are checked with: the real one, except that fsync and fdatasync return at once.
 * The image is already "after the crash"; syncing the checker's own writes proves nothing and costs
 * most of the suite's time.
 */
const io: FsLayer = { ...realFs, fsyncSync: () => {}, fdatasyncSync: () => {} };

async function checkImage(img: Image, recovery: 'write' | 'restore', t: Tally, c: Collector, where: string): Promise<void> {
  t.images++;
  const stateDir = path.join(img.dir, '.state');
  for (const rel of derivedFiles(stateDir)) {
    try {
      JSON.parse(fs.readFileSync(path.join(stateDir, rel), 'utf8'));
    } catch (e) {
      t.tornDerived++;
      c.fail(`${where}: ${rel} is torn (${errText(e)})`);
    }
  }
  const log = logRecords(path.join(stateDir, 'transitions.jsonl'));
  let lost = 0;
  for (const [seq, crc] of img.acked) if (log.crcs.get(seq) !== crc) lost++;
  if (lost > 0) {
    t.lost += lost;
    c.fail(`${where}: ${lost} acknowledged record(s) lost (log ends at seq ${log.lastSeq}, acked up to ${Math.max(...img.acked.keys())})`);
  }
  const maxAcked = Math.max(0, ...img.acked.keys());
  if (log.lastSeq > maxAcked) t.unackedKept += log.lastSeq - maxAcked;
  if (log.problem?.kind === 'corrupt') {
    t.unopenable++;
    c.fail(`${where}: mid-log corruption at seq ${log.problem.seq}: ${log.problem.reason}`);
    return;
  }
  if (log.problem) t.tornTails++;
  // A power cut can keep a prefix of one write. A write holds one or more decisions (group commit);
  // each decision is atomic (its first record carries batch: n and the reader sets an unfinished
  // decision aside), so a log may end between two decisions of a write, never inside one: a
  // half-applied decision would break the state's invariants (a task completed, its dependents not
  // yet queued). Such logs are counted; invariant problems in them are a failure like any other.
  const halfBatch = !img.batchEnds.has(log.endOffset);
  if (halfBatch) t.midBatch++;
  const ahead = interventionsPrefix(stateDir);
  if (ahead) c.fail(`${where}: ${ahead}`);
  let viaSnapshot: string;
  let viaLog: string;
  try {
    const a = await Store.open(stateDir, { fs: io, readOnly: true });
    viaSnapshot = fingerprint(a.stateInternal);
    await a.close();
    const b = await Store.open(stateDir, { fs: io, readOnly: true, skipCurrent: true });
    viaLog = fingerprint(b.stateInternal);
    await b.close();
  } catch (e) {
    t.unopenable++;
    c.fail(`${where}: the state does not open: ${errText(e)}`);
    return;
  }
  if (viaSnapshot !== viaLog) {
    t.mismatches++;
    c.fail(`${where}: snapshot + replay differs from a full replay of the log`);
    return;
  }
  try {
    if (recovery === 'write') {
      const s = await Store.open(stateDir, { fs: io });
      await s.close();
    } else {
      await restoreState({ stateDir, fs: io, fromTransitions: path.join(stateDir, 'transitions.jsonl'), operator: 'torture' });
    }
  } catch (e) {
    t.unopenable++;
    c.fail(`${where}: recovery (${recovery}) failed: ${errText(e)}`);
    return;
  }
  let v = validateState({ stateDir, fs: io });
  if (!v.ok && v.problems.every((p) => p.code === 'INTERVENTIONS_DIFFER')) {
    // interventions.log is appended after the log's fdatasync, so a crash can leave it behind (never
    // ahead): validate-state flags it and repair-state rebuilds it. Check both.
    t.interventionsBehind++;
    await rebuildDerived(io, new StatePaths(stateDir), readConfig(io, new StatePaths(stateDir)), Date.now());
    v = validateState({ stateDir, fs: io });
  }
  if (!v.ok && v.problems.every((p) => !DERIVED_PROBLEM.test(p.code))) {
    t.halfBatches++;
    c.fail(`${where}: a half-applied decision${halfBatch ? ' (the log ends inside a write)' : ''}: ${v.problems.map((p) => `[${p.code}] ${p.message}`).join('; ')}`);
    return;
  }
  if (!v.ok) {
    t.mismatches++;
    c.fail(`${where}: validate-state after recovery (${recovery}): ${v.problems.map((p) => `[${p.code}] ${p.message}`).join('; ')}`);
  }
}

/**
 * validate-state problems about the log and the files derived from it; every other code is an
 * invariant of the replayed state (src/model/invariants.ts), which a half-applied decision breaks.
 */
const DERIVED_PROBLEM = /^(LOG|SNAPSHOT|CHECKPOINT|ARCHIVE|METRICS|INTERVENTIONS|ILLEGAL_TRANSITION_IN_LOG)_?/;

/** interventions.log must be the lines the log gives, cut at a line (plus maybe a torn last one); a message when not. */
function interventionsPrefix(stateDir: string): string | null {
  const manual: LogRecord[] = [];
  scanLog(realFs, path.join(stateDir, 'transitions.jsonl'), LOG_START, (buf, start, end) => {
    const r = JSON.parse(buf.toString('utf8', start, end)) as LogRecord;
    if (r.operator !== null && typeof r.action === 'string') manual.push(r);
  });
  const want = interventionLines(manual).join('');
  const file = path.join(stateDir, 'interventions.log');
  const have = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const whole = have.slice(0, have.lastIndexOf('\n') + 1);
  return want.startsWith(whole) ? null : 'interventions.log holds a line the log does not give (it is ahead of the log, not behind)';
}
