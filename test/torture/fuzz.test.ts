import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fuzz } from './fuzz.js';

test('fuzz: damaged logs, snapshots, archives, checkpoints and specs give a code and a message, never an unhandled error, a write or a trusted damaged file', { timeout: 900_000 }, async () => {
  const f = await fuzz({ size: 'ci', seed: 42 });
  assert.deepEqual(f.failures, []);
  assert.equal(f.counts['unhandled exceptions'], 0);
  assert.equal(f.counts['writes while refusing'], 0);
  assert.equal(f.counts['writes by read-only verbs'], 0);
  assert.equal(f.counts['writes to a damaged log'], 0);
  assert.equal(f.counts['prototype pollutions'], 0);
  assert.equal(f.counts['bad CLI exits'], 0);
  assert.equal(f.counts['tampered files trusted'], 0);
  assert.ok(f.counts['damaged logs repaired']! >= 500);
  assert.equal(f.counts['bit flip: records lost'], 0, 'a single flipped bit costs nothing');
  assert.ok(f.counts['garbled record: most lost in one log']! <= 1, 'damage inside one record costs at most that record');
  assert.equal(f.counts['acknowledged states lost'], 0);
});
