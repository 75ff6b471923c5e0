import assert from 'node:assert/strict';
import { test } from 'node:test';
import { killLoop } from './kill-loop.js';

test('kill loop: SIGKILL at random moments loses no acknowledged record and every state opens', { timeout: 900_000 }, async () => {
  const f = await killLoop({ size: 'ci', seed: 42 });
  assert.deepEqual(f.failures, []);
  assert.equal(f.counts.lost, 0);
  assert.equal(f.counts.unopenable, 0);
  assert.equal(f.counts['replay mismatches'], 0);
  assert.ok(f.counts.acked >= 500, `only ${f.counts.acked} records were acknowledged`);
});
