// Params, env values and commands too large to start a process with are refused when the spec is
// submitted (exit 2, nothing written), naming the JSON path and the OS limit; right at the limit a
// task still runs, so the check and the OS agree to the byte.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';
import { assertTreeUnchanged, readTree } from './helpers/tree.js';

const base = scratch('cairn-exec-limits-');
let n = 0;

/** An initialized state folder and the spec file, written side by side. */
async function given(spec: unknown): Promise<{ dir: string; file: string; state: string }> {
  const dir = join(base, `case-${++n}`);
  mkdirSync(dir);
  const state = join(dir, '.state');
  const init = await cairn(['init', '--state-dir', state]);
  assert.equal(init.code, 0, said(init));
  const file = join(dir, 'spec.json');
  writeFileSync(file, JSON.stringify(spec));
  return { dir, file, state };
}

/** The problems `cairn submit --json` reports; asserts exit 2 and that nothing was written. */
async function refused(spec: unknown): Promise<{ path: string; message: string }[]> {
  const g = await given(spec);
  const before = readTree(g.dir);
  const r = await cairnJson(['submit', g.file, '--state-dir', g.state]);
  assert.equal(r.code, 2, said(r));
  assert.equal(r.doc.error.code, 'SCHEMA_INVALID');
  assertTreeUnchanged(before, readTree(g.dir), 'the state folder');
  return r.doc.error.details.errors;
}

const KIB = 1024;
/** CAIRN_PARAM_BLOB=<value> and its NUL are exactly Linux's 128 KiB limit on one string. */
const LONGEST_BLOB = 128 * KIB - 'CAIRN_PARAM_BLOB='.length - 1;

describe('the spec check of what a process can be started with', () => {
  it('refuses a param over 128 KiB as a variable, naming its path, the variable and MAX_ARG_STRLEN', async () => {
    const errors = await refused({ id: 'big', params: { blob: 'x'.repeat(200 * KIB) }, tasks: [{ id: 't', command: ['true'] }] });
    assert.deepEqual(errors.map((e) => e.path), ['$.params.blob']);
    assert.match(errors[0]!.message, /^as CAIRN_PARAM_BLOB it is 204818 bytes as passed to a process, over the OS limit of 131072 bytes \(128 KiB, Linux MAX_ARG_STRLEN\)/);
    assert.match(errors[0]!.message, /pass large data in a file/);
  });

  it('refuses one byte over the limit and accepts a param exactly at it, which then runs', async () => {
    const over = await refused({ id: 'edge', params: { blob: 'x'.repeat(LONGEST_BLOB + 1) }, tasks: [{ id: 't', command: ['true'] }] });
    assert.deepEqual(over.map((e) => e.path), ['$.params.blob']);
    const g = await given({ id: 'edge', params: { blob: 'x'.repeat(LONGEST_BLOB) }, tasks: [{ id: 't', command: ['true'], max_retries: 0 }] });
    const r = await cairn(['run', g.file, '--workers', '1', '--state-dir', g.state], { cwd: g.dir });
    assert.equal(r.code, 0, said(r));
  });

  it('refuses a long env value, command argument or string command at its own path', async () => {
    const big = 'y'.repeat(130 * KIB);
    const errors = await refused({
      id: 'big',
      defaults: { env: { SHARED: big } },
      tasks: [
        { id: 'a', command: ['printf', '%s', big], env: { OWN: big } },
        { id: 'b', command: `echo ${big}`, validate: ['test', big] },
      ],
    });
    assert.deepEqual(errors.map((e) => e.path).sort(), ['$.defaults.env.SHARED', '$.tasks[0].command[2]', '$.tasks[0].env.OWN', '$.tasks[1].command', '$.tasks[1].validate[1]']);
    for (const e of errors) assert.match(e.message, /over the OS limit of 131072 bytes/);
  });

  it('refuses params that together pass 2 MiB once at $.params, naming ARG_MAX', async () => {
    const params = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`p${i}`, 'z'.repeat(110 * KIB)]));
    const errors = await refused({ id: 'many', params, tasks: [{ id: 'a', command: ['true'] }, { id: 'b', command: ['true'] }] });
    assert.deepEqual(errors.map((e) => e.path), ['$.params']);
    assert.match(errors[0]!.message, /come to \d+ bytes, over the OS limit of 2097152 bytes \(2 MiB, Linux ARG_MAX\)/);
  });

  it('refuses the one task whose own env with the params passes 2 MiB, at that task', async () => {
    const params = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`p${i}`, 'z'.repeat(110 * KIB)]));
    const env = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`E${i}`, 'e'.repeat(110 * KIB)]));
    const errors = await refused({ id: 'heavy', params, tasks: [{ id: 'light', command: ['true'] }, { id: 'heavy', command: ['true'], env }] });
    assert.deepEqual(errors.map((e) => e.path), ['$.tasks[1]']);
    assert.match(errors[0]!.message, /^its arguments and environment \(params, env, command\) come to \d+ bytes, over the OS limit of 2097152 bytes/);
  });
});
