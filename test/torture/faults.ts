import * as fs from 'node:fs';
import * as path from 'node:path';
import { CairnError, exitCodeFor, init, restoreState, submit, validateState } from '../../src/index.js';
import type { LogRecord } from '../../src/model/types.js';
import { TEMP_NAME } from '../../src/store/atomic.js';
import { readConfig } from '../../src/store/config.js';
import { realFs } from '../../src/store/fsio.js';
import { LOG_START, scanLog } from '../../src/store/logfile.js';
import { StatePaths } from '../../src/store/paths.js';
import { rebuildDerived } from '../../src/store/repair.js';
import { Store } from '../../src/store/store.js';
import { Collector, errText, FAST_LOCK, type Figures, removeDir, tempDir, type TortureOptions } from './common.js';
import { type Fault, FaultFs, type FaultOp, type FaultPlan } from './faultfs.js';
import { Rng } from './prng.js';
import { randomSpec, steppingClock, workloadStep } from './workload.js';

type Operation = 'submit' | 'commits' | 'restore' | 'torn-open';
type Expect = 'reject' | 'resolve' | 'either';

interface Scenario {
  name: string;
  op: Operation;
  plan: FaultPlan;
  expect: Expect;
}

const LOG = /^transitions\.jsonl$/;
const CONFIG = { ...FAST_LOCK, backup_interval_ms: 0, backups_keep: 3, checkpoints_keep: 3 };

/** Named scenarios, always run: each fault of the issue at the place it hurts most. */
const NAMED: Scenario[] = [
  { name: 'EIO from the log fdatasync', op: 'submit', expect: 'reject', plan: { faults: [{ op: 'fdatasync', nth: 1, errno: 'EIO', file: LOG }] } },
  { name: 'EIO from the log fdatasync, then more commits on the same store', op: 'commits', expect: 'either', plan: { faults: [{ op: 'fdatasync', nth: 2, errno: 'EIO', file: LOG }] } },
  { name: 'ENOSPC in the middle of a record', op: 'submit', expect: 'reject', plan: { faults: [{ op: 'write', nth: 1, errno: 'ENOSPC', partial: true, file: LOG }] } },
  { name: 'ENOSPC in the middle of a record, and cutting it back fails', op: 'commits', expect: 'either', plan: { faults: [{ op: 'write', nth: 1, errno: 'ENOSPC', partial: true, file: LOG }, { op: 'ftruncate', nth: 1, errno: 'EIO', file: LOG }] } },
  { name: 'EIO from fsync of the current.json temp file', op: 'submit', expect: 'reject', plan: { faults: [{ op: 'fsync', nth: 1, errno: 'EIO', file: /^\.current\.json\.tmp-/ }] } },
  { name: 'ENOSPC writing a checkpoint temp file', op: 'submit', expect: 'reject', plan: { faults: [{ op: 'write', nth: 1, errno: 'ENOSPC', partial: true, file: /\.tmp-/ }] } },
  { name: 'ENOSPC creating a temp file', op: 'submit', expect: 'reject', plan: { faults: [{ op: 'create', nth: 1, errno: 'ENOSPC', file: /\.tmp-/ }] } },
  { name: 'EIO from rename over current.json', op: 'submit', expect: 'reject', plan: { faults: [{ op: 'rename', nth: 1, errno: 'EIO', file: /^current\.json$/ }] } },
  { name: 'EIO from the folder fsync after a rename', op: 'submit', expect: 'reject', plan: { faults: [{ op: 'dirsync', nth: 1, errno: 'EIO' }] } },
  { name: 'EDQUOT from the interventions.log fdatasync', op: 'restore', expect: 'either', plan: { faults: [{ op: 'fdatasync', nth: 1, errno: 'EDQUOT', file: /^interventions\.log$/ }] } },
  { name: 'EIO from the fsync that cuts a torn tail', op: 'torn-open', expect: 'reject', plan: { faults: [{ op: 'fsync', nth: 1, errno: 'EIO', file: LOG }] } },
  { name: 'ENOSPC keeping a torn tail aside', op: 'torn-open', expect: 'reject', plan: { faults: [{ op: 'write', nth: 1, errno: 'ENOSPC', partial: true, file: /torn/ }] } },
  { name: 'short writes everywhere', op: 'commits', expect: 'resolve', plan: { faults: [], shortWrites: true } },
  { name: 'EINTR on 30% of writes', op: 'commits', expect: 'resolve', plan: { faults: [], eintr: 0.3 } },
  { name: 'short writes and EINTR on a submit', op: 'submit', expect: 'resolve', plan: { faults: [], shortWrites: true, eintr: 0.3 } },
];

interface Tally {
  runs: number;
  faultsFired: number;
  failedCleanly: number;
  succeeded: number;
  notDurable: number;
  unclean: number;
  unopenable: number;
  mismatches: number;
  tempsLeft: number;
  failedAfterCommit: number;
  interventionsBehind: number;
}

/**
 * Suite 4, faults. Each run starts from a fresh state with some history, performs one operation
 * (submit, a series of commits on one store with close, restore-state, or an open that must set a
 * torn tail aside) through a layer that fails on purpose, and checks:
 *   - a failure is a CairnError with a clear message (naming the errno) and a non-zero exit code;
 *     anything else escaping is "unclean";
 *   - nothing reported as done was not synced first (the log's synced size covers every record a
 *     resolved commit returned); a submit or restore-state that fails after its records were synced
 *     says they are committed;
 *   - no temp file is left behind; a failed append leaves no partial record;
 *   - the next open with the real layer works and, after it wrote, validate-state is clean.
 * The named scenarios run first; then random faults (CI 300 runs, full 3,000).
 */
export async function faults(opts: TortureOptions): Promise<Figures> {
  const c = new Collector('faults', opts);
  const rng = new Rng(opts.seed);
  const t: Tally = { runs: 0, faultsFired: 0, failedCleanly: 0, succeeded: 0, notDurable: 0, unclean: 0, unopenable: 0, mismatches: 0, tempsLeft: 0, failedAfterCommit: 0, interventionsBehind: 0 };
  const random = opts.size === 'full' ? 3000 : 300;
  const root = tempDir('faults');
  try {
    for (const s of NAMED) await runScenario(root, s, rng.fork(t.runs), t, c);
    for (let i = 0; i < random; i++) await runScenario(root, randomScenario(rng), rng.fork(t.runs), t, c);
  } finally {
    removeDir(root);
  }
  return c.done({
    runs: t.runs, 'faults fired': t.faultsFired, 'failed cleanly': t.failedCleanly, succeeded: t.succeeded,
    'reported done but not synced': t.notDurable, 'unclean failures': t.unclean, unopenable: t.unopenable,
    'replay mismatches': t.mismatches, 'temp files left': t.tempsLeft, 'failed after commit (records kept)': t.failedAfterCommit,
    'interventions.log behind (repaired)': t.interventionsBehind,
  });
}

function randomScenario(rng: Rng): Scenario {
  const op = rng.weighted([[35, 'submit'], [40, 'commits'], [15, 'restore'], [10, 'torn-open']] as const);
  const mode = rng.weighted([[80, 'fault'], [10, 'short'], [10, 'eintr']] as const);
  if (mode === 'short') return { name: 'random short writes', op, expect: 'resolve', plan: { faults: [], shortWrites: true } };
  if (mode === 'eintr') return { name: 'random EINTR', op, expect: 'resolve', plan: { faults: [], eintr: rng.next() * 0.5 } };
  const faults: Fault[] = [];
  for (let k = rng.int(1, 2); k > 0; k--) {
    const kind: FaultOp = rng.pick(['write', 'write', 'fsync', 'fdatasync', 'fdatasync', 'dirsync', 'rename', 'create', 'ftruncate', 'mkdir', 'unlink'] as const);
    const f: Fault = { op: kind, nth: rng.int(1, 8), errno: rng.pick(['EIO', 'ENOSPC', 'EDQUOT'] as const) };
    if (kind === 'write' && rng.chance(0.5)) f.partial = true;
    if (rng.chance(0.4)) f.file = rng.pick([LOG, /\.tmp-/, /^current\.json$/, /^interventions\.log$/, /torn/]);
    faults.push(f);
  }
  return { name: `random ${faults.map((f) => `${f.errno}@${f.op}#${f.nth}${f.partial ? '(partial)' : ''}${f.file ? `[${f.file.source}]` : ''}`).join('+')}`, op, expect: 'either', plan: { faults } };
}

/** File offset just past each record, by seq. */
function recordEnds(logFile: string): Map<number, { end: number; crc: string }> {
  const out = new Map<number, { end: number; crc: string }>();
  scanLog(realFs, logFile, LOG_START, (_b, start, end, seq, crc, offset) => {
    out.set(seq, { end: offset + (end - start) + 1, crc: crc.toString(16).padStart(8, '0') });
  });
  return out;
}

async function runScenario(root: string, s: Scenario, rng: Rng, t: Tally, c: Collector): Promise<void> {
  t.runs++;
  const where = `run ${t.runs} (${s.name}, ${s.op})`;
  const stateDir = path.join(root, `run-${t.runs}`, '.state');
  fs.mkdirSync(path.dirname(stateDir));
  init({ stateDir });
  fs.writeFileSync(path.join(stateDir, 'config.json'), JSON.stringify(CONFIG));
  const paths = new StatePaths(stateDir);
  const clock = steppingClock();
  const before = await history(stateDir, rng, clock);
  if (s.op === 'torn-open') fs.appendFileSync(paths.log, '{"seq":' + (before.lastSeq + 1) + ',"id":"01TORN","ts":"2025-01-0');

  const ffs = new FaultFs(s.plan, rng);
  const logPath = path.resolve(paths.log);
  const reported: LogRecord[] = [];
  const notSynced: string[] = [];
  const ack = (rs: LogRecord[]) => {
    const ends = recordEnds(paths.log);
    const synced = ffs.syncedSize.get(logPath) ?? 0;
    for (const r of rs) {
      reported.push(r);
      const e = ends.get(r.seq);
      if (!e || e.crc !== r.crc) notSynced.push(`seq ${r.seq} reported done but not in the log`);
      else if (e.end > synced) notSynced.push(`seq ${r.seq} reported done but the log was synced only to byte ${synced} (record ends at ${e.end})`);
    }
  };
  let error: unknown = null;
  try {
    await operation(s.op, stateDir, ffs, rng, clock, ack);
  } catch (e) {
    error = e;
  }
  if (ffs.fired.length > 0) t.faultsFired++;
  if (notSynced.length > 0) {
    t.notDurable++;
    c.fail(`${where}: ${notSynced[0]} (faults: ${ffs.fired.join(', ') || 'none'})`);
  }
  if (error === null) {
    t.succeeded++;
    if (s.expect === 'reject' && ffs.fired.length > 0) c.fail(`${where}: succeeded although ${ffs.fired.join(', ')}`);
  } else if (error instanceof CairnError && error.message.length > 0 && exitCodeFor(error.code) !== 0) {
    t.failedCleanly++;
    if (s.expect === 'resolve') c.fail(`${where}: failed without an injected fault: ${errText(error)}`);
    const errno = ffs.fired.map((f) => f.split(' ')[0]!);
    const text = `${error.message} ${error.hint ?? ''}`;
    if (error.code === 'IO_ERROR' && errno.length > 0 && !errno.some((e) => text.includes(e))) c.fail(`${where}: the message does not name the error (${errno.join(', ')}): ${error.message}`);
    if (error.code !== 'IO_ERROR' && error.code !== 'LOCK_COMPROMISED') c.fail(`${where}: failed with ${error.code}, not IO_ERROR: ${error.message}`);
  } else {
    t.unclean++;
    c.fail(`${where}: an error that is not a CairnError escaped: ${error instanceof Error ? error.stack?.split('\n').slice(0, 3).join(' | ') : String(error)}`);
  }
  const temps = fs.readdirSync(stateDir).concat(listSub(stateDir)).filter((n) => TEMP_NAME.test(path.basename(n)));
  if (temps.length > 0 && !s.plan.faults.some((f) => f.op === 'unlink')) {
    t.tempsLeft++;
    c.fail(`${where}: temp files left: ${temps.join(', ')} (faults: ${ffs.fired.join(', ')})`);
  }

  // What is in the log now, before anyone recovers it.
  const after = recordEnds(paths.log);
  for (const [seq, e] of before.records) {
    if (after.get(seq)?.crc !== e.crc) {
      t.notDurable++;
      c.fail(`${where}: seq ${seq}, committed before the fault, is gone`);
    }
  }
  const extra = [...after.keys()].filter((q) => !before.records.has(q) && !reported.some((r) => r.seq === q));
  if (extra.length > 0 && error !== null) {
    const ambiguous = ffs.fired.some((f) => /on (fdatasync|fsync) transitions/.test(f));
    if (!ambiguous) {
      t.failedAfterCommit++;
      // Through the API the error must say so: running the command again would repeat it.
      const said = error instanceof CairnError && error.details.committed === true && /records are committed/.test(error.message);
      if (s.op !== 'commits' && s.op !== 'torn-open' && !said) c.fail(`${where}: seq ${extra.join(', ')} committed, but the error does not say so: ${errText(error)}`);
    }
  }

  // The next start: the real layer opens it, writes, and the result validates.
  try {
    const store = await Store.open(stateDir);
    await store.close();
  } catch (e) {
    t.unopenable++;
    c.fail(`${where}: the next open fails: ${errText(e)}`);
    return;
  }
  const tail = fs.readFileSync(paths.log).subarray(before.size);
  if (s.plan.faults.some((f) => f.partial && f.file === LOG) && error !== null && tail.length > 0 && tail.indexOf(10) < 0) {
    c.fail(`${where}: a partial record is left in the log after recovery`);
  }
  let v = validateState({ stateDir });
  if (!v.ok && v.problems.every((p) => p.code === 'INTERVENTIONS_DIFFER')) {
    t.interventionsBehind++;
    await rebuildDerived(realFs, paths, readConfig(realFs, paths), Date.now());
    v = validateState({ stateDir });
  }
  if (!v.ok) {
    t.mismatches++;
    c.fail(`${where}: validate-state after the next open: ${v.problems.map((p) => `[${p.code}] ${p.message}`).join('; ')}`);
  }
  fs.rmSync(path.dirname(stateDir), { recursive: true, force: true });
}

function listSub(dir: string): string[] {
  const out: string[] = [];
  for (const n of fs.readdirSync(dir)) {
    const p = path.join(dir, n);
    if (fs.lstatSync(p).isDirectory() && !n.endsWith('.lock')) for (const m of fs.readdirSync(p)) out.push(`${n}/${m}`);
  }
  return out;
}

/** A little history with the real layer; what it committed must survive whatever follows. */
async function history(stateDir: string, rng: Rng, clock: () => number): Promise<{ records: Map<number, { end: number; crc: string }>; lastSeq: number; size: number }> {
  const store = await Store.open(stateDir, { clock });
  for (let i = rng.int(0, 12); i > 0; i--) await store.commit(workloadStep(rng, clock));
  await store.close();
  const records = recordEnds(path.join(stateDir, 'transitions.jsonl'));
  return { records, lastSeq: store.state.seq, size: fs.statSync(path.join(stateDir, 'transitions.jsonl')).size };
}

async function operation(op: Operation, stateDir: string, io: FaultFs, rng: Rng, clock: () => number, ack: (rs: LogRecord[]) => void): Promise<void> {
  switch (op) {
    case 'submit': {
      const r = await submit({ stateDir, fs: io, clock, spec: randomSpec(rng, `faulty-${rng.int(0, 999_999)}`) });
      ack(r.records);
      return;
    }
    case 'restore': {
      const r = await restoreState({ stateDir, fs: io, clock, fromTransitions: path.join(stateDir, 'transitions.jsonl'), operator: 'torture', reason: 'faults' });
      const rec = [...recordEnds(path.join(stateDir, 'transitions.jsonl'))].find(([seq]) => seq === r.seq);
      if (rec) ack([{ seq: r.seq, crc: rec[1].crc } as LogRecord]);
      return;
    }
    case 'commits':
    case 'torn-open': {
      const store = await Store.open(stateDir, { fs: io, clock });
      let firstError: unknown = null;
      try {
        for (let i = rng.int(1, 6); i > 0; i--) {
          try {
            if (rng.chance(0.3)) {
              const all = await Promise.allSettled(Array.from({ length: rng.int(2, 3) }, () => store.commit(workloadStep(rng, clock)).then(ack)));
              const bad = all.find((x) => x.status === 'rejected');
              if (bad) throw (bad as PromiseRejectedResult).reason;
            } else ack(await store.commit(workloadStep(rng, clock)));
          } catch (e) {
            firstError ??= e;
          }
        }
      } finally {
        try {
          await store.close();
        } catch (e) {
          firstError ??= e;
        }
      }
      if (firstError !== null) throw firstError;
      return;
    }
  }
}
