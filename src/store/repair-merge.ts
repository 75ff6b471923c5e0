import { analyzeMergedLog, describeLine } from '../history/merged-log.js';
import { State } from '../model/state.js';
import type { LogRecord } from '../model/types.js';
import { applyLine } from './load.js';
import type { SalvageLine, TailSalvage } from './salvage-log.js';

/**
 * repair_state on a log git merged line by line (LOG_MERGE_CONFLICT): it offers our side. The log
 * becomes the records both branches share plus ours, byte for byte (they chain already); the other
 * branch's records are set aside, byte for byte and nothing else, in a file beside the log, to be
 * brought back by submitting and intervening again or by merging again through the driver.
 */
export interface MergeRepair {
  /** The last record both branches share. */
  commonSeq: number;
  /** End of the shared part in the file. */
  goodOffset: number;
  /** The state of the shared part plus our records. */
  state: State;
  manual: LogRecord[];
  /** Our records after the fork, as the new tail of the log. */
  salvage: TailSalvage;
  /** The other branch's record lines, each with its newline: the set-aside file's content. */
  theirs: Buffer;
  theirsRecords: { seq: number; type: string; ids: string; id: string }[];
  oursRecords: { seq: number; type: string; ids: string; id: string }[];
}

/** Splits the merged log `all` and replays the shared part and ours; null when it is no two-branch merge after all. */
export function inspectMerge(all: Buffer): MergeRepair | null {
  const m = analyzeMergedLog(all);
  if (m.ours.length === 0 && m.theirs.length === 0) return null;
  const goodOffset = m.common.line ? m.common.line.end + 1 : 0;
  const state = new State();
  const manual: LogRecord[] = [];
  const take = (start: number, end: number, seq: number): void => {
    const r = applyLine(state, all, start, end, seq);
    if (r.operator !== null && typeof r.action === 'string') manual.push(r);
  };
  // The shared records are the file's first lines, in order (git keeps what both sides have as is).
  let seq = 0;
  for (let p = 0; p < goodOffset;) {
    const nl = all.indexOf(10, p);
    take(p, nl, ++seq);
    p = nl + 1;
  }
  if (seq !== m.common.seq) return null;
  const lines: SalvageLine[] = [];
  const out: Buffer[] = [];
  const crcs = new Map<number, number>();
  let crc = m.common.crc;
  let cut: TailSalvage['cut'] = null;
  for (const l of m.ours) {
    try {
      take(l.start, l.end, l.seq);
    } catch (e) {
      // Our branch was a valid log on its own; if a record of it does not apply, keeping stops there.
      cut = { seq: l.seq, reason: (e as Error).message };
      break;
    }
    out.push(all.subarray(l.start, l.end + 1));
    lines.push({ seq: l.seq, kind: 'intact', note: 'our branch' });
    crcs.set(l.seq, l.crc);
    crc = l.crc;
    seq = l.seq;
  }
  const theirs = Buffer.concat(m.theirs.map((l) => Buffer.concat([all.subarray(l.start, l.end), Buffer.from('\n')])));
  return {
    commonSeq: m.common.seq,
    goodOffset,
    state,
    manual,
    salvage: { tail: Buffer.concat(out), seq, crc, kept: lines.length, lines, dropped: [], cut, setAside: m.theirs.length, crcs },
    theirs,
    theirsRecords: m.theirs.map((l) => describeLine(all, l)),
    oursRecords: m.ours.map((l) => describeLine(all, l)),
  };
}
