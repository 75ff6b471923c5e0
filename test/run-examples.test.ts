import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { cairn, json, ROOT, tmp } from './run-helpers.js';

const example = (name: string) => path.join(ROOT, 'examples', `${name}.json`);

test('the README example runs to completion, and running it again changes nothing', () => {
  const dir = tmp();
  const r = cairn(dir, ['run', example('hello')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /workstream hello: completed \(5 completed\)/);
  const seq = json(dir, ['status']).seq;
  const again = cairn(dir, ['run', example('hello')]);
  assert.equal(again.code, 0);
  assert.match(again.stderr, /submitted before \(completed\)/);
  const recs = json(dir, ['events', '--since-seq', String(seq)]).records.map((x: any) => x.type);
  assert.ok(!recs.includes('task_started'), 'no task ran twice');
  assert.equal(json(dir, ['validate-state']).ok, true);
});

test('the flaky example succeeds on its second attempt', () => {
  const dir = tmp();
  const r = cairn(dir, ['run', example('flaky'), '--json']);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  const download = doc.workstreams[0].tasks.find((t: any) => t.id === 'download');
  assert.equal(download.attempt, 2);
  assert.equal(download.retry_count, 1);
});

test('the timeout example kills the stuck attempt and completes on the next one', () => {
  const dir = tmp();
  const r = cairn(dir, ['run', example('timeout')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /slow-query {2}timed out; retry 1/);
});

test('the critical-failure example fails the workstream, cancels the rest and names the recovery commands', () => {
  const dir = tmp();
  const r = cairn(dir, ['run', example('critical-failure')]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /workstream release: failed/);
  assert.match(r.stdout, /cairn analyze-workstream-failure --workstream-id release/);
  assert.match(r.stdout, /cairn retry-task --task-id release\/build/);
  const tasks = json(dir, ['status', '--workstream-id', 'release']).workstreams[0].tasks;
  const byId = Object.fromEntries(tasks.map((t: any) => [t.id, t]));
  assert.equal(byId.build.state, 'failed');
  assert.equal(byId.docs.state, 'cancelled');
  assert.equal(byId.docs.cancel_trigger, 'critical_failure');
  assert.equal(byId.publish.state, 'cancelled');
});
