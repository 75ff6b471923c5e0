import type { LogPosition } from './logfile.js';

/**
 * The shared memory between a long scan's two threads (scan-ahead.ts and scan-worker.ts).
 *
 * ctl (Int32Array): status, stop, started, then per slot [state, bytes, records]. A slot is
 * 0 while the reader thread may fill it and 1 once it holds verified records for the main thread;
 * the main thread sets it back to 0 when it has applied them. Every hand-over is an Atomics store
 * after the plain writes it publishes, so the other side sees them (JS memory model).
 * pos (Float64Array): the file offset of each slot's first byte. Where the reader stopped is
 * where the main thread's last applied record ends: it goes on from there itself.
 * lines (Int32Array): per slot, LINES_PER_SLOT line ends (offset of the newline within the slot),
 * then as many crcs, then as many replay forms (log/codec.ts verifiedForm).
 */
export const AHEAD = {
  status: 0, // 0 running, 1 finished (at the end of the range or at a line it cannot vouch for), 2 failed
  stop: 1, // set by the main thread when it gives up (an error in its visitor)
  started: 2, // set by the reader thread as soon as it runs
  slots: 3, // ctl index of the first slot
} as const;

export const SLOT_INTS = 4;

/** Lines per slot the tables hold: a slot of 4 MiB holds ~15,000 records of a typical 280 bytes. */
export const LINES_PER_SLOT = 65536;

export function slotBase(slot: number): number {
  return AHEAD.slots + slot * SLOT_INTS;
}

/** What the reader thread is given. */
export interface AheadData {
  path: string;
  ino: number;
  dev: number;
  from: LogPosition;
  size: number;
  slots: number;
  slotBytes: number;
  ctl: SharedArrayBuffer;
  pos: SharedArrayBuffer;
  data: SharedArrayBuffer;
  lines: SharedArrayBuffer;
}

/** The line-end and crc tables of one slot, over the shared `lines` buffer. */
export function slotTables(lines: SharedArrayBuffer, slot: number): { ends: Int32Array; crcs: Int32Array; forms: Int32Array } {
  const base = slot * TABLES * LINES_PER_SLOT;
  const table = (k: number) => new Int32Array(lines, 4 * (base + k * LINES_PER_SLOT), LINES_PER_SLOT);
  return { ends: table(0), crcs: table(1), forms: table(2) };
}

/** Tables per slot: line ends, crcs, replay forms. */
export const TABLES = 3;
