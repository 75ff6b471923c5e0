// After log-archive, the readers that used to start at seq 1 read what is left: checkpoints,
// rollback, named and system checkpoints, events, history and metrics; interventions.log rebuilds
// keep the lines of the moved records; cached snapshots at or after the base stay. A point before
// the base is HISTORY_GONE (exit 2). The merge driver refuses a log with a base clearly.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';

const SPEC = {
  id: 'w1', defaults: { max_retries: 0 },
  tasks: [{ id: 'a', command: 'true' }, { id: 'b', command: 'true', depends_on: ['a'] }, { id: 'c', command: 'true', depends_on: ['a'] }, { id: 'z', command: 'false' }],
};

interface Archived { dir: string; state: string; arch: string; base: number; named: number; interventions: string }

async function ok(args: string[], code = 0): Promise<void> {
  const r = await cairn(args);
  assert.equal(r.code, code, said(r));
}

/**
 * A failed workstream named (checkpoint early, system checkpoint sys-early), then retried and run
 * three times on a log rotated every 1500 bytes; then everything before the first retry's run is
 * moved out. The names, and the first retry's intervention, come before the base; later points after it.
 */
async function archived(): Promise<Archived> {
  const dir = scratch();
  const state = join(dir, '.state');
  const s = ['--state-dir', state, '--operator', 'tester'];
  await ok(['init', ...s]);
  writeFileSync(join(state, 'config.json'), JSON.stringify({ log_segment_bytes: 1500 }));
  writeFileSync(join(dir, 'spec.json'), JSON.stringify(SPEC));
  await ok(['run', join(dir, 'spec.json'), ...s], 1);
  await ok(['checkpoint', '--workstream-id', 'w1', '--name', 'early', ...s]);
  await ok(['system-checkpoint', 'create', '--name', 'sys-early', ...s]);
  const retried: number[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await cairnJson(['retry-task', '--task-id', 'w1/z', '--yes', '--json', ...s]);
    assert.equal(r.code, 0, said(r));
    retried.push(r.doc.records[0].seq);
    await ok(['run', ...s], 1);
  }
  const named = (await cairnJson(['events', '--type', 'checkpoint_named', ...s])).doc.records[0].seq;
  const interventions = readFileSync(join(state, 'interventions.log'), 'utf8');
  const arch = join(dir, 'arch');
  // Up to the second retry: the first retry's decision (and the names) go, the later runs stay.
  const r = await cairnJson(['log-archive', '--to', arch, '--before-seq', String(retried[1]), ...s]);
  assert.equal(r.code, 0, said(r));
  const base = r.doc.base.seq;
  assert.ok(base > retried[0]! + 2 && base < retried[1]!, `the base (seq ${base}) falls between the first and second retry (${retried.join(', ')})`);
  return { dir, state, arch, base, named, interventions };
}

describe('readers after log-archive', () => {
  it('lists checkpoints after the base, rolls back to one, and says HISTORY_GONE for a point or a name before it', async () => {
    const { state, base } = await archived();
    const list = await cairnJson(['checkpoints', '--workstream-id', 'w1', '--state-dir', state]);
    assert.equal(list.code, 0, said(list));
    const seqs: number[] = list.doc.points.map((p: { seq: number }) => p.seq);
    assert.ok(seqs.length >= 3 && seqs.every((q) => q > base), `points after the base only: ${seqs.join(', ')}`);
    assert.deepEqual(list.doc.names.map((n: { name: string }) => n.name), ['early'], 'the name given before the base is still listed');
    const after = seqs[1]!;
    const show = await cairnJson(['checkpoints', '--workstream-id', 'w1', '--show', String(after), '--state-dir', state]);
    assert.equal(show.code, 0, said(show));
    assert.equal(show.doc.seq, after);
    const rb = await cairnJson(['rollback-workstream', '--workstream-id', 'w1', '--to-checkpoint', String(after), '--yes', '--state-dir', state]);
    assert.equal(rb.code, 0, said(rb));
    assert.ok(rb.doc.records.some((r: { type: string; checkpoint_seq?: number }) => r.type === 'workstream_rolled_back'), said(rb));
    for (const to of [String(base - 1), 'early']) {
      const gone = await cairn(['rollback-workstream', '--workstream-id', 'w1', '--to-checkpoint', to, '--yes', '--state-dir', state]);
      assert.equal(gone.code, 2, said(gone));
      assert.match(gone.stderr, new RegExp(`HISTORY_GONE.*history before seq ${base + 1} was moved out`));
    }
    const sys = await cairnJson(['system-checkpoint', 'list', '--state-dir', state]);
    assert.equal(sys.code, 0, said(sys));
    assert.deepEqual(sys.doc.checkpoints.map((c: { name: string; in_log: boolean; archived: boolean }) => [c.name, c.in_log, c.archived]), [['sys-early', false, true]]);
    const human = await cairn(['system-checkpoint', 'list', '--state-dir', state]);
    assert.match(human.stdout, /sys-early .*archived \(log-archive\)/);
    const restore = await cairn(['system-checkpoint', 'restore', 'sys-early', '--yes', '--state-dir', state]);
    assert.equal(restore.code, 2, said(restore));
    assert.match(restore.stderr, /HISTORY_GONE/);
  });

  it('events, history and metrics read what is left and say where history starts; a point before the base is HISTORY_GONE', async () => {
    const { state, arch, base } = await archived();
    const starts = { seq: base + 1, moved_to: arch };
    const ev = await cairnJson(['events', '--state-dir', state]);
    assert.equal(ev.code, 0, said(ev));
    assert.equal(ev.doc.records[0].seq, base + 1);
    assert.deepEqual({ seq: ev.doc.history_starts_at.seq, moved_to: ev.doc.history_starts_at.moved_to }, starts);
    const line = new RegExp(`^\\(history before seq ${base + 1} was moved out to ${arch} on \\d{4}-\\d\\d-\\d\\d: cairn log-archive\\)$`, 'm');
    assert.match((await cairn(['events', '--state-dir', state])).stdout, line);
    const since = await cairnJson(['events', '--since-seq', String(base), '--state-dir', state]);
    assert.equal(since.code, 0, said(since));
    assert.equal(since.doc.records[0].seq, base + 1);
    const hist = await cairnJson(['history', '--task-id', 'w1/z', '--state-dir', state]);
    assert.equal(hist.code, 0, said(hist));
    assert.deepEqual({ seq: hist.doc.history_starts_at.seq, moved_to: hist.doc.history_starts_at.moved_to }, starts);
    assert.ok(hist.doc.attempts.length >= 1);
    assert.match((await cairn(['history', '--workstream-id', 'w1', '--state-dir', state])).stdout, line);
    const m = await cairnJson(['metrics', '--state-dir', state]);
    assert.equal(m.code, 0, said(m));
    assert.equal(m.doc.first_seq, base + 1);
    assert.ok(m.doc.warnings.some((w: string) => w.startsWith(`counted from seq ${base + 1}`)), said(m));
    assert.equal((await cairnJson(['metrics', '--since', String(base + 1), '--state-dir', state])).code, 0);
    for (const args of [['events', '--since-seq', String(base - 1)], ['events', '--since-seq', '0'], ['metrics', '--since', '3'], ['metrics', '--since', '2000-01-01T00:00:00Z']]) {
      const gone = await cairn([...args, '--state-dir', state]);
      assert.equal(gone.code, 2, `${args.join(' ')}: ${said(gone)}`);
      assert.match(gone.stderr, /HISTORY_GONE.*moved out to/);
    }
  });

  it('rebuilds interventions.log with the lines of the interventions before the base', async () => {
    const { state, interventions, named } = await archived();
    assert.match(interventions, new RegExp(`action=checkpoint .* seq=${named}\\n`), 'the naming before the base is an intervention line');
    rmSync(join(state, 'interventions.log'));
    await ok(['repair-state', '--yes', '--state-dir', state]);
    const rebuilt = readFileSync(join(state, 'interventions.log'), 'utf8');
    assert.ok(rebuilt.startsWith(interventions), `every line before the repair is kept:\n${rebuilt}`);
    assert.match(rebuilt.slice(interventions.length), /action=repair_state/);
    const v = await cairnJson(['validate-state', '--state-dir', state]);
    assert.equal(v.code, 0, said(v));
    const re = await cairn(['restore-state', '--from-transitions', join(state, 'transitions.jsonl'), '--yes', '--state-dir', state]);
    assert.equal(re.code, 0, said(re));
    assert.ok(readFileSync(join(state, 'interventions.log'), 'utf8').startsWith(interventions));
  });

  it('keeps the cached snapshots at or after the base usable', async () => {
    const dir = scratch();
    const state = join(dir, '.state');
    await ok(['init', '--state-dir', state]);
    writeFileSync(join(state, 'config.json'), JSON.stringify({ log_segment_bytes: 1500 }));
    writeFileSync(join(dir, 'spec.json'), JSON.stringify(SPEC));
    await ok(['run', join(dir, 'spec.json'), '--state-dir', state], 1);
    const last = (await cairnJson(['events', '--last', '1', '--state-dir', state])).doc.lastSeq;
    // A snapshot at every decision end.
    const at = await cairn(['state', '--at', String(last), '--state-dir', state], { env: { CAIRN_SNAPSHOT_EVERY: '1' } });
    assert.equal(at.code, 0, said(at));
    const snaps = (): number[] => readdirSync(join(state, 'snapshots')).map((f) => Number(f.split('-')[0])).sort((a, b) => a - b);
    const r = await cairnJson(['log-archive', '--to', join(dir, 'arch'), '--keep-segments', '1', '--state-dir', state]);
    assert.equal(r.code, 0, said(r));
    const base: number = r.doc.base.seq;
    const kept = snaps().filter((q) => q >= base);
    assert.ok(kept.length >= 2 && kept[0] === base, `snapshots at the base and after it: ${snaps().join(', ')}`);
    for (const q of kept) {
      const s = await cairnJson(['state', '--at', String(q), '--state-dir', state]);
      assert.equal(s.code, 0, said(s));
    }
    assert.deepEqual(snaps().filter((q) => q >= base), kept, 'reading at them deleted none');
  });

  it('merge-driver refuses a log whose segments were moved out, naming the base, and leaves ours as it was', async () => {
    const { dir, state } = await archived();
    const ours = readFileSync(join(state, 'transitions.jsonl'));
    writeFileSync(join(dir, 'O'), '');
    writeFileSync(join(dir, 'B'), ours);
    writeFileSync(join(dir, 'A'), ours);
    const r = await cairn(['merge-driver', 'O', 'A', 'B', '.state/transitions.jsonl'], { cwd: dir });
    assert.equal(r.code, 1, said(r));
    assert.match(r.stderr, /MERGE_CONFLICT.*starts at its base \.state\/log\/base-\d{12}\.json \(cairn log-archive/);
    assert.deepEqual(readFileSync(join(dir, 'A')), ours);
    assert.ok(existsSync(join(state, 'transitions.jsonl')));
  });
});
