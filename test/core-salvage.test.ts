// log/salvage.ts on every single-bit flip of the golden logs: a flipped bit anywhere (a record's
// first byte, its body, its crc field, the newline after it) is corrected, and every record comes
// back byte for byte. Pure: no files, no processes.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { salvage } from '../src/log/salvage.js';
import { ROOT } from './helpers/paths.js';

const dir = join(ROOT, 'test/fixtures/logs');

describe('salvage of a log with one flipped bit', () => {
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.jsonl'))) {
    it(`corrects every single-bit flip of ${f}, wherever it is`, () => {
      const log = readFileSync(join(dir, f));
      const lines = log.toString('latin1').split('\n').slice(0, -1);
      const missed: string[] = [];
      for (let pos = 0; pos < log.length; pos++) {
        for (let bit = 0; bit < 8; bit++) {
          const b = Buffer.from(log);
          b[pos] = b[pos]! ^ (1 << bit);
          const r = salvage(b, { seq: 0, crc: 0 });
          const whole = r.stop === null && r.records.length === lines.length && r.records.every((x, i) => x.text.toString('latin1') === lines[i]);
          if (!whole && missed.length < 5) missed.push(`byte ${pos} bit ${bit}: ${r.records.filter((x) => x.kind !== 'intact').map((x) => `${x.seq} ${x.kind}`).join(', ')}${r.stop ? ` stop at ${r.stop.seq}: ${r.stop.reason}` : ''}`);
        }
      }
      assert.deepEqual(missed, []);
    });
  }

  it('never takes a guess: bytes garbled past one bit are a lost record, not a corrected one', () => {
    const log = readFileSync(join(dir, 'v1-nightly-flaky-and-failing.jsonl'));
    const lines = log.toString('latin1').split('\n').slice(0, -1);
    const at = lines.slice(0, 9).reduce((a, l) => a + l.length + 1, 0) + 40;
    const b = Buffer.from(log);
    b.write('ZZZZ', at, 'latin1');
    const r = salvage(b, { seq: 0, crc: 0 });
    assert.deepEqual(r.records.filter((x) => x.kind !== 'intact').map((x) => `${x.seq} ${x.kind}`), ['10 lost']);
    assert.equal(r.records.length, lines.length, 'every other record is kept');
  });
});
