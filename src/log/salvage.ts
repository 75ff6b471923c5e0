import { crc32 } from 'node:zlib';
import { crcHex, lineSeq, statedCrc, verifyLine } from './codec.js';
import { crcSuffix, oneBitFix } from './bitfix.js';

/**
 * What can be saved of a damaged stretch of the log (DESIGN §9). Pure: bytes in, a verdict per
 * record out; the store decides what to write. Starting right after the last good record (`from`),
 * each record is, in order of preference:
 * - intact: it chains on the record before it;
 * - corrected: one flipped bit (in its body, its crc field or the newline after it) located by
 *   CRC-32 and undone; the corrected bytes reproduce the stored crc exactly (the caller still
 *   checks that they decode to a valid record), or a crc field rewritten because the next record
 *   chains on the crc of this record's body, which proves the body intact;
 * - lost: damaged beyond one bit, but the damage is confined to it: the next record chains on the
 *   crc it states. Its seq is kept (by a placeholder record) so nothing after it moves;
 * - unverified: a record after a lost one, whose own chain cannot be checked (its predecessor's
 *   crc is unknown) but whose stated crc the record after it confirms.
 * Bytes that are no record at all (an exact duplicate of the record before, garbage between two
 * chained records) are dropped. Where none of this holds, salvage stops and says why.
 */

export type SalvageKind = 'intact' | 'corrected' | 'lost' | 'unverified';

export interface SalvagedRecord {
  kind: SalvageKind;
  seq: number;
  /** The record's line as it is to be kept, without its newline (the damaged bytes for `lost`). */
  text: Buffer;
  /** The crc the next record chains on (the one it states, for a lost record). */
  chain: number;
  /** Where the record's bytes start in the buffer given, and how many there are (newline included when there is one). */
  offset: number;
  length: number;
  /** What was done, in words (empty for intact records). */
  note: string;
}

export interface DroppedBytes {
  kind: 'duplicate' | 'garbage';
  offset: number;
  length: number;
  note: string;
}

export interface Salvage {
  records: SalvagedRecord[];
  dropped: DroppedBytes[];
  /** Where salvage gave up: from `offset` on nothing more is kept. Null when it read to the end. */
  stop: { offset: number; seq: number; reason: string } | null;
}

const RECORD_START = Buffer.from('{"seq":');
const NL = 0x0a;
/** How many newlines a record may be spread over by a byte flipped into a newline. */
const MERGE_LINES = 3;

function oneBit(a: number, b: number): boolean {
  const x = (a ^ b) & 0xff;
  return x !== 0 && (x & (x - 1)) === 0;
}

/** Positions after `p` where a record may start: after each newline, and at each inner `{"seq":`. */
function nextStarts(buf: Buffer, p: number, limit: number): number[] {
  const out: number[] = [];
  let nl = buf.indexOf(NL, p);
  let inner = buf.indexOf(RECORD_START, p + 1);
  while (out.length < limit && (nl >= 0 || inner >= 0)) {
    if (nl >= 0 && (inner < 0 || nl + 1 <= inner)) {
      if (nl + 1 < buf.length) out.push(nl + 1);
      if (inner === nl + 1) inner = buf.indexOf(RECORD_START, inner + 1);
      nl = buf.indexOf(NL, nl + 1);
    } else {
      out.push(inner);
      inner = buf.indexOf(RECORD_START, inner + 1);
    }
  }
  return out;
}

/** The line at `p` as far as the next newline (or the end), and where the next line starts. */
function lineAt(buf: Buffer, p: number): { end: number; next: number } {
  const nl = buf.indexOf(NL, p);
  return nl < 0 ? { end: buf.length, next: buf.length } : { end: nl, next: nl + 1 };
}

/** The crc of a line's body (its text without the crc field, closing brace included), or -1 when it has no crc field's room. */
function bodyCrc(line: Buffer, seed: number): number {
  if (line.length < 20) return -1;
  return crc32('}', crc32(line.subarray(0, line.length - 18), seed));
}

/** Whether the record at `p` (its first line) is intact with seq `seq` on `seed`. */
function intactAt(buf: Buffer, p: number, seq: number, seed: number): { end: number; next: number; crc: number } | null {
  const { end, next } = lineAt(buf, p);
  if (next === buf.length && end === buf.length) return null; // no newline: never acknowledged
  if (lineSeq(buf, p, end) !== seq) return null;
  const crc = verifyLine(buf, p, end, seed);
  return crc < 0 ? null : { end, next, crc };
}

/**
 * Salvages `buf`, the bytes after the record (`from.seq`, `from.crc`); `from.line` is that record's
 * line (without its newline), so a second copy of it right after it is known for one.
 */
export function salvage(buf: Buffer, from: { seq: number; crc: number; line?: Buffer }): Salvage {
  const records: SalvagedRecord[] = [];
  const dropped: DroppedBytes[] = [];
  let p = 0;
  let seq = from.seq + 1;
  let seed = from.crc;
  let lastText: Buffer | null = from.line ?? null;
  const keep = (r: SalvagedRecord): void => {
    records.push(r);
    seed = r.chain;
    seq = r.seq + 1;
    lastText = r.text;
    p = r.offset + r.length;
  };
  while (p < buf.length) {
    // 1. Intact.
    const ok = intactAt(buf, p, seq, seed);
    if (ok) {
      keep({ kind: 'intact', seq, text: buf.subarray(p, ok.end), chain: ok.crc, offset: p, length: ok.next - p, note: '' });
      continue;
    }
    const { end, next } = lineAt(buf, p);
    // 2. An exact copy of the record before it, or an empty line: nothing is lost by dropping it.
    if (lastText !== null && end - p === (lastText as Buffer).length && buf.subarray(p, end).equals(lastText)) {
      dropped.push({ kind: 'duplicate', offset: p, length: next - p, note: `a second copy of seq ${seq - 1}` });
      p = next;
      continue;
    }
    if (end === p && next > p) {
      dropped.push({ kind: 'garbage', offset: p, length: 1, note: 'an empty line' });
      p = next;
      continue;
    }
    // 3. One flipped bit.
    const fixed = correctAt(buf, p, seq, seed);
    if (fixed) {
      keep(fixed);
      continue;
    }
    // 4. Damage confined to this record, or garbage between two records.
    const after = confined(buf, p, seq, seed);
    if (after) {
      if (after.kind === 'garbage') {
        dropped.push({ kind: 'garbage', offset: p, length: after.at - p, note: 'bytes that are no record, between two records that chain' });
        p = after.at;
        continue;
      }
      const text = buf.subarray(p, after.at - (buf[after.at - 1] === NL ? 1 : 0));
      if (after.kind === 'crc-field') {
        const body = text.subarray(0, text.length - 18);
        const fixedText = Buffer.concat([body, crcSuffix(after.chain)]);
        keep({ kind: 'corrected', seq, text: fixedText, chain: after.chain, offset: p, length: after.at - p, note: `its crc field was damaged; the next record chains on the crc of its intact body (${crcHex(after.chain)})` });
        continue;
      }
      keep({ kind: 'lost', seq, text, chain: after.chain, offset: p, length: after.at - p, note: describeLoss(text) });
      continue;
    }
    // 5. Records missing or damaged past reading (a removed line, a damaged crc field and more):
    //    the log goes on at a later seq whose stated crc the record after it confirms.
    const rs = resync(buf, p, seq);
    if (rs) {
      for (let s = seq; s < rs.seq; s++) {
        const first = s === seq && rs.at > p;
        const text = first ? buf.subarray(p, rs.at - 1) : Buffer.alloc(0);
        records.push({ kind: 'lost', seq: s, text, chain: -1, offset: p, length: first ? rs.at - p : 0, note: first ? describeLoss(text).replace(/; the next.*$/, '; nothing after it chains on it') : 'missing from the log (no line has its seq)' });
      }
      seq = rs.seq;
      keep({ kind: 'unverified', seq: rs.seq, text: buf.subarray(rs.at, rs.end), chain: rs.stated, offset: rs.at, length: rs.next - rs.at, note: `its own crc cannot be checked (the record before it is lost); seq ${rs.seq + 1} confirms the crc it states` });
      continue;
    }
    return { records, dropped, stop: { offset: p, seq, reason: stopReason(buf, p, end, seq) } };
  }
  return { records, dropped, stop: null };
}

/** One flipped bit in the record at `p`: in its body or crc field, or in the newline that ends it (or inside it). */
function correctAt(buf: Buffer, p: number, seq: number, seed: number): SalvagedRecord | null {
  const found: SalvagedRecord[] = [];
  const { end, next } = lineAt(buf, p);
  // (a) The newline after the record was flipped: the record's bytes end where the next record starts.
  for (const q of nextStarts(buf, p, 4)) {
    if (q <= p + 1 || buf[q - 1] === NL) continue;
    if (!oneBit(buf[q - 1]!, NL)) continue;
    if (lineSeq(buf, p, q - 1) !== seq) continue;
    const crc = verifyLine(buf, p, q - 1, seed);
    if (crc >= 0) found.push({ kind: 'corrected', seq, text: buf.subarray(p, q - 1), chain: crc, offset: p, length: q - p, note: `the newline after it was a flipped byte (0x${buf[q - 1]!.toString(16)}), restored` });
  }
  // The last record of the log, its newline flipped.
  if (next === buf.length && end === buf.length && end - p > 20 && oneBit(buf[end - 1]!, NL) && lineSeq(buf, p, end - 1) === seq) {
    const crc = verifyLine(buf, p, end - 1, seed);
    if (crc >= 0) found.push({ kind: 'corrected', seq, text: buf.subarray(p, end - 1), chain: crc, offset: p, length: end - p, note: 'the newline after it was a flipped byte, restored' });
  }
  // (b) A bit flipped inside the record, which may also have turned a byte into a newline and so
  //     spread the record over several lines.
  let e = end;
  let n = next;
  for (let k = 0; k < MERGE_LINES; k++) {
    const fix = oneBitFix(buf.subarray(p, e), seed);
    for (const f of fix) {
      if (lineSeq(f.text, 0, f.text.length) !== seq) continue;
      if (e === buf.length && n === buf.length) continue; // no newline after it: never acknowledged
      found.push({ kind: 'corrected', seq, text: f.text, chain: f.crc, offset: p, length: n - p, note: f.note });
    }
    if (found.length > 0 || n >= buf.length) break;
    // Only a continuation line (not a record start) may belong to this record.
    if (lineSeq(buf, n, lineAt(buf, n).end) >= 0) break;
    const more = lineAt(buf, n);
    e = more.end;
    n = more.next;
  }
  // Two readings that both hold are a guess: keep neither.
  return found.length === 1 ? found[0]! : null;
}

type Confined =
  | { kind: 'lost'; at: number; chain: number }
  | { kind: 'crc-field'; at: number; chain: number }
  | { kind: 'garbage'; at: number };

/**
 * Whether the damage at `p` ends before the next record start: that record is intact on the crc
 * the damaged one states (lost), on the crc of its body (only its crc field was damaged), or on
 * the crc before the damage with the seq expected here (the damaged bytes were no record).
 */
function confined(buf: Buffer, p: number, seq: number, seed: number): Confined | null {
  for (const q of nextStarts(buf, p, 3)) {
    const damaged = buf.subarray(p, q - 1);
    if (intactAt(buf, q, seq, seed)) return { kind: 'garbage', at: q };
    const stated = statedCrc(damaged, 0, damaged.length);
    if (stated >= 0 && intactAt(buf, q, seq + 1, stated)) return { kind: 'lost', at: q, chain: stated };
    const body = bodyCrc(damaged, seed);
    if (body >= 0 && lineSeq(damaged, 0, damaged.length) === seq && intactAt(buf, q, seq + 1, body)) return { kind: 'crc-field', at: q, chain: body };
  }
  return null;
}

/**
 * The first record start at or after `p` (within a few) with a later seq than `seq` whose stated
 * crc the record right after it confirms: where the log can go on after records it lost.
 */
function resync(buf: Buffer, p: number, seq: number): { at: number; end: number; next: number; seq: number; stated: number } | null {
  for (const q of [p, ...nextStarts(buf, p, 3)]) {
    const { end, next } = lineAt(buf, q);
    const s = lineSeq(buf, q, end);
    if (s <= seq || s - seq > 16 || next >= buf.length) continue;
    const stated = statedCrc(buf, q, end);
    if (stated >= 0 && intactAt(buf, next, s + 1, stated)) return { at: q, end, next, seq: s, stated };
  }
  return null;
}

/** What can be read of a lost record, for its placeholder. */
function describeLoss(text: Buffer): string {
  const s = text.toString('latin1');
  const type = /"type":"([a-z_]{1,40})"/.exec(s)?.[1];
  const ws = /"workstream_id":"([A-Za-z0-9._-]{1,128})"/.exec(s)?.[1];
  const task = /"task_id":"([A-Za-z0-9._-]{1,128})"/.exec(s)?.[1];
  const what = [type ? `a ${type} record` : 'a record of unreadable type', ws ? `of ${ws}${task ? `/${task}` : ''}` : ''].filter(Boolean).join(' ');
  return `damaged beyond one flipped bit (${what}); the next record chains on the crc it states`;
}

function stopReason(buf: Buffer, p: number, end: number, seq: number): string {
  const ls = lineSeq(buf, p, end);
  if (end >= buf.length && buf.indexOf(NL, p) < 0) return `the last line (seq ${seq}) has no newline: it was never completely written`;
  if (ls < 0) return `the bytes at seq ${seq} are not a record, and no record after them chains on anything before`;
  if (ls !== seq) return `seq ${ls} where ${seq} was expected, and the records after it do not confirm it`;
  return `seq ${seq} fails its checksum by more than one bit, and the record after it does not chain on it`;
}
