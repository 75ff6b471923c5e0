// cairn backups through the real CLI: every snapshot backup with its seq, time and size, judged
// as restore-state --from-backup judges it: valid (parses, hash holds) and agreeing with the log
// (its crc at that seq); the one --from-backup latest takes is marked. Read-only.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeSnapshotFile } from '../src/store/snapshot-file.js';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';
import { assertTreeUnchanged, readTree } from './helpers/tree.js';

async function withBackups(): Promise<string> {
  const dir = scratch();
  const state = join(dir, 'st');
  assert.equal((await cairn(['init', '--state-dir', state])).code, 0);
  writeFileSync(join(state, 'config.json'), JSON.stringify({ backup_interval_ms: 0 }));
  for (const id of ['a', 'b', 'c']) {
    const spec = join(dir, `${id}.json`);
    writeFileSync(spec, JSON.stringify({ id, tasks: [{ id: 't', command: 'true' }] }));
    const r = await cairn(['run', spec, '--workers', '1', '--state-dir', state]);
    assert.equal(r.code, 0, said(r));
  }
  return state;
}

/** A backup's own file name with another stamp and the same seq (newer than every real one). */
function named(seq: number, minute: number): string {
  return `current_2099-01-01T00-${String(minute).padStart(2, '0')}-00.000Z_${seq}.json`;
}

describe('cairn backups', () => {
  it('lists every backup, newest first, with seq, time and size, each valid and agreeing with the log, and marks the one restore-state takes', async () => {
    const state = await withBackups();
    const files = readdirSync(join(state, 'backups'));
    assert.ok(files.length >= 3, files.join(', '));
    const tree = readTree(state);
    const r = await cairnJson(['backups', '--state-dir', state]);
    assert.equal(r.code, 0, said(r));
    assertTreeUnchanged(tree, readTree(state), 'the state folder after backups');
    assert.deepEqual(r.doc.backups.map((b: any) => b.file).sort(), [...files].sort());
    for (const b of r.doc.backups) {
      assert.equal(b.size, statSync(join(state, 'backups', b.file)).size);
      assert.equal(b.seq, JSON.parse(readFileSync(join(state, 'backups', b.file), 'utf8')).seq);
      assert.match(b.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.deepEqual([b.valid, b.agrees, b.problem], [true, true, null], b.file);
    }
    const times = r.doc.backups.map((b: any) => b.time);
    assert.deepEqual(times, [...times].sort().reverse(), 'newest first');
    const restore = await cairnJson(['restore-state', '--from-backup', 'latest', '--dry-run', '--state-dir', state]);
    assert.equal(restore.code, 0, said(restore));
    assert.equal(`backups/${r.doc.latest}`, restore.doc.source);
    assert.deepEqual(r.doc.backups.filter((b: any) => b.latest).map((b: any) => b.file), [r.doc.latest]);
    const human = await cairn(['backups', '--state-dir', state]);
    assert.match(human.stdout, new RegExp(`\\* ${r.doc.latest.replace(/\./g, '\\.')} +\\d+ +\\S+ +\\d+ +yes +yes`));
  });

  it('says which backups are garbled, edited, or from another history, and restore-state --from-backup latest passes over the same ones', async () => {
    const state = await withBackups();
    const dir = join(state, 'backups');
    const good = (await cairnJson(['backups', '--state-dir', state])).doc.backups[0];
    const doc = JSON.parse(readFileSync(join(dir, good.file), 'utf8'));
    // Garbled: not JSON. Edited: a field changed by hand, the hash left as it was.
    writeFileSync(join(dir, named(doc.seq, 1)), '{"schema_version": 1, "seq": ');
    writeFileSync(join(dir, named(doc.seq, 2)), JSON.stringify({ ...doc, metrics: { ...doc.metrics, edited: 1 } }, null, 2));
    // Another history: a valid snapshot (hash recomputed) whose crc is not the log's at its seq.
    const { hash: _h, ...rest } = { ...doc, crc: doc.crc === '00000000' ? '11111111' : '00000000' };
    writeFileSync(join(dir, named(doc.seq, 3)), encodeSnapshotFile(rest));

    const tree = readTree(state);
    const r = await cairnJson(['backups', '--state-dir', state]);
    assert.equal(r.code, 0, said(r));
    assertTreeUnchanged(tree, readTree(state), 'the state folder after backups');
    const by = new Map(r.doc.backups.map((b: any) => [b.file, b]));
    const v = (m: number) => by.get(named(doc.seq, m)) as any;
    assert.deepEqual(r.doc.backups.slice(0, 3).map((b: any) => b.file), [named(doc.seq, 3), named(doc.seq, 2), named(doc.seq, 1)], 'newest first');
    assert.deepEqual([v(1).valid, v(1).agrees], [false, null]);
    assert.match(v(1).problem, /not valid JSON|JSON/);
    assert.deepEqual([v(2).valid, v(2).agrees], [false, null]);
    assert.match(v(2).problem, /hash does not match/);
    assert.deepEqual([v(3).valid, v(3).agrees], [true, false]);
    assert.match(v(3).problem, /differs from the log's .* \(it belongs to another history\)/);
    assert.equal(r.doc.latest, good.file, 'the newest one that is valid and agrees');
    const restore = await cairnJson(['restore-state', '--from-backup', 'latest', '--dry-run', '--state-dir', state]);
    assert.equal(restore.doc.source, `backups/${good.file}`);
    const human = await cairn(['backups', '--state-dir', state]);
    assert.match(human.stdout, new RegExp(`${named(doc.seq, 2).replace(/\./g, '\\.')} +${doc.seq} .* NO +-`));
    assert.match(human.stdout, new RegExp(`${named(doc.seq, 3).replace(/\./g, '\\.')} +${doc.seq} .* yes +NO`));
  });

  it('says there are none in a fresh state folder', async () => {
    const state = join(scratch(), 'st');
    assert.equal((await cairn(['init', '--state-dir', state])).code, 0);
    const r = await cairnJson(['backups', '--state-dir', state]);
    assert.equal(r.code, 0, said(r));
    assert.deepEqual([r.doc.backups, r.doc.latest], [[], null]);
    assert.match((await cairn(['backups', '--state-dir', state])).stdout, /no backups yet/);
  });
});
