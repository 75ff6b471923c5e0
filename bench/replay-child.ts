import * as fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { realFs } from '../src/store/fsio.js';
import { loadState } from '../src/store/load.js';
import { StatePaths } from '../src/store/paths.js';

/**
 * One measurement in a fresh process, so each has its own heap and its own RSS high-water mark:
 *   replay <state-dir>     cairn's full replay of the log (crc chain, seq, parse, apply)
 *   bare-str <file>        read 4 MiB chunks, decode to text, split at newlines, JSON.parse each line
 *   bare-buf <file>        read 4 MiB chunks, find newlines in the bytes, decode and JSON.parse each line
 * Prints one JSON line: { ms, records, maxRssKb }.
 */

const CHUNK = 4 * 1024 * 1024; // the chunk size of scanLog, so both read the same way

function replay(dir: string): number {
  const loaded = loadState(realFs, new StatePaths(dir), { skipCurrent: true });
  if (loaded.problem) throw new Error(`replay found a problem: ${JSON.stringify(loaded.problem)}`);
  return loaded.end.seq;
}

function bareStr(file: string): number {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(CHUNK);
  const dec = new StringDecoder('utf8');
  let carry = '';
  let records = 0;
  let sink = 0;
  for (;;) {
    const n = fs.readSync(fd, buf, 0, CHUNK, null);
    if (n <= 0) break;
    const text = carry + dec.write(buf.subarray(0, n));
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      const rec = JSON.parse(text.slice(start, nl)) as { seq: number };
      sink += rec.seq;
      records++;
      start = nl + 1;
    }
    carry = text.slice(start);
  }
  fs.closeSync(fd);
  if (sink < 0) console.error(sink); // keeps the parse results alive
  return records;
}

function bareBuf(file: string): number {
  const fd = fs.openSync(file, 'r');
  let buf = Buffer.allocUnsafe(CHUNK);
  let filled = 0;
  let records = 0;
  let sink = 0;
  for (;;) {
    if (filled === buf.length) {
      const bigger = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(bigger, 0, 0, filled);
      buf = bigger;
    }
    const n = fs.readSync(fd, buf, filled, buf.length - filled, null);
    if (n <= 0) break;
    filled += n;
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(10, start);
      if (nl < 0 || nl >= filled) break;
      const rec = JSON.parse(buf.toString('utf8', start, nl)) as { seq: number };
      sink += rec.seq;
      records++;
      start = nl + 1;
    }
    buf.copy(buf, 0, start, filled);
    filled -= start;
  }
  fs.closeSync(fd);
  if (sink < 0) console.error(sink);
  return records;
}

const [mode, target] = process.argv.slice(2);
if (!mode || !target) throw new Error('usage: replay-child replay|bare-str|bare-buf <path>');
const t0 = performance.now();
const records = mode === 'replay' ? replay(target) : mode === 'bare-str' ? bareStr(target) : mode === 'bare-buf' ? bareBuf(target) : NaN;
const ms = performance.now() - t0; const cpu = process.cpuUsage();
if (Number.isNaN(records)) throw new Error(`unknown mode ${mode}`);
console.log(JSON.stringify({ ms, records, maxRssKb: process.resourceUsage().maxRSS, cpuMs: (cpu.user + cpu.system) / 1000 }));
