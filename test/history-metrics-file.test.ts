// metrics.json holds the figures of `cairn metrics --json` over the whole log, kept record by record
// by apply: after a real run with failures, retries, a timeout and recoveries of four kinds
// (retry-task, skip-task, rollback-workstream, resume-workstream --from-task), after
// restore-state --from-transitions rebuilds it, and after the log rotated into segments.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { FIXTURES } from './helpers/paths.js';
import { checkpointHash } from '../src/store/snapshot.js';
import { scratch } from './helpers/tmp.js';

/** The figures metrics.json shares with `cairn metrics --json` (it also keeps counts by state and workers). */
const SHARED = ['records', 'first_seq', 'last_seq', 'span', 'recoveries', 'failures', 'attempts', 'durations', 'throughput'] as const;

const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, any>;

/** Every record: the segments (log/*.jsonl.gz, in name order) then the active file. */
function wholeLog(state: string): Record<string, any>[] {
  const seg = existsSync(join(state, 'log')) ? readdirSync(join(state, 'log')).filter((f) => f.endsWith('.jsonl.gz')).sort() : [];
  const text = [...seg.map((f) => gunzipSync(readFileSync(join(state, 'log', f))).toString('utf8')), readFileSync(join(state, 'transitions.jsonl'), 'utf8')].join('');
  return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, any>);
}

async function assertAgree(state: string, when: string): Promise<Record<string, any>> {
  const r = await cairnJson(['metrics', '--state-dir', state]);
  assert.equal(r.code, 0, said(r));
  const file = readJson(join(state, 'metrics.json'));
  for (const k of SHARED) assert.deepEqual(file[k], r.doc[k], `${when}: metrics.json's ${k} equals cairn metrics --json's`);
  return file;
}

async function ok(state: string, args: string[], code = 0) {
  const r = await cairn([...args, '--state-dir', state, '--operator', 'alice', '--reason', 'test']);
  assert.equal(r.code, code, `${args.join(' ')}: ${said(r)}`);
}

describe('metrics.json', () => {
  let dir = '';
  let state = '';

  before(async () => {
    dir = scratch();
    state = join(dir, '.state');
    const one = join(dir, 'one.json');
    writeFileSync(one, JSON.stringify({
      id: 'one',
      tasks: [
        { id: 'a', command: 'true' },
        // Times out on its first attempt, completes on its retry.
        { id: 't', command: `if [ -f ${dir}/t.done ]; then exit 0; fi; touch ${dir}/t.done; sleep 5`, timeout_seconds: 0.5, max_retries: 1, retry_base_seconds: 0 },
        // Exits 3 once, then completes on its automatic retry.
        { id: 'f', command: `if [ -f ${dir}/f.done ]; then exit 0; fi; touch ${dir}/f.done; exit 3`, max_retries: 1, retry_base_seconds: 0 },
        // Exits 2 until the operator fixes it and retries it.
        { id: 'c', command: `if [ -f ${dir}/c.fixed ]; then exit 0; fi; exit 2`, max_retries: 0 },
        { id: 'd', command: 'true', depends_on: ['c'] },
        // Always exits 4: the operator skips it.
        { id: 's', command: 'exit 4', max_retries: 0 },
      ],
    }));
    const two = join(dir, 'two.json');
    writeFileSync(two, JSON.stringify({
      id: 'two',
      tasks: [
        { id: 'x', command: 'true' },
        // Exits 5 until fixed: rolled back and failing again, then resumed from once fixed.
        { id: 'y', command: `if [ -f ${dir}/y.fixed ]; then exit 0; fi; exit 5`, max_retries: 0, depends_on: ['x'] },
        { id: 'z', command: 'true', depends_on: ['y'] },
      ],
    }));
    await ok(state, ['run', one, '--workers', '2'], 1);
    await ok(state, ['skip-task', '--task-id', 'one/s', '--yes']);
    writeFileSync(join(dir, 'c.fixed'), '');
    await ok(state, ['retry-task', '--task-id', 'one/c']);
    await ok(state, ['run', '--workers', '2']);
    await ok(state, ['run', two, '--workers', '2'], 1);
    await ok(state, ['rollback-workstream', '--workstream-id', 'two', '--to-checkpoint', 'latest', '--yes']);
    await ok(state, ['run', '--workers', '2'], 1);
    // From here on the log rotates into log/*.jsonl.gz every few records.
    const config = readJson(join(state, 'config.json'));
    writeFileSync(join(state, 'config.json'), JSON.stringify({ ...config, log_segment_bytes: 4096 }));
    writeFileSync(join(dir, 'y.fixed'), '');
    await ok(state, ['resume-workstream', '--workstream-id', 'two', '--from-task', 'y', '--yes']);
    await ok(state, ['run', '--workers', '2']);
    // A rollback that puts a task back to completed (the checkpoint's state) is no end of an
    // attempt: the skip awaiting that task's outcome stays pending, in both counts.
    await ok(state, ['reset-workstream', '--workstream-id', 'one', '--yes']);
    await ok(state, ['skip-task', '--task-id', 'one/a', '--yes']);
    const aDone = wholeLog(state).find((r) => r.type === 'task_completed' && r.workstream_id === 'one' && r.task_id === 'a')!;
    await ok(state, ['rollback-workstream', '--workstream-id', 'one', '--to-checkpoint', String(aDone.seq), '--yes']);
  });

  it('holds the same figures as cairn metrics --json over a log with failures, a timeout and recoveries of four kinds, rotated into segments', async () => {
    assert.ok(existsSync(join(state, 'log')) && readdirSync(join(state, 'log')).some((f) => f.endsWith('.jsonl.gz')), 'the log rotated');
    const file = await assertAgree(state, 'after the runs');
    // What the run did, so the agreement is not an agreement of empty figures.
    assert.deepEqual(Object.keys(file.recoveries), ['resume_workstream', 'retry_task', 'rollback_workstream', 'skip_task']);
    assert.equal(file.recoveries.retry_task.succeeded, 1);
    assert.ok(file.recoveries.retry_task.time_to_recover_ms !== null, 'a failed task recovered: time to recover is measured');
    assert.deepEqual(
      [file.recoveries.skip_task.count, file.recoveries.skip_task.succeeded, file.recoveries.skip_task.pending], [2, 0, 2],
      'one/s and one/a were skipped; the rollback that made one/a completed again is not the skip succeeding',
    );
    assert.ok(file.recoveries.rollback_workstream.failed >= 1, 'y failed again after the rollback');
    assert.ok(file.recoveries.resume_workstream.succeeded >= 1, 'y completed after the resume');
    assert.equal(file.failures.by_kind.timeout, 1);
    assert.deepEqual(Object.keys(file.failures.exit_codes), ['2', '3', '4', '5']);
    assert.deepEqual(Object.keys(file.durations), ['one', 'two']);
    assert.equal(file.durations.one.count, 6 - 1, 'every task of one but the skipped one completed');
    assert.equal(file.attempts.max, 3, 'y ran three times: first run, after the rollback, after the resume');
    assert.equal(file.throughput.completed, 5 + 3);
    const v = await cairn(['validate-state', '--state-dir', state]);
    assert.equal(v.code, 0, said(v));
  });

  it('is rebuilt with the same figures by restore-state --from-transitions, and again after the next write', async () => {
    await ok(state, ['restore-state', '--from-transitions', join(state, 'transitions.jsonl'), '--yes']);
    await assertAgree(state, 'after restore-state');
    // The next command loads the restored current.json (its counters) and replays only its own records.
    await ok(state, ['checkpoint', '--workstream-id', 'two', '--name', 'after-metrics']);
    await assertAgree(state, 'after a write on the restored state');
  });

  it('does not load a current.json written before these counters existed: the log is replayed, and every figure stays right', async () => {
    const doc = readJson(join(state, 'current.json'));
    const { failures: _f, exit_codes: _e, tasks_failed: _t, attempts_per_task: _a, completed: _c, durations_ms: _d, first_ts: _ft, ...older } = doc.metrics;
    const { hash: _h, ...rest } = doc;
    // An older build wrote version 1 (fully indented, the hash of the canonical content).
    const body = { ...rest, schema_version: 1, metrics: older };
    writeFileSync(join(state, 'current.json'), JSON.stringify({ ...body, hash: checkpointHash(body) }, null, 2));
    const r = await cairnJson(['checkpoint', '--workstream-id', 'two', '--name', 'after-an-older-build', '--state-dir', state, '--reason', 'test']);
    assert.equal(r.code, 0, said(r));
    assert.match(said(r), /written by an older cairn \(no durations_ms\), so the log is replayed instead/);
    await assertAgree(state, 'after loading past an older current.json');
  });

  it('agrees with cairn metrics --json on every golden log', async () => {
    const logs = join(FIXTURES, 'logs');
    for (const f of readdirSync(logs).filter((x) => x.endsWith('.jsonl'))) {
      const st = join(scratch(), '.state');
      assert.equal((await cairn(['init', '--state-dir', st])).code, 0);
      await ok(st, ['restore-state', '--from-transitions', join(logs, f), '--yes']);
      await assertAgree(st, f);
    }
  });
});
