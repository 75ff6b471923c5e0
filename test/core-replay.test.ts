// Replay's fast paths must change nothing but the speed: records parsed without id and crc reach
// the same state as records parsed whole, and a long scan that checks the chain on a second thread
// visits the same records and reports the same end, size and problem as the one-thread scan, on
// intact and on damaged logs alike.
import { appendFileSync, copyFileSync, mkdirSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LogBuilder, simulate } from '../bench/gen.js';
import { parseReplayLine } from '../src/log/codec.js';
import { CairnError } from '../src/errors.js';
import { apply, applyReplayed } from '../src/model/apply.js';
import { parseSpec } from '../src/model/spec.js';
import { State } from '../src/model/state.js';
import type { LogRecord } from '../src/model/types.js';
import { realFs } from '../src/store/fsio.js';
import { envelopeProblem, isIsoTs, loadState } from '../src/store/load.js';
import { LOG_START, scanLog, type ScanResult } from '../src/store/logfile.js';
import { StatePaths } from '../src/store/paths.js';
import { setScanAheadHandOver, setScanAheadMinBytes } from '../src/store/scan-ahead.js';
import { FIXTURES } from './helpers/paths.js';
import { replayLog, stateDocument } from './helpers/state.js';
import { scratch } from './helpers/tmp.js';

const GOLDEN = join(FIXTURES, 'logs');
const goldenLogs = readdirSync(GOLDEN).filter((f) => f.endsWith('.jsonl')).map((f) => join(GOLDEN, f));

function lines(file: string): string[] {
  return readFileSync(file, 'utf8').split('\n').slice(0, -1);
}

/** A state folder holding `file` as its log and nothing else. */
function folderWith(file: string): string {
  const dir = join(scratch('cairn-replay-'), '.state');
  mkdirSync(dir, { mode: 0o700 });
  copyFileSync(file, join(dir, 'transitions.jsonl'));
  return dir;
}

describe('the timestamp check of a replayed record', () => {
  it('takes only times Date.parse reads, at every edge of every field', () => {
    const pad = (n: number, w: number) => String(n).padStart(w, '0');
    let accepted = 0;
    for (const y of [0, 1970, 2026, 9999]) {
      for (let m = 0; m <= 13; m++) {
        for (const d of [0, 1, 28, 29, 30, 31, 32]) {
          for (const [h, mi, se] of [[0, 0, 0], [23, 59, 59], [24, 0, 0], [23, 60, 0], [23, 0, 60]]) {
            const ts = `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}T${pad(h!, 2)}:${pad(mi!, 2)}:${pad(se!, 2)}.999Z`;
            if (isIsoTs(ts)) {
              accepted++;
              assert.ok(!Number.isNaN(Date.parse(ts)), `${ts} is taken but Date.parse refuses it`);
            }
          }
        }
      }
    }
    assert.ok(accepted > 100, `${accepted} accepted`);
    for (const ts of ['2026-01-01T00:00:00Z', '2026-1-01T00:00:00.000Z', '2026-01-01 00:00:00.000Z', '2026-01-01T00:00:00.000+00:00', 'x'.repeat(24)]) {
      assert.equal(isIsoTs(ts), false, ts);
    }
  });

  it('still lets Date.parse judge every other spelling, as before', () => {
    const rec = { id: 'x', type: 'state_restored', severity: 'info', operator: null };
    assert.equal(envelopeProblem({ ...rec, ts: '2026-01-01T00:00:00Z' }), null);
    assert.equal(envelopeProblem({ ...rec, ts: '2026-13-01T00:00:00.000Z' }), 'its ts is not a timestamp');
    assert.equal(envelopeProblem({ ...rec, ts: 'yesterday' }), 'its ts is not a timestamp');
  });
});

describe('records parsed for replay (without id and crc)', () => {
  it('are the whole-line records minus id and crc, for every line of every golden log', () => {
    let n = 0;
    for (const file of goldenLogs) {
      for (const line of lines(file)) {
        const whole = JSON.parse(line) as Record<string, unknown>;
        const buf = Buffer.from(`garbage${line}more`);
        const got = parseReplayLine(buf, 7, 7 + Buffer.byteLength(line), whole.seq as number);
        const { id: _id, crc: _crc, ...want } = whole;
        assert.deepEqual(got, want, `seq ${String(whole.seq)}`);
        assert.equal(buf.toString('utf8', 7, buf.length - 4), line, 'the buffer is left as it was');
        n++;
      }
    }
    assert.ok(n > 50, `${n} lines`);
  });

  it('are refused (parse the whole line instead) whenever the line is not exactly what cairn writes', () => {
    const good = lines(goldenLogs[0]!)[3]!;
    const seq = (JSON.parse(good) as { seq: number }).seq;
    const variants: Record<string, string> = {
      'a leading zero in seq': good.replace(`{"seq":${seq},`, `{"seq":0${seq},`),
      'a space after the brace': good.replace('{"seq"', '{ "seq"'),
      'a lower-case id': good.replace(/"id":"([0-9A-Z]{26})"/, (_m, id: string) => `"id":"${id.toLowerCase()}"`),
      'a short id': good.replace(/"id":"[0-9A-Z]{26}"/, '"id":"01ABC"'),
      'an escaped id': good.replace(/"id":"[0-9A-Z]{2}/, '"id":"\\u0030A'),
      'a second seq key': good.replace(',"crc":', ',"seq":7,"crc":'),
      'a second id key': good.replace(',"crc":', ',"id":"x","crc":'),
      'a second crc key': good.replace(',"crc":', ',"crc":"00000000","crc":'),
      'no crc at the end': good.replace(/,"crc":"[0-9a-f]{8}"\}$/, '}'),
      'id as the last key': `{"seq":${seq},"id":"01JN8BG900B6GR48QH7ECGPZ10","crc":"00000000"}`,
    };
    for (const [what, line] of Object.entries(variants)) {
      assert.notEqual(line, good, what);
      const buf = Buffer.from(line);
      let got: unknown;
      try {
        got = parseReplayLine(buf, 0, buf.length, seq);
      } catch {
        got = 'threw';
      }
      assert.ok(got === null || got === 'threw', `${what}: ${JSON.stringify(got)}`);
    }
    assert.equal(parseReplayLine(Buffer.from(good), 0, Buffer.byteLength(good), seq + 1), null, 'a seq other than the line states');
  });

  it('throw for a line whose inside is not JSON, as JSON.parse of the whole line does', () => {
    const good = lines(goldenLogs[0]!)[3]!;
    const bad = good.replace('"type":', '"type"');
    assert.throws(() => JSON.parse(bad), SyntaxError);
    assert.throws(() => parseReplayLine(Buffer.from(bad), 0, Buffer.byteLength(bad), (JSON.parse(good) as { seq: number }).seq), SyntaxError);
  });

  it('are applied by handlers that never read a record\'s id or crc', () => {
    for (const file of goldenLogs) {
      const whole = new State();
      const replayed = new State();
      for (const line of lines(file)) {
        const rec = JSON.parse(line) as LogRecord;
        apply(whole, rec);
        const { id: _id, crc, ...rest } = rec;
        const guarded = new Proxy(rest, {
          get(target, key, receiver) {
            if (key === 'id' || key === 'crc') throw new Error(`a handler read ${String(key)} of ${rec.type}`);
            return Reflect.get(target, key, receiver) as unknown;
          },
        });
        applyReplayed(replayed, guarded, parseInt(crc, 16));
      }
      assert.deepEqual(stateDocument(replayed), stateDocument(whole), file);
    }
  });

  it('replay every golden log to exactly the state of the whole-line replay', () => {
    for (const file of goldenLogs) {
      const loaded = loadState(realFs, new StatePaths(folderWith(file)), { skipCurrent: true });
      assert.equal(loaded.problem, null);
      assert.deepEqual(stateDocument(loaded.state), stateDocument(replayLog(file)), file);
    }
  });
});

/** A log of a simulated run: ~`records` records, some decisions of several records (batch: n). */
function simulated(dir: string, records: number): string {
  const file = join(dir, 'transitions.jsonl');
  simulate(file, { workstreamId: 'sim', tasks: 120, layerWidth: 12, workers: 2, churnRecords: records });
  return file;
}

/**
 * Every field of a scan that a caller reads, and the seq/offset of every record it visited, with
 * one thread and with two (the second thread taking over after `handOver` records, 0: at once).
 */
function scanBoth(file: string, handOver = 0): { one: ScanResult; two: ScanResult; visitedOne: string; visitedTwo: string } {
  const visit = (into: string[]) => (_b: Buffer, start: number, end: number, seq: number, crc: number, offset: number) => {
    into.push(`${seq}:${crc}:${offset}:${end - start}`);
  };
  const a: string[] = [];
  const b: string[] = [];
  const prev = setScanAheadMinBytes(Infinity);
  try {
    const one = scanLog(realFs, file, LOG_START, visit(a));
    setScanAheadMinBytes(0);
    setScanAheadHandOver(handOver);
    const two = scanLog(realFs, file, LOG_START, visit(b));
    return { one, two, visitedOne: a.join(','), visitedTwo: b.join(',') };
  } finally {
    setScanAheadMinBytes(prev);
    setScanAheadHandOver(null);
  }
}

/**
 * A submitted spec with one huge param, to make one long log line. The spec check refuses a param
 * no process could be started with (over 128 KiB), but a log written before it — or by another
 * tool — may hold such a line, and replay must handle it: so the param is set after the check.
 */
function withBlob(id: string, blob: string): ReturnType<typeof parseSpec> {
  const spec = parseSpec({ id, params: { blob: 'small' }, tasks: [{ id: 'a', command: 'true' }] }, { defaultId: () => id });
  spec.params.blob = blob;
  return spec;
}

function assertSameScan(file: string, what: string, handOver = 0): ScanResult {
  const { one, two, visitedOne, visitedTwo } = scanBoth(file, handOver);
  const ahead = two.ahead;
  assert.deepEqual({ end: two.end, size: two.size, records: two.records, problem: two.problem, ino: two.ino }, { end: one.end, size: one.size, records: one.records, problem: one.problem, ino: one.ino }, what);
  assert.equal(visitedTwo, visitedOne, `${what}: the same records visited`);
  if (handOver < one.records) assert.ok((ahead ?? 0) > 0, `${what}: the second thread checked records (${String(ahead)})`);
  return two;
}

describe('a long scan on two threads', () => {
  const root = scratch('cairn-scan2-');
  // ~13 MiB: more than the three 4 MiB slots, so slots are handed back and filled again.
  mkdirSync(join(root, 'big'));
  const big = simulated(join(root, 'big'), 45_000);
  const size = readFileSync(big).length;
  const bigLines = lines(big);
  const prev = setScanAheadMinBytes(0);
  after(() => setScanAheadMinBytes(prev));

  it('visits every record of an intact log, in order, and ends where the one-thread scan does', () => {
    assert.ok(size > 12 * 1024 * 1024, `${size} bytes`);
    assert.ok(bigLines.some((l) => l.includes('"batch":')), 'the log has decisions of several records');
    const r = assertSameScan(big, 'intact');
    assert.equal(r.problem, null);
    assert.equal(r.records, bigLines.length);
    assert.equal(r.ahead, bigLines.length, 'every record was checked by the second thread');
  });

  it('takes over from the one-thread start of the scan at a decision boundary, wherever that is', () => {
    for (const handOver of [1, 64, 1000, 20_000, 40_000]) {
      const r = assertSameScan(big, `hand-over after ${handOver} records`, handOver);
      assert.equal(r.problem, null);
      assert.ok(r.ahead! > 0 && r.ahead! <= r.records - handOver, `hand-over after ${handOver}: ${r.ahead} of ${r.records} by the second thread`);
    }
    const past = assertSameScan(big, 'hand-over past the end', 10_000_000);
    assert.equal(past.ahead, 0, 'a scan that ends before the hand-over never takes the thread');
  });

  it('gives the same result when the hand-over waits for the thread to be ready (the default)', () => {
    const prev = setScanAheadMinBytes(0);
    try {
      const visited: string[] = [];
      const r = scanLog(realFs, big, LOG_START, (_b, s, e, seq, crc) => visited.push(`${seq}:${crc}:${e - s}`));
      setScanAheadMinBytes(Infinity);
      const alone: string[] = [];
      const one = scanLog(realFs, big, LOG_START, (_b, s, e, seq, crc) => alone.push(`${seq}:${crc}:${e - s}`));
      assert.deepEqual({ ...r, ahead: undefined }, { ...one, ahead: undefined });
      assert.equal(visited.join(','), alone.join(','));
    } finally {
      setScanAheadMinBytes(prev);
    }
  });

  it('replays to the same state as the one-thread scan', () => {
    const dir = folderWith(big);
    setScanAheadMinBytes(Infinity);
    const one = loadState(realFs, new StatePaths(dir), { skipCurrent: true });
    setScanAheadMinBytes(0);
    setScanAheadHandOver(5_000);
    const two = loadState(realFs, new StatePaths(dir), { skipCurrent: true });
    setScanAheadHandOver(null);
    assert.deepEqual(stateDocument(two.state), stateDocument(one.state));
    assert.deepEqual(stateDocument(two.state), stateDocument(replayLog(big)));
    assert.deepEqual(two.end, one.end);
  });

  it('reports a torn tail exactly as the one-thread scan does, wherever the log is cut', () => {
    const cuts = [size - 1, size - 20, Math.floor(size / 2), 4 * 1024 * 1024 + 3, 4 * 1024 * 1024 - 1, 8 * 1024 * 1024 + 100, 300];
    for (const cut of cuts) {
      const f = join(root, `cut-${cut}.jsonl`);
      copyFileSync(big, f);
      truncateSync(f, cut);
      const r = assertSameScan(f, `cut at ${cut}`);
      assert.ok(r.problem?.kind === 'torn' || r.problem?.kind === 'incomplete', `cut at ${cut}: ${JSON.stringify(r.problem)}`);
    }
  });

  it('reports a log that ends inside a decision as that decision set aside', () => {
    const i = bigLines.findLastIndex((l) => l.includes('"batch":'));
    const f = join(root, 'open-decision.jsonl');
    writeFileSync(f, bigLines.slice(0, i + 1).join('\n') + '\n');
    const r = assertSameScan(f, 'open decision');
    assert.equal(r.problem?.kind, 'torn');
    assert.equal(r.records, i);
  });

  it('reports mid-log corruption at the same seq, from a flipped byte anywhere', () => {
    const buf = readFileSync(big);
    for (const at of [100, Math.floor(size / 3), 4 * 1024 * 1024 + 17, size - 400]) {
      const bad = Buffer.from(buf);
      bad[at] = bad[at]! ^ 0x04;
      const f = join(root, `flip-${at}.jsonl`);
      writeFileSync(f, bad);
      const r = assertSameScan(f, `flip at ${at}`);
      assert.ok(r.problem !== null, `flip at ${at} is found`);
    }
  });

  it('keeps the second thread when the first decision is longer than its first, small read', () => {
    const dir = join(root, 'big-first');
    mkdirSync(dir);
    const f = join(dir, 'transitions.jsonl');
    const g = new LogBuilder(f);
    const spec = withBlob('big-first', 'y'.repeat(1024 * 1024));
    g.do({ kind: 'submit', spec });
    g.do({ kind: 'scheduler_start', scheduler_id: 'sched-1', pid: 1, process_start: null });
    for (let i = 0; i < 2_000; i++) g.do(i % 2 === 0 ? { kind: 'worker_start', worker_id: 'w1', pid: 2, scheduler_id: 'sched-1' } : { kind: 'worker_shutdown', worker_id: 'w1', trigger: 'test', reassign: false });
    g.close();
    const r = assertSameScan(f, 'a 1 MiB first decision');
    assert.equal(r.problem, null);
    assert.equal(r.ahead, r.records, 'every record was checked by the second thread');
  });

  it('goes on alone past a line longer than a slot, and after garbage appended', () => {
    const dir = join(root, 'long');
    mkdirSync(dir);
    const f = join(dir, 'transitions.jsonl');
    const g = new LogBuilder(f);
    g.do({ kind: 'scheduler_start', scheduler_id: 'sched-1', pid: 1, process_start: null });
    for (let i = 0; i < 20_000; i++) g.do(i % 2 === 0 ? { kind: 'worker_start', worker_id: 'w1', pid: 2, scheduler_id: 'sched-1' } : { kind: 'worker_shutdown', worker_id: 'w1', trigger: 'test', reassign: false });
    const spec = withBlob('big-params', 'x'.repeat(5 * 1024 * 1024));
    g.do({ kind: 'submit', spec });
    for (let i = 0; i < 20_000; i++) g.do(i % 2 === 0 ? { kind: 'worker_start', worker_id: 'w1', pid: 2, scheduler_id: 'sched-1' } : { kind: 'worker_shutdown', worker_id: 'w1', trigger: 'test', reassign: false });
    g.close();
    const r = assertSameScan(f, 'a 5 MiB line');
    assert.equal(r.problem, null);
    assert.ok(r.ahead! < r.records, 'the one-thread scan took over at the long line');
    appendFileSync(f, 'not a record\n{"seq":');
    const t = assertSameScan(f, 'garbage at the end');
    assert.equal(t.problem?.kind, 'torn');
  });

  it('refuses crafted records (a __proto__ key however spelled, deep nesting) exactly as the one-thread replay does', () => {
    const base = lines(goldenLogs[0]!);
    const last = JSON.parse(base.at(-1)!) as { seq: number; crc: string };
    /** A crc-valid line chained on the log: what someone who recomputes the chain can write. */
    const crafted = (extra: string) => {
      const body = `{"seq":${last.seq + 1},"id":"01JN8BG900B6GR48QH7ECGPZ99","ts":"2026-01-01T00:00:00.000Z","type":"state_restored","severity":"info","operator":null,${extra}`;
      const crc = crc32(Buffer.from(`${body}}`), parseInt(last.crc, 16)) >>> 0;
      return `${body},"crc":"${crc.toString(16).padStart(8, '0')}"}`;
    };
    const deep = (n: number) => `"x":${'['.repeat(n)}${']'.repeat(n)}`;
    const cases: Record<string, [extra: string, code: string | null]> = {
      'a __proto__ key': ['"x":{"__proto__":1}', 'LOG_CORRUPT'],
      'an escaped __proto__ key': ['"x":{"\\u005f_proto__":1}', 'LOG_CORRUPT'],
      'nesting 70 deep': [deep(70), 'LOG_INVALID'],
      'nesting 63 deep (64 with the record)': [deep(63), null],
      'nesting 64 deep (65 with the record)': [deep(64), 'LOG_INVALID'],
      '__proto__ in a string only': ['"reason":"__proto__"', null],
      'a backslash in a string only': ['"reason":"a\\"b"', null],
    };
    const outcome = (dir: string): string => {
      try {
        const l = loadState(realFs, new StatePaths(dir), { skipCurrent: true });
        return `ok seq ${l.state.seq}`;
      } catch (e) {
        assert.ok(e instanceof CairnError, String(e));
        return `${e.code}: ${e.message}`;
      }
    };
    for (const [what, [extra, code]] of Object.entries(cases)) {
      const file = join(root, `crafted-${what.replace(/\W+/g, '-')}.jsonl`);
      writeFileSync(file, `${[...base, crafted(extra)].join('\n')}\n`);
      const dir = folderWith(file);
      setScanAheadMinBytes(Infinity);
      const one = outcome(dir);
      setScanAheadMinBytes(0);
      setScanAheadHandOver(0);
      const two = outcome(dir);
      setScanAheadHandOver(null);
      assert.equal(two, one, what);
      if (code === null) assert.equal(one, `ok seq ${last.seq + 1}`, what);
      else assert.ok(one.startsWith(`${code}:`), `${what}: ${one}`);
    }
  });
});
