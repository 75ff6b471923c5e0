// Golden logs (after Temporal's history files): every log a real cairn wrote, kept forever in
// test/fixtures/logs/, must replay to exactly the state stored next to it. NEVER regenerate these
// files to make this test pass: a new record format gets new files (see test/fixtures/logs/README.md).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeRecord } from '../src/log/codec.js';
import { checkInvariants } from '../src/model/invariants.js';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { FIXTURES } from './helpers/paths.js';
import { replayLog, stateDocument } from './helpers/state.js';
import { scratch } from './helpers/tmp.js';

const LOGS = join(FIXTURES, 'logs');

/** What each log is about, spelled out (the .state.json files hold every other field). */
const STORY: Record<string, { workstream: string; state: string; tasks: Record<string, [state: string, attempt: number, retry_count: number]> }> = {
  'v1-nightly-flaky-and-failing': {
    workstream: 'nightly', state: 'failed',
    tasks: { fetch: ['completed', 1, 0], flaky: ['completed', 2, 1], lint: ['failed', 2, 1], build: ['completed', 1, 0], publish: ['blocked', 0, 0] },
  },
  'v1-release-critical-failure': {
    workstream: 'release', state: 'failed',
    tasks: { prepare: ['completed', 1, 0], migrate: ['failed', 1, 0], long: ['cancelled', 1, 0], deploy: ['cancelled', 0, 0] },
  },
  'v1-hello-completed': {
    workstream: 'hello', state: 'completed',
    tasks: { fetch: ['completed', 1, 0], lint: ['completed', 1, 0], test: ['completed', 1, 0], build: ['completed', 1, 0], report: ['completed', 1, 0] },
  },
};
const names = readdirSync(LOGS).filter((f) => f.endsWith('.jsonl')).map((f) => f.slice(0, -'.jsonl'.length)).sort();

describe('golden logs', () => {
  it('are all here, each with its expected state', () => {
    assert.ok(names.length >= 3, `golden logs: ${names.join(', ')}`);
    const states = readdirSync(LOGS).filter((f) => f.endsWith('.state.json')).map((f) => f.slice(0, -'.state.json'.length)).sort();
    assert.deepEqual(states, names, 'every log has a .state.json and every .state.json a log');
  });

  for (const name of names) {
    describe(name, () => {
      const file = join(LOGS, `${name}.jsonl`);
      const expected = JSON.parse(readFileSync(join(LOGS, `${name}.state.json`), 'utf8'));

      it('replays to exactly the stored state', () => {
        const state = replayLog(file);
        assert.deepEqual(stateDocument(state), expected);
        assert.deepEqual(checkInvariants(state), [], 'the replayed state keeps every invariant');
        const story = STORY[name];
        if (story) {
          assert.equal(state.workstream(story.workstream)!.state, story.state);
          const tasks = Object.fromEntries(state.workstream(story.workstream)!.task_ids.map((id) => {
            const t = state.task(story.workstream, id)!;
            return [id, [t.state, t.attempt, t.retry_count]];
          }));
          assert.deepEqual(tasks, story.tasks);
        }
      });

      it('is what the encoder writes today, byte for byte (key order, canonical values, crc chain)', () => {
        const lines = readFileSync(file, 'utf8').split('\n').slice(0, -1);
        let crc = 0;
        for (const line of lines) {
          const { crc: _stated, ...rec } = JSON.parse(line) as Record<string, unknown>;
          const enc = encodeRecord(rec as Parameters<typeof encodeRecord>[0], crc);
          assert.equal(enc.line, `${line}\n`, `seq ${String(rec.seq)} re-encodes differently`);
          crc = enc.crc;
        }
      });

      it('becomes a working state folder through restore-state --from-transitions, which validate-state accepts', async () => {
        const dir = join(scratch('cairn-golden-'), '.state');
        const init = await cairn(['init', '--state-dir', dir]);
        assert.equal(init.code, 0, said(init));
        const r = await cairnJson(['restore-state', '--from-transitions', file, '--yes', '--state-dir', dir]);
        assert.equal(r.code, 0, said(r));
        assert.equal(r.doc.seq, expected.seq + 1, 'the log plus one state_restored record');
        const v = await cairn(['validate-state', '--state-dir', dir]);
        assert.equal(v.code, 0, said(v));
        const s = await cairnJson(['status', '--all', '--state-dir', dir]);
        const shown = [...s.doc.workstreams].map((w: { id: string; state: string }) => [w.id, w.state]);
        assert.deepEqual(shown, Object.entries(expected.workstreams).map(([id, w]) => [id, (w as { state: string }).state]));
      });
    });
  }
});
