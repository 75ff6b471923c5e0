import { crc32 } from 'node:zlib';
import { crcHex, verifyLine } from './codec.js';

/**
 * Locating one flipped bit with CRC-32 (pure). A record's crc covers its body (the line without
 * its crc field, closing brace included) chained on the previous crc. CRC is linear over GF(2):
 * flipping bit b of byte j changes the final crc by a value that depends only on b and on how
 * many bytes follow j (the *syndrome*), not on the rest of the text. So the difference between the
 * crc the body hashes to and the crc the line states names the flipped bit, in one pass over the
 * line. Two positions of one line never share a syndrome below CRC-32's period (far beyond any
 * line cairn writes); a position is only a candidate, and is kept only if the corrected line
 * reproduces the stated crc exactly and has no newline in it. The caller still decodes it.
 */

const SUFFIX_LEN = 18; // ,"crc":"xxxxxxxx"}
const NL = 0x0a;

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** The crc field a line ends with: `,"crc":"xxxxxxxx"}`. */
export function crcSuffix(crc: number): Buffer {
  return Buffer.from(`,"crc":"${crcHex(crc)}"}`);
}

export interface BitFix {
  text: Buffer;
  crc: number;
  note: string;
}

function statedHex(line: Buffer): number {
  const at = line.length - 10;
  if (at < 0 || line[at - 1] !== 0x22) return -1;
  const s = line.toString('latin1', at, at + 8);
  return /^[0-9a-f]{8}$/.test(s) ? parseInt(s, 16) : -1;
}

/**
 * Every reading of `line` (without its newline) that differs from it by one bit and is a record
 * chained on `seed`: the bit may be in the body, or in the crc field (whose correct text follows
 * from the body's crc). Usually none or one; more than one is a guess the caller must not take.
 */
export function oneBitFix(line: Buffer, seed: number): BitFix[] {
  if (line.length < SUFFIX_LEN + 2) return []; // the first byte may be the flipped one: no check of it here
  const m = line.length - SUFFIX_LEN; // body bytes taken from the line
  const actual = crc32('}', crc32(line.subarray(0, m), seed));
  const out: BitFix[] = [];

  // A bit flipped in the crc field: the body is intact, and the field differs from the one the
  // body's crc gives in exactly one bit.
  const want = crcSuffix(actual);
  let diffAt = -1;
  let diffs = 0;
  for (let i = 0; i < SUFFIX_LEN && diffs < 2; i++) {
    const x = line[m + i]! ^ want[i]!;
    if (x === 0) continue;
    diffs += (x & (x - 1)) === 0 ? 1 : 2;
    diffAt = m + i;
  }
  if (diffs === 1 && !hasNewline(line.subarray(0, m))) {
    const text = Buffer.concat([line.subarray(0, m), want]);
    out.push({ text, crc: actual, note: `one flipped bit in its crc field (byte ${diffAt}) corrected` });
  }

  // A bit flipped in the body: the syndrome of (byte j, bit b) is the crc difference a flip there
  // makes; walk every position from the end of the body backwards, all eight bits at once.
  const stated = statedHex(line);
  if (stated < 0) return out;
  const target = (actual ^ stated) >>> 0;
  if (target === 0) return out;
  const n = m + 1; // the body hashed: the line's first m bytes and the closing brace
  const d = new Uint32Array(8);
  for (let b = 0; b < 8; b++) d[b] = TABLE[1 << b]!;
  // After the flipped byte j come n-1-j more bytes; k counts them.
  for (let k = 1; k <= n - 1; k++) {
    for (let b = 0; b < 8; b++) {
      const v = d[b]!;
      d[b] = (TABLE[v & 0xff]! ^ (v >>> 8)) >>> 0;
    }
    const j = n - 1 - k;
    for (let b = 0; b < 8; b++) {
      if (d[b] !== target) continue;
      const text = Buffer.from(line);
      text[j] = text[j]! ^ (1 << b);
      if (hasNewline(text)) continue;
      const crc = verifyLine(text, 0, text.length, seed);
      if (crc >= 0) out.push({ text, crc, note: `one flipped bit (byte ${j}, 0x${line[j]!.toString(16).padStart(2, '0')} -> 0x${text[j]!.toString(16).padStart(2, '0')}) corrected; the corrected record reproduces its stored crc ${crcHex(crc)}` });
    }
  }
  return out;
}

function hasNewline(b: Buffer): boolean {
  return b.indexOf(NL) >= 0;
}
