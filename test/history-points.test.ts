// A point in time is a seq, a date-time or git:<rev>, resolved to the end of a decision of the log;
// an unknown point says what exists.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CairnError, resolvePoint } from '../src/index.js';
import { cairn, said } from './helpers/cli.js';
import { git, gitEnv, gitRepo } from './helpers/git.js';

interface Rec { seq: number; ts: string; batch?: number; type: string }
const records = (state: string): Rec[] => readFileSync(join(state, 'transitions.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));

async function ok(args: string[], cwd?: string): Promise<void> {
  const r = await cairn(args, { cwd, env: gitEnv() });
  assert.equal(r.code, 0, `cairn ${args.join(' ')}\n${said(r)}`);
}

async function folder(): Promise<{ repo: string; state: string }> {
  const repo = gitRepo();
  const state = join(repo, '.state');
  await ok(['init', '--state-dir', state]);
  const spec = join(repo, 'w.json');
  writeFileSync(spec, JSON.stringify({ id: 'w', tasks: [{ id: 'a', command: 'true' }, { id: 'b', command: 'true', depends_on: ['a'] }] }));
  await ok(['submit', spec, '--state-dir', state]);
  return { repo, state };
}

async function rejects(state: string, text: string, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(resolvePoint({ stateDir: state }, text), (e: unknown) => {
    assert.ok(e instanceof CairnError, String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    return true;
  });
}

describe('points in time', () => {
  it('resolves a seq to the end of the decision that holds it, and 0 to the empty state', async () => {
    const { state } = await folder();
    await ok(['skip-task', '--task-id', 'w/a', '--reason', 'r', '--yes', '--state-dir', state]);
    const recs = records(state);
    // Every seq inside a decision resolves to that decision's last record.
    for (let i = 0; i < recs.length;) {
      const n = recs[i]!.batch && recs[i]!.batch! > 1 ? recs[i]!.batch! : 1;
      const last = recs[i + n - 1]!;
      for (let k = 0; k < n; k++) {
        const p = await resolvePoint({ stateDir: state }, String(recs[i + k]!.seq));
        assert.equal(p.seq, last.seq, `seq ${recs[i + k]!.seq}`);
        assert.equal(p.ts, last.ts);
      }
      i += n;
    }
    assert.equal((await resolvePoint({ stateDir: state }, '0')).seq, 0);
    assert.equal((await resolvePoint({ stateDir: state }, 'now')).seq, recs.at(-1)!.seq);
    await rejects(state, String(recs.length + 5), 'UNKNOWN_POINT', new RegExp(`past the end of the log: the log holds seq 1 to ${recs.length}, from ${recs[0]!.ts}`));
  });

  it('resolves a time to the last decision stamped at or before it; a time before the log is unknown', async () => {
    const { state } = await folder();
    const recs = records(state);
    const first = recs[0]!;
    assert.equal((await resolvePoint({ stateDir: state }, first.ts)).seq >= first.seq, true);
    assert.equal((await resolvePoint({ stateDir: state }, '2999-01-01T00:00:00Z')).seq, recs.at(-1)!.seq);
    await rejects(state, '2001-01-01T00:00:00Z', 'UNKNOWN_POINT', /before the log's first record: the log holds seq 1 to/);
    await rejects(state, 'yesterday', 'BAD_INPUT', /not a point in time/);
  });

  it('resolves git:<rev> to the log committed there: a prefix of ours, or a log of its own', async () => {
    const { repo, state } = await folder();
    git(repo, 'add', '.state');
    git(repo, 'commit', '-qm', 'submitted');
    const atCommit = records(state).at(-1)!.seq;
    await ok(['skip-task', '--task-id', 'w/a', '--reason', 'r', '--yes', '--state-dir', state]);
    const p = await resolvePoint({ stateDir: state }, 'git:HEAD');
    assert.equal(p.seq, atCommit);
    assert.equal(p.git?.prefix, true);
    assert.equal(p.git?.path, '.state');
    assert.match(p.git!.commit, /^[0-9a-f]{40}$/);
    await rejects(state, 'git:no-such-branch', 'BAD_INPUT', /git rev-parse/);
    await rejects(state, 'git:--output=x', 'BAD_INPUT', /not a git revision/);
  });

  it('says a folder outside any git repository has no git points', async () => {
    const { repo, state } = await folder();
    git(repo, 'add', '.state');
    git(repo, 'commit', '-qm', 'one');
    const { rmSync } = await import('node:fs');
    rmSync(join(repo, '.git'), { recursive: true, force: true });
    await rejects(state, 'git:HEAD', 'UNKNOWN_POINT', /not in a git repository/);
  });
});
