// Read-only commands check only the part of the log after what an earlier command verified
// (.state/log-verified.json, src/store/verified-memo.ts); validate-state and every writer still
// check the whole chain, and the memo is trusted only for the same file, with its last verified
// record intact, and with its own crc.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';

/** A state folder whose log is well over the memo's 64 KiB threshold, made by real submits. */
async function bigLog(): Promise<{ dir: string; state: string; log: string; memo: string }> {
  const dir = scratch();
  const state = join(dir, 'st');
  for (let w = 0; w < 6; w++) {
    const spec = join(dir, `w${w}.json`);
    const tasks = Array.from({ length: 200 }, (_, i) => ({ id: `t${i}`, command: `echo workstream ${w} task ${i} ${'x'.repeat(60)}`, ...(i > 0 ? { depends_on: [`t${i - 1}`] } : {}) }));
    writeFileSync(spec, JSON.stringify({ id: `w${w}`, tasks }));
    const r = await cairn(['submit', spec, '--state-dir', state]);
    assert.equal(r.code, 0, said(r));
  }
  const log = join(state, 'transitions.jsonl');
  assert.ok(statSync(log).size > 128 * 1024, 'the log is long enough to be remembered');
  const memo = join(state, 'log-verified.json');
  assert.ok(existsSync(memo), 'the last submit remembered how far the log is verified');
  assert.equal(JSON.parse(readFileSync(memo, 'utf8')).offset, statSync(log).size, 'up to its end');
  return { dir, state, log, memo };
}

/** Flips one byte inside the first record (in place, same inode): its crc no longer holds and valid records follow. */
function flipEarly(log: string): void {
  const buf = readFileSync(log);
  const at = buf.indexOf('workstream 0 task 5 ');
  assert.ok(at > 0 && at < buf.indexOf('\n'), 'inside the first record');
  const fd = openSync(log, 'r+');
  writeSync(fd, Buffer.from('W'), 0, 1, at);
  closeSync(fd);
}

async function statusCode(state: string): Promise<{ code: number | null; stderr: string }> {
  const r = await cairnJson(['status', '--state-dir', state]);
  return { code: r.code, stderr: r.stderr };
}

describe('the verified part of the log', () => {
  it('is not checked again by status, while validate-state, a writer, and status without the memo still find a flipped byte in it', async () => {
    const { dir, state, log, memo } = await bigLog();
    flipEarly(log);
    assert.equal((await statusCode(state)).code, 0, 'status trusts what was verified before');
    const v = await cairnJson(['validate-state', '--state-dir', state]);
    assert.notEqual(v.code, 0, said(v));
    assert.ok(v.doc.problems.some((p: { code: string }) => p.code === 'LOG_CORRUPT'), JSON.stringify(v.doc.problems));
    const spec = join(dir, 'next.json');
    writeFileSync(spec, JSON.stringify({ id: 'next', tasks: [{ id: 'a', command: 'true' }] }));
    const w = await cairn(['submit', spec, '--state-dir', state]);
    assert.equal(w.code, 3, said(w));
    assert.match(w.stderr, /LOG_CORRUPT/);
    rmSync(memo);
    const s = await statusCode(state);
    assert.equal(s.code, 3, s.stderr);
    assert.match(s.stderr, /damaged at seq 1/);
    assert.equal(existsSync(memo), false, 'a read-only or refused command writes no memo');
  });

  it('is kept out of git, also in a folder whose .gitignore was written before it existed', async () => {
    const { dir, state, memo } = await bigLog();
    const ignore = join(state, '.gitignore');
    assert.match(readFileSync(ignore, 'utf8'), /^log-verified\.json$/m);
    writeFileSync(ignore, readFileSync(ignore, 'utf8').replace('log-verified.json\n', ''));
    rmSync(memo);
    const spec = join(dir, 'later.json');
    writeFileSync(spec, JSON.stringify({ id: 'later', tasks: [{ id: 'a', command: 'true' }] }));
    assert.equal((await cairn(['submit', spec, '--state-dir', state])).code, 0);
    assert.ok(existsSync(memo));
    assert.equal(readFileSync(ignore, 'utf8').match(/^log-verified\.json$/gm)?.length, 1);
  });

  it('is not trusted through a memo edited by hand or cut short', async () => {
    const { dir, state, log, memo } = await bigLog();
    const text = readFileSync(memo, 'utf8');
    // Records no command verified yet, with damage before them.
    const spec = join(dir, 'later.json');
    writeFileSync(spec, JSON.stringify({ id: 'later', tasks: [{ id: 'a', command: 'true' }] }));
    assert.equal((await cairn(['submit', spec, '--state-dir', state])).code, 0);
    flipEarly(log);
    // Pointed by hand at the true end of the log (right offset, seq and crcs), its own crc left as it was.
    const lines = readFileSync(log, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    const [prev, last] = lines.slice(-2);
    const doc = JSON.parse(text);
    const edited = { ...doc, offset: statSync(log).size, seq: last.seq, crc: last.crc, prev_crc: prev.crc };
    writeFileSync(memo, JSON.stringify(edited));
    assert.equal((await statusCode(state)).code, 3, 'a hand-made memo is not trusted');
    writeFileSync(memo, text.slice(0, 40));
    assert.equal((await statusCode(state)).code, 3, 'nor a garbled one');
    writeFileSync(memo, text);
    assert.equal((await statusCode(state)).code, 0, 'the older memo, intact, is trusted');
  });

  it('is never trusted for a log replaced by another file, even one of the same size', async () => {
    const { state, log } = await bigLog();
    const copy = `${log}.copy`;
    copyFileSync(log, copy);
    flipEarly(copy);
    renameSync(copy, log); // a new inode
    const s = await statusCode(state);
    assert.equal(s.code, 3, s.stderr);
    assert.match(s.stderr, /LOG_CORRUPT/);
  });

  it('is not trusted when the record it ends on was rewritten in place', async () => {
    const { dir, state, log, memo } = await bigLog();
    const older = readFileSync(memo);
    // More records after the memo's offset, then the older memo back (as another reader could leave it).
    const spec = join(dir, 'later.json');
    writeFileSync(spec, JSON.stringify({ id: 'later', tasks: [{ id: 'a', command: 'true' }] }));
    assert.equal((await cairn(['submit', spec, '--state-dir', state])).code, 0);
    writeFileSync(memo, older);
    const end = JSON.parse(older.toString('utf8')).offset as number;
    const buf = readFileSync(log);
    const at = buf.lastIndexOf('"type":"', end - 1);
    const fd = openSync(log, 'r+');
    writeSync(fd, Buffer.from('T'), 0, 1, at + 8); // the last verified record's type, same length
    closeSync(fd);
    const s = await statusCode(state);
    assert.equal(s.code, 3, s.stderr);
    assert.match(s.stderr, /LOG_CORRUPT/);
  });
});

describe('current.json, version 2', () => {
  it('holds each task on one line with a hash over its own bytes; an edit is not trusted; a version-1 file still loads', async () => {
    const { state } = await bigLog();
    const file = join(state, 'current.json');
    const text = readFileSync(file, 'utf8');
    const doc = JSON.parse(text);
    assert.equal(doc.schema_version, 2);
    const line = text.split('\n').find((l) => l.startsWith('        "t7": {'));
    assert.ok(line?.endsWith('},') || line?.endsWith('}'), 'a task is one line');
    assert.equal(JSON.parse(line!.trim().replace(/^"t7": /, '').replace(/,$/, '')).command.startsWith('echo workstream'), true);
    assert.equal((await cairnJson(['status', '--state-dir', state])).doc.loaded_from, 'current.json');

    writeFileSync(file, text.replace('"state":"pending"', '"state":"skipped"'));
    const edited = await cairnJson(['status', '--state-dir', state]);
    assert.equal(edited.code, 0, said(edited));
    assert.notEqual(edited.doc.loaded_from, 'current.json');
    assert.ok(edited.doc.warnings.some((w: string) => /current\.json.*hash does not match/.test(w)), edited.doc.warnings.join('\n'));

    // As the previous version wrote it: fully indented, hash over the canonical compact content.
    const { canonicalize } = await import('../src/log/canonical.js');
    const { checkpointHash } = await import('../src/store/snapshot.js');
    const { hash: _h, ...body } = { ...doc, schema_version: 1 };
    writeFileSync(file, JSON.stringify(canonicalize({ ...body, hash: checkpointHash(body) }), null, 2) + '\n');
    const old = await cairnJson(['status', '--state-dir', state]);
    assert.equal(old.doc.loaded_from, 'current.json', old.doc.warnings.join('\n'));
    assert.deepEqual(old.doc.warnings, []);
    const v = await cairnJson(['validate-state', '--state-dir', state]);
    assert.deepEqual(v.doc.problems, []);
  });
});
