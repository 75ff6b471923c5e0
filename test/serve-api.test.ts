// cairn serve's API over real state made by a real `cairn run`: the read routes say what the CLI
// says, the actions record exactly what the CLI's tools record (with the token owner as operator
// and the body's reason), dry runs write nothing, errors carry the CLI's code, hint and exit class.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { getJson, http, post, type Served, startServe } from './helpers/serve.js';
import { scratch } from './helpers/tmp.js';

const SPEC = {
  id: 'nightly', defaults: { max_retries: 0 },
  tasks: [
    { id: 'fetch', command: 'echo fetched-line-1; echo fetched-line-2' },
    { id: 'build', command: 'echo building; exit 3', depends_on: ['fetch'] },
    { id: 'ship', command: 'true', depends_on: ['build'] },
  ],
};

async function ranState(): Promise<{ dir: string; state: string }> {
  const dir = scratch('cairn-serve-api-');
  const state = join(dir, 'st');
  const spec = join(dir, 'spec.json');
  writeFileSync(spec, JSON.stringify(SPEC));
  const r = await cairn(['run', spec, '--state-dir', state], { timeoutMs: 120_000 });
  assert.equal(r.code, 1, said(r));
  return { dir, state };
}

describe('cairn serve: the API', () => {
  let s: Served;
  let state: string;
  before(async () => {
    ({ state } = await ranState());
    s = await startServe(state);
  });
  after(async () => { await s.stop(); });

  it('answers status, workstreams and one workstream as cairn status --json does', async () => {
    const cli = (await cairnJson(['status', '--state-dir', state, '--all'])).doc;
    const api = await getJson(s, '/api/v1/status?all=true');
    assert.equal(api.seq, cli.seq);
    assert.deepEqual(api.workstreams, cli.workstreams);
    assert.deepEqual(api.archived, cli.archived);
    const list = await getJson(s, '/api/v1/workstreams?all=true');
    assert.deepEqual(list.workstreams.map((w: any) => [w.id, w.state, w.total, w.counts.failed]), [['nightly', 'failed', 3, 1]]);
    const one = await getJson(s, '/api/v1/workstreams/nightly');
    assert.deepEqual(one.workstream.tasks.map((t: any) => [t.id, t.state]), [['fetch', 'completed'], ['build', 'failed'], ['ship', 'blocked']]);
  });

  it('answers a task with its attempts and log tail, and the logs of an attempt', async () => {
    const t = await getJson(s, '/api/v1/workstreams/nightly/tasks/fetch');
    assert.equal(t.task.state, 'completed');
    assert.equal(t.history.attempts.length, 1);
    assert.deepEqual(t.logs.map((l: any) => [l.attempt, l.tail]), [[1, ['fetched-line-1', 'fetched-line-2']]]);
    const logs = await getJson(s, '/api/v1/workstreams/nightly/tasks/fetch/logs?lines=1');
    assert.deepEqual([logs.attempt, logs.lines, logs.attempts], [1, ['fetched-line-2'], [1]]);
    const none = await http(s, 'GET', '/api/v1/workstreams/nightly/tasks/fetch/logs?attempt=7', { token: s.token });
    assert.equal(none.status, 400);
    assert.match(none.json.error.hint, /attempts: 1/);
  });

  it('answers the DAG, checkpoints, resources, workers and filtered events', async () => {
    const dag = await getJson(s, '/api/v1/workstreams/nightly/dag');
    assert.deepEqual(dag.nodes.map((n: any) => `${n.id}:${n.state}`), ['fetch:completed', 'build:failed', 'ship:blocked']);
    assert.deepEqual(dag.edges, [{ from: 'fetch', to: 'build' }, { from: 'build', to: 'ship' }]);
    const cps = await getJson(s, '/api/v1/workstreams/nightly/checkpoints');
    assert.deepEqual(cps, (await cairnJson(['checkpoints', '--workstream-id', 'nightly', '--state-dir', state])).doc);
    assert.ok(Array.isArray((await getJson(s, '/api/v1/resources')).resources));
    assert.ok('workers' in (await getJson(s, '/api/v1/workers')));
    const failed = await getJson(s, '/api/v1/events?type=task_failed');
    assert.deepEqual(failed.records.map((r: any) => r.task_id), ['build']);
    const cli = (await cairnJson(['events', '--task-id', 'nightly/fetch', '--state-dir', state])).doc;
    assert.deepEqual((await getJson(s, '/api/v1/events?task=nightly/fetch')).records, cli.records);
    const bad = await http(s, 'GET', '/api/v1/events?type=task_exploded', { token: s.token });
    assert.equal(bad.status, 400);
    assert.match(bad.json.error.message, /no record type "task_exploded"/);
  });

  it('answers the state at a point and the diff between two points as cairn state --at and cairn diff do', async () => {
    const at = await getJson(s, '/api/v1/state?at=4&all=true');
    assert.deepEqual(at, (await cairnJson(['state', '--at', '4', '--all', '--state-dir', state])).doc);
    assert.equal(at.at.seq, 4);
    const d = await getJson(s, '/api/v1/diff?from=2&to=8&workstream_id=nightly');
    assert.deepEqual(d, (await cairnJson(['diff', '2', '8', '--workstream-id', 'nightly', '--state-dir', state])).doc);
    const unknown = await http(s, 'GET', '/api/v1/state?at=99999', { token: s.token });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.error.code, 'UNKNOWN_POINT');
    const missing = await http(s, 'GET', '/api/v1/diff', { token: s.token });
    assert.equal(missing.status, 400);
  });

  it('publishes an OpenAPI 3 document with every route and its schemas', async () => {
    const doc = await getJson(s, '/api/v1/openapi.json');
    assert.match(doc.openapi, /^3\./);
    const routes = Object.entries(doc.paths).flatMap(([p, ms]: [string, any]) => Object.keys(ms).map((m) => `${m.toUpperCase()} ${p}`)).sort();
    for (const r of [
      'GET /healthz', 'GET /api/v1/status', 'GET /api/v1/workstreams', 'GET /api/v1/workstreams/{ws}', 'GET /api/v1/workstreams/{ws}/tasks/{task}',
      'GET /api/v1/workstreams/{ws}/tasks/{task}/logs', 'GET /api/v1/workstreams/{ws}/dag', 'GET /api/v1/workstreams/{ws}/checkpoints',
      'GET /api/v1/events', 'GET /api/v1/events/stream', 'GET /api/v1/resources', 'GET /api/v1/workers', 'GET /metrics',
      'POST /api/v1/workstreams', 'POST /api/v1/workstreams/{ws}/tasks/{task}/retry', 'POST /api/v1/workstreams/{ws}/tasks/{task}/skip',
      'POST /api/v1/workstreams/{ws}/tasks/{task}/cancel', 'POST /api/v1/workstreams/{ws}/retry', 'POST /api/v1/workstreams/{ws}/resume',
      'POST /api/v1/workstreams/{ws}/rollback', 'POST /api/v1/restore', 'GET /api/v1/state', 'GET /api/v1/diff',
    ]) assert.ok(routes.includes(r), `the document has ${r}`);
    assert.ok(!routes.some((r) => r.includes('/assets')), 'the dashboard files are not API');
    const retry = doc.paths['/api/v1/workstreams/{ws}/tasks/{task}/retry'].post;
    assert.equal(retry.requestBody.content['application/json'].schema.additionalProperties, false);
    assert.ok(retry.responses['4XX'], 'errors are documented');
  });

  it('dry-runs a retry with exactly the records the CLI\'s dry run shows, and writes nothing', async () => {
    const seq = (await getJson(s, '/api/v1/status')).seq;
    const r = await post(s, '/api/v1/workstreams/nightly/tasks/build/retry', { dry_run: true, reason: 'flaky disk', reset_retries: true });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.dry_run, true);
    const cli = (await cairnJson(['retry-task', '--task-id', 'nightly/build', '--dry-run', '--reset-retries', '--reason', 'flaky disk', '--state-dir', state])).doc;
    const strip = (recs: any[]) => recs.map(({ ts: _t, ...x }) => x);
    assert.deepEqual(strip(r.json.records), strip(cli.records));
    assert.equal(r.json.records[0].seq, seq + 1);
    assert.equal((await getJson(s, '/api/v1/status')).seq, seq, 'nothing was written');
  });

  it('skips for real: records with the token owner as operator and the body\'s reason, 201; a repeat changes nothing', async () => {
    const r = await post(s, '/api/v1/workstreams/nightly/tasks/ship/skip', { reason: 'shipped by hand' });
    assert.equal(r.status, 201, r.text);
    assert.ok(r.json.records.some((x: any) => x.type === 'task_skipped'), r.text);
    const log = (await cairnJson(['events', '--type', 'task_skipped', '--state-dir', state])).doc.records[0];
    assert.deepEqual([log.type, log.operator, log.reason, log.action], ['task_skipped', 'tester', 'shipped by hand', 'skip_task']);
    assert.match(readFileSync(join(state, 'interventions.log'), 'utf8'), /skip_task.*shipped by hand/);
    const again = await post(s, '/api/v1/workstreams/nightly/tasks/ship/skip', { reason: 'twice' });
    assert.equal(again.status, 200);
    assert.equal(again.json.changed, false);
  });

  it('maps the CLI\'s errors: unknown ids 404, illegal requests 409, bad bodies 400, each with code, hint and exit code', async () => {
    const unknown = await post(s, '/api/v1/workstreams/nope/retry', { dry_run: true });
    assert.equal(unknown.status, 404);
    assert.deepEqual([unknown.json.error.code, unknown.json.exit_code], ['UNKNOWN_WORKSTREAM', 2]);
    const illegal = await post(s, '/api/v1/workstreams/nightly/tasks/fetch/skip', { reason: 'x' });
    assert.equal(illegal.status, 409, illegal.text);
    assert.equal(illegal.json.error.code, 'ILLEGAL_TRANSITION');
    assert.ok(illegal.json.error.hint);
    const noReason = await post(s, '/api/v1/workstreams/nightly/tasks/build/skip', {});
    assert.equal(noReason.status, 400);
    assert.match(noReason.json.error.message, /reason/);
    const notJson = await http(s, 'POST', '/api/v1/workstreams/nightly/retry', { token: s.token, body: '{"dry_run": tru' });
    assert.equal(notJson.status, 400);
    assert.equal(notJson.json.error.code, 'BAD_INPUT');
  });

  it('submits a spec: the dry run shows its records, an invalid one is refused with its JSON path, a real one is recorded', async () => {
    const spec = { id: 'api-made', tasks: [{ id: 'a', command: 'true' }, { id: 'b', command: ['echo', 'hi'], depends_on: ['a'] }] };
    const dry = await post(s, '/api/v1/workstreams', { spec, dry_run: true });
    assert.equal(dry.status, 200, dry.text);
    assert.deepEqual(dry.json.records.map((r: any) => r.type), ['workstream_submitted', 'task_queued', 'workstream_started']);
    const bad = await post(s, '/api/v1/workstreams', { spec: { id: 'x', tasks: [{ id: 'a', command: 'true', depends_on: ['zz'] }] } });
    assert.equal(bad.status, 400, bad.text);
    assert.match(bad.text, /zz/);
    const cyc = await post(s, '/api/v1/workstreams', { spec: { id: 'c', tasks: [{ id: 'a', command: 'true', depends_on: ['b'] }, { id: 'b', command: 'true', depends_on: ['a'] }] } });
    assert.equal(cyc.json.error.code, 'DAG_CYCLE');
    const real = await post(s, '/api/v1/workstreams', { spec });
    assert.equal(real.status, 201, real.text);
    assert.deepEqual(real.json.queued, ['a']);
    const dup = await post(s, '/api/v1/workstreams', { spec });
    assert.deepEqual([dup.status, dup.json.error.code], [409, 'DUPLICATE_WORKSTREAM']);
    assert.equal((await getJson(s, '/api/v1/workstreams/api-made')).workstream.state, 'running');
  });

  it('rolls back, resumes and restores through the same tools (dry runs first)', async () => {
    const rb = await post(s, '/api/v1/workstreams/nightly/rollback', { dry_run: true, to_checkpoint: 'latest' });
    assert.equal(rb.status, 200, rb.text);
    assert.equal(rb.json.action, 'rollback_workstream');
    const rs = await post(s, '/api/v1/workstreams/nightly/resume', { dry_run: true, params: { channel: 'beta' } });
    assert.ok([200].includes(rs.status), rs.text);
    const restore = await post(s, '/api/v1/restore', { from_transitions: true, dry_run: true });
    assert.equal(restore.status, 200, restore.text);
    assert.equal(restore.json.dry_run, true);
    const both = await post(s, '/api/v1/restore', { from_transitions: true, from_backup: 'latest' });
    assert.equal(both.status, 400);
    const elsewhere = await post(s, '/api/v1/restore', { from_backup: '/etc/passwd' });
    assert.equal(elsewhere.status, 400);
    const real = await post(s, '/api/v1/restore', { from_transitions: true, reason: 'rebuild' });
    assert.equal(real.status, 201, real.text);
    const log = (await cairnJson(['events', '--last', '1', '--state-dir', state])).doc.records[0];
    assert.deepEqual([log.type, log.operator, log.reason], ['state_restored', 'tester', 'rebuild']);
  });

  it('exports Prometheus metrics: tasks by state, attempts, failures by kind, durations, log seq', async () => {
    const r = await http(s, 'GET', '/metrics', { token: s.token });
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'] as string, /^text\/plain/);
    assert.match(r.text, /^cairn_tasks\{state="completed"\} \d+$/m);
    assert.match(r.text, /^cairn_tasks\{state="validating"\} 0$/m, 'every state is exported, at 0 when none');
    assert.match(r.text, /^cairn_task_attempts_total \d+$/m);
    assert.match(r.text, /^cairn_task_failures_total\{kind="exit"\} 1$/m);
    assert.match(r.text, /^cairn_task_failures_total\{kind="timeout"\} 0$/m);
    assert.match(r.text, /^cairn_task_duration_seconds_count\{outcome="completed"\} [1-9]/m);
    assert.match(r.text, /^cairn_recoveries_total\{kind="skip_task"\} 1$/m);
    assert.match(r.text, /^cairn_workers\{state="idle"\} \d+$/m);
    const seq = (await getJson(s, '/api/v1/status')).seq;
    assert.match(r.text, new RegExp(`^cairn_log_last_seq ${seq}$`, 'm'));
    assert.match(r.text, /^cairn_last_snapshot_age_seconds \d/m);
  });
});

describe('cairn serve: a damaged state folder', () => {
  it('answers 503 naming the repair when the log is corrupt in the middle', async () => {
    const { state } = await ranState();
    const s = await startServe(state);
    try {
      const file = join(state, 'transitions.jsonl');
      const lines = readFileSync(file, 'utf8').split('\n');
      lines[2] = lines[2]!.replace('"type":"', '"type":"x');
      writeFileSync(file, lines.join('\n'));
      appendFileSync(file, '');
      const r = await http(s, 'GET', '/api/v1/status', { token: s.token });
      assert.equal(r.status, 503, r.text);
      assert.equal(r.json.exit_code, 3);
      assert.match(r.json.error.hint, /repair-state|restore-state/);
    } finally {
      await s.stop();
    }
  });
});

describe('cairn serve: its flags', () => {
  it('refuses a bad port, a port in use and a missing state folder with exit 2 and a hint, changing nothing', async () => {
    const { state } = await ranState();
    const bad = await cairn(['serve', '--state-dir', state, '--port', 'abc']);
    assert.equal(bad.code, 2, said(bad));
    assert.match(bad.stderr, /--port must be a whole number/);
    const s = await startServe(state);
    try {
      const busy = await cairn(['serve', '--state-dir', state, '--port', String(s.port)]);
      assert.equal(busy.code, 2, said(busy));
      assert.match(busy.stderr, new RegExp(`port ${s.port} on 127\\.0\\.0\\.1 is in use[\\s\\S]*hint: Pick another`));
    } finally {
      await s.stop();
    }
    const none = await cairn(['serve', '--state-dir', join(state, 'nope'), '--port', '0']);
    assert.equal(none.code, 2, said(none));
    assert.match(none.stderr, /NOT_INITIALIZED[\s\S]*cairn init/);
  });
});
