// The long passes over the log (a replay, a copy) run before the state lock is taken; under it
// only the end of the log is checked and what was appended meanwhile is read (src/store/long-pass.ts,
// issue 11 §2). A file-system layer that counts the bytes read from log files while this process
// holds the state lock shows it for every recovery that reads the whole log, on a quiet machine;
// core-lock-busy.test.ts shows what it is for on a busy one.
import * as fs from 'node:fs';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { baseRecords, simulate, type SimOptions } from '../bench/gen.js';
import { init, repairState, restoreState } from '../src/index.js';
import { type FsLayer, realFs } from '../src/store/fsio.js';
import { StatePaths } from '../src/store/paths.js';
import { scratch } from './helpers/tmp.js';

const SIM: Omit<SimOptions, 'churnRecords'> = { workstreamId: 'nightly-build', tasks: 40, layerWidth: 8, workers: 2 };

/** realFs, counting the bytes read from `*.jsonl*` files while the state lock's owner file exists. */
function watching(paths: StatePaths): FsLayer & { underLock: number; total: number } {
  const owner = join(`${paths.stateLockTarget}.lock`, 'owner');
  const logs = new Set<number>();
  const w = {
    ...realFs,
    underLock: 0,
    total: 0,
    openSync(p: string, flags: number, mode?: number): number {
      const fd = realFs.openSync(p, flags, mode);
      if (basename(p).includes('.jsonl')) logs.add(fd);
      return fd;
    },
    closeSync(fd: number): void {
      logs.delete(fd);
      realFs.closeSync(fd);
    },
    readSync(fd: number, b: Buffer, o: number, l: number, pos: number | null): number {
      const n = realFs.readSync(fd, b, o, l, pos);
      if (logs.has(fd)) {
        w.total += n;
        if (fs.existsSync(owner)) w.underLock += n;
      }
      return n;
    },
  };
  return w;
}

async function stateWithLog(n: number): Promise<{ root: string; paths: StatePaths; copy: string; records: number }> {
  const dir = scratch('cairn-long-pass-');
  const root = join(dir, '.state');
  await init({ stateDir: root });
  const paths = new StatePaths(root);
  const base = baseRecords(SIM, join(dir, 'base.jsonl'));
  const { records } = simulate(paths.log, { ...SIM, churnRecords: n - base });
  const copy = join(dir, 'copy.jsonl');
  fs.copyFileSync(paths.log, copy);
  return { root, paths, copy, records };
}

/** Under the lock: the last record's crc (19 bytes) or the last 64 bytes of a copy, never the log. */
const LITTLE = 256;

describe('long passes over the log and the state lock', () => {
  it('restore-state --from-transitions reads the log before it takes the state lock', async () => {
    const { root, paths, records } = await stateWithLog(20_000);
    const size = fs.statSync(paths.log).size;
    const io = watching(paths);
    const r = await restoreState({ stateDir: root, fs: io, fromTransitions: paths.log, operator: 'tester' });
    assert.equal(r.seq, records + 1);
    assert.ok(io.total >= 2 * size, `the log is read whole, twice (${io.total} bytes of ${size})`);
    assert.ok(io.underLock < LITTLE, `${io.underLock} bytes of the log were read under the state lock`);
  });

  it('restore-state --from-backup latest replays the log after the backup before it takes the state lock', async () => {
    const { root, paths, records } = await stateWithLog(20_000);
    // The empty current.json of init (seq 0) becomes the only backup: the replay after it is the whole log.
    await restoreState({ stateDir: root, fromTransitions: paths.log, operator: 'tester' });
    const io = watching(paths);
    const r = await restoreState({ stateDir: root, fs: io, fromBackup: 'latest', operator: 'tester' });
    assert.match(r.source, /_0\.json$/);
    assert.equal(r.seq, records + 2);
    assert.ok(io.underLock < LITTLE, `${io.underLock} bytes of the log were read under the state lock`);
  });

  it('restore-state --from-transitions <other file> copies both logs before it takes the state lock', async () => {
    const { root, paths, copy, records } = await stateWithLog(20_000);
    await restoreState({ stateDir: root, fromTransitions: paths.log, operator: 'tester' });
    const old = fs.readFileSync(paths.log);
    const io = watching(paths);
    const r = await restoreState({ stateDir: root, fs: io, fromTransitions: copy, operator: 'tester' });
    assert.equal(r.seq, records + 1);
    assert.ok(fs.readFileSync(join(root, r.replaced_log!)).equals(old), 'the old log (with the first restore recorded) is kept whole');
    assert.ok(io.underLock < LITTLE, `${io.underLock} bytes of the logs were read under the state lock`);
  });

  it('repair-state rebuilds the derived files from a replay made before it takes the state lock', async () => {
    const { root, paths } = await stateWithLog(20_000);
    fs.writeFileSync(paths.metrics, '{}\n');
    const io = watching(paths);
    const r = await repairState({ stateDir: root, fs: io, operator: 'tester', reason: 'test' });
    assert.ok(r.actions.some((a) => /^rebuilt current\.json/.test(a)), r.actions.join('; '));
    assert.ok(io.underLock < LITTLE, `${io.underLock} bytes of the log were read under the state lock`);
  });
});
