// A write cut short leaves a torn tail: whatever byte the last record was cut at, the store opens,
// keeps every complete decision, sets the torn bytes aside in transitions.jsonl.torn-<ts>, and the
// next append chains on the last good record (validate-state finds nothing wrong). A decision of
// several records is atomic: when its last record is torn, its earlier records go aside with it.
import { readdirSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { init, status, submit, validateState } from '../src/index.js';
import type { WorkstreamSpec } from '../src/model/types.js';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { spec } from './helpers/model.js';
import { replayLog, stateDocument } from './helpers/state.js';
import { scratch } from './helpers/tmp.js';
import { assertTreeUnchanged, readTree } from './helpers/tree.js';

const base = scratch('cairn-torn-');
let n = 0;

const FIRST = spec({
  id: 'first', params: { channel: 'beta' }, resources: { db: { max_holders: 1 } },
  tasks: [
    { id: 'fetch', command: 'echo fetch' },
    { id: 'build', command: ['npm', 'run', 'build'], depends_on: ['fetch'], resources: ['db'], critical: true, validate: 'test -f dist/x' },
    { id: 'report', command: 'echo done', depends_on: ['build'] },
  ],
});
const NEXT = (id: string): WorkstreamSpec => spec({ id, tasks: [{ id: 'only', command: 'true' }] });

/** A log written by the real store: two submits (7 records: a resource, two workstreams, queued tasks). */
let reference: Promise<Buffer> | null = null;
function referenceLog(): Promise<Buffer> {
  reference ??= (async () => {
    const dir = join(base, 'reference');
    init({ stateDir: dir });
    await submit({ stateDir: dir, spec: FIRST });
    await submit({ stateDir: dir, spec: NEXT('second') });
    return readFileSync(join(dir, 'transitions.jsonl'));
  })();
  return reference;
}

/** Byte offsets where each line of the log starts, plus the end. */
function lineStarts(log: Buffer): number[] {
  const out = [0];
  for (let i = 0; i < log.length; i++) if (log[i] === 10) out.push(i + 1);
  return out;
}

/** A fresh initialized state folder whose log holds exactly `bytes`. */
function stateWithLog(bytes: Buffer): string {
  n += 1;
  const dir = join(base, `s${n}`);
  init({ stateDir: dir });
  writeFileSync(join(dir, 'transitions.jsonl'), bytes);
  return dir;
}

function tornFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.startsWith('transitions.jsonl.torn-'));
}

/** The seq (1-based line number) at which the decision holding line `seq` begins (`"batch":n` opens one). */
function decisionStart(log: Buffer, seq: number): number {
  const lines = log.toString('utf8').split('\n');
  let open = 0;
  let openAt = 0;
  for (let i = 1; i <= seq; i++) {
    const m = /"type":"[a-z_]+","batch":(\d+),/.exec(lines[i - 1] ?? '');
    if (m) {
      open = Number(m[1]);
      openAt = i;
    }
    if (open > 0 && i >= openAt + open) open = 0;
  }
  return open > 0 && seq < openAt + open ? openAt : seq;
}

/**
 * Cuts the log `cut` bytes into the record that starts at `start`, appends through the public API,
 * and checks everything the store promises about a torn tail: the decision the cut record belongs
 * to is set aside whole, from its first record on.
 */
async function cutAndAppend(log: Buffer, start: number, cut: number, seqOfCut: number): Promise<void> {
  const dir = stateWithLog(log.subarray(0, start + cut));
  const r = await submit({ stateDir: dir, spec: NEXT('after') });
  const first = decisionStart(log, seqOfCut);
  const from = lineStarts(log)[first - 1]!;
  const where = `cut ${cut} bytes into seq ${seqOfCut} (a decision from seq ${first})`;
  assert.equal(r.records[0]!.seq, first, `${where}: the next record takes the torn decision's first seq`);
  const torn = tornFiles(dir);
  assert.equal(torn.length, 1, `${where}: one torn file`);
  assert.deepEqual(readFileSync(join(dir, torn[0]!)), log.subarray(from, start + cut), `${where}: the torn bytes are kept exactly`);
  const now = readFileSync(join(dir, 'transitions.jsonl'));
  assert.deepEqual(now.subarray(0, from), log.subarray(0, from), `${where}: every complete decision is kept byte for byte`);
  const report = validateState({ stateDir: dir });
  assert.deepEqual(report.problems, [], `${where}: validate-state after the append`);
  assert.equal(report.seq, first + r.records.length - 1);
}

describe('a torn tail', () => {
  it('is set aside at every truncation point inside the last record, and the next append is readable', async () => {
    const log = await referenceLog();
    const starts = lineStarts(log);
    const records = starts.length - 1;
    assert.equal(records, 7);
    const last = starts[records - 1]!;
    for (let cut = 1; cut < log.length - last; cut++) await cutAndAppend(log, last, cut, records);
  });

  it('is set aside when a large record (the workstream spec) is cut anywhere: every 7th byte and each of its last 24', async () => {
    const log = await referenceLog();
    const starts = lineStarts(log);
    // Record 2 is workstream_submitted, the largest: take the log up to it and cut inside it.
    assert.match(log.subarray(starts[1]!, starts[2]!).toString(), /"type":"workstream_submitted"/);
    const len = starts[2]! - starts[1]!;
    assert.ok(len > 900, `the record is ${len} bytes`);
    for (let cut = 1; cut < len; cut++) {
      if (cut % 7 === 1 || cut > len - 25) await cutAndAppend(log.subarray(0, starts[2]!), starts[1]!, cut, 2);
    }
  });

  it('is set aside when the file ends with zeros a crash left behind', async () => {
    const log = await referenceLog();
    const dir = stateWithLog(log);
    appendFileSync(join(dir, 'transitions.jsonl'), Buffer.alloc(4096));
    const r = await submit({ stateDir: dir, spec: NEXT('after') });
    assert.equal(r.records[0]!.seq, 8);
    assert.deepEqual(readFileSync(join(dir, tornFiles(dir)[0]!)), Buffer.alloc(4096));
    assert.deepEqual(validateState({ stateDir: dir }).problems, []);
  });

  it('is left alone by a command that only reads, which still shows every complete decision and no part of the torn one', async () => {
    const log = await referenceLog();
    const starts = lineStarts(log);
    const dir = stateWithLog(log.subarray(0, starts[6]! + 40));
    const before = readTree(dir);
    const s = await status({ stateDir: dir });
    const first = decisionStart(log, 7);
    assert.equal(s.seq, first - 1, 'the second submit (records 5-7) is torn as a whole');
    assert.deepEqual(s.workstreams.map((w) => [w.id, w.state]), [['first', 'running']]);
    assertTreeUnchanged(before, readTree(dir), 'the state folder');
  });

  it('is set aside by the CLI too: the next submit succeeds and validate-state passes', async () => {
    const log = await referenceLog();
    const starts = lineStarts(log);
    const dir = stateWithLog(log.subarray(0, starts[6]! + 100));
    const specFile = join(base, 'next.json');
    writeFileSync(specFile, JSON.stringify({ id: 'cli', tasks: [{ id: 'a', command: 'true' }] }));
    const r = await cairnJson(['submit', specFile, '--state-dir', dir]);
    assert.equal(r.code, 0, said(r));
    assert.equal(r.doc.workstream_id, 'cli');
    assert.equal(tornFiles(dir).length, 1);
    const v = await cairn(['validate-state', '--state-dir', dir]);
    assert.equal(v.code, 0, said(v));
    const state = replayLog(join(dir, 'transitions.jsonl'));
    // The second submit was torn inside its decision, so it is gone as a whole (kept in the torn file).
    assert.deepEqual(Object.keys((stateDocument(state) as { workstreams: object }).workstreams).sort(), ['cli', 'first']);
    assert.match(readFileSync(join(dir, tornFiles(dir)[0]!), 'utf8'), /"workstream_id":"second"/);
  });
});
