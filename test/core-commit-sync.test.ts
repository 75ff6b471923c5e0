// A commit's fdatasync runs off the event loop (fsio.ts fdatasyncOf), so other code of the same
// process runs while a batch is written but not yet durable. These tests pin down what it may see.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { init } from '../src/index.js';
import { decide } from '../src/model/decide.js';
import { parseSpec } from '../src/model/spec.js';
import type { LogRecord } from '../src/model/types.js';
import { Store } from '../src/store/store.js';
import { scratch } from './helpers/tmp.js';

const spec = (id: string, tasks: number) =>
  parseSpec({ id, tasks: Array.from({ length: tasks }, (_, i) => ({ id: `t${i}`, command: 'true' })) }, { defaultId: () => 'x' });

describe('a commit whose sync is in flight', () => {
  it('is neither applied nor reported before its sync returns, and exactly once after, however often the log is re-read meanwhile', async () => {
    const dir = join(scratch('cairn-sync-'), '.state');
    init({ stateDir: dir });
    const store = await Store.open(dir);
    const heard: LogRecord[] = [];
    store.onApply((r) => heard.push(r));
    try {
      for (let round = 0; round < 20; round++) {
        const before = store.state.seq;
        let settled = false;
        const p = store.commit((s, now) => decide(s, { kind: 'submit', spec: spec(`ws${round}`, 50) }, { now })).finally(() => { settled = true; });
        // Re-read the log on every turn of the event loop until the commit resolves: the batch is in
        // the file long before its sync returns, and it must not be taken for another process's.
        let turns = 0;
        while (!settled) {
          store.refresh();
          if (!settled) assert.equal(store.state.seq, before, `round ${round}: the batch was applied before its sync returned`);
          turns++;
          await new Promise((r) => setImmediate(r));
        }
        const records = await p;
        assert.ok(turns > 0);
        assert.equal(store.state.seq, before + records.length);
        assert.deepEqual(heard.splice(0).map((r) => r.seq), records.map((r) => r.seq), `round ${round}: each record is heard once, in order`);
        assert.equal(store.refresh(), 0, 'a re-read after the commit finds nothing new');
      }
    } finally {
      await store.close();
    }
    const again = await Store.open(dir, { readOnly: true });
    assert.equal(again.state.workstreamIds().length, 20);
    await again.close();
  });
});
