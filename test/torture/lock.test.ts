import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lockSuite } from './lock.js';

test('lock: contending writers stay gap-free, a stale lock has one taker, a stalled holder writes nothing', { timeout: 900_000 }, async () => {
  const f = await lockSuite({ size: 'ci', seed: 42 });
  assert.deepEqual(f.failures, []);
  assert.equal(f.counts.gaps, 0);
  assert.equal(f.counts.duplicates, 0);
  assert.equal(f.counts['stale reads'], 0);
  assert.equal(f.counts['races with two winners'], 0);
  // A killed holder's lock is taken over at once (its pid is dead on this host), never a live one's.
  assert.equal(f.counts['live locks stolen'], 0);
  assert.equal(f.counts['taken over before the stale time'], f.counts['killed holders taken over']);
  assert.equal(f.counts['stalled appends landed'], 0);
});
