// cairn system-checkpoint create | list | restore through the real CLI on real runs: a name for the
// whole state at a seq; restore appends the records that bring every workstream back to it (the log
// only grows), by rollback-workstream's rules for the ones that existed then, cancelling the ones
// submitted since; the dry run is the plan and writes nothing.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';
import { assertTreeUnchanged, readTree } from './helpers/tree.js';

const NIGHTLY = {
  id: 'nightly', defaults: { max_retries: 0 }, resources: { db: { max_holders: 1 } },
  tasks: [
    { id: 't1', command: 'true', resources: ['db'] },
    { id: 't2', command: 'false' },
    { id: 't3', command: 'true', depends_on: ['t2'] },
    { id: 't4', command: 'false' },
  ],
};
const spec = (id: string) => ({ id, tasks: [{ id: 'u1', command: 'true' }, { id: 'u2', command: 'true', depends_on: ['u1'] }] });

async function ok(state: string, args: string[]): Promise<void> {
  const r = await cairn([...args, '--state-dir', state]);
  assert.equal(r.code, 0, `cairn ${args.join(' ')}\n${said(r)}`);
}

function file(dir: string, doc: object, name: string): string {
  const f = join(dir, name);
  writeFileSync(f, JSON.stringify(doc));
  return f;
}

/** Every task as `state/retry_count`, by `ws/task`, and every workstream's state. */
async function picture(state: string): Promise<{ ws: Record<string, string>; tasks: Record<string, string> }> {
  const r = await cairnJson(['status', '--all', '--state-dir', state]);
  assert.equal(r.code, 0, said(r));
  const ws: Record<string, string> = {};
  const tasks: Record<string, string> = {};
  for (const w of r.doc.workstreams) {
    ws[w.id] = w.state;
    for (const t of w.tasks) tasks[`${w.id}/${t.id}`] = `${t.state}/${t.retry_count}`;
  }
  return { ws, tasks };
}

const logOf = (state: string): string => readFileSync(join(state, 'transitions.jsonl'), 'utf8');

/**
 * nightly runs and fails (t1 completed, t2 and t4 failed, t3 blocked), then system checkpoint
 * before-fix; then more work: t2 skipped and t4 retried, a new workstream `done` submitted and run
 * to completion, the db limit raised, and `late` submitted but not run.
 */
async function build(): Promise<{ dir: string; state: string; S: number }> {
  const dir = scratch();
  const state = join(dir, 'st');
  const run = await cairn(['run', file(dir, NIGHTLY, 'nightly.json'), '--workers', '1', '--state-dir', state]);
  assert.equal(run.code, 1, said(run));
  const created = await cairnJson(['system-checkpoint', 'create', '--name', 'before-fix', '--reason', 'known state', '--state-dir', state]);
  assert.equal(created.code, 0, said(created));
  const S = created.doc.checkpoint.seq as number;
  assert.equal(created.doc.records[0].seq, S + 1, 'names the state as of the record before it');
  await ok(state, ['skip-task', '--task-id', 'nightly/t2', '--reason', 'done by hand', '--yes']);
  await ok(state, ['retry-task', '--task-id', 'nightly/t4']);
  await ok(state, ['submit', file(dir, spec('done'), 'done.json')]);
  const again = await cairn(['run', '--workers', '1', '--state-dir', state]);
  assert.equal(again.code, 1, said(again)); // nightly fails again on t4
  await ok(state, ['set-resource-limit', '--resource-id', 'db', '--max-holders', '3']);
  await ok(state, ['submit', file(dir, spec('late'), 'late.json')]);
  return { dir, state, S };
}

describe('cairn system-checkpoint', () => {
  it('lists each system checkpoint with its seq, time, operator, reason, and whether the log still holds it; a name is never reused', async () => {
    const { state, S } = await build();
    const list = await cairnJson(['system-checkpoint', 'list', '--state-dir', state]);
    assert.equal(list.code, 0, said(list));
    assert.equal(list.doc.checkpoints.length, 1);
    const c = list.doc.checkpoints[0];
    assert.deepEqual([c.name, c.seq, c.operator, c.reason, c.in_log, c.log_crc === c.crc], ['before-fix', S, 'tester', 'known state', true, true]);
    const line = logOf(state).split('\n').find((l) => l.startsWith(`{"seq":${S},`))!;
    assert.equal(c.crc, JSON.parse(line).crc);
    const human = await cairn(['system-checkpoint', 'list', '--state-dir', state]);
    assert.match(human.stdout, new RegExp(`before-fix +${S} .* tester +yes +known state`));

    const tree = readTree(state);
    const dup = await cairnJson(['system-checkpoint', 'create', '--name', 'before-fix', '--state-dir', state]);
    assert.equal(dup.code, 2, said(dup));
    assert.equal(dup.doc.error.code, 'DUPLICATE_NAME');
    const twoNames = await cairnJson(['system-checkpoint', 'create', 'one', '--name', 'other', '--state-dir', state]);
    assert.equal(twoNames.code, 2, said(twoNames));
    assert.match(twoNames.doc.error.message, /two names given \(one and --name other\)/);
    const unknown = await cairnJson(['system-checkpoint', 'restore', 'nope', '--yes', '--state-dir', state]);
    assert.equal(unknown.code, 2, said(unknown));
    assert.equal(unknown.doc.error.code, 'UNKNOWN_CHECKPOINT');
    assert.deepEqual(unknown.doc.error.details.names, ['before-fix']);
    assertTreeUnchanged(tree, readTree(state));
  });

  it('--help lists --name among the options with what create does with it', async () => {
    const r = await cairn(['system-checkpoint', '--help']);
    assert.equal(r.code, 0, said(r));
    const options = r.stdout.slice(r.stdout.indexOf('\nOptions:'));
    assert.match(options, /--name +create: the name to give the whole state as it is now/);
    assert.match(r.stdout, /Positionals:\n.*\n +checkpoint +restore: the system checkpoint to go back to/);
  });

  it('shows the plan on --dry-run and changes nothing; restore brings every workstream back by the rollback rules, and the log only grows', async () => {
    const { dir, state, S } = await build();
    const now = await picture(state);
    assert.deepEqual(now.ws, { nightly: 'failed', done: 'completed', late: 'running' });

    const tree = readTree(state);
    const dry = await cairnJson(['system-checkpoint', 'restore', 'before-fix', '--dry-run', '--state-dir', state]);
    assert.equal(dry.code, 0, said(dry));
    assertTreeUnchanged(tree, readTree(state), 'the state folder after a dry run');
    assert.deepEqual(dry.doc.plan.rolled_back.map((r: any) => r.workstream_id), ['nightly']);
    assert.deepEqual(dry.doc.plan.cancelled, ['late']);
    assert.deepEqual(dry.doc.plan.resources, [{ resource_id: 'db', from: 3, to: 1 }]);
    assert.ok(dry.doc.plan.left.some((l: string) => /workstream done was submitted after the checkpoint and is completed/.test(l)), dry.doc.plan.left.join('\n'));
    assert.ok(dry.doc.plan.left.some((l: string) => /task nightly\/t3 completed after the checkpoint: it stays completed/.test(l)), dry.doc.plan.left.join('\n'));
    const human = await cairn(['system-checkpoint', 'restore', 'before-fix', '--dry-run', '--state-dir', state]);
    assert.match(human.stdout, /rolled back \(to their point at the checkpoint\):\n {2}nightly -> checkpoint \d+/);
    assert.match(human.stdout, /unfinished tasks cancelled:\n {2}late/);
    assertTreeUnchanged(tree, readTree(state), 'the state folder after a human dry run');

    // What rollback-workstream makes of nightly, to its own point at S, on a copy.
    const at = await cairnJson(['state', '--at', String(S), '--state-dir', state]);
    assert.equal(at.code, 0, said(at));
    const copy = join(dir, 'copy');
    cpSync(state, copy, { recursive: true });
    const cpSeq = dry.doc.plan.rolled_back[0].checkpoint_seq;
    await ok(copy, ['rollback-workstream', '--workstream-id', 'nightly', '--to-checkpoint', String(cpSeq), '--yes']);

    const logBefore = logOf(state);
    const r = await cairnJson(['system-checkpoint', 'restore', 'before-fix', '--yes', '--reason', 'back to the known state', '--state-dir', state]);
    assert.equal(r.code, 0, said(r));
    const logAfter = logOf(state);
    assert.ok(logAfter.length > logBefore.length && logAfter.startsWith(logBefore), 'the log only grew');
    assert.equal(r.doc.records[0].type, 'system_checkpoint_restored');
    assert.deepEqual([r.doc.records[0].name, r.doc.records[0].checkpoint_seq], ['before-fix', S]);
    assert.ok(r.doc.records.every((x: any) => x.action === 'system_checkpoint_restore' && x.operator === 'tester'), 'one decision of one tool');
    assert.equal(r.doc.records[0].batch, r.doc.records.length, 'one batch');
    const lines = readFileSync(join(state, 'interventions.log'), 'utf8').trim().split('\n');
    assert.match(lines.at(-1)!, /action=system_checkpoint_restore reason="back to the known state"/);

    const after = await picture(state);
    const rolled = await picture(copy);
    for (const id of ['t1', 't2', 't3', 't4']) assert.equal(after.tasks[`nightly/${id}`], rolled.tasks[`nightly/${id}`], `nightly/${id} as rollback-workstream makes it`);
    // DESIGN §6: t1 and t3 completed stay completed; t2 and t4, failed at S, come back to run (pending, then queued).
    assert.deepEqual(['t1', 't2', 't3', 't4'].map((id) => after.tasks[`nightly/${id}`]), ['completed/0', 'queued/0', 'completed/0', 'queued/0']);
    assert.deepEqual(after.ws, { nightly: 'running', done: 'completed', late: 'cancelled' });
    assert.deepEqual([after.tasks['late/u1'], after.tasks['late/u2']], ['cancelled/0', 'cancelled/0']);
    assert.deepEqual([after.tasks['done/u1'], after.tasks['done/u2']], ['completed/0', 'completed/0']);
    const res = await cairnJson(['show-resources', '--state-dir', state]);
    const db = (res.doc.resources ?? res.doc).find((x: any) => x.id === 'db' || x.resource_id === 'db');
    assert.equal(db.max_holders, 1);

    const v = await cairnJson(['validate-state', '--state-dir', state]);
    assert.equal(v.code, 0, said(v));
    assert.equal(v.doc.ok, true);

    // Restoring again finds nothing to do: no record.
    const twice = await cairnJson(['system-checkpoint', 'restore', 'before-fix', '--yes', '--state-dir', state]);
    assert.equal(twice.code, 0, said(twice));
    assert.equal(twice.doc.changed, false);
    assert.equal(logOf(state), logAfter);
  });

  it('says when the log no longer holds the point (a repair replaced the record there) and refuses to restore it', async () => {
    const { state, S } = await build();
    // Damage record S beyond a flipped bit: repair-state keeps the records after it and puts a placeholder (record_lost) in its place.
    const lines = logOf(state).split('\n');
    const i = lines.findIndex((l) => l.startsWith(`{"seq":${S},`));
    lines[i] = lines[i]!.replace(/"ts":"[^"]*"/, (m) => m.replace(/\d/g, 'x'));
    writeFileSync(join(state, 'transitions.jsonl'), lines.join('\n'));
    const repair = await cairn(['repair-state', '--yes', '--state-dir', state]);
    assert.ok(repair.code === 0 || repair.code === 1, said(repair));
    const list = await cairnJson(['system-checkpoint', 'list', '--state-dir', state]);
    assert.equal(list.code, 0, said(list));
    const c = list.doc.checkpoints[0];
    assert.equal(c.in_log, false);
    assert.notEqual(c.log_crc, c.crc);
    const human = await cairn(['system-checkpoint', 'list', '--state-dir', state]);
    assert.match(human.stdout, /before-fix .* NO \(log crc/);
    const before = logOf(state);
    const r = await cairnJson(['system-checkpoint', 'restore', 'before-fix', '--yes', '--state-dir', state]);
    assert.equal(r.code, 2, said(r));
    assert.equal(r.doc.error.code, 'UNKNOWN_CHECKPOINT');
    assert.match(r.doc.error.message, /the log was repaired or replaced since/);
    assert.equal(logOf(state), before);
  });
});
