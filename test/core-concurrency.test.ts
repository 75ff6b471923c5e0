// Four processes append through the public API at the same time: every batch lands whole, once, in
// a gap-free crc chain, and replaying the log gives exactly the snapshot the last writer left.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CairnError, init, status, validateState } from '../src/index.js';
import { decide } from '../src/model/decide.js';
import { parseSpec } from '../src/model/spec.js';
import { readConfig } from '../src/store/config.js';
import { realFs } from '../src/store/fsio.js';
import { StatePaths } from '../src/store/paths.js';
import { replaceLog } from '../src/store/replace.js';
import { Store } from '../src/store/store.js';
import { statusOf } from '../src/api/status.js';
import { verifyLine } from '../src/log/codec.js';
import { HELPERS_DIST } from './helpers/paths.js';
import { replayLog } from './helpers/state.js';
import { scratch } from './helpers/tmp.js';

const PROCESSES = 4;
const BATCHES = 250;

function submitter(stateDir: string, prefix: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(HELPERS_DIST, 'submitter.js'), stateDir, prefix, String(BATCHES)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('four processes appending at once', () => {
  it(`commits ${PROCESSES * BATCHES} batches whole, gap-free and chained, and the replay equals the snapshot`, { timeout: 300_000 }, async () => {
    const dir = join(scratch('cairn-concurrent-'), '.state');
    init({ stateDir: dir });
    const prefixes = Array.from({ length: PROCESSES }, (_, i) => `p${i + 1}`);
    const results = await Promise.all(prefixes.map((p) => submitter(dir, p)));
    for (const [i, r] of results.entries()) assert.equal(r.code, 0, `process ${prefixes[i]} failed:\n${r.stderr}`);

    const log = readFileSync(join(dir, 'transitions.jsonl'));
    const records: { seq: number; type: string; workstream_id?: string }[] = [];
    let start = 0;
    let crc = 0;
    while (start < log.length) {
      const nl = log.indexOf(10, start);
      assert.ok(nl > 0, 'every record ends with a newline');
      const rec = JSON.parse(log.toString('utf8', start, nl));
      assert.equal(rec.seq, records.length + 1, 'seq is gap-free');
      crc = verifyLine(log, start, nl, crc);
      assert.ok(crc >= 0, `the crc chain holds at seq ${rec.seq}`);
      records.push(rec);
      start = nl + 1;
    }

    // One submit = one batch of 3 records (submitted, task queued, started), never interleaved with another.
    const submitted = records.filter((r) => r.type === 'workstream_submitted');
    assert.equal(submitted.length, PROCESSES * BATCHES);
    assert.equal(records.length, 3 * PROCESSES * BATCHES);
    for (const s of submitted) {
      const batch = records.slice(s.seq - 1, s.seq + 2);
      assert.deepEqual(batch.map((r) => [r.type, r.workstream_id]), [
        ['workstream_submitted', s.workstream_id], ['task_queued', s.workstream_id], ['workstream_started', s.workstream_id],
      ], `the batch of ${s.workstream_id} is whole`);
    }
    for (const p of prefixes) {
      const mine = submitted.filter((r) => r.workstream_id!.startsWith(`${p}-`)).map((r) => Number(r.workstream_id!.slice(p.length + 1)));
      assert.deepEqual(mine, Array.from({ length: BATCHES }, (_, i) => i + 1), `every batch of ${p} once, in the order it was made`);
    }

    const report = validateState({ stateDir: dir });
    assert.deepEqual(report.problems, [], 'validate-state: replay equals current.json and every derived file');
    assert.equal(report.seq, records.length);
    const shown = await status({ stateDir: dir });
    assert.equal(shown.loaded_from, 'current.json');
    const replayed = replayLog(join(dir, 'transitions.jsonl'));
    const { loaded_from: _a, warnings: _b, ...fromSnapshot } = shown;
    const { loaded_from: _c, warnings: _d, ...fromReplay } = statusOf(replayed, {}, { seq: replayed.seq, source: 'log', warnings: [] });
    assert.deepEqual(JSON.parse(JSON.stringify(fromSnapshot)), JSON.parse(JSON.stringify(fromReplay)));
  });
});

describe('a log replaced while a writer has it open', () => {
  it('refuses the next commit with LOG_REPLACED instead of appending to the old, unlinked file', async () => {
    const dir = join(scratch('cairn-replaced-'), '.state');
    init({ stateDir: dir });
    const writer = await Store.open(dir);
    await writer.commit((s, now) => decide(s, { kind: 'submit', spec: parseSpec({ id: 'first', tasks: [{ id: 'a', command: 'true' }] }, { defaultId: () => 'x' }) }, { now }));
    // Another process installs a different log: the same history cut back to nothing.
    const other = join(dirname(dir), 'other.jsonl');
    writeFileSync(other, '');
    await replaceLog(realFs, new StatePaths(dir), other, readConfig(realFs, new StatePaths(dir)), Date.now());
    await assert.rejects(
      writer.commit((s, now) => decide(s, { kind: 'submit', spec: parseSpec({ id: 'second', tasks: [{ id: 'a', command: 'true' }] }, { defaultId: () => 'x' }) }, { now })),
      (e: unknown) => e instanceof CairnError && e.code === 'LOG_REPLACED' && /run the command again/i.test(e.hint ?? ''),
    );
    assert.equal(readFileSync(join(dir, 'transitions.jsonl'), 'utf8'), '', 'nothing was appended to the new log');
    const fresh = await Store.open(dir, { readOnly: true });
    assert.equal(fresh.state.workstream('second'), undefined);
  });
});
