import * as fs from 'node:fs';
import { workerData } from 'node:worker_threads';
import { verifyRun } from '../log/run.js';
import { FLAGS } from './fsio.js';
import { AHEAD, type AheadData, slotBase, slotTables } from './scan-ahead-layout.js';

/**
 * The second thread of a long scan (see scan-ahead.ts): it reads the log into the shared slots,
 * checks the crc chain and seq of every record, and hands each slot to the main thread with how
 * many of its bytes are whole, intact decisions. It stops at the first line it cannot vouch for,
 * or at the end of the range, and says where; it never decides what a bad line is.
 */
const d = workerData as AheadData;
const FIRST_READ = 256 * 1024;
const ctl = new Int32Array(d.ctl);
const pos64 = new Float64Array(d.pos);
// Buffers, not bare Uint8Arrays: the codec searches them for byte strings (Buffer#indexOf).
const views = Array.from({ length: d.slots }, (_, i) => Buffer.from(d.data, i * d.slotBytes, d.slotBytes));
const tables = Array.from({ length: d.slots }, (_, i) => slotTables(d.lines, i));

function finish(status: number): void {
  Atomics.store(ctl, AHEAD.status, status);
  Atomics.notify(ctl, AHEAD.status);
}

Atomics.store(ctl, AHEAD.started, 1);
let fd = -1;
try {
  let offset = d.from.offset;
  let seq = d.from.seq;
  let crc = d.from.crc;
  fd = fs.openSync(d.path, FLAGS.read);
  const st = fs.fstatSync(fd);
  // Another file under the same name (the log was replaced meanwhile): the main thread reads on alone.
  if (st.ino !== d.ino || st.dev !== d.dev) throw new Error('the log was replaced');
  let slot = 0;
  // A small first read: the main thread waits for the first slot, later ones are ready in time.
  let readSize = Math.min(FIRST_READ, d.slotBytes);
  for (;;) {
    if (offset >= d.size) break;
    const base = slotBase(slot);
    // Wait until the main thread has handed this slot back.
    while (Atomics.load(ctl, base) !== 0) {
      if (Atomics.load(ctl, AHEAD.stop) !== 0) throw new Error('stopped');
      Atomics.wait(ctl, base, 1, 50);
    }
    if (Atomics.load(ctl, AHEAD.stop) !== 0) throw new Error('stopped');
    const view = views[slot]!;
    const want = Math.min(readSize, d.size - offset);
    let got = 0;
    while (got < want) {
      const n = fs.readSync(fd, view, got, want - got, offset + got);
      if (n <= 0) break;
      got += n;
    }
    const run = verifyRun(view, got, seq, crc, tables[slot]);
    if (run.records === 0 && !run.broken && got === want && readSize < d.slotBytes) {
      readSize = d.slotBytes; // the first decision is longer than the first read: read the whole slot
      continue;
    }
    readSize = d.slotBytes;
    if (run.records > 0) {
      pos64[slot] = offset;
      ctl[base + 1] = run.bytes;
      ctl[base + 2] = run.records;
      Atomics.store(ctl, base, 1);
      Atomics.notify(ctl, base);
      offset += run.bytes;
      seq = run.seq;
      crc = run.crc;
      slot = (slot + 1) % d.slots;
    }
    // A bad line, a short read, or a line or decision longer than a slot: the main thread goes on
    // from here with the full scan, which knows what to make of it.
    if (run.broken || run.records === 0 || got < want) break;
  }
  finish(1);
} catch {
  finish(2);
} finally {
  if (fd >= 0) fs.closeSync(fd);
}
