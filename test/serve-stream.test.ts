// cairn serve's event stream while a real `cairn run` works in the same folder: every new record
// arrives in order with its seq as the event id, and a client that reconnects with Last-Event-ID
// gets exactly the records it missed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { http, openStream, startServe } from './helpers/serve.js';
import { scratch } from './helpers/tmp.js';
import { exited, startRun } from './run-helpers.js';

describe('cairn serve: the event stream', () => {
  it('streams the records a running cairn run appends, in order, with no gap, and resumes after Last-Event-ID', async () => {
    const dir = scratch('cairn-serve-sse-');
    const state = join(dir, '.state');
    const spec = join(dir, 'spec.json');
    writeFileSync(spec, JSON.stringify({ id: 'live', tasks: [{ id: 'a', command: 'sleep 0.3' }, { id: 'b', command: 'sleep 0.3', depends_on: ['a'] }, { id: 'c', command: 'true', depends_on: ['b'] }] }));
    assert.equal((await cairn(['init', '--state-dir', state])).code, 0);
    const s = await startServe(state);
    try {
      const stream = await openStream(s);
      const run = startRun(dir, [spec]);
      await stream.waitFor((e) => e.data?.type === 'workstream_completed', 'workstream_completed');
      assert.equal(await exited(run), 0);
      const seqs = stream.events.filter((e) => e.event === 'record').map((e) => e.id);
      assert.deepEqual(seqs, seqs.map((_, i) => i + 1), 'every record from seq 1 on, once each, in order');
      assert.ok(stream.events.every((e) => e.event !== 'record' || e.data.seq === e.id));
      const all = (await cairnJson(['events', '--state-dir', state])).doc.records;
      const last = all.at(-1).seq;
      await stream.waitFor((e) => e.id === last, `seq ${last}`);
      const metrics = await http(s, 'GET', '/metrics', { token: s.token });
      assert.match(metrics.text, /^cairn_sse_clients 1$/m);
      stream.close();

      // A client that saw up to seq 4 reconnects: it gets 5.. as they are in the log.
      const resumed = await openStream(s, 4);
      await resumed.waitFor((e) => e.id === last, `seq ${last} after resuming`);
      assert.deepEqual(resumed.events.map((e) => e.id), all.filter((r: any) => r.seq > 4).map((r: any) => r.seq));
      assert.deepEqual(resumed.events.map((e) => e.data), all.filter((r: any) => r.seq > 4));
      resumed.close();

      // Records appended by a plain command (no scheduler) arrive too.
      const fresh = await openStream(s);
      const r = await cairn(['reset-workstream', '--workstream-id', 'live', '--yes', '--reason', 'again', '--state-dir', state]);
      assert.equal(r.code, 0, said(r));
      const reset = await fresh.waitFor((e) => e.data?.type === 'workstream_reset', 'workstream_reset');
      assert.equal(reset.data.reason, 'again');
      fresh.close();
    } finally {
      assert.equal(await s.stop(), 0, 'cairn serve ends cleanly on SIGTERM with streams open');
    }
  });
});
