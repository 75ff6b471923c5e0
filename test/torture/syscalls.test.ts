import assert from 'node:assert/strict';
import { test } from 'node:test';
import { syscalls } from './syscalls.js';

test('syscall order: temp files exclusive in the same folder, synced before rename, folder synced after, log synced before success', { timeout: 600_000 }, async (t) => {
  const f = await syscalls({ size: 'ci', seed: 42 });
  if (f.skipped !== undefined) {
    t.skip(f.skipped);
    return;
  }
  assert.deepEqual(f.failures, []);
  assert.equal(f.counts.violations, 0);
  assert.ok(f.counts['atomic replaces checked']! > 0);
});
