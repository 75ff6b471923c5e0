// restore-state and repair-state write every checkpoint the log implies, not only the latest: for
// each workstream, its tasks at the end of each of its last checkpoints_keep decisions that moved
// them. Checked against an independent replay of the log, decision by decision.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactJson } from '../src/log/canonical.js';
import { apply } from '../src/model/apply.js';
import { State } from '../src/model/state.js';
import type { LogRecord } from '../src/model/types.js';
import { checkpointDoc } from '../src/store/snapshot.js';
import { cli, runSpec } from './recovery-helpers.js';

let work = '';
let S = '';

/** ws -> seq -> the checkpoint document a replay gives at the end of each decision that moved its tasks. */
function oracle(log: string): Map<string, Map<number, string>> {
  const s = new State();
  const out = new Map<string, Map<number, string>>();
  const recs = log.split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogRecord);
  for (let i = 0; i < recs.length;) {
    const n = typeof recs[i]!.batch === 'number' && (recs[i]!.batch as number) > 1 ? (recs[i]!.batch as number) : 1;
    const before = new Map([...s.workstreams].map(([id, w]) => [id, w.last_task_seq]));
    for (let k = 0; k < n; k++) apply(s, recs[i + k]!);
    i += n;
    for (const [id, w] of s.workstreams) {
      if (before.get(id) === w.last_task_seq) continue;
      if (!out.has(id)) out.set(id, new Map());
      out.get(id)!.set(w.last_task_seq, content(checkpointDoc(s, id)));
    }
  }
  return out;
}

/** A checkpoint without where it stands among the files (previous, oldest_kept) and its hash: what a replay decides. */
function content(doc: object): string {
  const { previous: _p, oldest_kept: _o, hash: _h, ...rest } = doc as Record<string, unknown>;
  return compactJson(rest);
}

function onDisk(ws: string): Map<number, string> {
  const dir = join(S, 'checkpoints', ws);
  return new Map(readdirSync(dir).map((f) => [Number(f.replace('.json', '')), content(JSON.parse(readFileSync(join(dir, f), 'utf8')))]));
}

/** Each file names the one before it and the oldest kept, so validate-state can tell a deleted one. */
function assertChained(ws: string): void {
  const dir = join(S, 'checkpoints', ws);
  const seqs = readdirSync(dir).map((f) => Number(f.replace('.json', ''))).sort((a, b) => a - b);
  seqs.forEach((seq, i) => {
    const d = JSON.parse(readFileSync(join(dir, `${seq}.json`), 'utf8'));
    assert.equal(d.previous, i > 0 ? seqs[i - 1] : null, `previous of checkpoint ${seq}`);
    assert.equal(d.oldest_kept, seqs[0], `oldest_kept of checkpoint ${seq}`);
  });
}

function expected(ws: string, keep: number): Map<number, string> {
  const all = [...oracle(readFileSync(join(S, 'transitions.jsonl'), 'utf8')).get(ws)!];
  return new Map(all.slice(-keep));
}

before(() => {
  work = mkdtempSync(join(tmpdir(), 'cairn-ckpt-'));
  const dir = join(work, 'w');
  mkdirSync(dir);
  S = join(dir, '.state');
  // A chain of six tasks: each decision moves one or two of them, so there are many points.
  const tasks = ['a', 'b', 'c', 'd', 'e', 'f'].map((id, i, all) => ({ id, command: ['true'], ...(i ? { depends_on: [all[i - 1]] } : {}) }));
  const r = runSpec(S, dir, { id: 'chain', tasks });
  assert.equal(r.code, 0, r.err);
  writeFileSync(join(S, 'config.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(S, 'config.json'), 'utf8')), checkpoints_keep: 5 }, null, 2));
});
after(() => rmSync(work, { recursive: true, force: true }));

describe('every checkpoint the log implies', () => {
  it('restore-state --from-transitions writes the last checkpoints_keep of them, each equal to a replay to its decision', () => {
    const want = expected('chain', 5);
    assert.equal(want.size, 5, 'the run made more than five points');
    assert.notDeepEqual([...onDisk('chain').keys()].sort(), [...want.keys()].sort(), 'a run writes checkpoints only with its snapshots');
    const r = cli(S, ['restore-state', '--from-transitions', join(S, 'transitions.jsonl'), '--yes', '--json']);
    assert.equal(r.code, 0, r.err);
    const got = onDisk('chain');
    const now = expected('chain', 5); // the restore's own record moves no task
    assert.deepEqual([...got.keys()].sort((a, b) => a - b), [...now.keys()].sort((a, b) => a - b));
    for (const [seq, doc] of now) assert.equal(got.get(seq), doc, `checkpoint at seq ${seq}`);
    assertChained('chain');
    assert.equal(readFileSync(join(S, 'checkpoints', 'chain_latest.json'), 'utf8').length > 0, true);
    assert.equal(cli(S, ['validate-state']).code, 0);
  });

  it('repair-state writes back checkpoint files that were deleted, and removes one the log does not imply', () => {
    const dir = join(S, 'checkpoints', 'chain');
    const files = readdirSync(dir);
    for (const f of files.slice(0, 3)) rmSync(join(dir, f));
    writeFileSync(join(dir, '99999.json'), '{}');
    // A stale lock-free, damage-free folder: repair rebuilds derived files when validate-state finds a problem.
    rmSync(join(S, 'checkpoints', 'chain_latest.json'));
    const r = cli(S, ['repair-state', '--yes', '--json']);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(readdirSync(dir).sort(), [...files].sort(), 'every implied checkpoint is back');
    assert.equal(existsSync(join(dir, '99999.json')), false);
    const want = expected('chain', 5);
    for (const [seq, doc] of onDisk('chain')) assert.equal(doc, want.get(seq), `checkpoint at seq ${seq}`);
    assertChained('chain');
    assert.ok(r.json().actions.some((a: string) => a.startsWith('wrote every checkpoint the log implies (5 file(s)')), r.json().actions.join('\n'));
  });
});
