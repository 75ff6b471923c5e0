import { createRequire } from 'node:module';

// worker_threads loads only when a long scan starts a second thread: short commands never do.
const require = createRequire(import.meta.url);
import { CairnError } from '../errors.js';
import type { LineVisitor, LogPosition } from './logfile.js';
import { AHEAD, type AheadData, LINES_PER_SLOT, SLOT_INTS, slotBase, slotTables, TABLES } from './scan-ahead-layout.js';

/**
 * A long scan on two threads. Checking the crc chain is a third of what a replay costs besides
 * JSON.parse, and it needs only the bytes, so a second thread (scan-worker.ts) reads the log and
 * checks it a few MiB ahead while this thread parses and applies what it has vouched for. Each
 * record is applied only after the reader thread found it intact and chained, and only as part of
 * a whole decision, exactly as in the one-thread scan; where the reader stops (a bad line, a line
 * longer than a slot, a read error, the log replaced) the caller scans on alone from the last
 * record applied, so what a damaged log is called is decided by one piece of code.
 */

const SLOTS = 3;
const SLOT_BYTES = 4 * 1024 * 1024;

/** Scans shorter than this stay on one thread: starting a thread costs a few tens of ms. */
let minBytes = 16 * 1024 * 1024;
/** For tests: hand over after this many records whether or not the thread is ready (null: when ready). */
let handOverAfter: number | null = null;

/** Sets the length from which a scan uses the second thread (tests set 0); returns the previous one. */
export function setScanAheadMinBytes(bytes: number): number {
  const prev = minBytes;
  minBytes = bytes;
  return prev;
}

/**
 * For tests, which need the hand-over at a known point: after `records` records scanned alone
 * (0: at once), whether or not the thread is ready; null restores the default (when it is ready).
 */
export function setScanAheadHandOver(records: number | null): void {
  handOverAfter = records;
}

/** Whether the one-thread start of a long scan, `records` records in, hands over to the reader. */
export function scanAheadYield(records: number, reader: Ahead): boolean {
  return handOverAfter === null ? reader.ready() : records >= handOverAfter;
}

export function scanAheadWorthIt(bytes: number): boolean {
  return bytes >= minBytes && bytes > 0;
}

export interface AheadResult {
  /** Position after the last record visited. */
  pos: LogPosition;
  records: number;
  /** True when the reader reached `size` with every record intact: nothing is left to scan. */
  complete: boolean;
}

/** A reader thread at work on a range of the log (see startAhead). */
export interface Ahead {
  /** Whether records are waiting (or the reader has finished): the caller may switch to `consume`. */
  ready(): boolean;
  /**
   * Visits, in order, the verified records after `done` (a decision boundary the caller reached
   * on its own: the records up to it are skipped), until the reader stops.
   */
  consume(done: LogPosition, visit: LineVisitor): AheadResult;
  /** Tells the reader to stop (it may still be running: its slots are no longer read). */
  stop(): void;
}

/**
 * Starts a reader thread on `path` from `from` up to `size`; null when no thread could be started
 * (the caller scans alone). The caller may scan the first records itself while the thread starts
 * (a few tens of ms) and switch to `consume` once `ready`.
 */
export function startAhead(path: string, file: { ino: number; dev: number }, from: LogPosition, size: number): Ahead | null {
  const ctlBuf = new SharedArrayBuffer(4 * (AHEAD.slots + SLOTS * SLOT_INTS));
  const posBuf = new SharedArrayBuffer(8 * SLOTS);
  const dataBuf = new SharedArrayBuffer(SLOTS * SLOT_BYTES);
  const ctl = new Int32Array(ctlBuf);
  const pos64 = new Float64Array(posBuf);
  const linesBuf = new SharedArrayBuffer(4 * TABLES * LINES_PER_SLOT * SLOTS);
  const data: AheadData = { path, ino: file.ino, dev: file.dev, from, size, slots: SLOTS, slotBytes: SLOT_BYTES, ctl: ctlBuf, pos: posBuf, data: dataBuf, lines: linesBuf };
  let worker: import('node:worker_threads').Worker;
  try {
    const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
    worker = new Worker(new URL('./scan-worker.js', import.meta.url), { workerData: data });
  } catch {
    return null;
  }
  worker.unref();
  const views = Array.from({ length: SLOTS }, (_, i) => Buffer.from(dataBuf, i * SLOT_BYTES, SLOT_BYTES));
  const tables = Array.from({ length: SLOTS }, (_, i) => slotTables(linesBuf, i));
  let slot = 0;
  const stop = () => {
    Atomics.store(ctl, AHEAD.stop, 1);
    Atomics.notify(ctl, slotBase(slot));
  };
  const consume = (done: LogPosition, visit: LineVisitor): AheadResult => {
    let offset = from.offset;
    let seq = from.seq;
    let crc = from.crc;
    let records = 0;
    try {
      for (;;) {
        const base = slotBase(slot);
        if (!waitForSlot(ctl, base)) break;
        const bytes = ctl[base + 1]!;
        const n = ctl[base + 2]!;
        const at = pos64[slot]!;
        const buf = views[slot]!;
        const { ends, crcs, forms } = tables[slot]!;
        if (at !== offset || n > LINES_PER_SLOT || (n > 0 && ends[n - 1]! + 1 !== bytes)) {
          throw new CairnError('INTERNAL', `the log reader handed over a slot that does not add up at byte ${at} (expected ${offset})`);
        }
        let p = 0;
        for (let k = 0; k < n; k++) {
          const nl = ends[k]!;
          seq++;
          crc = crcs[k]! >>> 0;
          if (seq > done.seq) {
            visit(buf, p, nl, seq, crc, offset + p, forms[k]!);
            records++;
          } else if (seq === done.seq && offset + nl + 1 !== done.offset) {
            throw new CairnError('INTERNAL', `the log reader and the scan disagree on where seq ${seq} ends`);
          }
          p = nl + 1;
        }
        offset += bytes;
        Atomics.store(ctl, base, 0);
        Atomics.notify(ctl, base);
        slot = (slot + 1) % SLOTS;
      }
    } catch (e) {
      stop();
      void worker.terminate();
      throw e;
    }
    // Told to stop in case it is still running (it gave up on us, or we on it).
    stop();
    if (seq < done.seq) return { pos: done, records: 0, complete: false }; // it stopped before the caller's own scan did
    const status = Atomics.load(ctl, AHEAD.status);
    return { pos: { offset, seq, crc }, records, complete: status === 1 && offset === size };
  };
  return {
    ready: () => Atomics.load(ctl, slotBase(slot)) === 1 || Atomics.load(ctl, AHEAD.status) !== 0,
    consume,
    stop,
  };
}

/**
 * Waits until `slot` holds verified records (true), or the reader has finished without more, or
 * has not started or not moved for too long (false: the caller scans on alone; a reader that was
 * only slow can do no harm, its slots are no longer read).
 */
function waitForSlot(ctl: Int32Array, base: number): boolean {
  const t0 = performance.now();
  for (;;) {
    if (Atomics.load(ctl, base) === 1) return true;
    // The reader publishes its last slot before its status, so a finished reader with this slot
    // still empty has nothing more to give.
    if (Atomics.load(ctl, AHEAD.status) !== 0) return Atomics.load(ctl, base) === 1;
    const waited = performance.now() - t0;
    // A thread that failed to load its module never says so to a thread that is not listening.
    if (waited > (Atomics.load(ctl, AHEAD.started) === 0 ? START_LIMIT_MS : STALL_LIMIT_MS)) return false;
    Atomics.wait(ctl, base, 0, 20);
  }
}

const START_LIMIT_MS = 10_000;
const STALL_LIMIT_MS = 30_000;
