import * as fs from 'node:fs';
import * as path from 'node:path';
import { repairState, status } from '../../src/index.js';
import { realFs } from '../../src/store/fsio.js';
import { StatePaths } from '../../src/store/paths.js';
import { inspectLog } from '../../src/store/repair.js';
import type { Collector } from './common.js';
import type { Rng } from './prng.js';

/**
 * The fuzz suite's repair figure: records lost per damaged record. Each damaged log (one bit
 * flipped, bytes garbled inside one record, a line removed, a line duplicated, a cut tail) goes
 * through the repair's own inspection (log/salvage.ts and store/salvage-log.ts: correction,
 * placeholders, the apply check a decision at a time), and the repaired log is compared with the
 * original record by record (crc fields aside: records after a lost one are chained anew):
 * - lost: records of the original the repaired log does not hold (placeholders stand for them);
 * - set aside: records not kept because one before them no longer applies without a lost record.
 * Goals, enforced: 0 lost and 0 set aside for a single flipped bit; at most 1 lost for damage inside
 * one record. Every `fullEvery`-th damaged log is repaired for real (repairState, copy, rebuild,
 * carry-forward) and every workstream's and task's state must equal the undamaged state's:
 * "acknowledged states lost", goal 0.
 */
export type SalvageKind = 'bit flip' | 'garbled record' | 'line removed' | 'line duplicated' | 'cut tail';
const KINDS: readonly SalvageKind[] = ['bit flip', 'garbled record', 'line removed', 'line duplicated', 'cut tail'];

export interface SalvageTally {
  logs: Record<SalvageKind, number>;
  lost: Record<SalvageKind, number>;
  maxLost: Record<SalvageKind, number>;
  setAside: Record<SalvageKind, number>;
  fullRepairs: number;
  statesLost: number;
}

function zero(): Record<SalvageKind, number> {
  return { 'bit flip': 0, 'garbled record': 0, 'line removed': 0, 'line duplicated': 0, 'cut tail': 0 };
}

/** Records of a log by seq, without their crc field (the part a re-chain leaves alone). */
function bodies(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const l of text.split('\n')) {
    const m = /^\{"seq":(\d+),/.exec(l);
    if (m) out.set(Number(m[1]), l.slice(0, -18));
  }
  return out;
}

function damage(rng: Rng, kind: SalvageKind, log: Buffer, lines: string[]): Buffer {
  const starts: number[] = [];
  for (let i = 0, at = 0; i < lines.length; i++) {
    starts.push(at);
    at += Buffer.byteLength(lines[i]!) + 1;
  }
  const li = rng.int(0, lines.length - 1);
  const from = starts[li]!;
  const to = from + Buffer.byteLength(lines[li]!) + 1;
  switch (kind) {
    case 'bit flip': {
      const b = Buffer.from(log);
      const p = rng.int(0, b.length - 1);
      b[p] = b[p]! ^ (1 << rng.int(0, 7));
      return b;
    }
    case 'garbled record': {
      const b = Buffer.from(log);
      const n = rng.int(2, 8);
      const p = from + rng.int(0, Math.max(0, to - from - 1 - n));
      for (let i = 0; i < n && p + i < to - 1; i++) b[p + i] = rng.int(0x20, 0x7e);
      return b;
    }
    case 'line removed': return Buffer.concat([log.subarray(0, from), log.subarray(to)]);
    case 'line duplicated': return Buffer.concat([log.subarray(0, to), log.subarray(from, to), log.subarray(to)]);
    case 'cut tail': return log.subarray(0, rng.int(Math.floor(log.length / 2), log.length - 1));
    default: {
      const never: never = kind;
      throw new Error(String(never));
    }
  }
}

/** Every workstream's state and every task's state and retry count. */
async function acknowledged(stateDir: string): Promise<string> {
  const s = (await status({ stateDir, all: true })) as unknown as { workstreams: { id: string; state: string; tasks?: { id: string; state: string; retry_count: number }[] }[] };
  return s.workstreams.map((w) => `${w.id}=${w.state}[${(w.tasks ?? []).map((t) => `${t.id}:${t.state}:${t.retry_count}`).join(' ')}]`).join('\n');
}

export async function salvageFigures(c: Collector, rng: Rng, base: string, work: string, n: number, fullEvery: number): Promise<SalvageTally> {
  const t: SalvageTally = { logs: zero(), lost: zero(), maxLost: zero(), setAside: zero(), fullRepairs: 0, statesLost: 0 };
  const logText = fs.readFileSync(path.join(base, 'transitions.jsonl'), 'utf8');
  const log = Buffer.from(logText);
  const lines = logText.split('\n').filter(Boolean);
  const want = bodies(logText);
  const dir = path.join(work, 'salvage', '.state');
  // What a repair of the undamaged state gives (a dead scheduler's tasks requeued): the baseline.
  fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  fs.cpSync(base, dir, { recursive: true });
  await repairState({ stateDir: dir, operator: 'fuzz', reason: 'fuzz' });
  const before = await acknowledged(dir);
  for (let i = 0; i < n; i++) {
    const kind = KINDS[i % KINDS.length]!;
    const full = i % fullEvery === fullEvery - 1;
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
    if (full) fs.cpSync(base, dir, { recursive: true });
    else fs.mkdirSync(dir, { recursive: true });
    const damaged = damage(rng, kind, log, lines);
    fs.writeFileSync(path.join(dir, 'transitions.jsonl'), damaged);
    const where = `salvage #${i} (${kind})`;
    try {
      const insp = inspectLog(realFs, new StatePaths(dir), { operator: 'fuzz', nowMs: Date.now() });
      const kept = bodies(damaged.subarray(0, insp.goodOffset).toString('utf8') + (insp.salvage?.tail.toString('utf8') ?? ''));
      // Whatever the repaired log no longer holds as it was written is gone from the log; of that,
      // what repair set aside (kept in the set-aside file) because a record before it no longer
      // applied is counted apart from what the damage itself took.
      let gone = 0;
      for (const [seq, body] of want) if (kept.get(seq) !== body) gone++;
      const aside = insp.salvage?.lines.filter((l) => l.kind === 'set_aside' && want.get(l.seq) !== undefined).length ?? 0;
      const lostHere = gone - aside;
      t.logs[kind]++;
      t.lost[kind] += lostHere;
      t.maxLost[kind] = Math.max(t.maxLost[kind], lostHere);
      t.setAside[kind] += aside;
      if (kind === 'bit flip' && gone > 0) c.fail(`${where}: a single flipped bit cost ${gone} record(s)`);
      if (kind === 'garbled record' && lostHere > 1) c.fail(`${where}: damage inside one record lost ${lostHere} records`);
      if (full) {
        t.fullRepairs++;
        await repairState({ stateDir: dir, operator: 'fuzz', reason: 'fuzz' });
        if ((await acknowledged(dir)) !== before) {
          t.statesLost++;
          c.fail(`${where}: an acknowledged workstream or task state differs after the repair`);
        }
      }
    } catch (e) {
      c.fail(`${where}: ${(e as Error).message}`);
    }
  }
  return t;
}
