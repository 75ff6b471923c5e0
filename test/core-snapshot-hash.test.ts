import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
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
