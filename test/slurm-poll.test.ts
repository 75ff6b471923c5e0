// squeue backs off while every job is pending or running as expected (the exit files say when a job
// ends), so a long job costs the controller a few calls, not one per poll_ms. A PATH shim logs each
// squeue cairn runs, then runs the real one. On the real single-node Slurm (.ci/slurm-up).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { FIXTURES } from './helpers/paths.js';
import { records, slurmSkip } from './helpers/slurm.js';
import { scratch } from './helpers/tmp.js';

describe('the squeue poll', { skip: slurmSkip() }, () => {
  it('backs off to several poll intervals while a long job runs as expected', async () => {
    const dir = scratch('cairn-slurm-poll-');
    const state = join(dir, 'st');
    assert.equal((await cairn(['init', '--state-dir', state])).code, 0);
    const pollMs = 1000;
    writeFileSync(join(state, 'config.json'), JSON.stringify({ executor: { kind: 'slurm', poll_ms: pollMs } }));
    const real = execFileSync('sh', ['-c', 'command -v squeue'], { encoding: 'utf8' }).trim();
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const calls = join(dir, 'squeue-calls');
    writeFileSync(join(bin, 'squeue'), `#!/bin/sh\ndate +%s%3N >> '${calls}'\nexec '${real}' "$@"\n`);
    chmodSync(join(bin, 'squeue'), 0o755);
    const journal = join(dir, 'journal');
    const spec = join(dir, 'long.json');
    writeFileSync(spec, JSON.stringify({ id: 'long', tasks: [{ id: 'nap', command: [join(FIXTURES, 'journal-task.sh'), journal, '16'] }] }));
    const r = await cairnJson(['run', spec, '--state-dir', state, '--executor', 'slurm'], { env: { PATH: `${bin}:${process.env.PATH}` }, timeoutMs: 180_000 });
    assert.equal(r.code, 0, said(r));
    // The calls while the job ran (from its task_started to its task_completed).
    const recs = records(state);
    const from = Date.parse(recs.find((x) => x.type === 'task_started')!.ts);
    const to = Date.parse(recs.find((x) => x.type === 'task_completed')!.ts);
    const at = readFileSync(calls, 'utf8').trim().split('\n').map(Number).filter((t) => t >= from && t <= to);
    assert.ok(at.length >= 2, `squeue ran while the job ran (${at.length} calls)`);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    // Without the back-off every gap is poll_ms plus one squeue; with it they grow to 4 x poll_ms.
    assert.ok(Math.max(...gaps) >= 3 * pollMs, `gaps between squeue calls: ${gaps.join(', ')} ms`);
  });
});
