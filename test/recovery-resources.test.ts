// Resource and dependency tools through the real CLI: show-resources, set-resource-limit,
// visualize-dag, remove-dependency.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertManualAction, cli, cmd, given, interventions, lastSeq, runSpec, since, startTask, startWorker, stateOf, submitCmd, tempState,
} from './recovery-helpers.js';

const t = tempState();
after(t.cleanup);
const S = t.state;

describe('show-resources and set-resource-limit', () => {
  it('shows the limit, who holds the resource and who waits for it', async () => {
    await given(S, [
      submitCmd({ id: 'res', resources: { lock: { max_holders: 1 } }, tasks: ['r1', 'r2'].map((id) => ({ id, command: cmd.ok(), resources: ['lock'] })) }),
      startWorker('w1'), startTask('res', 'r1', 'w1', null),
    ]);
    const r = cli(S, ['show-resources', '--json']);
    assert.equal(r.code, 0, r.err);
    const lock = r.json().resources[0];
    assert.deepEqual([lock.id, lock.max_holders, lock.held, lock.free], ['lock', 1, 1, 0]);
    assert.deepEqual(lock.holders.map((h: { task: string; state: string }) => [h.task, h.state]), [['res/r1', 'running']]);
    assert.deepEqual(lock.waiters.map((w: { task: string }) => w.task), ['res/r2']);
    assert.match(cli(S, ['show-resources']).out, /lock: 1\/1 held \(exhausted\)\n {2}held by res\/r1/);
  });

  it('raises the limit with one record (a dry run first writes nothing); the same limit again changes nothing', () => {
    const seq = lastSeq(S);
    const dry = cli(S, ['set-resource-limit', '--resource-id', 'lock', '--max-holders', '2', '--dry-run', '--json']).json();
    assert.deepEqual(dry.records.map((x: { type: string; max_holders: number }) => [x.type, x.max_holders]), [['resource_limit_changed', 2]]);
    assert.equal(lastSeq(S), seq);
    const lines = interventions(S).length;
    const r = cli(S, ['set-resource-limit', '--resource-id', 'lock', '--max-holders', '2', '--reason', 'second runner']);
    assert.equal(r.code, 0, r.err);
    assertManualAction(S, 'set_resource_limit', since(S, seq), lines);
    assert.match(interventions(S).at(-1)!, /ids=resource:lock /);
    const again = cli(S, ['set-resource-limit', '--resource-id', 'lock', '--max-holders', '2', '--json']);
    assert.equal(again.code, 0);
    assert.match(again.json().message, /already has max_holders 2/);
    const unlimited = cli(S, ['set-resource-limit', '--resource-id', 'lock', '--max-holders', 'unlimited', '--json']);
    assert.equal(unlimited.json().records[0].max_holders, null);
  });

  it('refuses an unknown resource (naming the closest) and a limit below 1; nothing changes', () => {
    const seq = lastSeq(S);
    const u = cli(S, ['set-resource-limit', '--resource-id', 'lokc', '--max-holders', '2', '--json']);
    assert.equal(u.code, 2);
    assert.deepEqual(u.json().error.details.closest, ['lock']);
    assert.equal(cli(S, ['set-resource-limit', '--resource-id', 'lock', '--max-holders', '0']).code, 2);
    assert.equal(lastSeq(S), seq);
  });
});

describe('visualize-dag', () => {
  const spec = {
    id: 'dag', defaults: { max_retries: 0 },
    tasks: [
      { id: 'fetch', command: cmd.ok() },
      { id: 'lint', command: cmd.fail(), depends_on: ['fetch'] },
      { id: 'build', command: cmd.ok(), depends_on: ['fetch'] },
      { id: 'ship', command: cmd.ok(), depends_on: ['lint', 'build'], critical: true },
    ],
  };

  it('draws a readable tree with each task\'s state, and dot and mermaid graphs', () => {
    assert.equal(runSpec(S, t.dir, spec).code, 1);
    const text = cli(S, ['visualize-dag', '--workstream-id', 'dag']);
    assert.equal(text.code, 0, text.err);
    assert.equal(text.out, [
      'workstream dag [failed]',
      '└── fetch [completed]',
      '    ├── lint [failed]',
      '    │   └── ship [blocked] (critical) blocked by lint  ← also needs lint, build',
      '    └── build [completed]',
      '        └── ship (see above)',
      '',
    ].join('\n'));
    const dot = cli(S, ['visualize-dag', '--workstream-id', 'dag', '--format', 'dot']).out;
    assert.match(dot, /^digraph "dag" \{/);
    assert.match(dot, /"lint" -> "ship";/);
    assert.match(dot, /"lint" \[label="lint\\nfailed", fillcolor="salmon"\]/);
    const mer = cli(S, ['visualize-dag', '--workstream-id', 'dag', '--format', 'mermaid']).out;
    assert.match(mer, /^graph LR\n {2}t0\["fetch: completed"\]:::completed/);
    assert.match(mer, / {2}t1 --> t3/);
    const json = cli(S, ['visualize-dag', '--workstream-id', 'dag', '--json']).json();
    assert.deepEqual(json.edges, [{ from: 'fetch', to: 'lint' }, { from: 'fetch', to: 'build' }, { from: 'lint', to: 'ship' }, { from: 'build', to: 'ship' }]);
    assert.equal(cli(S, ['visualize-dag', '--workstream-id', 'dga']).code, 2);
  });
});

describe('remove-dependency', () => {
  it('removes one edge: the blocked task no longer waits for its failed dependency and proceeds; a repeat is harmless', () => {
    assert.equal(stateOf(S, 'dag/ship'), 'blocked');
    const seq = lastSeq(S);
    const lines = interventions(S).length;
    const r = cli(S, ['remove-dependency', '--from', 'dag/ship', '--to', 'lint', '--reason', 'lint is advisory']);
    assert.equal(r.code, 0, r.err);
    const recs = since(S, seq);
    assert.deepEqual(recs.map((x) => `${x.type} ${x.task_id ?? ''}`), ['workstream_reopened ', 'task_dependency_removed ship', 'task_unblocked ship', 'task_queued ship']);
    assert.equal(recs[1]!.dependency_id, 'lint');
    assertManualAction(S, 'remove_dependency', recs, lines);
    const again = cli(S, ['remove-dependency', '--from', 'dag/ship', '--to', 'lint', '--json']);
    assert.equal(again.code, 0);
    assert.equal(again.json().changed, false);
    assert.equal(lastSeq(S), recs.at(-1)!.seq);
  });

  it('refuses an edge that never existed (naming the task\'s dependencies) and an unknown task; nothing changes', () => {
    const seq = lastSeq(S);
    const r = cli(S, ['remove-dependency', '--from', 'dag/build', '--to', 'lint', '--json']);
    assert.equal(r.code, 2);
    assert.equal(r.json().error.code, 'ILLEGAL_REQUEST');
    assert.match(r.json().error.hint, /build depends on: fetch/);
    const u = cli(S, ['remove-dependency', '--from', 'dag/shipp', '--to', 'lint', '--json']);
    assert.equal(u.code, 2);
    assert.equal(u.json().error.details.closest[0], 'dag/ship');
    assert.equal(lastSeq(S), seq);
  });
});
