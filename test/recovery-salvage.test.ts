// repair-state through the real CLI on damage nobody designed for: one flipped bit anywhere in a
// record, a record garbled past one bit, a cut tail, a line removed, a line duplicated. The promise:
// nothing acknowledged is lost; a single flipped bit costs nothing, damage inside one record at
// most that record, and what the log lost a newer current.json or archive file still holds.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, runSpec, status } from './recovery-helpers.js';

let base = '';
let work = '';
let original = '';
let lines: string[] = [];
let acknowledged: Record<string, string> = {};

/** Every workstream's state and every task's state and retry count, archived ones included. */
function everything(S: string): Record<string, string> {
  const st = status(S);
  const out: Record<string, string> = {};
  for (const [id, s] of Object.entries(st.ws)) out[id] = s;
  for (const [k, t] of Object.entries(st.tasks)) out[k] = `${t.state} ${t.retry_count}`;
  return out;
}

let n = 0;
/** A fresh copy of the base state folder. */
function copy(): string {
  const S = join(work, `s${n++}`, '.state');
  cpSync(base, S, { recursive: true });
  return S;
}

/** Byte offset where line `seq` (1-based) starts. */
function offsetOf(seq: number): number {
  return lines.slice(0, seq - 1).reduce((a, l) => a + Buffer.byteLength(l) + 1, 0);
}

function damage(S: string, f: (b: Buffer) => Buffer): void {
  const log = join(S, 'transitions.jsonl');
  writeFileSync(log, f(readFileSync(log)));
}

function repair(S: string): any {
  const v = cli(S, ['validate-state', '--json']);
  assert.notEqual(v.code, 0, 'the damage is seen before the repair');
  const r = cli(S, ['repair-state', '--yes', '--json']);
  assert.equal(r.code, 0, r.err);
  const res = r.json();
  assert.deepEqual(res.remaining, [], 'validate-state passes after the repair');
  assert.equal(cli(S, ['validate-state']).code, 0);
  return res;
}

before(() => {
  work = mkdtempSync(join(tmpdir(), 'cairn-salvage-'));
  const dir = join(work, 'base');
  base = join(dir, '.state');
  mkdirSync(dir);
  // Four real runs: finished workstreams in the archive, a log of about 75 records.
  for (const id of ['alpha', 'beta', 'gamma', 'delta']) {
    const r = runSpec(base, dir, { id, tasks: [{ id: 'one', command: ['true'] }, { id: 'two', command: ['true'], depends_on: ['one'] }, { id: 'three', command: ['true'] }] });
    assert.equal(r.code, 0, r.err);
  }
  original = readFileSync(join(base, 'transitions.jsonl'), 'utf8');
  lines = original.split('\n').filter(Boolean);
  assert.ok(lines.length >= 50, `a log of ${lines.length} records`);
  acknowledged = everything(base);
  assert.deepEqual(Object.keys(acknowledged).filter((k) => !k.includes('/')).sort(), ['alpha', 'beta', 'delta', 'gamma']);
});
after(() => rmSync(work, { recursive: true, force: true }));

describe('repair-state corrects a single flipped bit', () => {
  const cases: [string, (l: string) => number][] = [
    ['in the ts of seq 26', (l) => l.indexOf('"ts":"') + 20],
    ['in a seq digit', (l) => 7],
    ['in a key name', (l) => l.indexOf('"type"') + 2],
    ['in the crc field', (l) => l.length - 4],
    ['in the newline after it', (l) => l.length],
  ];
  for (const [where, at] of cases) {
    it(`${where}: the log comes back byte for byte, every workstream is there`, () => {
      const S = copy();
      const seq = 26;
      const pos = offsetOf(seq) + at(lines[seq - 1]!);
      damage(S, (b) => {
        b[pos] = b[pos]! ^ 0x04;
        return b;
      });
      const res = repair(S);
      assert.deepEqual(res.log.salvage.filter((l: { kind: string }) => l.kind !== 'intact').map((l: { seq: number; kind: string }) => `${l.seq} ${l.kind}`), [`${seq} corrected`]);
      const now = readFileSync(join(S, 'transitions.jsonl'), 'utf8');
      assert.ok(now.startsWith(original), 'every record as it was written');
      assert.ok(res.actions.some((a: string) => a.startsWith(`seq ${seq}: one flipped bit`) || a.startsWith(`seq ${seq}: the newline after it`)), res.actions.join('\n'));
      assert.deepEqual(everything(S), acknowledged);
      assert.equal(res.carried.length, 0, 'nothing needed carrying forward');
    });
  }
});

describe('repair-state on damage past one bit', () => {
  it('a garbled task_started costs that record; the completion that no longer applies and what follows come back from current.json and the archive', () => {
    const S = copy();
    const seq = lines.findIndex((l, i) => i > 20 && l.includes('"type":"task_started"')) + 1;
    const pos = offsetOf(seq) + lines[seq - 1]!.indexOf('"worker_id"');
    damage(S, (b) => {
      b.write('XXXXXXXX', pos, 'latin1');
      return b;
    });
    const res = repair(S);
    const notes = res.log.salvage.filter((l: { kind: string }) => l.kind !== 'intact');
    assert.equal(notes[0].seq, seq);
    assert.equal(notes[0].kind, 'lost');
    const aside = notes.find((l: { kind: string; note: string }) => l.kind === 'set_aside' && l.note);
    assert.match(aside.note, /cannot be applied after the repair/, 'repair says why it stopped keeping records');
    assert.ok(res.carried.length > 0, 'the lost state came back from newer files');
    assert.deepEqual(everything(S), acknowledged, 'no acknowledged workstream or task state is lost');
  });

  it('a cut tail: every workstream current.json and the archive still hold is carried forward', () => {
    const S = copy();
    truncateSync(join(S, 'transitions.jsonl'), offsetOf(30) + 17);
    const res = repair(S);
    assert.ok(res.log.end_seq <= 29 && res.log.end_seq >= 25, `the log keeps what was whole before the cut (seq ${res.log.end_seq}; a decision cut in two goes whole)`);
    assert.ok(res.carried.length >= 3, res.carried.join(', '));
    assert.deepEqual(everything(S), acknowledged, 'a workstream acknowledged as finished never disappears');
  });

  it('a log cut at a record boundary looks whole, but a newer current.json shows what it lost: carried forward', () => {
    const S = copy();
    truncateSync(join(S, 'transitions.jsonl'), offsetOf(45));
    const res = repair(S);
    assert.equal(res.log.damage, null, 'no record of the log is damaged');
    assert.ok(res.carried.length > 0, 'the files newer than the log carried its lost tail forward');
    assert.deepEqual(everything(S), acknowledged);
  });

  it('with current.json and the archive gone too, the checkpoints carry the lost task states forward, and the workstream finishes', () => {
    const S = copy();
    const sub = lines.findIndex((l) => l.includes('"type":"workstream_submitted"') && l.includes('"delta"'));
    const seq = lines.findIndex((l, i) => i > sub && l.includes('"type":"task_completed"')) + 1;
    truncateSync(join(S, 'transitions.jsonl'), offsetOf(seq + 1));
    rmSync(join(S, 'current.json'));
    rmSync(join(S, 'archive'), { recursive: true });
    const res = repair(S);
    assert.deepEqual(res.carried, ['delta from checkpoints/delta_latest.json']);
    assert.deepEqual(everything(S), acknowledged);
  });

  it('a workstream whose definition no file holds any more is never dropped silently: the repair names it and what to do', () => {
    const S = copy();
    const sub = lines.findIndex((l) => l.includes('"type":"workstream_submitted"') && l.includes('"delta"')) + 1;
    truncateSync(join(S, 'transitions.jsonl'), offsetOf(sub));
    rmSync(join(S, 'current.json'));
    rmSync(join(S, 'archive'), { recursive: true });
    const res = repair(S);
    const said = res.actions.find((a: string) => a.startsWith('workstream delta was submitted'));
    assert.ok(said, res.actions.join('\n'));
    assert.match(said, /submit its spec again/);
    assert.ok(res.warnings.includes(said));
  });

  it('a line removed: the record is lost, the state is not', () => {
    const S = copy();
    const seq = 40;
    damage(S, (b) => Buffer.concat([b.subarray(0, offsetOf(seq)), b.subarray(offsetOf(seq + 1))]));
    const res = repair(S);
    assert.equal(res.log.salvage.find((l: { kind: string }) => l.kind !== 'intact').seq, seq);
    assert.deepEqual(everything(S), acknowledged);
  });

  it('a line duplicated costs nothing: the log comes back byte for byte', () => {
    const S = copy();
    const seq = 33;
    damage(S, (b) => Buffer.concat([b.subarray(0, offsetOf(seq + 1)), b.subarray(offsetOf(seq), offsetOf(seq + 1)), b.subarray(offsetOf(seq + 1))]));
    const res = repair(S);
    assert.ok(res.actions.some((a: string) => /a second copy of seq 33/.test(a)), res.actions.join('\n'));
    assert.ok(readFileSync(join(S, 'transitions.jsonl'), 'utf8').startsWith(original));
    assert.deepEqual(everything(S), acknowledged);
    assert.equal(readdirSync(S).filter((f) => f.startsWith('transitions.jsonl.corrupt-')).length, 1, 'the damaged stretch is set aside');
  });
});
