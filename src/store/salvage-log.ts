import { crc32 } from 'node:zlib';
import { ulid } from 'ulid';
import { crcSuffix } from '../log/bitfix.js';
import { encodeRecord, lineBatch } from '../log/codec.js';
import { verifyRun } from '../log/run.js';
import { salvage, type DroppedBytes, type SalvageKind } from '../log/salvage.js';
import { apply } from '../model/apply.js';
import { DraftState, type State } from '../model/state.js';
import { validateRecord } from '../schemas/validate.js';
import { decodeLine } from './load.js';

/**
 * The store side of salvaging a damaged log (DESIGN §9): log/salvage.ts says which records of the
 * damaged stretch can be trusted; here each is decoded, checked against its schema and applied by
 * the transition tables on the state so far, one whole decision at a time, and the kept records are
 * chained anew after the first one whose bytes change. Nothing is written here: the caller gets the
 * new tail of the log as bytes, already checked by the log's own verifier.
 */

/** One record of the damaged stretch and what becomes of it. */
export interface SalvageLine {
  seq: number;
  kind: SalvageKind | 'set_aside';
  note: string;
}

export interface TailSalvage {
  /** The records kept after the good prefix, as they will be written (placeholders included). */
  tail: Buffer;
  /** seq and crc of the last record kept. */
  seq: number;
  crc: number;
  kept: number;
  lines: SalvageLine[];
  dropped: DroppedBytes[];
  /** Where keeping stopped, and why; null when every record of the stretch was kept. */
  cut: { seq: number; reason: string } | null;
  /** Records set aside from the cut on (counted as far as they could be read). */
  setAside: number;
  /** The crc of every kept record as written, by seq. */
  crcs: Map<number, number>;
}

export interface SalvageOptions {
  operator: string | null;
  /** The file name (relative to the state folder) the damaged stretch is kept in. */
  setAsideFile: string;
  nowMs: number;
}

/**
 * Salvages `rest` (the log's bytes after the good prefix, which ends at `from`) onto `state`, the
 * prefix's state, which it changes to the state of prefix + kept records.
 */
export function salvageTail(state: State, rest: Buffer, from: { seq: number; crc: number; ts: string | null; line?: Buffer }, o: SalvageOptions): TailSalvage {
  const found = salvage(rest, from);
  const out: Buffer[] = [];
  const lines: SalvageLine[] = [];
  let crc = from.crc;
  let seq = from.seq;
  let lastTs = from.ts;
  let kept = 0;
  const crcs = new Map<number, number>();
  let cut: TailSalvage['cut'] = found.stop ? { seq: found.stop.seq, reason: found.stop.reason } : null;
  // A decision is kept whole or not at all: its records are applied to a trial draft first.
  let open: { need: number; have: number; trial: DraftState; out: Buffer[]; lines: SalvageLine[]; seq: number; crc: number; ts: string | null; first: number } | null = null;
  const ids = ulid;
  for (let i = 0; i < found.records.length; i++) {
    const r = found.records[i]!;
    const n = r.kind === 'lost' ? 0 : lineBatch(r.text, 0, r.text.length);
    if (n > 1 && open) {
      cut = { seq: open.first, reason: `the decision that began at seq ${open.first} holds another decision at seq ${r.seq}` };
      open = null;
      break;
    }
    if (n > 1) open = { need: n, have: 0, trial: new DraftState(state), out: [], lines: [], seq, crc, ts: lastTs, first: r.seq };
    const target = open ? open.trial : new DraftState(state);
    const sink = open ? open : { out, lines };
    let text: Buffer;
    try {
      if (r.kind === 'lost') {
        const enc = encodeRecord({
          seq: r.seq, id: ids(o.nowMs), ts: lastTs ?? new Date(o.nowMs).toISOString(), type: 'record_lost', severity: 'error', operator: o.operator,
          damage: r.note, set_aside_file: o.setAsideFile,
        }, crc);
        text = Buffer.from(enc.line.slice(0, -1));
        apply(target, enc.record);
      } else {
        // Chained anew: the same body, the crc recomputed on the crc of the record before as kept.
        text = crc === prevStated(found.records, i, from.crc) ? r.text : rechain(r.text, crc);
        const rec = decodeLine(text, 0, text.length, r.seq);
        const v = validateRecord(rec);
        if (!v.ok) throw new Error(`it does not match its schema: ${v.errors.map((e) => `${e.path} ${e.message}`).join('; ')}`);
        apply(target, rec);
        lastTs = rec.ts;
      }
    } catch (e) {
      const at = open ? open.first : r.seq;
      cut = { seq: at, reason: `seq ${r.seq} cannot be applied after the repair: ${(e as Error).message}` };
      if (open) {
        seq = open.seq;
        crc = open.crc;
        lastTs = open.ts;
      }
      open = null;
      break;
    }
    crc = crc32('}', crc32(text.subarray(0, text.length - 18), crc));
    crcs.set(r.seq, crc);
    seq = r.seq;
    sink.out.push(text, NEWLINE);
    sink.lines.push({ seq: r.seq, kind: r.kind, note: r.note });
    if (!open) {
      target.commitTo(state);
      kept++;
      continue;
    }
    open.have++;
    if (open.have === open.need) {
      open.trial.commitTo(state);
      out.push(...open.out);
      lines.push(...open.lines);
      kept += open.need;
      open = null;
    }
  }
  if (open) {
    cut = { seq: open.first, reason: `the log ends inside the decision that began at seq ${open.first}` };
    seq = open.seq;
    crc = open.crc;
  }
  let setAside = 0;
  for (const r of found.records) {
    if (r.seq >= (cut?.seq ?? Infinity)) {
      lines.push({ seq: r.seq, kind: 'set_aside', note: r.seq === cut!.seq ? cut!.reason : '' });
      setAside++;
    }
  }
  const tail = Buffer.concat(out);
  // The rewritten tail must pass the log's own verifier: a salvage that would leave a log the
  // scanner refuses is a bug, never written.
  const run = verifyRun(tail, tail.length, from.seq, from.crc);
  if (run.broken || run.bytes !== tail.length) throw new Error(`internal: the salvaged log does not verify (seq ${run.seq})`);
  return { tail, seq, crc, kept, lines, dropped: found.dropped, cut, setAside, crcs };
}

const NEWLINE = Buffer.from('\n');

/** The crc the record at `i` was chained on as written: the stated crc of the record before it. */
function prevStated(recs: { chain: number }[], i: number, first: number): number {
  return i === 0 ? first : recs[i - 1]!.chain;
}

function rechain(text: Buffer, prev: number): Buffer {
  const body = text.subarray(0, text.length - 18);
  return Buffer.concat([body, crcSuffix(crc32('}', crc32(body, prev)))]);
}

