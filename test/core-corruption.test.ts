// A flipped bit in the middle of the log is damage, not a torn tail: cairn refuses to write (exit 3),
// names the bad seq and the command that repairs it, and changes nothing in .state.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CairnError, init, submit } from '../src/index.js';
import { Store } from '../src/store/store.js';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { spec } from './helpers/model.js';
import { scratch } from './helpers/tmp.js';
import { assertTreeUnchanged, readTree } from './helpers/tree.js';

const base = scratch('cairn-corrupt-');
const SPEC_FILE = join(base, 'more.json');
let log: Buffer;
let starts: number[];

function lineStarts(buf: Buffer): number[] {
  const out = [0];
  for (let i = 0; i < buf.length; i++) if (buf[i] === 10) out.push(i + 1);
  return out;
}

/** A state folder written by the real store: three submits, nine records, derived files and a backup. */
async function realState(dir: string): Promise<void> {
  init({ stateDir: dir });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ backup_interval_ms: 0 }));
  await submit({ stateDir: dir, spec: spec({ id: 'one', resources: { db: { max_holders: 1 } }, tasks: [{ id: 'a', command: 'true', resources: ['db'] }, { id: 'b', command: 'true', depends_on: ['a'] }] }) });
  await submit({ stateDir: dir, spec: spec({ id: 'two', tasks: [{ id: 'a', command: 'true' }] }) });
  await submit({ stateDir: dir, spec: spec({ id: 'three', tasks: [{ id: 'a', command: 'true' }] }) });
}

before(async () => {
  const dir = join(base, 'reference');
  await realState(dir);
  log = readFileSync(join(dir, 'transitions.jsonl'));
  starts = lineStarts(log);
  writeFileSync(SPEC_FILE, JSON.stringify({ id: 'more', tasks: [{ id: 'x', command: 'true' }] }));
});

function flipped(at: number, bit: number): Buffer {
  const copy = Buffer.from(log);
  copy[at]! ^= 1 << bit;
  return copy;
}

describe('a flipped bit in a middle record', () => {
  it('makes the store refuse to open with LOG_CORRUPT naming that seq, whichever byte of whichever record it hits', async () => {
    const dir = join(base, 'sweep');
    await realState(dir);
    const records = starts.length - 1;
    const wrong: string[] = [];
    // Every byte of every record but the last (a damaged last record is a torn tail): all 8 bits of
    // the first 8 bytes and of the crc field and newline, one bit (in turn) of each byte between.
    for (let seq = 1; seq < records; seq++) {
      const [from, to] = [starts[seq - 1]!, starts[seq]!];
      for (let at = from; at < to; at++) {
        const all = at - from < 8 || to - at <= 20;
        for (const bit of all ? [0, 1, 2, 3, 4, 5, 6, 7] : [at % 8]) {
          writeFileSync(join(dir, 'transitions.jsonl'), flipped(at, bit));
          let store: Store | null = null;
          try {
            store = await Store.open(dir);
          } catch (e) {
            if (e instanceof CairnError && e.code === 'LOG_CORRUPT' && e.details.seq === seq) continue;
            wrong.push(`seq ${seq} byte ${at - starts[seq - 1]!} bit ${bit}: ${e instanceof CairnError ? `${e.code} seq ${String(e.details.seq)}` : String(e)}`);
            continue;
          }
          wrong.push(`seq ${seq} byte ${at - starts[seq - 1]!} (${JSON.stringify(String.fromCharCode(log[at]!))}) bit ${bit}: opened (${store.warnings.join('; ')})`);
          await store.close();
          for (const f of readdirSync(dir)) if (f.startsWith('transitions.jsonl.torn-')) rmSync(join(dir, f));
        }
      }
    }
    assert.deepEqual(wrong.slice(0, 40), [], `${wrong.length} flips were not refused as mid-log corruption`);
  });

  describe('through the CLI', () => {
    let dir: string;
    let tree: ReturnType<typeof readTree>;
    const BAD_SEQ = 4;

    before(async () => {
      dir = join(base, 'cli');
      await realState(dir);
      // A bit of the task id inside record 4 ("two" becomes "twm").
      const line = log.subarray(starts[BAD_SEQ - 1]!, starts[BAD_SEQ]!).toString();
      const at = starts[BAD_SEQ - 1]! + line.indexOf('"workstream_id":"two"') + '"workstream_id":"tw'.length;
      writeFileSync(join(dir, 'transitions.jsonl'), flipped(at, 1));
      tree = readTree(dir);
    });

    const refusals: [string, string[]][] = [
      ['submit', ['submit', SPEC_FILE]],
      ['status', ['status']],
      ['run (resume)', ['run', '--workers', '1']],
      ['restore-state --from-transitions', ['restore-state', '--from-transitions', 'TRANSITIONS', '--yes']],
      ['restore-state --from-backup latest', ['restore-state', '--from-backup', 'latest', '--yes']],
    ];
    for (const [name, args] of refusals) {
      it(`refuses ${name} with exit 3, naming seq ${BAD_SEQ} and repair-state, and writes nothing`, async () => {
        const argv = args.map((a) => (a === 'TRANSITIONS' ? join(dir, 'transitions.jsonl') : a));
        const r = await cairn([...argv, '--state-dir', dir]);
        assert.equal(r.code, 3, said(r));
        assert.match(r.stderr, /error \[LOG_CORRUPT\]: .*\bseq 4\b/, said(r));
        assert.match(r.stderr, /hint: .*cairn repair-state/, said(r));
        assertTreeUnchanged(tree, readTree(dir), '.state');
      });
    }

    it('says the same in one JSON document with --json', async () => {
      const r = await cairnJson(['submit', SPEC_FILE, '--state-dir', dir]);
      assert.equal(r.code, 3);
      assert.equal(r.doc.ok, false);
      assert.equal(r.doc.error.code, 'LOG_CORRUPT');
      assert.equal(r.doc.error.details.seq, BAD_SEQ);
      assert.match(r.doc.error.hint, /repair-state/);
      assertTreeUnchanged(tree, readTree(dir), '.state');
    });

    it('is reported by validate-state (exit 1) with the seq and the fix, changing nothing', async () => {
      const r = await cairnJson(['validate-state', '--state-dir', dir]);
      assert.equal(r.code, 1, said(r));
      const p = r.doc.problems.find((x: { code: string }) => x.code === 'LOG_CORRUPT');
      assert.ok(p, JSON.stringify(r.doc.problems));
      assert.match(p.message, /\bseq 4\b/);
      assert.match(p.fix, /repair-state/);
      assertTreeUnchanged(tree, readTree(dir), '.state');
    });
  });
});

describe('a crc-valid record crafted with a __proto__ key or deep nesting', () => {
  // Damage behind the checksum (the crc recomputed, as someone editing the log by hand would):
  // only the checks after parsing can catch it, and however the key is spelled it is refused.
  for (const [name, key, code] of [
    ['a plain __proto__ key', '"__proto__"', 'LOG_CORRUPT'],
    ['a \\u005f-escaped __proto__ key', '"\\u005f_proto__"', 'LOG_CORRUPT'],
    ['nesting 100,000 deep', null, 'LOG_INVALID'],
  ] as const) {
    it(`refuses ${name} with ${code} naming its seq`, async () => {
      const dir = join(scratch('cairn-crafted-'), '.state');
      init({ stateDir: dir });
      const lines = [
        { seq: 1, id: '01JN8BG900B6GR48QH7ECGPZ10', ts: '2025-03-01T08:00:00.000Z', type: 'scheduler_stopped', severity: 'info', operator: null },
      ];
      const text = JSON.stringify(lines[0]).slice(0, -1);
      const crafted = key === null
        ? `${text},"reason":${'['.repeat(100_000)}${']'.repeat(100_000)}`
        : `${text},"reason":"x",${key}:{"polluted":true}`;
      const crc = crc32(Buffer.from('}'), crc32(Buffer.from(crafted), 0));
      writeFileSync(join(dir, 'transitions.jsonl'), `${crafted},"crc":"${crc.toString(16).padStart(8, '0')}"}\n`);
      await assert.rejects(Store.open(dir, { readOnly: true }), (e: unknown) => e instanceof CairnError && e.code === code && /seq 1\b/.test(e.message));
      assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype was touched');
    });
  }
});
