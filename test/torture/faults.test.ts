import assert from 'node:assert/strict';
import { test } from 'node:test';
import { faults } from './faults.js';

test('faults: EIO, ENOSPC mid-record, short writes and EINTR fail cleanly, report nothing unsynced, and leave a state that opens', { timeout: 900_000 }, async () => {
  const f = await faults({ size: 'ci', seed: 42 });
  assert.deepEqual(f.failures, []);
  assert.equal(f.counts['reported done but not synced'], 0);
  assert.equal(f.counts['unclean failures'], 0);
  assert.equal(f.counts.unopenable, 0);
  assert.equal(f.counts['replay mismatches'], 0);
  assert.ok(f.counts['faults fired']! > 100, `only ${f.counts['faults fired']} runs hit a fault`);
});
