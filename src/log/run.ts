import { lineBatch, lineSeq, verifiedForm, verifyLine } from './codec.js';

/** How far a run of intact records reaches from a starting point, as `verifyRun` finds it. */
export interface VerifiedRun {
  /** Bytes from the start of the buffer up to the end (newline included) of the last whole decision. */
  bytes: number;
  records: number;
  /** seq and crc of the last record counted (the starting ones when none is). */
  seq: number;
  crc: number;
  /**
   * True when the run ends at a line that is not the next intact record of the chain, or at a
   * decision that cannot be right (one opened inside another): nothing after it is verified here,
   * and what that line is (torn tail, corruption) is for the full scan to say.
   * False when it only ends where the buffer does (a line or a decision continues past it).
   */
  broken: boolean;
}

/**
 * Checks the records in `buf[0, len)` that follow the record (`seq`, `crc`): each line's seq is the
 * next one and its crc chains on the previous line's, as scanLog checks them. It counts only whole
 * decisions (a record with `batch: n` and the n − 1 after it), so a reader that applies what was
 * counted never applies half a decision. Pure: the caller reads the bytes.
 *
 * With `out`, the end (offset of the newline), crc and replay form (codec.ts verifiedForm) of the
 * i-th line counted go to `out.ends[i]`, `out.crcs[i]` and `out.forms[i]`, so the thread that
 * applies them need not look at those bytes again; the run then also stops (not broken) when the
 * tables are full.
 */
export function verifyRun(b: Buffer, len: number, seq: number, crc: number, out?: { ends: Int32Array; crcs: Int32Array; forms: Int32Array }): VerifiedRun {
  let pos = 0;
  let lastSeq = seq;
  let lastCrc = crc;
  let bytes = 0;
  let records = 0;
  let okSeq = seq;
  let okCrc = crc;
  let inBatch = 0; // records still to come in the open decision
  let batchRecords = 0;
  let lines = 0;
  const cap = out ? out.ends.length : Infinity;
  for (;;) {
    const nl = b.indexOf(10, pos);
    if (nl < 0 || nl >= len || lines === cap) return { bytes, records, seq: okSeq, crc: okCrc, broken: false };
    const s = lineSeq(b, pos, nl);
    const c = s === lastSeq + 1 ? verifyLine(b, pos, nl, lastCrc) : -1;
    if (c < 0) return { bytes, records, seq: okSeq, crc: okCrc, broken: true };
    const n = lineBatch(b, pos, nl);
    if (n > 1 && inBatch > 0) return { bytes, records, seq: okSeq, crc: okCrc, broken: true };
    if (n > 1) {
      inBatch = n;
      batchRecords = 0;
    }
    if (out) {
      out.ends[lines] = nl;
      out.crcs[lines] = c | 0;
      out.forms[lines] = verifiedForm(b, pos, nl);
    }
    lines++;
    lastSeq = s;
    lastCrc = c;
    pos = nl + 1;
    if (inBatch > 0) {
      batchRecords++;
      if (batchRecords < inBatch) continue;
      inBatch = 0;
      records += batchRecords;
    } else records++;
    bytes = pos;
    okSeq = s;
    okCrc = c;
  }
}
