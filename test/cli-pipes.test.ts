// Output piped into `head` ends quietly, like git: no EPIPE stack, exit 0, and `cairn run` goes on
// to the end with nothing lost. Real pipes: bash runs `cairn … | head`, and ${PIPESTATUS[0]} is cairn's exit.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { simulate } from '../bench/gen.js';
import { cairn, type CliResult, said } from './helpers/cli.js';
import { CAIRN_BIN, FIXTURES, ROOT } from './helpers/paths.js';
import { scratch } from './helpers/tmp.js';

/** `cairn <args> | head -<lines>` under bash; the result's code is cairn's exit status, stdout is what head printed. */
function piped(args: string[], lines: number, timeoutMs = 120_000): Promise<CliResult> {
  const env = { ...process.env, CAIRN_STATE_DIR: undefined, CAIRN_OPERATOR: 'tester' };
  const script = `"$0" "$@" | head -${lines}; exit "\${PIPESTATUS[0]}"`;
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script, process.execPath, CAIRN_BIN, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    // A safety net against a hang, not a timing assertion: a cairn that never ends fails here.
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const base = scratch('cairn-pipes-');
// 20,000 records: far more output than a pipe buffers, so cairn is still writing when head leaves.
const state = join(base, 'big', '.state');

before(() => {
  mkdirSync(state, { recursive: true, mode: 0o700 });
  simulate(join(state, 'transitions.jsonl'), { workstreamId: 'nightly', tasks: 60, layerWidth: 10, workers: 2, churnRecords: 20_000 });
});

function quiet(r: CliResult): void {
  assert.doesNotMatch(r.stderr, /EPIPE|Error:|    at /, `no stack or EPIPE on stderr\n${said(r)}`);
}

describe('a reader whose stdout goes away', () => {
  it('events | head -2 prints two lines and ends with exit 0, nothing on stderr', async () => {
    const r = await piped(['events', '--state-dir', state], 2);
    assert.equal(r.code, 0, said(r));
    assert.equal(r.stdout.trimEnd().split('\n').length, 2, said(r));
    assert.equal(r.stderr, '', said(r));
  });

  it('events --json | head -1 ends with exit 0, nothing on stderr', async () => {
    const r = await piped(['events', '--json', '--state-dir', state], 1);
    assert.equal(r.code, 0, said(r));
    assert.equal(r.stdout, '{\n', said(r));
    assert.equal(r.stderr, '', said(r));
  });

  it('status --watch | head -1 ends by itself with exit 0 once head has gone', async () => {
    const r = await piped(['status', '--watch', '--all', '--state-dir', state], 1);
    assert.equal(r.code, 0, said(r));
    assert.equal(r.stdout.split('\n').length, 2, said(r));
    quiet(r);
  });
});

describe('cairn run | head', () => {
  it('goes on to the end quietly: the workstream completes, exit 0, and the state validates', async () => {
    const dir = join(base, 'run');
    mkdirSync(dir);
    const stateDir = join(dir, '.state');
    const sleep = join(FIXTURES, 'sleep.mjs');
    // A chain of short tasks: each writes progress lines long after head has taken its one line.
    const tasks = Array.from({ length: 6 }, (_, i) => ({
      id: `t${i}`, command: [process.execPath, sleep, '150'], ...(i > 0 ? { depends_on: [`t${i - 1}`] } : {}),
    }));
    const spec = join(dir, 'spec.json');
    writeFileSync(spec, JSON.stringify({ id: 'piped', tasks }));
    const r = await piped(['run', spec, '--workers', '2', '--state-dir', stateDir], 1);
    assert.equal(r.code, 0, said(r));
    quiet(r);
    const s = await cairn(['status', '--workstream-id', 'piped', '--json', '--state-dir', stateDir]);
    assert.equal(s.code, 0, said(s));
    const doc = JSON.parse(s.stdout);
    assert.equal(doc.workstreams[0].state, 'completed', said(s));
    assert.deepEqual(doc.workstreams[0].tasks.map((t: { state: string }) => t.state), Array(6).fill('completed'));
    const v = await cairn(['validate-state', '--state-dir', stateDir]);
    assert.equal(v.code, 0, said(v));
  });
});
