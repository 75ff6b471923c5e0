// validate-state checks config.json as commands read it; backups are valid snapshots only, and
// restore-state --from-backup latest takes the newest backup that agrees with the log.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';

async function fresh(config: Record<string, unknown> = {}): Promise<{ dir: string; state: string; spec: (id: string) => string }> {
  const dir = scratch();
  const state = join(dir, 'st');
  const r = await cairn(['init', '--state-dir', state]);
  assert.equal(r.code, 0, said(r));
  writeFileSync(join(state, 'config.json'), JSON.stringify(config));
  const spec = (id: string) => {
    const f = join(dir, `${id}.json`);
    writeFileSync(f, JSON.stringify({ id, tasks: [{ id: 't', command: 'true' }] }));
    return f;
  };
  return { dir, state, spec };
}

async function ok(args: string[], state: string): Promise<void> {
  const r = await cairn([...args, '--state-dir', state, '--operator', 'tester']);
  assert.equal(r.code, 0, `cairn ${args.join(' ')}\n${said(r)}`);
}

describe('validate-state and config.json', () => {
  it('reports a config.json that run refuses as CONFIG_INVALID with its path (exit 1), where it used to say ok', async () => {
    const { state, spec } = await fresh({ workers: 0 });
    const run = await cairn(['run', spec('w'), '--state-dir', state]);
    assert.equal(run.code, 2, said(run));
    assert.match(run.stderr, /SCHEMA_INVALID/);
    const r = await cairnJson(['validate-state', '--state-dir', state]);
    assert.equal(r.code, 1, said(r));
    assert.equal(r.doc.ok, false);
    assert.deepEqual(r.doc.problems.map((p: { code: string; path: string }) => [p.code, p.path]), [['CONFIG_INVALID', '$.workers']]);
    assert.match(r.doc.problems[0].message, /config\.json: \$\.workers: must be >= 1/);
    const human = await cairn(['validate-state', '--state-dir', state]);
    assert.match(human.stdout, /\[CONFIG_INVALID\] config\.json: \$\.workers/);
  });

  it('reports a config.json that is not JSON, and relations between keys the schema cannot state', async () => {
    const { state } = await fresh();
    writeFileSync(join(state, 'config.json'), '{"workers": ');
    const a = await cairnJson(['validate-state', '--state-dir', state]);
    assert.equal(a.code, 1, said(a));
    assert.deepEqual(a.doc.problems.map((p: { code: string }) => p.code), ['CONFIG_INVALID']);
    assert.match(a.doc.problems[0].message, /not valid JSON/);
    writeFileSync(join(state, 'config.json'), JSON.stringify({ heartbeat_ms: 5000, health_timeout_ms: 1000 }));
    const b = await cairnJson(['validate-state', '--state-dir', state]);
    assert.equal(b.code, 1, said(b));
    assert.match(b.doc.problems[0].message, /heartbeat_ms \(5000\) must be less than health_timeout_ms/);
  });
});

describe('backups', () => {
  it('restore-state --from-backup latest takes the newest backup after a restore rewrote the archive files, not the seq-0 one', async () => {
    const { state, spec } = await fresh({ backup_interval_ms: 0 });
    await ok(['submit', spec('a')], state);
    await ok(['skip-task', '--task-id', 'a/t', '--reason', 'done by hand', '--yes'], state); // a completes: archived
    await ok(['submit', spec('c')], state);
    // Rewrites archive/a.json at the restore's own seq; every backup before it names the older seq.
    await ok(['restore-state', '--from-transitions', join(state, 'transitions.jsonl'), '--yes'], state);
    const newest = readdirSync(join(state, 'backups')).map((f) => ({ f, seq: Number(/_(\d+)\.json$/.exec(f)![1]) })).sort((x, y) => y.seq - x.seq)[0]!;
    assert.ok(newest.seq > 0);
    const r = await cairnJson(['restore-state', '--from-backup', 'latest', '--dry-run', '--state-dir', state]);
    assert.equal(r.code, 0, said(r));
    assert.equal(r.doc.source, `backups/${newest.f}`, r.doc.warnings.join('\n'));
    assert.deepEqual(r.doc.warnings, []);
    assert.deepEqual(r.doc.changes, []);
  });

  it('still refuses a backup whose archived workstream changed after it (reopened and finished again)', async () => {
    const { dir, state, spec } = await fresh({ backup_interval_ms: 0 });
    const failing = join(dir, 'fails.json');
    writeFileSync(failing, JSON.stringify({ id: 'a', defaults: { max_retries: 0 }, tasks: [{ id: 't', command: 'false' }] }));
    const run = await cairn(['run', failing, '--workers', '1', '--state-dir', state]);
    assert.equal(run.code, 1, said(run)); // a failed: archived
    await ok(['submit', spec('c')], state); // keeps a backup that names archive/a.json as first written
    const early = new Set(readdirSync(join(state, 'backups')));
    await ok(['retry-task', '--task-id', 'a/t'], state); // reopens a
    await ok(['skip-task', '--task-id', 'a/t', '--reason', 'second', '--yes'], state); // archived again, later
    // Only the backups from before the reopen are left: the newest names archive/a.json as it was then.
    for (const f of readdirSync(join(state, 'backups'))) if (!early.has(f)) rmSync(join(state, 'backups', f));
    const r = await cairnJson(['restore-state', '--from-backup', 'latest', '--dry-run', '--state-dir', state]);
    assert.equal(r.code, 0, said(r));
    assert.ok(r.doc.warnings.some((w: string) => /archive\/a\.json is at seq \d+ and last changed at seq \d+/.test(w)), r.doc.warnings.join('\n'));
    assert.deepEqual(r.doc.changes, [], 'whatever backup it takes, the result is the log\'s state');
  });

  it('never keeps a current.json that is not a valid snapshot (hash broken by an edit) as a backup', async () => {
    const { state, spec } = await fresh({ backup_interval_ms: 0 });
    await ok(['submit', spec('a')], state);
    const cur = join(state, 'current.json');
    const edited = readFileSync(cur, 'utf8').replace(/"written_at": "[^"]+"/, '"written_at": "2000-01-01T00:00:00.000Z"');
    assert.notEqual(edited, readFileSync(cur, 'utf8'));
    writeFileSync(cur, edited);
    await ok(['submit', spec('c')], state);
    for (const f of readdirSync(join(state, 'backups'))) {
      assert.notEqual(readFileSync(join(state, 'backups', f), 'utf8'), edited, `backups/${f} is the edited snapshot`);
    }
    const v = await cairnJson(['validate-state', '--state-dir', state]);
    assert.deepEqual(v.doc.problems, []);
  });
});

describe('validate-state and checkpoint files', () => {
  it('notices a deleted latest checkpoint and the deleted file of the last task transition (CHECKPOINT_MISSING, exit 1); restore-state and repair-state write them back', async () => {
    const { state, spec } = await fresh();
    await ok(['submit', spec('a')], state);
    await ok(['skip-task', '--task-id', 'a/t', '--reason', 'by hand', '--yes'], state);
    const clean = await cairnJson(['validate-state', '--state-dir', state]);
    assert.deepEqual(clean.doc.problems, []);
    const last = Math.max(...readdirSync(join(state, 'checkpoints', 'a')).map((f) => Number(f.replace('.json', ''))));
    for (const fixer of [['restore-state', '--from-transitions', join(state, 'transitions.jsonl'), '--yes'], ['repair-state', '--yes']]) {
      rmSync(join(state, 'checkpoints', 'a_latest.json'));
      rmSync(join(state, 'checkpoints', 'a', `${last}.json`));
      const r = await cairnJson(['validate-state', '--state-dir', state]);
      assert.equal(r.code, 1, said(r));
      assert.deepEqual(r.doc.problems.map((p: { code: string; file: string }) => [p.code, p.file]), [
        ['CHECKPOINT_MISSING', 'checkpoints/a_latest.json'], ['CHECKPOINT_MISSING', `checkpoints/a/${last}.json`],
      ]);
      await ok(fixer, state);
      const after = await cairnJson(['validate-state', '--state-dir', state]);
      assert.deepEqual(after.doc.problems, [], `after ${fixer[0]}`);
    }
  });
});

describe('validate-state and older checkpoint files', () => {
  /** A workstream of four tasks, each skipped by its own command: one checkpoint file per skip. */
  async function fourCheckpoints(config: Record<string, unknown> = {}): Promise<{ state: string; files: () => number[] }> {
    const { dir, state } = await fresh(config);
    const f = join(dir, 'a.json');
    writeFileSync(f, JSON.stringify({ id: 'a', tasks: ['t1', 't2', 't3', 't4'].map((id) => ({ id, command: 'true' })) }));
    await ok(['submit', f], state);
    for (const t of ['t1', 't2', 't3', 't4']) await ok(['skip-task', '--task-id', `a/${t}`, '--reason', 'by hand', '--yes'], state);
    const files = () => readdirSync(join(state, 'checkpoints', 'a')).map((n) => Number(n.replace('.json', ''))).sort((x, y) => x - y);
    return { state, files };
  }

  it('notices a deleted checkpoint file older than the latest (CHECKPOINT_MISSING naming it, exit 1); restore-state and repair-state write it back', async () => {
    const { state, files } = await fourCheckpoints();
    const seqs = files();
    assert.ok(seqs.length >= 4, `four skips leave four checkpoint files, got ${seqs.join(',')}`);
    const clean = await cairnJson(['validate-state', '--state-dir', state]);
    assert.deepEqual(clean.doc.problems, []);
    const middle = seqs[seqs.length - 3]!;
    for (const fixer of [['restore-state', '--from-transitions', join(state, 'transitions.jsonl'), '--yes'], ['repair-state', '--yes']]) {
      rmSync(join(state, 'checkpoints', 'a', `${middle}.json`));
      const r = await cairnJson(['validate-state', '--state-dir', state]);
      assert.equal(r.code, 1, said(r));
      assert.deepEqual(r.doc.problems.map((p: { code: string; file: string }) => [p.code, p.file]), [['CHECKPOINT_MISSING', `checkpoints/a/${middle}.json`]]);
      assert.match(r.doc.problems[0].message, /written after it/);
      await ok(fixer, state);
      assert.ok(files().includes(middle), `${fixer[0]} writes checkpoints/a/${middle}.json back`);
      const after = await cairnJson(['validate-state', '--state-dir', state]);
      assert.deepEqual(after.doc.problems, [], `after ${fixer[0]}`);
    }
  });

  it('does not take files pruned beyond checkpoints_keep for deleted ones, and notices the oldest kept file deleted', async () => {
    const { state, files } = await fourCheckpoints({ checkpoints_keep: 2 });
    const seqs = files();
    assert.equal(seqs.length, 2, `checkpoints_keep 2 keeps two files, got ${seqs.join(',')}`);
    const clean = await cairnJson(['validate-state', '--state-dir', state]);
    assert.deepEqual(clean.doc.problems, []);
    rmSync(join(state, 'checkpoints', 'a', `${seqs[0]}.json`));
    const r = await cairnJson(['validate-state', '--state-dir', state]);
    assert.equal(r.code, 1, said(r));
    assert.deepEqual(r.doc.problems.map((p: { code: string; file: string }) => [p.code, p.file]), [['CHECKPOINT_MISSING', `checkpoints/a/${seqs[0]}.json`]]);
  });
});
