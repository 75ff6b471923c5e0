// Reading a workstream spec: everything is checked at once and reported with JSON paths, nothing is
// half accepted, and the normalized spec carries every default so replay never guesses one.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CairnError } from '../src/errors.js';
import { checkId, ID_PATTERN, isValidId, paramEnvName } from '../src/model/ids.js';
import { parseSpec, parseSpecText, type ParseSpecOptions } from '../src/model/spec.js';
import type { WorkstreamSpec } from '../src/model/types.js';
import { validateWith } from '../src/schemas/validate.js';
import { WORKSTREAM_SCHEMA } from '../src/schemas/workstream.js';

const SPECS = new URL('../../test/fixtures/specs/', import.meta.url).pathname;
const OPTS: ParseSpecOptions = { defaultId: () => 'ws-01JD5Z8Q4K5M6N7P8Q9R0S1T2V' };

function fixture(name: string): string {
  return readFileSync(join(SPECS, name), 'utf8');
}

function spec(tasks: unknown[], rest: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: 'w', ...rest, tasks };
}

/** The error parseSpec throws, with its problems as `path: message` lines. */
function rejection(input: unknown, opts: ParseSpecOptions = OPTS): { code: string; message: string; hint: string; lines: string[] } {
  try {
    parseSpec(input, opts);
  } catch (e) {
    assert.ok(e instanceof CairnError, `expected a CairnError, got ${String(e)}`);
    const errors = e.details.errors as { path: string; message: string }[];
    return { code: e.code, message: e.message, hint: e.hint ?? '', lines: errors.map((p) => `${p.path}: ${p.message}`) };
  }
  assert.fail('expected the spec to be rejected');
}

describe('parseSpec accepts and normalizes', () => {
  it('accepts the example of DESIGN §7', () => {
    const s = parseSpecText(fixture('valid/design-example.json'), 'design-example.json', OPTS);
    assert.deepEqual(s, {
      id: 'nightly-release',
      params: { channel: 'beta' },
      resources: { git_repo_write: { max_holders: 1 } },
      tasks: [
        {
          id: 'lint', command: 'npm run lint', depends_on: [], resources: {}, critical: false, priority: 0,
          timeout_seconds: 600, max_retries: 3, retry_base_seconds: 1, retry_cap_seconds: 300, validate: null, cwd: null, env: {},
        },
        {
          id: 'build', command: ['npm', 'run', 'build'], depends_on: ['lint'], resources: { git_repo_write: 1 }, critical: true,
          priority: 5, timeout_seconds: 900, max_retries: 3, retry_base_seconds: 1, retry_cap_seconds: 300,
          validate: 'test -f dist/index.js', cwd: null, env: {},
        },
      ],
    } satisfies WorkstreamSpec);
  });

  it('takes each field from the task, then the defaults, then config.json, then the built-in default', () => {
    const s = parseSpecText(fixture('valid/diamond.json'), 'diamond.json', { ...OPTS, config: { retry_base_seconds: 9, retry_cap_seconds: 99 } });
    const [fetch, migrate, seed, test] = s.tasks;
    assert.equal(s.id, 'ws-01JD5Z8Q4K5M6N7P8Q9R0S1T2V');
    assert.deepEqual([fetch!.max_retries, migrate!.max_retries], [1, 0]);
    assert.deepEqual([fetch!.retry_base_seconds, fetch!.retry_cap_seconds], [0.5, 4]);
    assert.deepEqual([fetch!.priority, test!.priority], [1, -1]);
    assert.deepEqual([fetch!.cwd, test!.cwd], ['work', null], 'null in a task overrides the default');
    assert.deepEqual([fetch!.timeout_seconds, test!.timeout_seconds], [null, 120.5]);
    assert.deepEqual(seed!.env, { LANG: 'C', LEVEL: '2' }, "a task's env is merged over the defaults' env");
    const plain = parseSpec(spec([{ id: 'a', command: 'true' }]), { ...OPTS, config: { retry_base_seconds: 9, retry_cap_seconds: 99 } });
    assert.deepEqual([plain.tasks[0]!.retry_base_seconds, plain.tasks[0]!.retry_cap_seconds], [9, 99]);
  });

  it('turns numbers and booleans of params and env into strings', () => {
    const s = parseSpecText(fixture('valid/diamond.json'), 'diamond.json', OPTS);
    assert.deepEqual(s.params, { release: '42', dry_run: 'true', channel: 'stable' });
    assert.equal(s.tasks[0]!.env.LEVEL, '1');
  });

  it('normalizes a resource list to one unit each and keeps a map of units', () => {
    const s = parseSpecText(fixture('valid/diamond.json'), 'diamond.json', OPTS);
    assert.deepEqual(s.tasks.map((t) => t.resources), [{ net: 1 }, { db: 3, lock: 1 }, { db: 1 }, {}]);
  });

  it('gives a resource without max_holders one holder, and null means unlimited', () => {
    const s = parseSpecText(fixture('valid/diamond.json'), 'diamond.json', OPTS);
    assert.deepEqual(s.resources, { db: { max_holders: 3 }, net: { max_holders: null }, lock: { max_holders: 1 } });
  });

  it('names a spec without id by the caller\'s default and ignores $schema', () => {
    const s = parseSpec({ $schema: 'x', tasks: [{ id: 'a', command: 'true' }] }, OPTS);
    assert.equal(s.id, 'ws-01JD5Z8Q4K5M6N7P8Q9R0S1T2V');
    assert.deepEqual(Object.keys(s), ['id', 'params', 'resources', 'tasks']);
  });

  it('does not share arrays or objects with its input', () => {
    const input = spec([{ id: 'a', command: ['echo', 'x'], depends_on: [] }, { id: 'b', command: 'true', depends_on: ['a'] }]);
    const s = parseSpec(input, OPTS);
    (s.tasks[0]!.command as string[]).push('y');
    s.tasks[1]!.depends_on.push('z');
    assert.deepEqual((input.tasks as { command: unknown }[])[0]!.command, ['echo', 'x']);
    assert.deepEqual((input.tasks as { depends_on: unknown }[])[1]!.depends_on, ['a']);
  });

  it('parses a chain of 20000 tasks without overflowing the stack', () => {
    const tasks = Array.from({ length: 20_000 }, (_, i) => ({ id: `t${i}`, command: 'true', depends_on: i === 0 ? [] : [`t${i - 1}`] }));
    assert.equal(parseSpec(spec(tasks), OPTS).tasks.length, 20_000);
    tasks[0]!.depends_on = ['t19999'];
    const r = rejection(spec(tasks));
    assert.equal(r.code, 'DAG_CYCLE');
    assert.match(r.lines[0]!, /^\$\.tasks\[0\]\.depends_on\[0\]: dependency cycle: t0 -> t19999 -> t19998 -> .* -> t1 -> t0$/);
  });
});

describe('parseSpec rejects', () => {
  it('reports every problem of a spec at once with JSON paths, in the order of the file', () => {
    const r = rejection(JSON.parse(fixture('invalid/many-problems.json')));
    assert.equal(r.code, 'SCHEMA_INVALID');
    assert.equal(r.message, 'spec has 13 problems');
    assert.match(r.hint, /Nothing was written/);
    assert.deepEqual(r.lines, [
      "$.id: id must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$: it contains a path separator",
      '$.resources.db.max_holders: must be >= 1 (got 0)',
      "$.tasks[0].depends_on[0]: unknown dependency 'lnit' (known: build, ship)",
      "$.tasks[0].resources[0]: resource 'cache' is not declared in $.resources",
      '$.tasks[0].priority: must be an integer (got a string)',
      "$.tasks[1]: missing required key 'command'",
      "$.tasks[1].id: duplicate task id 'build' (first at $.tasks[0].id)",
      "$.tasks[1].comand: unknown key 'comand' (did you mean 'command'? allowed: id, command, depends_on, resources, critical, priority, timeout_seconds, max_retries, retry_base_seconds, retry_cap_seconds, cwd, cpus, memory_mb, gpus, env, validate)",
      '$.tasks[1].timeout_seconds: must be > 0 (got 0)',
      '$.tasks[2].command: must not be empty',
      "$.tasks[2].depends_on[1]: task 'ship' must not depend on itself",
      "$.tasks[2].resources.lock: asks for 2 units of 'lock' but its max_holders is 1, so it could never run",
      '$.tasks[2].critical: must be a boolean (got a string)',
    ]);
  });

  it('rejects a cycle spelling it out a -> b -> c -> a', () => {
    const r = rejection(JSON.parse(fixture('invalid/cycle.json')));
    assert.equal(r.code, 'DAG_CYCLE');
    assert.equal(r.message, 'spec has a dependency cycle: a -> b -> c -> a');
    assert.deepEqual(r.lines, ['$.tasks[0].depends_on[0]: dependency cycle: a -> b -> c -> a']);
    assert.match(r.hint, /a -> b means a depends on b/);
  });

  it('reports each separate cycle once, starting from its first task', () => {
    const r = rejection(spec([
      { id: 'x', command: 'true', depends_on: ['y'] },
      { id: 'a', command: 'true', depends_on: ['b'] },
      { id: 'b', command: 'true', depends_on: ['a', 'x'] },
      { id: 'y', command: 'true', depends_on: ['x'] },
    ]));
    assert.deepEqual(r.lines, [
      '$.tasks[0].depends_on[0]: dependency cycle: x -> y -> x',
      '$.tasks[1].depends_on[0]: dependency cycle: a -> b -> a',
    ]);
  });

  it('reports a cycle with other problems as SCHEMA_INVALID listing them all', () => {
    const r = rejection(spec([{ id: 'a', command: 'true', depends_on: ['b'] }, { id: 'b', command: '', depends_on: ['a'] }]));
    assert.equal(r.code, 'SCHEMA_INVALID');
    assert.deepEqual(r.lines, [
      '$.tasks[0].depends_on[0]: dependency cycle: a -> b -> a',
      '$.tasks[1].command: must not be blank and must not contain a NUL character',
    ]);
  });

  it('rejects __proto__ keys, and constructor and prototype, anywhere in the input', () => {
    const r = rejection(JSON.parse(fixture('invalid/proto-keys.json')));
    assert.equal(r.code, 'SCHEMA_INVALID');
    assert.deepEqual(r.lines, [
      "$.params.__proto__: key '__proto__' is not allowed anywhere (it could reach an object prototype)",
      "$.tasks[0].env.constructor: key 'constructor' is not allowed anywhere (it could reach an object prototype)",
    ]);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    const top = rejection(JSON.parse('{"tasks":[{"id":"a","command":"true"}],"prototype":{}}'));
    assert.deepEqual(top.lines, ["$.prototype: key 'prototype' is not allowed anywhere (it could reach an object prototype)"]);
  });

  it('rejects ids with .., /, NUL or 200 characters', () => {
    for (const [bad, why] of [
      ['..', "it starts with \".\"; start with a letter or digit"],
      ['a/b', 'it contains a path separator'],
      ['a\0b', 'it contains a NUL character'],
      ['x'.repeat(200), 'it has 200 characters, at most 128 are allowed'],
    ] as const) {
      assert.equal(isValidId(bad), false);
      assert.throws(() => checkId('task', bad), (e: unknown) => e instanceof CairnError && e.code === 'BAD_ID' && e.message.includes(why));
      const r = rejection(spec([{ id: bad, command: 'true' }, { id: 'b', command: 'true', depends_on: [bad] }], { id: bad }));
      const msg = `id must match ${ID_PATTERN.source}: ${why}`;
      assert.deepEqual(r.lines, [`$.id: ${msg}`, `$.tasks[0].id: ${msg}`, `$.tasks[1].depends_on[0]: ${msg}`]);
    }
    assert.equal(isValidId('a'.repeat(128)), true);
    assert.equal(isValidId('build.v2_final-1'), true);
  });

  it('rejects constructor and prototype as task ids', () => {
    assert.deepEqual(rejection(spec([{ id: 'constructor', command: 'true' }])).lines, ["$.tasks[0].id: id 'constructor' is reserved"]);
  });

  it('rejects an unknown dependency naming the known tasks', () => {
    assert.deepEqual(rejection(spec([{ id: 'a', command: 'true' }, { id: 'b', command: 'true', depends_on: ['c'] }])).lines, [
      "$.tasks[1].depends_on[0]: unknown dependency 'c' (known: a, b)",
    ]);
  });

  it('rejects a dependency listed twice', () => {
    assert.deepEqual(rejection(spec([{ id: 'a', command: 'true' }, { id: 'b', command: 'true', depends_on: ['a', 'a'] }])).lines, [
      '$.tasks[1].depends_on[1]: duplicate item "a" (same as $.tasks[1].depends_on[0])',
    ]);
  });

  it('rejects an undeclared resource and more units than max_holders', () => {
    const r = rejection(spec(
      [{ id: 'a', command: 'true', resources: { db: 3, gpu: 1 } }, { id: 'b', command: 'true', resources: ['db', 'db'] }],
      { resources: { db: { max_holders: 2 } } },
    ));
    assert.deepEqual(r.lines, [
      "$.tasks[0].resources.db: asks for 3 units of 'db' but its max_holders is 2, so it could never run",
      "$.tasks[0].resources.gpu: resource 'gpu' is not declared in $.resources",
      '$.tasks[1].resources[1]: duplicate item "db" (same as $.tasks[1].resources[0])',
    ]);
  });

  it('rejects unknown keys at every level, suggesting the near one', () => {
    const r = rejection({ tasks: [{ id: 'a', command: 'true' }], default: {}, resources: { db: { max_holder: 1 } } });
    assert.deepEqual(r.lines, [
      "$.default: unknown key 'default' (did you mean 'defaults'? allowed: $schema, id, params, defaults, resources, tasks)",
      "$.resources.db.max_holder: unknown key 'max_holder' (did you mean 'max_holders'? allowed: max_holders)",
    ]);
    assert.deepEqual(rejection(spec([{ id: 'a', command: 'true' }], { defaults: { validate: 'x' } })).lines, [
      "$.defaults.validate: unknown key 'validate' (allowed: critical, priority, timeout_seconds, max_retries, retry_base_seconds, retry_cap_seconds, cwd, cpus, memory_mb, gpus, env)",
    ]);
  });

  it('rejects commands that are blank, empty or hold a NUL', () => {
    const r = rejection(spec([
      { id: 'a', command: '  ' },
      { id: 'b', command: [''] },
      { id: 'c', command: ['echo', 'a\0b'] },
      { id: 'd', command: 7 },
      { id: 'e', command: 'true', validate: [] },
    ]));
    assert.deepEqual(r.lines, [
      '$.tasks[0].command: must not be blank and must not contain a NUL character',
      '$.tasks[1].command[0]: must not be blank and must not contain a NUL character',
      '$.tasks[2].command[1]: must not contain a NUL character',
      '$.tasks[3].command: must be a string or an array (got an integer)',
      '$.tasks[4].validate: must not be empty',
    ]);
  });

  it('rejects param names that cannot be variables and names that collide once upper-cased', () => {
    const r = rejection(spec([{ id: 'a', command: 'true' }], { params: { 'dry-run': 'x', Channel: 'a', channel: 'b', list: [1] } }));
    assert.deepEqual(r.lines, [
      '$.params["dry-run"]: key "dry-run": param name must match ^[A-Za-z0-9][A-Za-z0-9_]{0,127}$ (it becomes CAIRN_PARAM_<NAME>)',
      "$.params.channel: param 'channel' and param 'Channel' would both be CAIRN_PARAM_CHANNEL",
      '$.params.list: must be a string, a number or a boolean (got an array)',
    ]);
    assert.equal(paramEnvName('channel'), 'CAIRN_PARAM_CHANNEL');
  });

  it('rejects env names cairn reserves or a shell cannot read', () => {
    assert.deepEqual(rejection(spec([{ id: 'a', command: 'true', env: { CAIRN_TASK_ID: 'x', 'A-B': '1', OK: null } }])).lines, [
      '$.tasks[0].env.CAIRN_TASK_ID: key "CAIRN_TASK_ID": variable name must match ^[A-Za-z_][A-Za-z0-9_]*$ and must not start with CAIRN_ (reserved for cairn)',
      '$.tasks[0].env["A-B"]: key "A-B": variable name must match ^[A-Za-z_][A-Za-z0-9_]*$ and must not start with CAIRN_ (reserved for cairn)',
      '$.tasks[0].env.OK: must be a string, a number or a boolean (got null)',
    ]);
  });

  it('rejects a retry cap below the retry base', () => {
    const r = rejection(spec(
      [
        { id: 'a', command: 'true' },
        { id: 'b', command: 'true', retry_base_seconds: 10 },
        { id: 'c', command: 'true', retry_cap_seconds: 20 },
      ],
      { defaults: { retry_base_seconds: 8, retry_cap_seconds: 5 } },
    ));
    assert.deepEqual(r.lines, [
      '$.defaults.retry_cap_seconds: retry_cap_seconds (5) must be >= retry_base_seconds (8)',
      '$.tasks[1].retry_cap_seconds: retry_cap_seconds (5) must be >= retry_base_seconds (10)',
    ]);
  });

  it('rejects a spec that is not an object, has no tasks or an empty list', () => {
    assert.deepEqual(rejection(null).lines, ['$: must be an object (got null)']);
    assert.deepEqual(rejection({}).lines, ["$: missing required key 'tasks'"]);
    assert.deepEqual(rejection({ tasks: [] }).lines, ['$.tasks: must not be empty']);
    assert.deepEqual(rejection({ tasks: ['build'] }).lines, ['$.tasks[0]: must be an object (got a string)']);
  });

  it('says what the single problem is in the message', () => {
    assert.equal(rejection({ tasks: [] }).message, 'spec has 1 problem: $.tasks: must not be empty');
  });
});

describe('parseSpecText', () => {
  it('reports invalid JSON with its line and column', () => {
    try {
      parseSpecText(fixture('invalid/syntax-error.json'), 'syntax-error.json', OPTS);
      assert.fail('expected an error');
    } catch (e) {
      assert.ok(e instanceof CairnError);
      assert.equal(e.code, 'SCHEMA_INVALID');
      assert.deepEqual([e.details.line, e.details.column], [5, 5]);
      assert.match(e.message, /^syntax-error\.json: invalid JSON at line 5, column 5: /);
      assert.equal(e.details.file, 'syntax-error.json');
    }
  });

  it('reports a file cut short at its end', () => {
    assert.throws(() => parseSpecText('{\n  "tasks": [', 'cut.json', OPTS), (e: unknown) =>
      e instanceof CairnError && e.details.line === 2 && e.details.column === 13);
  });

  it('names the file in the summary of a spec that does not validate', () => {
    assert.throws(() => parseSpecText('{"tasks": []}', 'empty.json', OPTS), { message: 'empty.json has 1 problem: $.tasks: must not be empty' });
  });

  it('accepts a byte order mark', () => {
    assert.equal(parseSpecText('\uFEFF{"tasks":[{"id":"a","command":"true"}]}', 'bom.json', OPTS).tasks.length, 1);
  });
});

describe('the workstream schema', () => {
  it('accepts every valid fixture and the normalized form of each', () => {
    for (const name of ['valid/design-example.json', 'valid/diamond.json']) {
      const raw = JSON.parse(fixture(name));
      assert.deepEqual(validateWith(String(WORKSTREAM_SCHEMA.$id), raw), []);
      assert.deepEqual(validateWith(String(WORKSTREAM_SCHEMA.$id), parseSpec(raw, OPTS)), [], `${name} normalized`);
    }
  });
});
