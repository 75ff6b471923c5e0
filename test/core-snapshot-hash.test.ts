import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { checkpointHash } from '../src/store/snapshot.js';
import { cairn, json, setup, tmp } from './run-helpers.js';

test('a hand-edited current.json (valid JSON, right seq and crc) is detected by its hash and not trusted', () => {
  const dir = tmp('cairn-hash-');
  const spec = setup(dir, { id: 'edit', tasks: [{ id: 'a', command: 'true' }, { id: 'b', command: 'true', depends_on: ['a'] }] });
  assert.equal(cairn(dir, ['submit', spec]).code, 0);
  const file = path.join(dir, '.state', 'current.json');
  const doc = JSON.parse(readFileSync(file, 'utf8'));
  assert.equal(doc.workstreams.edit.tasks.b.state, 'pending');
  doc.workstreams.edit.tasks.b.state = 'completed';
  writeFileSync(file, JSON.stringify(doc, null, 2));

  const r = cairn(dir, ['status', '--workstream-id', 'edit', '--json']);
  assert.equal(r.code, 0);
  assert.match(r.stderr, /hash does not match/);
  const s = JSON.parse(r.stdout);
  assert.notEqual(s.loaded_from, 'current.json');
  assert.equal(s.workstreams[0].tasks.find((t: { id: string }) => t.id === 'b').state, 'pending', 'the state comes from the log, not the edit');
  const v = json(dir, ['validate-state']);
  assert.ok(v.problems.some((p: { code: string; message: string }) => p.code === 'SNAPSHOT_INVALID' && /hash/.test(p.message)));
});

/** A folder whose workstream `done` completed and moved to archive/done.json; returns the dir and that file. */
function archived(): { dir: string; file: string } {
  const dir = tmp('cairn-archive-hash-');
  const spec = setup(dir, { id: 'done', tasks: [{ id: 'a', command: 'true' }, { id: 'b', command: 'true', depends_on: ['a'] }] });
  assert.equal(cairn(dir, ['run', spec]).code, 0);
  const file = path.join(dir, '.state', 'archive', 'done.json');
  assert.equal(JSON.parse(readFileSync(file, 'utf8')).workstream.state, 'completed');
  assert.deepEqual(json(dir, ['validate-state']).problems, []);
  return { dir, file };
}

function statusOfDone(dir: string): { stderr: string; loadedFrom: string; state: string } {
  const r = cairn(dir, ['status', '--all', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  return { stderr: r.stderr, loadedFrom: s.loaded_from, state: s.workstreams.find((w: { id: string }) => w.id === 'done').state };
}

test('a hand-edited archive file (valid JSON, right seq) is detected by its hash and not trusted; validate-state names the fix, which works', () => {
  const { dir, file } = archived();
  const doc = JSON.parse(readFileSync(file, 'utf8'));
  doc.workstream.state = 'failed';
  writeFileSync(file, JSON.stringify(doc, null, 2));

  const s = statusOfDone(dir);
  assert.match(s.stderr, /archive\/done\.json: its hash does not match its content/);
  assert.notEqual(s.loadedFrom, 'current.json', 'current.json needs that archive file, so it is ignored (an older backup or the log is used)');
  assert.equal(s.state, 'completed', 'the state comes from the log, not the edit');

  const problems = json(dir, ['validate-state']).problems;
  const bad = problems.find((p: { code: string }) => p.code === 'ARCHIVE_INVALID');
  assert.ok(bad, JSON.stringify(problems));
  assert.equal(bad.file, 'archive/done.json');
  assert.match(bad.message, /hash does not match/);
  assert.match(bad.fix, /^cairn repair-state --yes /);
  assert.ok(problems.some((p: { code: string }) => p.code === 'ARCHIVE_DIFFERS'), 'the content is still compared, so the report says it differs');

  assert.equal(cairn(dir, ['repair-state', '--yes']).code, 0);
  assert.deepEqual(json(dir, ['validate-state']).problems, []);
  assert.equal(statusOfDone(dir).loadedFrom, 'current.json');
});

test('an archive file without a hash (as early builds wrote it) is not trusted, is reported, and the next command that writes rewrites it with its hash', () => {
  const { dir, file } = archived();
  const { hash, ...old } = JSON.parse(readFileSync(file, 'utf8'));
  assert.match(hash, /^sha256:[0-9a-f]{64}$/);
  writeFileSync(file, JSON.stringify(old, null, 2));

  const s = statusOfDone(dir);
  assert.match(s.stderr, /archive\/done\.json: it has no hash/);
  assert.notEqual(s.loadedFrom, 'current.json');
  assert.equal(s.state, 'completed');
  const problems = json(dir, ['validate-state']).problems;
  assert.ok(problems.some((p: { code: string; message: string }) => p.code === 'ARCHIVE_INVALID' && /no hash/.test(p.message)), JSON.stringify(problems));

  const next = setup(dir, { id: 'next', tasks: [{ id: 'a', command: 'true' }] });
  assert.equal(cairn(dir, ['submit', next]).code, 0);
  const now = JSON.parse(readFileSync(file, 'utf8'));
  assert.equal(now.hash, checkpointHash(now), 'rewritten with the hash of its content');
  assert.deepEqual(now.workstream, old.workstream, 'the same workstream, from the log');
  assert.deepEqual(json(dir, ['validate-state']).problems, []);
  assert.equal(statusOfDone(dir).loadedFrom, 'current.json');
});
