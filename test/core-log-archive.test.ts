// log-archive: closed segments moved out of .state/log/ under a base (log/base-<seq>.json). Every
// reader gives the same state after it; history before the base is HISTORY_GONE (exit 2) until the
// segments are copied back; a kill at each step leaves a good folder; what must not move is refused.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';

const SPEC = { id: 'w1', tasks: ['a', 'b', 'c', 'd', 'e', 'f'].map((id, i) => ({ id, command: 'true', ...(i > 0 && i % 2 === 1 ? { depends_on: ['a'] } : {}) })) };
const SEGMENT = /^\d{12}-\d{12}\.jsonl\.gz$/;
const STEPS = ['copied', 'base-written', 'segment-removed', 'old-bases-removed'];

function segments(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => SEGMENT.test(f)).sort() : [];
}

/** A folder whose run rotated the log into several segments (log_segment_bytes 1500). */
async function rotated(): Promise<{ dir: string; state: string; arch: string }> {
  const dir = scratch();
  const state = join(dir, '.state');
  assert.equal((await cairn(['init', '--state-dir', state])).code, 0);
  writeFileSync(join(state, 'config.json'), JSON.stringify({ log_segment_bytes: 1500 }));
  writeFileSync(join(dir, 'spec.json'), JSON.stringify(SPEC));
  const r = await cairn(['run', join(dir, 'spec.json'), '--state-dir', state]);
  assert.equal(r.code, 0, said(r));
  assert.ok(segments(join(state, 'log')).length >= 3, 'the run rotated the log');
  return { dir, state, arch: join(dir, 'arch') };
}

async function tasks(state: string): Promise<unknown> {
  const s = await cairnJson(['status', '--state-dir', state]);
  assert.equal(s.code, 0, said(s));
  return s.doc.workstreams;
}

describe('log-archive', () => {
  it('moves all but the kept segments into the folder under a base, and every reader gives the same state', async () => {
    const { state, arch } = await rotated();
    const before = segments(join(state, 'log'));
    const st = await tasks(state);
    const r = await cairnJson(['log-archive', '--to', arch, '--keep-segments', '1', '--state-dir', state, '--operator', 'tester']);
    assert.equal(r.code, 0, said(r));
    assert.deepEqual(segments(arch), before.slice(0, -1));
    assert.deepEqual(segments(join(state, 'log')), before.slice(-1));
    for (const f of segments(arch)) assert.ok(existsSync(join(arch, f)));
    assert.equal(r.doc.base.seq, Number(before[before.length - 2]!.slice(13, 25)));
    assert.ok(existsSync(join(state, 'log', r.doc.base.file)));
    assert.deepEqual(await tasks(state), st);
    const v = await cairnJson(['validate-state', '--state-dir', state]);
    assert.equal(v.code, 0, said(v));
    const cur = JSON.parse(readFileSync(join(state, 'current.json'), 'utf8')).workstreams;
    const re = await cairn(['restore-state', '--from-transitions', join(state, 'transitions.jsonl'), '--yes', '--state-dir', state]);
    assert.equal(re.code, 0, said(re));
    assert.deepEqual(JSON.parse(readFileSync(join(state, 'current.json'), 'utf8')).workstreams, cur);
    const ev = await cairnJson(['events', '--state-dir', state]);
    assert.equal(ev.code, 0, said(ev));
    assert.ok(JSON.stringify(ev.doc).includes('log_archived'), 'the move is recorded');
    const log = await cairnJson(['log', '--state-dir', state]);
    assert.equal(log.code, 0, said(log));
    assert.ok(log.doc.warnings.some((w: string) => w.includes(`history before seq ${r.doc.base.seq + 1} is archived`)), said(log));
    const rep = await cairn(['repair-state', '--yes', '--state-dir', state]);
    assert.equal(rep.code, 0, said(rep));
    assert.ok(existsSync(join(state, 'log', r.doc.base.file)), 'repair keeps the base');
  });

  it('says HISTORY_GONE (exit 2) for a point before the base, and reads it again once the segments are copied back', async () => {
    const { state, arch } = await rotated();
    const r = await cairnJson(['log-archive', '--to', arch, '--keep-segments', '1', '--state-dir', state]);
    assert.equal(r.code, 0, said(r));
    for (const args of [['state', '--at', '3'], ['diff', '2', '4'], ['log', '--since', '2']]) {
      const gone = await cairn([...args, '--state-dir', state]);
      assert.equal(gone.code, 2, said(gone));
      assert.match(gone.stderr, /HISTORY_GONE.*history before seq \d+ was moved out to .*arch on \d{4}-\d\d-\d\d/);
      assert.match(gone.stderr, /cp .*arch.*\.jsonl\.gz/);
    }
    for (const f of segments(arch)) cpSync(join(arch, f), join(state, 'log', f));
    const back = await cairnJson(['state', '--at', '3', '--state-dir', state]);
    assert.equal(back.code, 0, said(back));
    assert.equal((await cairnJson(['validate-state', '--state-dir', state])).code, 0);
  });

  for (const step of STEPS) {
    it(`leaves a folder every reader reads whole when killed after step ${step}, and a second run finishes`, async () => {
      const { state, arch } = await rotated();
      const before = segments(join(state, 'log'));
      const st = await tasks(state);
      const killed = await cairn(['log-archive', '--to', arch, '--keep-segments', '1', '--state-dir', state], { real: true, env: { CAIRN_ARCHIVE_CRASH_AT: step } });
      assert.equal(killed.signal, 'SIGKILL', said(killed));
      assert.deepEqual(await tasks(state), st);
      const v = await cairnJson(['validate-state', '--state-dir', state]);
      assert.equal(v.code, 0, said(v));
      const again = await cairn(['log-archive', '--to', arch, '--keep-segments', '1', '--state-dir', state]);
      assert.equal(again.code, step === 'old-bases-removed' || step === 'segment-removed' ? 2 : 0, said(again));
      // Every segment of before the move is in DIR or still in log/, all moved ones before all kept
      // ones, and one or two kept: the log_archived record itself may rotate the active file into one
      // more segment (its size depends on the run's timings), before or after the move is planned.
      const left = segments(join(state, 'log'));
      const moved = segments(arch);
      assert.deepEqual([...moved, ...left].filter((f) => before.includes(f)), before, `moved: ${moved.join(', ')}; left: ${left.join(', ')}`);
      assert.ok(moved.length >= before.length - 1 && left.length >= 1 && left.length <= 2, `moved: ${moved.join(', ')}; left: ${left.join(', ')}`);
      assert.deepEqual(await tasks(state), st);
      assert.equal((await cairn(['validate-state', '--state-dir', state])).code, 0);
      // The record is committed before the move: the rerun finishes it without a second one.
      const recs = await cairnJson(['events', '--type', 'log_archived', '--state-dir', state]);
      assert.equal(recs.doc.records.length, 1, said(recs));
      if (step === 'copied') assert.match(again.stdout, /finished the move interrupted after its record \(seq \d+\)/);
    });
  }

  it('refuses a folder inside .state, nothing to move, --before-seq past the closed segments and a damaged segment, changing nothing', async () => {
    const { state, arch } = await rotated();
    const names = segments(join(state, 'log'));
    const refuse = async (args: string[], re: RegExp, code = 2) => {
      const r = await cairn(['log-archive', ...args, '--state-dir', state]);
      assert.equal(r.code, code, said(r));
      assert.match(r.stderr, re);
      assert.deepEqual(segments(join(state, 'log')), names);
    };
    await refuse(['--to', join(state, 'old'), '--keep-segments', '0'], /inside the state folder/);
    await refuse(['--to', arch, '--keep-segments', String(names.length)], new RegExp(`nothing to move: the log has ${names.length} closed segment\\(s\\) and --keep-segments ${names.length} keeps them all`));
    await refuse(['--to', arch, '--keep-segments', String(names.length + 5)], /keeps them all/);
    await refuse(['--to', arch, '--before-seq', '100000'], /beyond the last closed segment/);
    const seg = join(state, 'log', names[0]!);
    const bytes = readFileSync(seg);
    bytes[bytes.length - 6] ^= 0xff;
    writeFileSync(seg, bytes);
    await refuse(['--to', arch, '--keep-segments', '0'], /damaged/, 3);
    assert.equal(existsSync(arch) ? segments(arch).length : 0, 0);
  });
});
