// cairn recover on a real failed workstream: a timed-out task (transient) and a task whose output
// changes between attempts (flaky) are retried through retry-task, recorded with "recover: <why>";
// a task that failed the same way on every attempt is left to a person (exit 1 with --auto);
// the dry run changes nothing.
import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';
import { readTree } from './helpers/tree.js';

type Rec = { seq: number; type: string; task_id?: string; reason?: string; operator: string | null; recovery?: string };
const readLog = (state: string): Rec[] => readFileSync(join(state, 'transitions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Rec);

/** A sha-256 of the whole state folder: every path, mode and byte. */
function folderHash(dir: string): string {
  const h = createHash('sha256');
  for (const [p, e] of readTree(dir)) h.update(`${p}\0${e.kind}\0${e.mode}\0${e.content}\n`);
  return h.digest('hex');
}

describe('cairn recover', () => {
  let dir = '';
  let state = '';

  beforeEach(async () => {
    dir = scratch();
    state = join(dir, 'st');
    const spec = join(dir, 'w.json');
    writeFileSync(spec, JSON.stringify({
      id: 'w',
      tasks: [
        { id: 'ok', command: 'true' },
        // Timed out on its only attempt; quick once retried (the marker is written before the sleep).
        { id: 'slow', command: `if [ -f ${dir}/slow.done ]; then exit 0; fi; touch ${dir}/slow.done; sleep 5`, timeout_seconds: 0.5, max_retries: 0 },
        // The same exit code and the same output on both attempts: deterministic.
        { id: 'det', command: 'echo boom; exit 3', max_retries: 1 },
        // Exit 3 both times, but its output differs between attempts: flaky.
        { id: 'flaky', command: `n=$(cat ${dir}/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${dir}/n; echo "run $n"; [ $n -ge 3 ] || exit 3`, max_retries: 1 },
        { id: 'after', command: 'true', depends_on: ['det'] },
      ],
    }));
    const run = await cairn(['run', spec, '--state-dir', state, '--workers', '2']);
    assert.equal(run.code, 1, said(run));
  });

  it('shows the plan and changes nothing on a dry run (same hash of the state folder)', async () => {
    const before = folderHash(state);
    const a = await cairnJson(['recover', '--workstream-id', 'w', '--dry-run', '--state-dir', state]);
    assert.equal(a.code, 0, said(a));
    assert.deepEqual(a.doc.steps.map((s: { task: string; status: string; safe: boolean }) => [s.task, s.status, s.safe]), [
      ['w/slow', 'would_ask', true], ['w/det', 'would_ask', false], ['w/flaky', 'would_ask', true],
    ]);
    const b = await cairnJson(['recover', '--workstream-id', 'w', '--dry-run', '--auto', '--state-dir', state]);
    assert.equal(b.code, 1, said(b));
    assert.deepEqual(b.doc.steps.map((s: { status: string }) => s.status), ['would_run', 'left', 'would_run']);
    assert.deepEqual(b.doc.left, ['w/det']);
    const human = await cairn(['recover', '--workstream-id', 'w', '--dry-run', '--auto', '--state-dir', state]);
    assert.match(human.stdout, /recovery plan for w/);
    assert.match(human.stdout, /1\. w\/slow: retry, safe to repeat: timed out after 0\.5 s .*\n\s+cairn retry-task --task-id w\/slow --timeout 1 --reset-retries/);
    assert.match(human.stdout, /w\/det: ask a person: exit 3 the same way on all 2 attempts/);
    assert.match(human.stdout, /w\/after is blocked: it follows w\/det/);
    assert.match(human.stdout, /dry run: nothing was written/);
    assert.equal(folderHash(state), before);
  });

  it('--auto retries the transient and the flaky failures, names the deterministic one left to a person, and exits 1', async () => {
    const seq0 = readLog(state).at(-1)!.seq;
    const r = await cairnJson(['recover', '--workstream-id', 'w', '--auto', '--operator', 'alice', '--state-dir', state]);
    assert.equal(r.code, 1, said(r));
    assert.deepEqual(r.doc.steps.map((s: { task: string; status: string }) => [s.task, s.status]), [['w/slow', 'done'], ['w/det', 'left'], ['w/flaky', 'done']]);
    assert.deepEqual(r.doc.left, ['w/det']);
    assert.equal(r.doc.complete, false);
    assert.ok(r.doc.next.includes('cairn run'));
    assert.ok(r.doc.next.includes('cairn retry-task --task-id w/det --reset-retries'));
    // Recorded as usual by retry-task: by the operator, with the reason "recover: <why>".
    const retried = readLog(state).filter((x) => x.seq > seq0 && x.type === 'task_retried');
    assert.deepEqual(retried.map((x) => [x.task_id, x.operator, x.recovery]), [['slow', 'alice', 'retry_task'], ['flaky', 'alice', 'retry_task']]);
    assert.match(retried[0]!.reason!, /^recover: timed out after 0\.5 s \(transient\): retried with 1 s$/);
    assert.match(retried[1]!.reason!, /^recover: exit 3, but its 2 attempts failed in 2 different ways \(flaky\): retried$/);
    // The timed-out task completes once a scheduler runs; the deterministic one is still failed.
    const run = await cairn(['run', '--state-dir', state]);
    assert.equal(run.code, 1, said(run));
    const slow = await cairnJson(['show-task', '--task-id', 'w/slow', '--state-dir', state]);
    assert.equal(slow.doc.task.state, 'completed');
    assert.equal(slow.doc.task.timeout_seconds, 1);
    const det = await cairnJson(['show-task', '--task-id', 'w/det', '--state-dir', state]);
    assert.equal(det.doc.task.state, 'failed');
    assert.equal(det.doc.task.attempt, 2);
  });

  it('off a terminal without --auto or --yes refuses with CONFIRMATION_REQUIRED (exit 2) and changes nothing', async () => {
    const before = folderHash(state);
    const r = await cairn(['recover', '--workstream-id', 'w', '--state-dir', state]);
    assert.equal(r.code, 2, said(r));
    assert.match(r.stderr, /CONFIRMATION_REQUIRED/);
    assert.match(r.stderr, /--dry-run/);
    assert.equal(folderHash(state), before);
  });

  it('--yes carries out every step, also the one a person was asked about, and exits 0', async () => {
    const r = await cairnJson(['recover', '--workstream-id', 'w', '--yes', '--state-dir', state]);
    assert.equal(r.code, 0, said(r));
    assert.deepEqual(r.doc.steps.map((s: { status: string }) => s.status), ['done', 'done', 'done']);
    assert.equal(r.doc.complete, true);
    const det = readLog(state).filter((x) => x.type === 'task_retried' && x.task_id === 'det');
    assert.equal(det.length, 1);
    assert.match(det[0]!.reason!, /^recover: exit 3 the same way on all 2 attempts/);
  });

  it('refuses an unknown workstream with exit 2', async () => {
    const r = await cairn(['recover', '--workstream-id', 'nope', '--auto', '--state-dir', state]);
    assert.equal(r.code, 2, said(r));
    assert.match(r.stderr, /UNKNOWN_WORKSTREAM/);
  });
});
