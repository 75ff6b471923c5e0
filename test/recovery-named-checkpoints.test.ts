// cairn checkpoint --name through the real CLI on real runs: a name for a workstream's current
// point, listed by checkpoints, taken by rollback-workstream --to-checkpoint NAME exactly as its seq;
// a name taken, a seq-like name or an unknown name is refused with nothing written.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';
import { assertTreeUnchanged, readTree } from './helpers/tree.js';

/** t1 completes, t2 and t4 fail (t3 blocked behind t2): the workstream fails and stays failed after more work. */
const SPEC = {
  id: 'nightly', defaults: { max_retries: 0 },
  tasks: [
    { id: 't1', command: 'true' },
    { id: 't2', command: 'false' },
    { id: 't3', command: 'true', depends_on: ['t2'] },
    { id: 't4', command: 'false' },
  ],
};

async function ok(state: string, args: string[]): Promise<void> {
  const r = await cairn([...args, '--state-dir', state]);
  assert.equal(r.code, 0, `cairn ${args.join(' ')}\n${said(r)}`);
}

/** A real run that fails; returns the state folder and the spec file. */
async function failedRun(): Promise<{ dir: string; state: string }> {
  const dir = scratch();
  const state = join(dir, 'st');
  const spec = join(dir, 'nightly.json');
  writeFileSync(spec, JSON.stringify(SPEC));
  const run = await cairn(['run', spec, '--workers', '1', '--state-dir', state]);
  assert.equal(run.code, 1, said(run));
  return { dir, state };
}

function tasks(doc: any): Record<string, string> {
  const ws = doc.workstreams.find((w: { id: string }) => w.id === 'nightly');
  return Object.fromEntries(ws.tasks.map((t: { id: string; state: string; retry_count: number }) => [t.id, `${t.state}/${t.retry_count}`]));
}

function log(state: string): string {
  return readFileSync(join(state, 'transitions.jsonl'), 'utf8');
}

describe('cairn checkpoint --name', () => {
  it('names the workstream\'s last task transition, lists it in checkpoints, and rolls back to it as to its seq', async () => {
    const { dir, state } = await failedRun();
    const before = await cairnJson(['checkpoints', '--workstream-id', 'nightly', '--state-dir', state]);
    const named = await cairnJson(['checkpoint', '--workstream-id', 'nightly', '--name', 'after-fail', '--reason', 'before fixing t2', '--state-dir', state]);
    assert.equal(named.code, 0, said(named));
    assert.equal(named.doc.checkpoint.seq, before.doc.last_task_seq);
    assert.deepEqual(named.doc.records.map((r: any) => [r.type, r.workstream_id, r.name, r.checkpoint_seq, r.operator, r.reason, r.action]),
      [['checkpoint_named', 'nightly', 'after-fail', before.doc.last_task_seq, 'tester', 'before fixing t2', 'checkpoint']]);
    assert.match(readFileSync(join(state, 'interventions.log'), 'utf8'), /action=checkpoint reason="before fixing t2" ids=nightly/);

    // A name changes no state: the same points as before, the last one carrying the name.
    const list = await cairnJson(['checkpoints', '--workstream-id', 'nightly', '--state-dir', state]);
    assert.deepEqual(list.doc.points.map((p: any) => p.seq), before.doc.points.map((p: any) => p.seq));
    assert.deepEqual(list.doc.points.filter((p: any) => p.names.length > 0).map((p: any) => [p.seq, p.names]), [[before.doc.last_task_seq, ['after-fail']]]);
    assert.deepEqual(list.doc.names.map((n: any) => [n.name, n.seq, n.operator, n.reason]), [['after-fail', before.doc.last_task_seq, 'tester', 'before fixing t2']]);
    const human = await cairn(['checkpoints', '--workstream-id', 'nightly', '--state-dir', state]);
    assert.match(human.stdout, new RegExp(`${before.doc.last_task_seq} .*\\[named after-fail\\]`));
    const shown = await cairnJson(['checkpoints', '--workstream-id', 'nightly', '--show', 'after-fail', '--state-dir', state]);
    assert.equal(shown.doc.seq, before.doc.last_task_seq);

    // More work: t2 skipped, t4 retried; the run completes t3 and fails t4 again.
    await ok(state, ['skip-task', '--task-id', 'nightly/t2', '--reason', 'done by hand', '--yes']);
    await ok(state, ['retry-task', '--task-id', 'nightly/t4']);
    const again = await cairn(['run', '--workers', '1', '--state-dir', state]);
    assert.equal(again.code, 1, said(again));
    assert.deepEqual(tasks((await cairnJson(['status', '--all', '--state-dir', state])).doc), { t1: 'completed/0', t2: 'skipped/0', t3: 'completed/0', t4: 'failed/0' });

    // The same rollback by seq, on a copy of the folder as it is now.
    const copy = join(dir, 'copy');
    cpSync(state, copy, { recursive: true });
    const bySeq = await cairnJson(['rollback-workstream', '--workstream-id', 'nightly', '--to-checkpoint', String(before.doc.last_task_seq), '--yes', '--state-dir', copy]);
    assert.equal(bySeq.code, 0, said(bySeq));
    const byName = await cairnJson(['rollback-workstream', '--workstream-id', 'nightly', '--to-checkpoint', 'after-fail', '--yes', '--state-dir', state]);
    assert.equal(byName.code, 0, said(byName));
    assert.equal(byName.doc.checkpoint.name, 'after-fail');
    assert.equal(byName.doc.checkpoint.seq, before.doc.last_task_seq);
    const strip = (recs: any[]) => recs.map(({ id: _i, ts: _t, crc: _c, ...r }) => r);
    assert.deepEqual(strip(byName.doc.records), strip(bySeq.doc.records));
    assert.deepEqual(byName.doc.records.find((r: any) => r.type === 'workstream_rolled_back').checkpoint_seq, before.doc.last_task_seq);
    const a = tasks((await cairnJson(['status', '--all', '--state-dir', state])).doc);
    assert.deepEqual(a, tasks((await cairnJson(['status', '--all', '--state-dir', copy])).doc));
    // DESIGN §6: completed stay completed; the rest take the checkpoint's state (failed -> pending, here queued) and retry count.
    assert.deepEqual(a, { t1: 'completed/0', t2: 'queued/0', t3: 'completed/0', t4: 'queued/0' });
  });

  it('refuses a name already given in the workstream (DUPLICATE_NAME, exit 2) and writes nothing', async () => {
    const { state } = await failedRun();
    await ok(state, ['checkpoint', '--workstream-id', 'nightly', '--name', 'nightly-ok']);
    await ok(state, ['skip-task', '--task-id', 'nightly/t2', '--reason', 'by hand', '--yes']);
    const tree = readTree(state);
    const r = await cairnJson(['checkpoint', '--workstream-id', 'nightly', '--name', 'nightly-ok', '--state-dir', state]);
    assert.equal(r.code, 2, said(r));
    assert.equal(r.doc.error.code, 'DUPLICATE_NAME');
    assert.match(r.doc.error.message, /already has a checkpoint named nightly-ok \(seq \d+/);
    assert.match(r.doc.error.hint, /Pick another name, e\.g\. nightly-ok-2/);
    assertTreeUnchanged(tree, readTree(state));
  });

  it('refuses names that would read as a seq or as latest, and says so; an unknown name in --to-checkpoint lists the names', async () => {
    const { state } = await failedRun();
    const tree = readTree(state);
    for (const bad of ['42', 'latest', '-x', 'a/b']) {
      const r = await cairnJson(['checkpoint', '--workstream-id', 'nightly', '--name', bad, '--state-dir', state]);
      assert.equal(r.code, 2, said(r));
      assert.equal(r.doc.error.code, 'BAD_INPUT', bad);
    }
    assertTreeUnchanged(tree, readTree(state));
    await ok(state, ['checkpoint', '--workstream-id', 'nightly', '--name', 'one']);
    const before = log(state);
    const r = await cairnJson(['rollback-workstream', '--workstream-id', 'nightly', '--to-checkpoint', 'two', '--yes', '--state-dir', state]);
    assert.equal(r.code, 2, said(r));
    assert.equal(r.doc.error.code, 'UNKNOWN_CHECKPOINT');
    assert.deepEqual(r.doc.error.details.names, ['one']);
    assert.equal(log(state), before);
  });

  it('shows the record on --dry-run and writes nothing', async () => {
    const { state } = await failedRun();
    const tree = readTree(state);
    const r = await cairnJson(['checkpoint', '--workstream-id', 'nightly', '--name', 'maybe', '--dry-run', '--state-dir', state]);
    assert.equal(r.code, 0, said(r));
    assert.equal(r.doc.dry_run, true);
    assert.deepEqual(r.doc.records.map((x: any) => [x.type, x.name]), [['checkpoint_named', 'maybe']]);
    assertTreeUnchanged(tree, readTree(state));
  });
});
