import assert from 'node:assert/strict';
import { test } from 'node:test';
import { powerLoss } from './power-loss.js';

test('power loss: no crash image loses an acknowledged record, tears a derived file or fails to recover', { timeout: 900_000 }, async () => {
  const f = await powerLoss({ size: 'ci', seed: 42 });
  assert.deepEqual(f.failures, []);
  assert.equal(f.counts.images, 1000);
  assert.equal(f.counts.lost, 0);
  assert.equal(f.counts.unopenable, 0);
  assert.equal(f.counts['replay mismatches'], 0);
  assert.equal(f.counts['torn derived files'], 0);
  assert.equal(f.counts['half-applied decisions'], 0);
});
