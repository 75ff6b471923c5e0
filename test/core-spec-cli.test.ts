// A bad spec through the command line: every problem at once, each with its JSON path, exit 2, and
// nothing written — neither in an existing state folder nor a new one.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';
import { assertTreeUnchanged, readTree } from './helpers/tree.js';

const base = scratch('cairn-spec-cli-');

/** One spec breaking every family of rules, and the path each problem must be reported at. */
const BAD = {
  id: 'a/b',
  resources: { db: { max_holders: 0 } },
  tasks: [
    { id: 'a', command: 'true', depends_on: ['c'] },
    { id: 'b', command: 'true', depends_on: ['a', 'ghost'], resources: ['cache'] },
    { id: 'c', command: 'true', depends_on: ['b'], priority: 'high' },
    { id: 'a', comand: 'make' },
    { id: 'e', command: [], timeout_seconds: -1, critical: 'yes' },
  ],
};
const PATHS = [
  '$.id',
  '$.resources.db.max_holders',
  '$.tasks[0].depends_on[0]',
  '$.tasks[1].depends_on[1]',
  '$.tasks[1].resources[0]',
  '$.tasks[2].priority',
  '$.tasks[3]',
  '$.tasks[3].id',
  '$.tasks[3].comand',
  '$.tasks[4].command',
  '$.tasks[4].timeout_seconds',
  '$.tasks[4].critical',
];

function specFile(name: string, spec: unknown): string {
  const file = join(base, name);
  writeFileSync(file, JSON.stringify(spec, null, 2));
  return file;
}

async function initializedState(name: string): Promise<string> {
  const dir = join(base, name);
  mkdirSync(dir);
  const ok = specFile(`${name}-ok.json`, { id: 'fine', tasks: [{ id: 'x', command: 'true' }] });
  const r = await cairn(['submit', ok, '--state-dir', join(dir, '.state')]);
  assert.equal(r.code, 0, said(r));
  return dir;
}

describe('a spec with many problems', () => {
  for (const cmd of ['submit', 'run']) {
    it(`is refused by ${cmd} with exit 2, every problem listed with its JSON path, nothing written`, async () => {
      const dir = await initializedState(`state-${cmd}`);
      const file = specFile(`bad-${cmd}.json`, BAD);
      const before = readTree(dir);
      const r = await cairn([cmd, file, '--state-dir', join(dir, '.state')]);
      assert.equal(r.code, 2, said(r));
      assert.match(r.stderr, new RegExp(`error \\[SCHEMA_INVALID\\]: .* has ${PATHS.length} problems`));
      for (const p of PATHS) assert.ok(r.stderr.includes(`  ${p}: `), `stderr lists ${p}:\n${r.stderr}`);
      assert.match(r.stderr, /\$\.tasks\[0\]\.depends_on\[0\]: dependency cycle: a -> c -> b -> a\n/, 'the cycle is spelled out');
      assert.match(r.stderr, /hint: .*Nothing was written/);
      assert.equal(r.stdout, '', 'nothing on stdout without --json');
      assertTreeUnchanged(before, readTree(dir), 'the state folder');
    });
  }

  it('is one JSON document on stdout with --json, the problems as {path, message}', async () => {
    const dir = await initializedState('state-json');
    const before = readTree(dir);
    const r = await cairnJson(['submit', specFile('bad-json.json', BAD), '--state-dir', join(dir, '.state')]);
    assert.equal(r.code, 2, said(r));
    assert.equal(r.doc.ok, false);
    assert.equal(r.doc.exit_code, 2);
    assert.equal(r.doc.error.code, 'SCHEMA_INVALID');
    const paths = (r.doc.error.details.errors as { path: string; message: string }[]).map((e) => e.path);
    for (const p of PATHS) assert.ok(paths.includes(p), `errors include ${p}: ${paths.join(', ')}`);
    assert.ok((r.doc.error.details.errors as { message: string }[]).every((e) => typeof e.message === 'string' && e.message.length > 0));
    assertTreeUnchanged(before, readTree(dir), 'the state folder');
  });

  it('creates no state folder when there was none', async () => {
    const dir = join(base, 'empty');
    mkdirSync(dir);
    const file = specFile('bad-empty.json', BAD);
    for (const cmd of ['submit', 'run']) {
      const r = await cairn([cmd, file, '--state-dir', join(dir, '.state')]);
      assert.equal(r.code, 2, said(r));
    }
    assert.deepEqual(readdirSync(dir), []);
  });

  it('reports a spec whose only problem is a cycle as DAG_CYCLE with the cycle spelled out', async () => {
    const dir = await initializedState('state-cycle');
    const before = readTree(dir);
    const file = specFile('cycle.json', { id: 'loop', tasks: [{ id: 'a', command: 'true', depends_on: ['b'] }, { id: 'b', command: 'true', depends_on: ['a'] }, { id: 'c', command: 'true' }] });
    const r = await cairn(['submit', file, '--state-dir', join(dir, '.state')]);
    assert.equal(r.code, 2, said(r));
    assert.match(r.stderr, /error \[DAG_CYCLE\]: .*(a -> b -> a|b -> a -> b)/, said(r));
    assertTreeUnchanged(before, readTree(dir), 'the state folder');
  });

  it('reports invalid JSON with its line and column, nothing written', async () => {
    const dir = await initializedState('state-syntax');
    const before = readTree(dir);
    const file = join(base, 'syntax.json');
    writeFileSync(file, '{\n  "id": "x",\n  "tasks": [\n    { "id": "a" "command": "true" }\n  ]\n}\n');
    const r = await cairn(['submit', file, '--state-dir', join(dir, '.state')]);
    assert.equal(r.code, 2, said(r));
    assert.match(r.stderr, /line 4, column \d+/, said(r));
    assertTreeUnchanged(before, readTree(dir), 'the state folder');
  });
});
