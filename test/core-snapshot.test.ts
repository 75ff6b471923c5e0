// current.json is derived: deleted, emptied, garbled or replaced by an old backup, `status` still shows
// the exact state (the log is replayed), restore-state rewrites it, and validate-state passes after.
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { statusOf } from '../src/api/status.js';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { FIXTURES } from './helpers/paths.js';
import { replayLog } from './helpers/state.js';
import { scratch } from './helpers/tmp.js';
import { assertTreeUnchanged, readTree } from './helpers/tree.js';

const base = scratch('cairn-snapshot-');
const pristine = join(base, 'pristine');
let copies = 0;
/** `status --json --all` of the intact state, without where it was loaded from. */
let expected: Record<string, unknown>;
let pristineCurrent: Record<string, any>;

/** The parts of a status document that describe the state (not how it was loaded). */
function stateOf(doc: Record<string, unknown>): Record<string, unknown> {
  const { loaded_from: _from, warnings: _warnings, ...rest } = doc;
  return rest;
}

/** What the log alone replays to, shown as `status --json --all` shows a state. */
function replayed(dir: string): Record<string, unknown> {
  const s = replayLog(join(dir, 'transitions.jsonl'));
  return stateOf(JSON.parse(JSON.stringify(statusOf(s, { all: true }, { seq: s.seq, source: 'log', warnings: [] }))));
}

function copyOfPristine(): string {
  copies += 1;
  const dir = join(base, `copy${copies}`);
  cpSync(pristine, dir, { recursive: true });
  return dir;
}

function backups(dir: string): string[] {
  return readdirSync(join(dir, 'backups')).sort((a, b) => Number(a.match(/_(\d+)\.json$/)![1]) - Number(b.match(/_(\d+)\.json$/)![1]));
}

before(async () => {
  // A real history: a run with a retried task, a validated one and a resource, then two more submits.
  cpSync(join(FIXTURES, 'flaky.mjs'), join(base, 'flaky.mjs'));
  writeFileSync(join(base, 'run.json'), JSON.stringify({
    id: 'build', defaults: { retry_base_seconds: 0.05, retry_cap_seconds: 0.1 }, resources: { ws: { max_holders: 1 } },
    tasks: [
      { id: 'fetch', command: 'true' },
      { id: 'flaky', command: ['node', join(base, 'flaky.mjs'), join(base, 'flaky.count'), '1'], depends_on: ['fetch'], max_retries: 2 },
      { id: 'build', command: 'echo hi', depends_on: ['flaky'], resources: ['ws'], validate: 'true' },
    ],
  }));
  writeFileSync(join(base, 'next.json'), JSON.stringify({ id: 'next', resources: { ws: { max_holders: 1 } }, tasks: [{ id: 'a', command: 'true' }, { id: 'b', command: 'true', depends_on: ['a'], resources: ['ws'] }] }));
  writeFileSync(join(base, 'third.json'), JSON.stringify({ id: 'third', params: { n: 3 }, tasks: [{ id: 'a', command: 'true' }] }));
  const steps: string[][] = [
    ['init'],
    ['run', join(base, 'run.json'), '--workers', '2'],
    ['submit', join(base, 'next.json')],
    ['submit', join(base, 'third.json')],
  ];
  for (const [i, args] of steps.entries()) {
    const r = await cairn([...args, '--state-dir', pristine], { cwd: base });
    assert.equal(r.code, 0, said(r));
    if (i === 0) writeFileSync(join(pristine, 'config.json'), JSON.stringify({ backup_interval_ms: 0 }));
  }
  const s = await cairnJson(['status', '--all', '--state-dir', pristine]);
  assert.equal(s.code, 0, said(s));
  assert.equal(s.doc.loaded_from, 'current.json');
  expected = stateOf(s.doc);
  pristineCurrent = JSON.parse(readFileSync(join(pristine, 'current.json'), 'utf8'));
  assert.ok(backups(pristine).length >= 3, `backups: ${backups(pristine).join(', ')}`);
});

const DAMAGE: Record<string, (dir: string) => void> = {
  deleted: (dir) => rmSync(join(dir, 'current.json')),
  emptied: (dir) => writeFileSync(join(dir, 'current.json'), ''),
  garbled: (dir) => {
    const text = readFileSync(join(dir, 'current.json'), 'utf8');
    writeFileSync(join(dir, 'current.json'), text.slice(0, text.length / 2) + '\u0000garbage' + text.slice(text.length / 2 + 7));
  },
  'replaced by an old backup': (dir) => cpSync(join(dir, 'backups', backups(dir)[1]!), join(dir, 'current.json')),
};

describe('a lost or stale current.json', () => {
  it('is not needed to know the state: the intact status equals a replay of the log', () => {
    assert.deepEqual(expected, replayed(pristine));
    const ws = expected.workstreams as { id: string; state: string }[];
    assert.deepEqual(ws.map((w) => [w.id, w.state]), [['build', 'completed'], ['next', 'running'], ['third', 'running']]);
    assert.deepEqual(expected.archived, [{ id: 'build', state: 'completed', finished_at: (expected.archived as { finished_at: string }[])[0]!.finished_at }]);
  });

  for (const [how, damage] of Object.entries(DAMAGE)) {
    describe(how, () => {
      it('status --json still shows the exact state, and writes nothing', async () => {
        const dir = copyOfPristine();
        damage(dir);
        const tree = readTree(dir);
        const r = await cairnJson(['status', '--all', '--state-dir', dir]);
        assert.equal(r.code, 0, said(r));
        assert.deepEqual(stateOf(r.doc), expected);
        assert.deepEqual(stateOf(r.doc), replayed(dir));
        if (how !== 'replaced by an old backup') assert.match(r.doc.warnings.join('\n'), /current\.json/, 'the damage is reported');
        assertTreeUnchanged(tree, readTree(dir), '.state');
      });

      it('restore-state --from-transitions --yes rewrites it to the replayed state, and validate-state passes', async () => {
        const dir = copyOfPristine();
        damage(dir);
        const r = await cairnJson(['restore-state', '--from-transitions', join(dir, 'transitions.jsonl'), '--yes', '--state-dir', dir]);
        assert.equal(r.code, 0, said(r));
        assert.equal(r.doc.seq, (expected.seq as number) + 1, 'one state_restored record was appended');
        const now = JSON.parse(readFileSync(join(dir, 'current.json'), 'utf8'));
        for (const k of ['workstreams', 'workers', 'resources', 'scheduler', 'metrics'] as const) {
          assert.deepEqual(now[k], pristineCurrent[k], `current.json ${k}`);
        }
        assert.deepEqual(Object.keys(now.archived), Object.keys(pristineCurrent.archived));
        const v = await cairn(['validate-state', '--state-dir', dir]);
        assert.equal(v.code, 0, said(v));
        const s = await cairnJson(['status', '--all', '--state-dir', dir]);
        assert.equal(s.doc.loaded_from, 'current.json');
        assert.deepEqual(stateOf(s.doc), { ...expected, seq: (expected.seq as number) + 1 });
        const last = readFileSync(join(dir, 'transitions.jsonl'), 'utf8').trimEnd().split('\n').at(-1)!;
        assert.match(last, /"type":"state_restored"/, 'the recovery is itself an event in the log');
      });
    });
  }

  it('restore-state --dry-run lists what differs from a stale current.json and writes nothing', async () => {
    const dir = copyOfPristine();
    DAMAGE['replaced by an old backup']!(dir);
    const tree = readTree(dir);
    const r = await cairnJson(['restore-state', '--from-transitions', join(dir, 'transitions.jsonl'), '--dry-run', '--state-dir', dir]);
    assert.equal(r.code, 0, said(r));
    assert.equal(r.doc.dry_run, true);
    const changes = r.doc.changes as { what: string; field: string; from: unknown; to: unknown }[];
    assert.ok(changes.some((c) => c.what === 'state' && c.field === 'seq' && c.to === expected.seq), JSON.stringify(changes));
    assert.ok(changes.some((c) => c.what === 'workstream next' && c.field === 'exists' && c.from === null && c.to === 'running'), JSON.stringify(changes));
    assertTreeUnchanged(tree, readTree(dir), '.state');
    const human = await cairn(['restore-state', '--from-transitions', join(dir, 'transitions.jsonl'), '--dry-run', '--state-dir', dir]);
    assert.equal(human.code, 0, said(human));
    assert.match(human.stdout, /difference\(s\) from current\.json/);
    assert.match(human.stdout, /workstream next/);
    assertTreeUnchanged(tree, readTree(dir), '.state');
  });

  it('restore-state --dry-run on a deleted current.json lists every workstream as new and writes nothing', async () => {
    const dir = copyOfPristine();
    DAMAGE.deleted!(dir);
    const tree = readTree(dir);
    const r = await cairnJson(['restore-state', '--from-transitions', join(dir, 'transitions.jsonl'), '--dry-run', '--state-dir', dir]);
    assert.equal(r.code, 0, said(r));
    const created = (r.doc.changes as { what: string; field: string; from: unknown }[]).filter((c) => c.field === 'exists' && c.from === null).map((c) => c.what).sort();
    assert.deepEqual(created.filter((w) => w.startsWith('workstream')), ['workstream build', 'workstream next', 'workstream third']);
    assertTreeUnchanged(tree, readTree(dir), '.state');
  });

  it('restore-state --from-backup latest rebuilds a garbled current.json from the newest backup plus the log', async () => {
    const dir = copyOfPristine();
    DAMAGE.garbled!(dir);
    const r = await cairnJson(['restore-state', '--from-backup', 'latest', '--yes', '--state-dir', dir]);
    assert.equal(r.code, 0, said(r));
    assert.match(r.doc.source, /^backups\/current_/);
    const v = await cairn(['validate-state', '--state-dir', dir]);
    assert.equal(v.code, 0, said(v));
    const s = await cairnJson(['status', '--all', '--state-dir', dir]);
    assert.deepEqual(stateOf(s.doc), { ...expected, seq: (expected.seq as number) + 1 });
  });

  it('validate-state accepts a current.json that lags the log, and reports one that disagrees with it, naming the fix', async () => {
    const dir = copyOfPristine();
    DAMAGE['replaced by an old backup']!(dir);
    const lagging = await cairn(['validate-state', '--state-dir', dir]);
    assert.equal(lagging.code, 0, `a snapshot may lag: ${said(lagging)}`);
    const doc = JSON.parse(readFileSync(join(pristine, 'current.json'), 'utf8'));
    doc.workstreams.next.tasks.a.state = 'completed';
    writeFileSync(join(dir, 'current.json'), JSON.stringify(doc, null, 2));
    const r = await cairnJson(['validate-state', '--state-dir', dir]);
    assert.equal(r.code, 1, said(r));
    assert.ok(r.doc.problems.some((p: { message: string; fix: string }) => /next/.test(p.message) && /restore-state/.test(p.fix)), JSON.stringify(r.doc.problems));
  });
});

describe('a command whose records are committed but whose derived files cannot be written', () => {
  it('says the records are committed and not to run it again; nothing is lost, and the next command catches the files up', async () => {
    const dir = copyOfPristine();
    // A folder where metrics.json goes: the rename over it fails (EISDIR) after the log was synced.
    rmSync(join(dir, 'metrics.json'));
    mkdirSync(join(dir, 'metrics.json', 'in-the-way'), { recursive: true });
    writeFileSync(join(base, 'late.json'), JSON.stringify({ id: 'late', tasks: [{ id: 'a', command: 'true' }] }));
    const r = await cairn(['submit', join(base, 'late.json'), '--state-dir', dir]);
    assert.equal(r.code, 1, said(r));
    assert.match(r.stderr, /error \[IO_ERROR\]: the command's records are committed \(the log is durable up to seq \d+\), but writing the derived files afterwards failed: .*metrics\.json \(EISDIR\)/);
    assert.match(r.stderr, /hint: Do not run the command again/);
    const submitted = replayLog(join(dir, 'transitions.jsonl')).workstream('late');
    assert.equal(submitted?.state, 'running', 'the workstream is in the log');

    rmSync(join(dir, 'metrics.json'), { recursive: true });
    const again = await cairn(['submit', join(base, 'late.json'), '--state-dir', dir]);
    assert.equal(again.code, 2, said(again));
    assert.match(again.stderr, /DUPLICATE_WORKSTREAM/, 'which is why the first error must say the records are committed');
    const v = await cairn(['validate-state', '--state-dir', dir]);
    assert.equal(v.code, 0, said(v));
    assert.ok(JSON.parse(readFileSync(join(dir, 'current.json'), 'utf8')).workstreams.late, 'current.json caught up');
  });
});
