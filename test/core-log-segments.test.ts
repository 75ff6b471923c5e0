// Log rotation (log_segment_bytes): transitions.jsonl closed into log/<first>-<last>.jsonl.gz. Every
// reader reads the segments and the active file as one log; a kill at any step of a rotation leaves
// a good folder; a damaged, cut or missing segment is reported (exit 3) and repaired.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';

const SPEC = {
  id: 'w1',
  tasks: [
    { id: 'a', command: 'true' },
    { id: 'b', command: 'true', depends_on: ['a'] },
    { id: 'c', command: 'exit 1', max_retries: 2, retry_base_seconds: 0 },
    { id: 'd', command: 'true', depends_on: ['b'] },
    { id: 'e', command: 'true' },
    { id: 'f', command: 'true', depends_on: ['d', 'e'] },
  ],
};

const SEGMENT = /^\d{12}-\d{12}\.jsonl\.gz$/;

async function fresh(segmentBytes: number | null): Promise<{ dir: string; state: string; spec: string }> {
  const dir = scratch();
  const state = join(dir, '.state');
  const r = await cairn(['init', '--state-dir', state]);
  assert.equal(r.code, 0, said(r));
  writeFileSync(join(state, 'config.json'), JSON.stringify(segmentBytes === null ? {} : { log_segment_bytes: segmentBytes }));
  const spec = join(dir, 'spec.json');
  writeFileSync(spec, JSON.stringify(SPEC));
  return { dir, state, spec };
}

function segments(state: string): string[] {
  const dir = join(state, 'log');
  return existsSync(dir) ? readdirSync(dir).filter((f) => SEGMENT.test(f)).sort() : [];
}

/** The log as one file: every segment inflated, then the active file (what it would be without rotation). */
function wholeLog(state: string): Buffer {
  return Buffer.concat([...segments(state).map((f) => gunzipSync(readFileSync(join(state, 'log', f)))), readFileSync(join(state, 'transitions.jsonl'))]);
}

/** A copy of the folder with the log never rotated: no log/, the whole log in transitions.jsonl. */
function flatCopy(state: string, to: string): string {
  cpSync(state, to, { recursive: true });
  rmSync(join(to, 'log'), { recursive: true, force: true });
  writeFileSync(join(to, 'transitions.jsonl'), wholeLog(state));
  return to;
}

function seqs(buf: Buffer): number[] {
  return buf.toString('utf8').split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as { seq: number }).seq);
}

async function run(state: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return cairn([...args, '--state-dir', state, '--operator', 'tester'], { env });
}

/** A state folder whose run rotated the log into several segments, with an intervention after it. */
async function rotated(): Promise<{ dir: string; state: string; spec: string }> {
  const f = await fresh(1500);
  const r = await run(f.state, ['run', f.spec]);
  assert.equal(r.code, 1, said(r)); // task c fails for good: the workstream fails
  const retry = await run(f.state, ['retry-task', '--task-id', 'w1/c', '--reason', 'try again', '--yes']);
  assert.equal(retry.code, 0, said(retry));
  return f;
}

describe('log rotation', () => {
  it('closes the log into several gzip segments whose seqs follow on, the active file continuing the chain', async () => {
    const { state } = await rotated();
    const names = segments(state);
    assert.ok(names.length >= 3, `segments: ${names.join(', ')}`);
    let next = 1;
    for (const n of names) {
      const [first, last] = n.replace('.jsonl.gz', '').split('-').map(Number) as [number, number];
      assert.equal(first, next, `${n} follows on`);
      assert.deepEqual(seqs(gunzipSync(readFileSync(join(state, 'log', n)))), Array.from({ length: last - first + 1 }, (_, i) => first + i));
      next = last + 1;
    }
    const all = seqs(wholeLog(state));
    assert.deepEqual(all, Array.from({ length: all.length }, (_, i) => i + 1));
    const v = await cairnJson(['validate-state', '--state-dir', state]);
    assert.equal(v.code, 0, said(v));
    assert.equal(v.doc.seq, all.length);
  });

  it('gives every reader the same answers as the same log never rotated', async () => {
    const { dir, state } = await rotated();
    const flat = flatCopy(state, join(dir, 'flat'));
    // A dry run's would-be records carry the time and a fresh id of the run that showed them.
    const fresh = (k: string, v: unknown) => (k === 'ts' || k === 'id' || k === 'crc' || k === 'copy' ? undefined : v);
    const same = async (args: string[]) => {
      const a = await cairnJson([...args, '--state-dir', state]);
      const b = await cairnJson([...args, '--state-dir', flat]);
      const norm = (s: string, d: string) => JSON.parse(s.split(d).join('<state>'), args.includes('--dry-run') ? fresh : undefined) as unknown;
      assert.equal(a.code, b.code, `${args.join(' ')}: ${said(a)}\n${said(b)}`);
      assert.deepEqual(norm(a.stdout, state), norm(b.stdout, flat), args.join(' '));
      return a;
    };
    await same(['status', '--all']);
    await same(['validate-state']);
    const ev = await same(['events']);
    assert.ok(ev.doc.records?.length ?? ev.doc.length, 'events lists records');
    await same(['history', '--workstream-id', 'w1']);
    await same(['log']);
    await same(['state', '--at', '12']);
    await same(['diff', '5', '25']);
    await same(['checkpoints', '--workstream-id', 'w1']);
    await same(['metrics']);
    // restore-state names the file it reads: each folder against its own log.
    const ra = await cairnJson(['restore-state', '--from-transitions', join(state, 'transitions.jsonl'), '--dry-run', '--state-dir', state]);
    const rb = await cairnJson(['restore-state', '--from-transitions', join(flat, 'transitions.jsonl'), '--dry-run', '--state-dir', flat]);
    assert.equal(ra.code, 0, said(ra));
    assert.deepEqual(JSON.parse(ra.stdout.split(state).join('<state>')), JSON.parse(rb.stdout.split(flat).join('<state>')));
    await same(['rollback-workstream', '--workstream-id', 'w1', '--to-checkpoint', '10', '--dry-run', '--yes']);
    await same(['repair-state', '--dry-run']);
    // Written for real, the rotated folder still agrees with a replay.
    const restore = await run(state, ['restore-state', '--from-transitions', join(state, 'transitions.jsonl'), '--yes']);
    assert.equal(restore.code, 0, said(restore));
    const roll = await run(state, ['rollback-workstream', '--workstream-id', 'w1', '--to-checkpoint', '10', '--reason', 'back', '--yes']);
    assert.equal(roll.code, 0, said(roll));
    const v = await cairnJson(['validate-state', '--state-dir', state]);
    assert.equal(v.code, 0, said(v));
  });

  it('lets a command rotate the log while a scheduler runs, and the scheduler carries on', async () => {
    const f = await fresh(600);
    writeFileSync(f.spec, JSON.stringify({ id: 'w2', resources: { r: { max_holders: 1 } }, tasks: [{ id: 'a', command: 'sleep 4' }, { id: 'b', command: 'true', depends_on: ['a'] }] }));
    const sched = run(f.state, ['run', f.spec]);
    // Wait (generously) for the scheduler to start task a, then change the state from outside.
    for (let i = 0; i < 300; i++) {
      const st = await cairnJson(['status', '--state-dir', f.state]);
      if (JSON.stringify(st.doc).includes('"running"')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const before = segments(f.state).length;
    for (const n of [2, 3, 4, 5]) {
      const r = await run(f.state, ['set-resource-limit', '--resource-id', 'r', '--max-holders', String(n), '--reason', 'more', '--yes']);
      assert.equal(r.code, 0, said(r));
    }
    const done = await sched;
    assert.equal(done.code, 0, said(done));
    assert.ok(segments(f.state).length > before, 'the commands rotated the log');
    const v = await cairnJson(['validate-state', '--state-dir', f.state]);
    assert.equal(v.code, 0, said(v));
  });
});

describe('log/ as a symlink', () => {
  it('is refused (UNSAFE_PATH), never followed', async () => {
    const { dir, state } = await rotated();
    renameSync(join(state, 'log'), join(dir, 'elsewhere'));
    symlinkSync(join(dir, 'elsewhere'), join(state, 'log'));
    const r = await cairn(['status', '--state-dir', state]);
    assert.notEqual(r.code, 0, said(r));
    assert.match(r.stderr, /UNSAFE_PATH/);
  });
});

describe('a kill during rotation', () => {
  for (const step of ['segment-written', 'segment-renamed', 'active-emptied']) {
    it(`leaves a folder every reader reads and validate-state calls healthy when killed after ${step}, and the next run finishes`, async () => {
      const f = await fresh(1500);
      const killed = await run(f.state, ['run', f.spec], { CAIRN_ROTATE_CRASH_AT: step });
      assert.equal(killed.signal, 'SIGKILL', said(killed));
      const all = seqs(step === 'segment-renamed' ? readFileSync(join(f.state, 'transitions.jsonl')) : wholeLog(f.state));
      assert.ok(all.length > 0);
      const v = await cairnJson(['validate-state', '--state-dir', f.state]);
      assert.equal(v.code, 0, said(v));
      assert.equal(v.doc.seq, all[all.length - 1]);
      const ev = await cairnJson(['events', '--state-dir', f.state]);
      assert.equal(ev.code, 0, said(ev));
      const again = await run(f.state, ['run']);
      assert.equal(again.code, 1, said(again)); // resumed to the end: task c fails for good
      const whole = seqs(wholeLog(f.state));
      assert.deepEqual(whole, Array.from({ length: whole.length }, (_, i) => i + 1), 'no record lost or repeated');
      assert.deepEqual(readdirSync(join(f.state, 'log')).filter((n) => !SEGMENT.test(n)), [], 'no temp file left');
      const after = await cairnJson(['validate-state', '--state-dir', f.state]);
      assert.equal(after.code, 0, said(after));
    });
  }
});

describe('a damaged segment', () => {
  const cases: [string, (file: string, state: string) => void][] = [
    ['a flipped byte', (file) => {
      const b = readFileSync(file);
      b[Math.floor(b.length / 2)]! ^= 0x10;
      writeFileSync(file, b);
    }],
    ['a cut-off file', (file) => truncateSync(file, Math.floor(readFileSync(file).length / 2))],
    ['a deleted file', (file) => rmSync(file)],
  ];
  for (const [what, damage] of cases) {
    it(`is reported by validate-state (exit 3, naming it) and repaired keeping every record before it: ${what}`, async () => {
      const { state } = await rotated();
      const names = segments(state);
      const victim = names[2]!;
      const firstLost = Number(victim.split('-')[0]);
      const before = wholeLog(state).toString('utf8').split('\n').slice(0, firstLost - 1);
      damage(join(state, 'log', victim), state);
      const v = await cairnJson(['validate-state', '--state-dir', state]);
      assert.equal(v.code, 3, said(v));
      const p = v.doc.problems.find((x: { code: string }) => x.code === 'LOG_SEGMENT_DAMAGED');
      assert.ok(p, said(v));
      assert.match(p.message, what === 'a deleted file' ? /missing/ : new RegExp(victim.replace(/\./g, '\\.')));
      const status = await cairn(['status', '--state-dir', state]);
      assert.equal(status.code, 3, said(status));
      const write = await run(state, ['set-resource-limit', '--resource-id', 'x', '--max-holders', '1', '--yes']);
      assert.equal(write.code, 3, said(write));
      const repair = await run(state, ['repair-state', '--yes']);
      assert.equal(repair.code, 0, said(repair));
      const after = await cairnJson(['validate-state', '--state-dir', state]);
      assert.equal(after.code, 0, said(after));
      const kept = wholeLog(state).toString('utf8').split('\n');
      assert.deepEqual(kept.slice(0, firstLost - 1), before, 'every record before the damage is kept byte for byte');
      assert.ok(readdirSync(state).some((n) => n.startsWith('transitions.jsonl.corrupt-')), 'the rest is set aside');
    });
  }
});
