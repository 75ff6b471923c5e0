// checkpoints_failed_max_age_days: a failed workstream's checkpoint files may be kept longer than a
// finished one's (checkpoints_finished_max_age_days); null makes them follow the finished rule.
// Checked with `cairn prune --dry-run --json` on two real runs, ages set with utimes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';

const DAY_S = 86_400;
/** A backup and checkpoints at every derived write: several checkpoint files per workstream. */
const BUSY = { backup_interval_ms: 0, snapshot_interval_ms: 0 };

function setConfig(state: string, config: Record<string, unknown>): void {
  writeFileSync(join(state, 'config.json'), JSON.stringify(config));
}

/** Checkpoint files of a workstream (checkpoints/<ws>/<seq>.json), oldest first. */
function checkpoints(state: string, ws: string): string[] {
  return readdirSync(join(state, 'checkpoints', ws)).map((f) => Number(f.replace('.json', ''))).sort((a, b) => a - b).map((n) => `checkpoints/${ws}/${n}.json`);
}

function age(state: string, files: string[], days: number): void {
  const t = Date.now() / 1000 - days * DAY_S;
  for (const f of files) utimesSync(join(state, f), t, t);
}

type Removal = { file: string; rule: string; why: string };

async function dryRun(state: string): Promise<Removal[]> {
  const r = await cairnJson(['prune', '--dry-run', '--state-dir', state]);
  assert.equal(r.code, 0, said(r));
  return (r.doc.removed as Removal[]).filter((x) => x.file.startsWith('checkpoints/'));
}

describe('checkpoints_failed_max_age_days', () => {
  it('keeps a failed workstream\'s checkpoints past the finished limit, removes them past its own, and follows the finished limit when null', async () => {
    const dir = scratch();
    const state = join(dir, 'st');
    assert.equal((await cairn(['init', '--state-dir', state])).code, 0);
    setConfig(state, BUSY);
    const spec = (id: string, last: string) => {
      const f = join(dir, `${id}.json`);
      writeFileSync(f, JSON.stringify({ id, defaults: { max_retries: 0 }, tasks: [{ id: 'a', command: 'true' }, { id: 'b', command: 'true', depends_on: ['a'] }, { id: 'c', command: last, depends_on: ['b'] }] }));
      return f;
    };
    const ok = await cairn(['run', spec('done', 'true'), '--workers', '1', '--state-dir', state]);
    assert.equal(ok.code, 0, said(ok));
    const bad = await cairn(['run', spec('broke', 'false'), '--workers', '1', '--state-dir', state]);
    assert.equal(bad.code, 1, said(bad));
    const done = checkpoints(state, 'done');
    const broke = checkpoints(state, 'broke');
    assert.ok(done.length >= 2 && broke.length >= 2, [...done, ...broke].join('\n'));
    age(state, [...done, ...broke], 10);

    setConfig(state, { ...BUSY, checkpoints_finished_max_age_days: 7, checkpoints_failed_max_age_days: 30 });
    let removed = await dryRun(state);
    // Every file but the latest of the completed workstream; none of the failed one's at 10 days.
    assert.deepEqual(removed.map((x) => [x.file, x.rule]), done.slice(0, -1).map((f) => [f, 'checkpoints_finished_max_age_days']));

    age(state, broke, 40);
    removed = await dryRun(state);
    assert.deepEqual(removed.filter((x) => x.file.startsWith('checkpoints/broke/')).map((x) => [x.file, x.rule]), broke.slice(0, -1).map((f) => [f, 'checkpoints_failed_max_age_days']));
    assert.match(removed.find((x) => x.file === broke[0])!.why, /40\.0 days old, older than 30 days, of failed workstream broke/);

    age(state, broke, 10);
    setConfig(state, { ...BUSY, checkpoints_finished_max_age_days: 7, checkpoints_failed_max_age_days: null });
    removed = await dryRun(state);
    assert.deepEqual(removed.map((x) => [x.file, x.rule]).sort(), [...done.slice(0, -1), ...broke.slice(0, -1)].map((f) => [f, 'checkpoints_finished_max_age_days']).sort());
    assert.deepEqual(checkpoints(state, 'broke'), broke, 'a dry run removes nothing');
  });
});
