import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hostile } from './hostile.js';

test('hostile input: bad ids refused, symlinks never followed outside, shell payloads stay data, modes 0600/0700 under umask 000', { timeout: 900_000 }, async () => {
  const f = await hostile({ size: 'ci', seed: 42 });
  assert.deepEqual(f.failures, []);
  assert.equal(f.counts['writes outside .state'], 0);
  assert.equal(f.counts['commands injected'], 0);
  assert.equal(f.counts['unhandled errors'], 0);
  assert.equal(f.counts['wrong modes'], 0);
  assert.equal(f.counts['ids misjudged'], 0);
});
