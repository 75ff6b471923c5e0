// The tests' warm CLI (test/helpers/cli-server.ts) is only a faster way to run `node bin/cairn.js`:
// a sample of commands run warm and in fresh processes, on two copies of one state made by a real
// `cairn run`, says the same things, exits with the same codes and leaves the same state behind.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cairn, type CliResult, needsRealProcess, said } from './helpers/cli.js';
import { cairnSync } from './helpers/cli-sync.js';
import { warmCommands } from './helpers/cli-warm.js';
import { FIXTURES } from './helpers/paths.js';
import { scratch } from './helpers/tmp.js';
import { readTree } from './helpers/tree.js';

/** What differs between any two runs of one command: times (and figures computed from them), ids drawn at random, and what they hash into. */
function normal(text: string, dir: string): string {
  return text
    .split(dir).join('<dir>')
    .replace(/\d{4}-\d\d-\d\dT\d\d[:-]\d\d[:-]\d\d(?:\.\d+)?Z/g, '<ts>')
    .replace(/\b[0-9A-HJKMNP-TV-Z]{26}\b/g, '<ulid>')
    .replace(/"crc": ?"[0-9a-f]{8}"/g, '"crc":"<crc>"')
    .replace(/\b[0-9a-f]{64}\b/g, '<sha256>')
    // metrics.json's span and throughput are computed from the first and last records' ts.
    .replace(/"(ms|per_hour|per_minute)": ?[0-9.]+/g, '"$1":<from ts>');
}

function outcome(r: CliResult, dir: string): string {
  return `exit ${r.code} ${r.signal}\n--- stdout\n${normal(r.stdout, dir)}--- stderr\n${normal(r.stderr, dir)}`;
}

/** The state folder as text: each path (times in names made neutral), its mode, its content as normal() sees it. */
function tree(state: string, dir: string): string[] {
  return [...readTree(state)].map(([p, e]) => `${normal(p, dir)} ${e.kind} ${e.mode.toString(8)}\n${normal(Buffer.from(e.content, 'hex').toString('utf8'), dir)}`).sort();
}

/** The sample: reads (the lazily loaded recovery and history modules too), bad input, changes (retry, skip, cancel, rollback), help. */
const SAMPLE: string[][] = [
  ['status'],
  ['status', '--json', '--all'],
  ['show-task', '--task-id', 'w/b', '--json'],
  ['show-task', '--task-id', 'w/nope'],
  ['events', '--limit', '3'],
  ['validate-state', '--json'],
  ['retry-task', '--task-id', 'w/b', '--reset-retries', '--reason', 'try again'],
  ['skip-task', '--task-id', 'w/b', '--yes', '--json'],
  ['skip-task', '--task-id', 'w/b', '--yes', '--reason', 'not needed'],
  ['cancel-task', '--task-id', 'w/c'],
  ['rollback-workstream', '--workstream-id', 'w', '--to-checkpoint', 'latest', '--yes', '--json'],
  ['restore-state', '--from-transitions', '.state/transitions.jsonl', '--dry-run', '--json'],
  ['diff', '2', '5'],
  ['no-such-command'],
  ['status', '--bogus-flag'],
  ['retry-task', '--help'],
  ['--version'],
];

describe('the warm CLI of the tests', () => {
  let base = '';
  before(async () => {
    base = scratch();
    const spec = join(base, 'w.json');
    writeFileSync(spec, JSON.stringify({
      id: 'w',
      tasks: [
        { id: 'a', command: 'true' },
        { id: 'b', command: [process.execPath, join(FIXTURES, 'exit-3.mjs')], depends_on: ['a'], max_retries: 0 },
        { id: 'c', command: 'true', depends_on: ['b'] },
        { id: 'd', command: 'true', depends_on: ['a'] },
      ],
    }));
    const init = await cairn(['init'], { cwd: base });
    assert.equal(init.code, 0, said(init));
    // A backup at every snapshot: with the default (at most one a minute) which commands make one depends on the clock.
    writeFileSync(join(base, '.state', 'config.json'), JSON.stringify({ backup_interval_ms: 0 }));
    const r = await cairn(['run', spec, '--workers', '1'], { cwd: base });
    assert.equal(r.code, 1, said(r));
  });

  it('runs every command of the sample as a fresh process does: same exit code, stdout, stderr and state after each', async () => {
    const warm = join(scratch(), 'x');
    const real = join(scratch(), 'x');
    cpSync(base, warm, { recursive: true });
    cpSync(base, real, { recursive: true });
    const before = warmCommands();
    for (const args of SAMPLE) {
      assert.equal(needsRealProcess(args, {}), false, `${args.join(' ')} runs warm`);
      const w = await cairn(args, { cwd: warm });
      const r = await cairn(args, { cwd: real, real: true });
      assert.equal(outcome(w, warm), outcome(r, real), `cairn ${args.join(' ')}: warm (first) and fresh (second) differ`);
      assert.deepEqual(tree(join(warm, '.state'), warm), tree(join(real, '.state'), real), `the state after cairn ${args.join(' ')}`);
    }
    assert.equal(warmCommands() - before, SAMPLE.length, 'each command of the sample ran warm');
  });

  it('gives the same results synchronously (cairnSync) and to commands started together, each in its own server', async () => {
    const warm = join(scratch(), 'x');
    const real = join(scratch(), 'x');
    cpSync(base, warm, { recursive: true });
    cpSync(base, real, { recursive: true });
    for (const args of [['status', '--all'], ['retry-task', '--task-id', 'w/b'], ['events', '--json']]) {
      const w = cairnSync(args, { cwd: warm });
      const r = cairnSync(args, { cwd: real, real: true });
      assert.equal(outcome(w, warm), outcome(r, real), `cairn ${args.join(' ')}`);
    }
    // Two writers at once race for the state lock as two processes do: both succeed, one after the other.
    const [x, y] = await Promise.all([
      cairn(['skip-task', '--task-id', 'w/c', '--yes', '--reason', 'r', '--json'], { cwd: warm }),
      cairn(['cancel-task', '--task-id', 'w/b', '--json'], { cwd: warm }),
    ]);
    assert.equal(x.code, 0, said(x));
    assert.equal(y.code, 0, said(y));
    const v = await cairn(['validate-state'], { cwd: warm, real: true });
    assert.equal(v.code, 0, said(v));
  });

  it('keeps run, debug-task, --watch and anything under a umask or asked for in real processes', () => {
    assert.equal(needsRealProcess(['run', 'spec.json'], {}), true);
    assert.equal(needsRealProcess(['debug-task', '--task-id', 'w/a'], {}), true);
    assert.equal(needsRealProcess(['status', '--watch'], {}), true);
    assert.equal(needsRealProcess(['init'], { umask: '077' }), true);
    assert.equal(needsRealProcess(['status'], { real: true }), true);
    assert.equal(needsRealProcess(['status'], {}), false);
  });
});
