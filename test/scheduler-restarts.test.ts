// The pacing of worker replacements, as pure bookkeeping: no test sleeps to check a backoff.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_CONFIG } from '../src/schemas/config.js';
import { DeathRow, restartDelayMs } from '../src/scheduler/restarts.js';

const cfg = { worker_restart_base_ms: 100, worker_restart_cap_ms: 1_000, worker_deaths_limit: 4 };

describe('worker restarts', () => {
  it('wait base · 2^(deaths in a row − 1), capped, and nothing before any death', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5, 100].map((n) => restartDelayMs(n, cfg)), [0, 100, 200, 400, 800, 1_000, 1_000]);
  });

  it('give up at the limit of deaths in a row, naming every dead worker\'s log and the last cause', () => {
    const row = new DeathRow(cfg);
    assert.deepEqual([row.died('w1', 'a'), row.died('w2', 'b'), row.died('w2', 'c')], [100, 200, 400]);
    assert.equal(row.died('w3', 'worker w3 exited (code 70): cairn worker 9 crashed: Error: spawn E2BIG'), null);
    const e = row.error((w) => `.state/logs/_workers/${w}.log`);
    assert.equal(e.code, 'WORKERS_FAILING');
    assert.match(e.message, /4 in a row .* the last: worker w3 exited \(code 70\): cairn worker 9 crashed: Error: spawn E2BIG\. Worker logs: \.state\/logs\/_workers\/w1\.log, \.state\/logs\/_workers\/w2\.log, \.state\/logs\/_workers\/w3\.log$/);
    assert.deepEqual(e.details.worker_ids, ['w1', 'w2', 'w3']);
  });

  it('start the row again when a worker reports an attempt', () => {
    const row = new DeathRow(cfg);
    row.died('w1', 'a');
    row.died('w2', 'b');
    row.reset();
    assert.equal(row.died('w3', 'c'), 100);
  });

  it('by default stop after 6 deaths in a row, having waited 3.1 s in all', () => {
    const row = new DeathRow(DEFAULT_CONFIG);
    const waits: (number | null)[] = [];
    for (let i = 1; i <= 6; i++) waits.push(row.died(`w${i}`, 'x'));
    assert.deepEqual(waits, [100, 200, 400, 800, 1_600, null]);
  });
});
