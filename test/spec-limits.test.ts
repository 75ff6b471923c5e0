// Specs whose meaning is ambiguous or out of range are refused through the real CLI: a repeated
// key (JSON.parse would silently keep the last) and counts past their documented maxima (a huge
// timeout would overflow the timer and fire at once). Exit 2, the path named, nothing written.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { duplicateKeys } from '../src/log/duplicate-keys.js';
import { SPEC_LIMITS } from '../src/schemas/workstream.js';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';
import { assertTreeUnchanged, readTree } from './helpers/tree.js';

const base = scratch('cairn-spec-limits-');
const dir = join(base, 'ws');
const sd = ['--state-dir', join(dir, '.state')];

before(async () => {
  mkdirSync(dir);
  const ok = join(base, 'ok.json');
  writeFileSync(ok, JSON.stringify({ id: 'fine', resources: { db: { max_holders: 1 } }, tasks: [{ id: 'x', command: 'true', resources: ['db'] }] }));
  const r = await cairn(['submit', ok, ...sd]);
  assert.equal(r.code, 0, said(r));
});

/** Submits `text` as a spec and checks it is refused with exit 2 at `path`, the folder unchanged. */
async function refused(name: string, text: string, path: string, message: RegExp): Promise<void> {
  const file = join(base, `${name}.json`);
  writeFileSync(file, text);
  const before = readTree(dir);
  const r = await cairnJson(['submit', file, ...sd]);
  assert.equal(r.code, 2, said(r));
  assert.equal(r.doc.error.code, 'SCHEMA_INVALID', said(r));
  const problem = (r.doc.error.details.errors as { path: string; message: string }[]).find((p) => p.path === path);
  assert.ok(problem, `a problem at ${path}\n${said(r)}`);
  assert.match(problem.message, message, said(r));
  assert.match(r.stderr, new RegExp(path.replace(/[$[\].]/g, '\\$&')), said(r));
  assertTreeUnchanged(before, readTree(dir));
}

describe('a spec with a repeated key', () => {
  it('is refused, naming the key and its JSON path', async () => {
    const text = '{"id": "dup", "tasks": [{"id": "a", "command": "true", "max_retries": 0, "max_retries": 5}]}';
    await refused('dup-task', text, '$.tasks[0].max_retries', /duplicate key "max_retries"/);
  });

  it('is refused at the top level too, however the key is escaped', async () => {
    await refused('dup-top', '{"id": "one", "tasks": [{"id": "a", "command": "true"}], "\\u0069d": "two"}', '$.id', /duplicate key "id"/);
  });

  it('finds every repeated key with the path of its object, and none in strings or arrays', () => {
    const text = '{"a": {"b": 1, "b": [ {"c": "x,\\"c\\":", "c": 2} ]}, "s": "{\\"a\\": 1}", "a": 0}';
    assert.deepEqual(duplicateKeys(text), [
      { path: ['a'], key: 'b' },
      { path: ['a', 'b', 0], key: 'c' },
      { path: [], key: 'a' },
    ]);
    assert.deepEqual(duplicateKeys('{"t": [{"id": 1}, {"id": 2}], "u": {"id": 3}}'), []);
  });
});

describe('counts past their documented maxima', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['timeout_seconds', { timeout_seconds: SPEC_LIMITS.timeout_seconds + 1 }, '$.tasks[0].timeout_seconds'],
    ['a timeout that would overflow a timer', { timeout_seconds: 2_147_484 }, '$.tasks[0].timeout_seconds'],
    ['max_retries', { max_retries: SPEC_LIMITS.max_retries + 1 }, '$.tasks[0].max_retries'],
    ['priority', { priority: SPEC_LIMITS.priority + 1 }, '$.tasks[0].priority'],
    ['a negative priority', { priority: -SPEC_LIMITS.priority - 1 }, '$.tasks[0].priority'],
    ['retry_cap_seconds', { retry_cap_seconds: SPEC_LIMITS.retry_seconds + 1 }, '$.tasks[0].retry_cap_seconds'],
  ];
  for (const [what, extra, path] of cases) {
    it(`refuses ${what} with exit 2 at ${path}`, async () => {
      const text = JSON.stringify({ id: 'big', tasks: [{ id: 'a', command: 'true', ...extra }] });
      await refused(`big-${path.replace(/\W/g, '')}-${String(Object.values(extra)[0])}`, text, path, /must be <=|must be >=/);
    });
  }

  it('refuses max_holders past its maximum with exit 2', async () => {
    const text = JSON.stringify({ id: 'big', resources: { db: { max_holders: SPEC_LIMITS.holders + 1 } }, tasks: [{ id: 'a', command: 'true' }] });
    await refused('big-holders', text, '$.resources.db.max_holders', /must be <=/);
  });

  it('accepts each count at its maximum', async () => {
    const file = join(base, 'at-max.json');
    writeFileSync(file, JSON.stringify({
      id: 'at-max', resources: { db: { max_holders: SPEC_LIMITS.holders } },
      tasks: [{ id: 'a', command: 'true', timeout_seconds: SPEC_LIMITS.timeout_seconds, max_retries: SPEC_LIMITS.max_retries, priority: -SPEC_LIMITS.priority, retry_base_seconds: SPEC_LIMITS.retry_seconds, retry_cap_seconds: SPEC_LIMITS.retry_seconds }],
    }));
    const r = await cairn(['submit', file, ...sd]);
    assert.equal(r.code, 0, said(r));
  });

  it('refuses retry-task --max-retries and --timeout past the same maxima, and set-resource-limit past its own', async () => {
    for (const args of [
      ['retry-task', '--task-id', 'fine/x', '--max-retries', String(SPEC_LIMITS.max_retries + 1)],
      ['retry-task', '--task-id', 'fine/x', '--timeout', String(SPEC_LIMITS.timeout_seconds + 1)],
      ['set-resource-limit', '--resource-id', 'db', '--max-holders', String(SPEC_LIMITS.holders + 1)],
    ]) {
      const before = readTree(dir);
      const r = await cairnJson([...args, '--yes', ...sd]);
      assert.equal(r.code, 2, said(r));
      assert.match(r.doc.error.message, /at most \d+|from \d+ to \d+/, said(r));
      assertTreeUnchanged(before, readTree(dir));
    }
  });
});
