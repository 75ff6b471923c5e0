// A workstream whose every task was cancelled ends `cancelled`, not `completed`: nothing was done.
// Through the real CLI, with no scheduler: cancel-task --cascade settles the workstream at once.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';

async function submitted(name: string, tasks: unknown[]): Promise<string[]> {
  const base = scratch(`cairn-ws-cancelled-${name}-`);
  const spec = join(base, 'spec.json');
  writeFileSync(spec, JSON.stringify({ id: name, tasks }));
  const sd = ['--state-dir', join(base, '.state')];
  const r = await cairn(['submit', spec, ...sd]);
  assert.equal(r.code, 0, said(r));
  return sd;
}

const chain = [
  { id: 'a', command: 'true' },
  { id: 'b', command: 'true', depends_on: ['a'] },
];

describe('a workstream whose every task was cancelled', () => {
  it('ends cancelled with trigger all_tasks_cancelled, and the state validates', async () => {
    const sd = await submitted('all-cancelled', chain);
    const c = await cairn(['cancel-task', '--task-id', 'all-cancelled/a', '--cascade', '--reason', 'not wanted', '--yes', ...sd]);
    assert.equal(c.code, 0, said(c));
    const s = await cairnJson(['status', '--workstream-id', 'all-cancelled', ...sd]);
    assert.equal(s.doc.workstreams[0].state, 'cancelled', said(s));
    const e = await cairnJson(['events', '--workstream-id', 'all-cancelled', '--type', 'workstream_cancelled', '--type', 'workstream_completed', ...sd]);
    assert.deepEqual(e.doc.records.map((r: { type: string; trigger?: string }) => [r.type, r.trigger]), [['workstream_cancelled', 'all_tasks_cancelled']]);
    const v = await cairn(['validate-state', ...sd]);
    assert.equal(v.code, 0, said(v));
  });

  it('can be brought back: retry-task reopens it and the task is pending again', async () => {
    const sd = await submitted('reopened', chain);
    assert.equal((await cairn(['cancel-task', '--task-id', 'reopened/a', '--cascade', '--reason', 'x', '--yes', ...sd])).code, 0);
    const r = await cairn(['retry-task', '--task-id', 'reopened/a', '--yes', ...sd]);
    assert.equal(r.code, 0, said(r));
    const s = await cairnJson(['status', '--workstream-id', 'reopened', ...sd]);
    assert.equal(s.doc.workstreams[0].state, 'running', said(s));
  });
});

describe('a workstream with a cancelled task and a completed or skipped one', () => {
  it('still ends completed', async () => {
    const sd = await submitted('mixed', [{ id: 'a', command: 'true' }, { id: 'b', command: 'true' }]);
    assert.equal((await cairn(['cancel-task', '--task-id', 'mixed/a', '--reason', 'x', '--yes', ...sd])).code, 0);
    const k = await cairn(['skip-task', '--task-id', 'mixed/b', '--reason', 'done by hand', '--yes', ...sd]);
    assert.equal(k.code, 0, said(k));
    const s = await cairnJson(['status', '--workstream-id', 'mixed', ...sd]);
    assert.equal(s.doc.workstreams[0].state, 'completed', said(s));
  });
});

describe('cairn run of a workstream that ends cancelled', () => {
  it('exits 1 with outcome cancelled: the run did not do what it was for', async () => {
    const base = scratch('cairn-run-cancelled-');
    const spec = join(base, 'spec.json');
    writeFileSync(spec, JSON.stringify({ id: 'stopped', tasks: [{ id: 'long', command: ['sleep', '60'] }, { id: 'after', command: 'true', depends_on: ['long'] }] }));
    const sd = ['--state-dir', join(base, '.state')];
    const run = cairnJson(['run', spec, '--workers', '1', ...sd], { timeoutMs: 90_000 });
    // Wait until the long task runs, then cancel it and what depends on it.
    for (let i = 0; ; i++) {
      await new Promise((r) => setTimeout(r, 200));
      const s = await cairn(['status', '--json', ...sd]);
      if (s.code === 0 && JSON.parse(s.stdout).workstreams[0]?.tasks?.some((t: { id: string; state: string }) => t.id === 'long' && t.state === 'running')) break;
      assert.ok(i < 300, 'the task starts');
    }
    const c = await cairn(['cancel-task', '--task-id', 'stopped/long', '--cascade', '--reason', 'wrong branch', '--yes', ...sd]);
    assert.equal(c.code, 0, said(c));
    const r = await run;
    assert.equal(r.code, 1, said(r));
    assert.equal(r.doc.outcome, 'cancelled');
    assert.equal(r.doc.workstreams[0].state, 'cancelled');
  });
});
