// Flags through the real CLI: `events` takes ids like every other tool and refuses what it cannot
// know (exit 2, naming the closest); the operator has a real default; --version answers.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { ROOT } from './helpers/paths.js';
import { scratch } from './helpers/tmp.js';
import { assertTreeUnchanged, readTree } from './helpers/tree.js';

const state = join(scratch('cairn-flags-'), '.state');
const sd = ['--state-dir', state];

before(async () => {
  const r = await cairn(['submit', join(ROOT, 'examples', 'hello.json'), ...sd]);
  assert.equal(r.code, 0, said(r));
});

describe('events', () => {
  it('takes --task-id as <workstream>/<task>, like every other tool', async () => {
    const r = await cairnJson(['events', '--task-id', 'hello/fetch', ...sd]);
    assert.equal(r.code, 0, said(r));
    assert.ok(r.doc.records.length > 0, said(r));
    assert.ok(r.doc.records.every((x: { workstream_id: string; task_id: string }) => x.workstream_id === 'hello' && x.task_id === 'fetch'), said(r));
  });

  it('takes a bare --task-id when it is unambiguous', async () => {
    const bare = await cairnJson(['events', '--task-id', 'fetch', ...sd]);
    const full = await cairnJson(['events', '--task-id', 'hello/fetch', ...sd]);
    assert.equal(bare.code, 0, said(bare));
    assert.deepEqual(bare.doc, full.doc);
  });

  const refused: [string, string[], string, RegExp][] = [
    ['an unknown --type', ['--type', 'task_complete'], 'BAD_INPUT', /task_completed/],
    ['an unknown --workstream-id', ['--workstream-id', 'helo'], 'UNKNOWN_WORKSTREAM', /hello/],
    ['an unknown --task-id', ['--task-id', 'hello/fetc'], 'UNKNOWN_TASK', /hello\/fetch/],
    ['an unknown --worker-id', ['--worker-id', 'w9'], 'UNKNOWN_WORKER', /.+/],
    ['--since-seq abc', ['--since-seq', 'abc'], 'BAD_INPUT', /whole number/],
    ['--since-seq -1', ['--since-seq', '-1'], 'BAD_INPUT', /whole number/],
    ['--last 0', ['--last', '0'], 'BAD_INPUT', /whole number/],
  ];
  for (const [what, args, code, names] of refused) {
    it(`refuses ${what} with exit 2 and ${code}, naming what to type, changing nothing`, async () => {
      const before = readTree(state);
      const r = await cairnJson(['events', ...args, ...sd]);
      assert.equal(r.code, 2, said(r));
      assert.equal(r.doc.error.code, code, said(r));
      assert.match(`${r.doc.error.message} ${r.doc.error.hint}`, names, said(r));
      assert.match(r.stderr, new RegExp(`error \\[${code}\\]`), said(r));
      assertTreeUnchanged(before, readTree(state));
    });
  }
});

describe('the operator', () => {
  it('defaults to the OS user name when $USER, $LOGNAME and $CAIRN_OPERATOR are unset', async () => {
    const env = { USER: undefined, LOGNAME: undefined, CAIRN_OPERATOR: undefined };
    const r = await cairn(['cancel-task', '--task-id', 'hello/report', '--reason', 'not needed', '--yes', ...sd], { env });
    assert.equal(r.code, 0, said(r));
    const e = await cairnJson(['events', '--type', 'task_cancelled', ...sd]);
    assert.equal(e.doc.records.at(-1).operator, userInfo().username, said(e));
  });

  it('is recorded on a submission, by submit and by run alike', async () => {
    const dir = scratch('cairn-flags-submit-');
    const st = ['--state-dir', join(dir, '.state')];
    const s = await cairn(['submit', join(ROOT, 'examples', 'hello.json'), '--operator', 'alice', ...st]);
    assert.equal(s.code, 0, said(s));
    const r = await cairn(['run', join(ROOT, 'examples', 'flaky.json'), ...st], { env: { CAIRN_OPERATOR: 'bob' } });
    assert.equal(r.code, 0, said(r));
    const e = await cairnJson(['events', '--type', 'workstream_submitted', ...st]);
    assert.deepEqual(e.doc.records.map((x: { workstream_id: string; operator: string }) => [x.workstream_id, x.operator]), [['hello', 'alice'], ['flaky', 'bob']], said(e));
    // Named, but no intervention: no task of a fresh submission counts one, and `log --interventions` lists none.
    const h = await cairnJson(['history', '--workstream-id', 'hello', ...st]);
    assert.equal(h.code, 0, said(h));
    assert.deepEqual(h.doc.tasks.map((t: { interventions: number }) => t.interventions), h.doc.tasks.map(() => 0));
    const l = await cairnJson(['log', '--interventions', ...st]);
    assert.equal(l.code, 0, said(l));
    assert.deepEqual(l.doc.decisions, [], said(l));
  });
});

describe('cairn submit', () => {
  it('names the first 20 queued tasks of a large spec and counts the rest; --json lists every one', async () => {
    const dir = scratch('cairn-flags-many-');
    const spec = join(dir, 'many.json');
    writeFileSync(spec, JSON.stringify({ id: 'many', tasks: Array.from({ length: 50 }, (_, i) => ({ id: `t${i}`, command: 'true' })) }));
    const r = await cairn(['submit', spec, '--state-dir', join(dir, '.state')]);
    assert.equal(r.code, 0, said(r));
    assert.match(r.stdout, /^submitted many: 50 tasks, 50 queued \(t0, t1, .*, t19 and 30 more\)\n/);
    assert.doesNotMatch(r.stdout, /t20/);
    const j = await cairnJson(['submit', spec, '--state-dir', join(dir, '.state2')]);
    assert.equal(j.doc.queued.length, 50, said(j));
  });
});

describe('cairn --version', () => {
  it('prints the version of package.json and exits 0', async () => {
    const r = await cairn(['--version']);
    assert.equal(r.code, 0, said(r));
    assert.equal(r.stdout.trim(), JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  });
});
