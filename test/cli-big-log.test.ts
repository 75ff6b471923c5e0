// Every reader of the log streams, whatever its size: each reading command runs through the real
// CLI on one generated 1,000,000-record log (made once for this file) with its heap capped at
// 256 MB, a third of what the log takes as records in memory, so a reader that holds the whole log,
// or spreads it into a call, fails here.
// The commands at risk are here: events (plain, --json, filtered), analyze-workstream-failure and
// show-worker-logs (they read records, not only the state); status, show-task and validate-state
// replay through the store's loader. restore-state and repair-state --dry-run share that loader and
// are left out to keep this file near a minute and a half.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { simulate } from '../bench/gen.js';
import { type CliResult, said } from './helpers/cli.js';
import { CAIRN_BIN, ROOT } from './helpers/paths.js';
import { scratch } from './helpers/tmp.js';

const RECORDS = 1_000_000;
const state = join(scratch('cairn-big-log-'), '.state');
let lastSeq = 0;

/** `cairn <args> | <filter>` under bash with cairn's heap capped; code is cairn's exit status, stdout is the filter's. */
function capped(args: string[], filter = 'cat'): Promise<CliResult> {
  const env = { ...process.env, CAIRN_STATE_DIR: undefined, CAIRN_OPERATOR: 'tester' };
  const script = `"$0" --max-old-space-size=256 "$@" | ${filter}; exit "\${PIPESTATUS[0]}"`;
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script, process.execPath, CAIRN_BIN, ...args, '--state-dir', state], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    // A safety net against a hang, not a timing assertion.
    const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

before(() => {
  mkdirSync(state, { recursive: true, mode: 0o700 });
  // One workstream of 300 tasks run to the end, lengthened to a million records by lost workers.
  const g = simulate(join(state, 'transitions.jsonl'), { workstreamId: 'nightly', tasks: 300, layerWidth: 30, workers: 2, churnRecords: RECORDS });
  lastSeq = g.records;
  assert.ok(lastSeq >= RECORDS, `generated ${lastSeq} records`);
});

function clean(r: CliResult): void {
  assert.doesNotMatch(r.stderr, /INTERNAL|heap|Maximum call stack|    at /, said(r));
}

describe(`a log of a million records`, () => {
  it('events prints every record, one line each', async () => {
    const r = await capped(['events'], 'wc -l');
    clean(r);
    assert.equal(r.code, 0, said(r));
    assert.equal(Number(r.stdout.trim()), lastSeq, said(r));
  });

  it('events --json writes one document that ends with the last seq', async () => {
    const r = await capped(['events', '--json'], 'tail -c 200');
    clean(r);
    assert.equal(r.code, 0, said(r));
    assert.ok(r.stdout.endsWith(`  ],\n  "lastSeq": ${lastSeq}\n}\n`), said(r));
  });

  it('events --task-id W/T --json keeps only that task\'s records', async () => {
    const r = await capped(['events', '--task-id', 'nightly/t00007', '--json']);
    clean(r);
    assert.equal(r.code, 0, said(r));
    const doc = JSON.parse(r.stdout) as { records: { workstream_id: string; task_id: string }[] };
    assert.ok(doc.records.length > 100, `${doc.records.length} records`);
    assert.ok(doc.records.every((x) => x.workstream_id === 'nightly' && x.task_id === 't00007'));
  });

  it('analyze-workstream-failure reads the workstream\'s history', async () => {
    const r = await capped(['analyze-workstream-failure', '--workstream-id', 'nightly', '--json']);
    clean(r);
    assert.equal(r.code, 0, said(r));
    assert.equal(JSON.parse(r.stdout).diagnosis, 'no_failure', said(r));
  });

  it('show-worker-logs finds the worker\'s last records', async () => {
    const r = await capped(['show-worker-logs', '--worker-id', 'w1', '--lines', '5', '--json']);
    clean(r);
    assert.equal(r.code, 0, said(r));
    assert.equal(JSON.parse(r.stdout).records.length, 5, said(r));
  });

  it('log prints one line a decision, newest first, and -n the newest N', async () => {
    const all = await capped(['log'], 'awk \'NR == 1 { print } END { print NR }\'');
    clean(all);
    assert.equal(all.code, 0, said(all));
    const [first, count] = all.stdout.trim().split('\n');
    assert.match(first!, new RegExp(`^(\\d+-)?${lastSeq} `), 'the newest decision ends at the last seq');
    assert.ok(Number(count) > lastSeq / 2 && Number(count) <= lastSeq, `${count} decisions`);
    const five = await capped(['log', '-n', '5', '--json']);
    clean(five);
    const doc = JSON.parse(five.stdout) as { decisions: { last_seq: number }[] };
    assert.equal(doc.decisions.length, 5);
    assert.equal(doc.decisions[0]!.last_seq, lastSeq);
  });

  it('history tells a task\'s story and the workstream\'s', async () => {
    const t = await capped(['history', '--task-id', 'nightly/t00007', '--json']);
    clean(t);
    assert.equal(t.code, 0, said(t));
    const h = JSON.parse(t.stdout) as { state: string; attempts: unknown[]; events: { seq: number }[] };
    assert.equal(h.state, 'completed');
    assert.ok(h.attempts.length > 10, `${h.attempts.length} attempts`);
    const w = await capped(['history', '--workstream-id', 'nightly', '--json']);
    clean(w);
    assert.equal((JSON.parse(w.stdout) as { tasks: unknown[] }).tasks.length, 300);
  });

  it('status, show-task and validate-state replay it', async () => {
    const s = await capped(['status', '--all', '--json']);
    clean(s);
    assert.equal(s.code, 0, said(s));
    assert.equal(JSON.parse(s.stdout).seq, lastSeq);
    const t = await capped(['show-task', '--task-id', 'nightly/t00007', '--json']);
    clean(t);
    assert.equal(t.code, 0, said(t));
    assert.equal(JSON.parse(t.stdout).task.state, 'completed');
    // The generated folder has the log only: current.json's absence is the one problem to find.
    const v = await capped(['validate-state', '--json']);
    clean(v);
    assert.deepEqual(JSON.parse(v.stdout).problems.map((p: { code: string }) => p.code), ['SNAPSHOT_MISSING'], said(v));
  });
});
