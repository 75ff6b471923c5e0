import { crc32 } from 'node:zlib';
import { KEY_ORDER, RECORD_TYPES } from '../model/catalogue.js';
import type { LogRecord } from '../model/types.js';
import { canonicalize } from './canonical.js';
import { MAX_DEPTH } from './shape.js';

/**
 * The record format of `.state/transitions.jsonl` (DESIGN §3). Pure: no I/O.
 *
 * A line is one JSON object whose keys come in KEY_ORDER, then the remaining keys sorted, then
 * `"crc":"xxxxxxxx"` last. The crc is CRC-32 of the line's bytes *without* the crc field (that is,
 * the text up to the comma before `"crc"`, followed by `}`), seeded with the previous record's crc,
 * so a record cannot be changed, dropped or reordered without breaking every crc after it.
 */

const CRC_SUFFIX_LEN = 18; // ,"crc":"xxxxxxxx"}
const CRC_PREFIX = Buffer.from(',"crc":"');
const CLOSE_BYTE = 0x7d; // }
const FIRST_KEYS = new Set<string>(KEY_ORDER);
const KNOWN_TYPES = new Set<string>(Object.keys(RECORD_TYPES));

/** The CRC-32 table (polynomial 0xEDB88320, as zlib), for extending a crc by one byte in JS. */
const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** crc32 of one more byte: equal to zlib.crc32(Buffer.of(byte), crc), without a native call per record. */
function crc32Byte(crc: number, byte: number): number {
  const c = ~crc;
  return ~(CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8)) >>> 0;
}

export function crcHex(n: number): string {
  return n.toString(16).padStart(8, '0');
}

export function parseCrcHex(s: string): number {
  return /^[0-9a-f]{8}$/.test(s) ? parseInt(s, 16) : -1;
}

/** The envelope keys an `encodeDraft` caller gives: a draft's own values for them are ignored. */
const ENVELOPE_KEYS = new Set<string>(['seq', 'id', 'ts', 'type', 'batch', 'severity', 'operator', 'crc']);
/** What encodeRecord leaves out of a record it is given: its crc is computed anew. */
const CRC_ONLY = new Set<string>(['crc']);

/**
 * Key plans, remembered per record type: which of an object's keys are written, in which order
 * (KEY_ORDER first, then the rest sorted). A plan is reused while an object of its type has
 * exactly the keys it was made for, in the same order, which holds for every record a given code
 * path builds; planning afresh (a Set lookup per key, a lookup per absent KEY_ORDER key, a sort)
 * was a sixth of a batch commit's encoding. At most PLANS_PER_TYPE shapes are kept per type.
 */
interface Plan { keys: string[]; order: string[] }
const PLANS_PER_TYPE = 8;
const recordPlans = new Map<unknown, Plan[]>();
const draftPlans = new Map<unknown, Plan[]>();

function planFor(cache: Map<unknown, Plan[]>, obj: Record<string, unknown>, skip: ReadonlySet<string>): string[] {
  const keys = Object.keys(obj);
  let list = cache.get(obj.type);
  if (list) {
    for (const p of list) if (sameKeys(p.keys, keys)) return p.order;
  }
  const order: string[] = [];
  const present = new Set(keys);
  for (const k of KEY_ORDER) if (present.has(k) && !skip.has(k)) order.push(k);
  const rest = keys.filter((k) => !FIRST_KEYS.has(k) && !skip.has(k)).sort();
  for (const k of rest) order.push(k);
  // Only catalogued types are remembered (encodeDraft's callers check the type first; a record
  // of a made-up type is planned each time rather than growing the cache).
  if (typeof obj.type === 'string' && KNOWN_TYPES.has(obj.type)) {
    if (!list) cache.set(obj.type, (list = []));
    if (list.length < PLANS_PER_TYPE) list.push({ keys, order });
  }
  return order;
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Copies `order`'s keys of `from` onto `o`: undefined left out, nested values canonical. */
function copyPlanned(o: Record<string, unknown>, from: Record<string, unknown>, order: readonly string[]): void {
  for (let i = 0; i < order.length; i++) {
    const k = order[i]!;
    const v = from[k];
    if (v !== undefined) o[k] = typeof v === 'object' && v !== null ? canonicalize(v) : v;
  }
}

/** Serializes the ordered record `o`, chained on `prevCrc`, and puts its crc last. */
function finish(o: Record<string, unknown>, prevCrc: number): { line: string; crc: number; record: LogRecord } {
  const json = JSON.stringify(o);
  // The crc covers the line without its crc field, closing brace included: exactly `json`.
  const crc = crc32(json, prevCrc);
  const hex = crcHex(crc);
  o.crc = hex;
  return { line: `${json.slice(0, -1)},"crc":"${hex}"}\n`, crc, record: o as LogRecord };
}

/**
 * Encodes a record chained on `prevCrc`; returns the line (with its newline) and the record with
 * its crc — a fresh copy whose keys are in the on-disk order (KEY_ORDER, then the rest sorted),
 * nested values canonical and undefined values left out: what JSON.parse of the line gives.
 * (Record keys are names, never integer-like, so insertion order is the output order.)
 */
export function encodeRecord(rec: Omit<LogRecord, 'crc'>, prevCrc: number): { line: string; crc: number; record: LogRecord } {
  const r = rec as Record<string, unknown>;
  const o: Record<string, unknown> = {};
  copyPlanned(o, r, planFor(recordPlans, r, CRC_ONLY));
  return finish(o, prevCrc);
}

/** The envelope the store gives a draft: `batch` 0 for none; severity and operator as defaults. */
export interface EnvelopeFields {
  seq: number;
  id: string;
  ts: string;
  batch: number;
  severity: string;
  operator: string | null;
}

/**
 * encodeRecord of a draft (a record without its envelope) in the envelope `env`, without first
 * building the enveloped record: the draft's own severity and operator win over env's; its seq,
 * id, ts, batch or crc, if it has any, are ignored.
 */
export function encodeDraft(d: { type: string } & Record<string, unknown>, env: EnvelopeFields, prevCrc: number): { line: string; crc: number; record: LogRecord } {
  // KEY_ORDER starts seq, id, ts, type, batch, severity, operator: a literal of the first four
  // keeps V8 on a cached shape, and the other three follow in that order.
  const o: Record<string, unknown> = { seq: env.seq, id: env.id, ts: env.ts, type: d.type };
  if (env.batch > 0) o.batch = env.batch;
  o.severity = d.severity ?? env.severity;
  o.operator = d.operator ?? env.operator;
  copyPlanned(o, d, planFor(draftPlans, d, ENVELOPE_KEYS));
  return finish(o, prevCrc);
}

/**
 * Checks one line (bytes [start, end) of `buf`, without the newline) against the chain.
 * Returns the line's crc, or -1 when the line is not an intact record chained on `prevCrc`.
 */
export function verifyLine(buf: Buffer, start: number, end: number, prevCrc: number): number {
  const len = end - start;
  if (len < CRC_SUFFIX_LEN + 2 || buf[start] !== 0x7b) return -1;
  const cut = end - CRC_SUFFIX_LEN;
  if (!hasCrcPrefix(buf, cut)) return -1;
  if (buf[end - 2] !== 0x22 || buf[end - 1] !== 0x7d) return -1;
  const stated = parseHex8(buf, cut + CRC_PREFIX.length);
  if (stated < 0) return -1;
  // Replay checks every line: one native crc32 call per line, the closing brace folded in here.
  const actual = crc32Byte(crc32(buf.subarray(start, cut), prevCrc), CLOSE_BYTE);
  return actual === stated ? actual : -1;
}

/** The crc a line claims for itself (even if wrong), or -1 when it has none. */
export function statedCrc(buf: Buffer, start: number, end: number): number {
  if (end - start < CRC_SUFFIX_LEN + 2) return -1;
  const cut = end - CRC_SUFFIX_LEN;
  if (!hasCrcPrefix(buf, cut)) return -1;
  return parseHex8(buf, cut + CRC_PREFIX.length);
}

/** Whether `,"crc":"` starts at `at` (a byte loop: cheaper than Buffer#compare for 8 bytes). */
function hasCrcPrefix(buf: Buffer, at: number): boolean {
  for (let i = 0; i < CRC_PREFIX.length; i++) if (buf[at + i] !== CRC_PREFIX[i]) return false;
  return true;
}

/** Reads the seq of a line that starts with `{"seq":N,`; -1 when it does not. */
export function lineSeq(buf: Buffer, start: number, end: number): number {
  // {"seq":
  if (end - start < 9 || buf[start] !== 0x7b || buf[start + 1] !== 0x22 || buf[start + 2] !== 0x73 || buf[start + 3] !== 0x65 ||
      buf[start + 4] !== 0x71 || buf[start + 5] !== 0x22 || buf[start + 6] !== 0x3a) return -1;
  let n = 0;
  let i = start + 7;
  for (; i < end && i < start + 23; i++) {
    const c = buf[i]!;
    if (c < 0x30 || c > 0x39) break;
    n = n * 10 + (c - 0x30);
  }
  return i > start + 7 && buf[i] === 0x2c ? n : -1;
}

function parseHex8(buf: Buffer, at: number): number {
  let n = 0;
  for (let i = at; i < at + 8; i++) {
    const c = buf[i]!;
    let d: number;
    if (c >= 0x30 && c <= 0x39) d = c - 0x30;
    else if (c >= 0x61 && c <= 0x66) d = c - 0x57;
    else return -1;
    n = n * 16 + d;
  }
  return n >>> 0;
}


const TYPE_KEY = Buffer.from('"type":"');
const BATCH_KEY = Buffer.from(',"batch":');

/**
 * The `batch` count of a line (the first record of a decision of several records), or 0. It is
 * found without parsing: it always follows the type value, which holds only [a-z_].
 */
export function lineBatch(buf: Buffer, start: number, end: number): number {
  const t = typeKeyAt(buf, start, end);
  if (t < 0) return 0;
  let i = t + TYPE_KEY.length;
  while (i < end && buf[i] !== 0x22) i++;
  i++;
  if (!bytesAt(buf, i, end, BATCH_KEY)) return 0;
  let n = 0;
  let j = i + BATCH_KEY.length;
  for (; j < end && j < i + BATCH_KEY.length + 10; j++) {
    const c = buf[j]!;
    if (c < 0x30 || c > 0x39) break;
    n = n * 10 + (c - 0x30);
  }
  return n;
}

/**
 * Where `"type":"` starts in a line: in what cairn writes it follows `{"seq":N,"id":"<26>","ts":"<24>",`,
 * so it is looked for there first (no native call per line on replay); anywhere in the first 160
 * bytes otherwise.
 */
function typeKeyAt(buf: Buffer, start: number, end: number): number {
  let comma = start + 7;
  while (comma < end && comma < start + 24 && buf[comma] !== 0x2c) comma++;
  const guess = comma + 1 + 6 + 26 + 8 + 24 + 2; // ,"id":"<26>","ts":"<24>",
  if (bytesAt(buf, guess, end, TYPE_KEY)) return guess;
  // Within the line's first 160 bytes only: Buffer#indexOf would go on to the end of the buffer.
  const t = buf.subarray(start, Math.min(end, start + 160 + TYPE_KEY.length)).indexOf(TYPE_KEY);
  return t < 0 || t > 160 ? -1 : start + t;
}

function bytesAt(buf: Buffer, at: number, end: number, want: Buffer): boolean {
  if (at + want.length > end) return false;
  for (let k = 0; k < want.length; k++) if (buf[at + k] !== want[k]) return false;
  return true;
}

const ID_KEY = Buffer.from(',"id":"');
const ULID_LEN = 26;

/**
 * Parses a record line for replay, without its `id` and `crc`: the text between them goes to
 * JSON.parse and `seq` is set from `seq`. Those three sit at fixed places in every line cairn
 * writes (`{"seq":N,"id":"<ULID>",…,"crc":"<hex>"}`), replay has already checked them byte by byte
 * (seq and crc by the scanner, the id here), and `apply` reads neither id nor crc; leaving them out
 * makes JSON.parse, most of a replay's cost, a quarter cheaper. Returns null when the line is not
 * exactly of that form, or when the rest repeats one of the three keys (JSON.parse of the whole
 * line would then keep the last one): the caller parses the whole line instead, so the record that
 * reaches `apply` is the same either way. Throws JSON.parse's SyntaxError for a line that is no JSON.
 * `form` is replayForm's answer for the line, when the caller has it already.
 */
export function parseReplayLine(buf: Buffer, start: number, end: number, seq: number, form = replayForm(buf, start, end, seq)): Record<string, unknown> | null {
  const at = form & FORM_AT;
  if (at === 0) return null;
  const a = start + at;
  const cut = end - CRC_SUFFIX_LEN;
  // `…","ts":…,"task_id":"t1","crc":"…"}` → `{"ts":…,"task_id":"t1"}`: the comma after the id becomes
  // the opening brace and the comma before "crc" the closing one, for one decode without a copy;
  // both bytes are put back at once (replay is synchronous, nothing else reads the buffer meanwhile).
  const open = buf[a]!;
  const close = buf[cut]!;
  buf[a] = 0x7b;
  buf[cut] = 0x7d;
  const text = utf8(buf, a, cut + 1);
  buf[a] = open;
  buf[cut] = close;
  const rec = JSON.parse(text) as Record<string, unknown>;
  if (rec.seq !== undefined || rec.id !== undefined || rec.crc !== undefined) return null;
  rec.seq = seq;
  return rec;
}

/**
 * UTF-8 text of buf[start, end). Buffer#toString checks its arguments and looks the encoding up
 * before it calls the decoder, Buffer#utf8Slice (Node's own, on every Buffer since its first
 * versions, though not in its documentation); replay decodes every record, so it calls the decoder
 * itself when there is one.
 */
const utf8Slice = (Buffer.prototype as unknown as { utf8Slice?: (this: Buffer, start: number, end: number) => string }).utf8Slice;
const utf8: (buf: Buffer, start: number, end: number) => string = typeof utf8Slice === 'function'
  ? (buf, start, end) => utf8Slice.call(buf, start, end)
  : (buf, start, end) => buf.toString('utf8', start, end);

/** The bits of a replay form: where the id ends (0: not the replay form), and PLAIN. */
const FORM_AT = 0xffff;
const FORM_PLAIN = 0x10000;
const PROTO = Buffer.from('__proto__');

/**
 * What parseReplayLine needs to know of a line, as a number: the offset from `start` of the comma
 * after `{"seq":N,"id":"<ULID>"` when the line has the replay form (it states `seq`, the id is
 * well formed, a key follows, it ends in `,"crc":"<8 hex>"}`), else 0.
 */
export function replayForm(buf: Buffer, start: number, end: number, seq: number): number {
  if (lineSeq(buf, start, end) !== seq) return 0;
  const cut = end - CRC_SUFFIX_LEN;
  if (!hasCrcPrefix(buf, cut) || parseHex8(buf, cut + CRC_PREFIX.length) < 0 || buf[end - 2] !== 0x22 || buf[end - 1] !== 0x7d) return 0;
  return formAt(buf, start, end);
}

/**
 * replayForm of a line whose seq and crc suffix verifyLine has just checked, with the PLAIN bit
 * when the line has no backslash, no `__proto__` and at most 64 brackets: its record can then hold
 * no `__proto__` key (however spelled) and nest no deeper than shape.ts allows, so the shape walk
 * is settled from the bytes. The second thread of a long scan works this out for every line while
 * it checks the chain (native searches, a handful per line), so the thread that applies does not.
 */
export function verifiedForm(buf: Buffer, start: number, end: number): number {
  const at = formAt(buf, start, end);
  if (at === 0) return 0;
  // Searched in the line only: Buffer#indexOf would go on to the end of the buffer (a 4 MiB slot).
  const line = buf.subarray(start, end);
  if (line.indexOf(0x5c) >= 0 || line.indexOf(PROTO) >= 0) return at;
  // At most MAX_DEPTH brackets: the record cannot nest deeper than shape.ts allows.
  let brackets = 0;
  for (let i = line.indexOf(0x7b); i >= 0; i = line.indexOf(0x7b, i + 1)) if (++brackets > MAX_DEPTH) return at;
  for (let i = line.indexOf(0x5b); i >= 0; i = line.indexOf(0x5b, i + 1)) if (++brackets > MAX_DEPTH) return at;
  return at | FORM_PLAIN;
}

/** The offset from `start` of the comma after the id, when something follows it before the crc; else 0. */
function formAt(buf: Buffer, start: number, end: number): number {
  const a = idEnd(buf, start, end);
  return a < 0 || a >= end - CRC_SUFFIX_LEN ? 0 : a - start;
}

/** Whether a replay form says the line's record needs no shape check (see verifiedForm). */
export function formIsPlain(form: number): boolean {
  return (form & FORM_PLAIN) !== 0;
}

/**
 * The offset of the comma after `{"seq":N,"id":"<ULID>"` when a line starts exactly so (N as the
 * scanner read it: at most 15 digits without a leading zero; the ULID in Crockford's upper-case alphabet) and
 * a key follows; -1 otherwise.
 */
function idEnd(buf: Buffer, start: number, end: number): number {
  if (buf[start + 7] === 0x30) return -1; // the caller has read `{"seq":` and the digits with lineSeq
  let i = start + 7;
  while (i < end && buf[i]! >= 0x30 && buf[i]! <= 0x39) i++;
  // Up to 15 digits the scanner's number is the one JSON.parse reads.
  if (i - (start + 7) > 15 || !bytesAt(buf, i, end, ID_KEY)) return -1;
  const idAt = i + ID_KEY.length;
  for (let k = idAt; k < idAt + ULID_LEN; k++) {
    const c = buf[k];
    if (c === undefined || k >= end || !((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a))) return -1;
  }
  const after = idAt + ULID_LEN;
  return after + 2 < end && buf[after] === 0x22 && buf[after + 1] === 0x2c && buf[after + 2] === 0x22 ? after + 1 : -1;
}
