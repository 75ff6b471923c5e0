// The encoder remembers a key plan per record shape (codec.ts planFor) and the store encodes
// drafts straight into their envelope (encodeDraft). Both must give, for any key order a caller
// builds its objects in, exactly the bytes of the one canonical line; these tests hold them to the
// golden logs' lines and to crafted shapes that a stale plan would get wrong.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeDraft, encodeRecord } from '../src/log/codec.js';
import type { LogRecord } from '../src/model/types.js';
import { FIXTURES } from './helpers/paths.js';

const LOGS = join(FIXTURES, 'logs');
const lines = readdirSync(LOGS).filter((f) => f.endsWith('.jsonl')).sort()
  .flatMap((f) => readFileSync(join(LOGS, f), 'utf8').split('\n').slice(0, -1));

/** The crc a golden line is chained on: each log's chain starts afresh at seq 1. */
const chainStart = (line: string, crc: number): number => (line.startsWith('{"seq":1,') ? 0 : crc);

/** A deterministic shuffle (mulberry32), so a failure names a reproducible order. */
function shuffled<T>(xs: readonly T[], seed: number): T[] {
  let a = seed >>> 0;
  const rnd = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** The same entries as `o`, inserted in the order `keys`. */
function reordered(o: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = o[k];
  return out;
}

const ENVELOPE = ['seq', 'id', 'ts', 'batch', 'severity', 'operator', 'crc'];

describe('encoding records', () => {
  it('has golden lines to check against', () => {
    assert.ok(lines.length > 50, `only ${lines.length} golden lines`);
  });

  it('gives every golden line byte for byte whatever order the record keys were built in (more shapes per type than are remembered)', () => {
    for (let seed = 1; seed <= 12; seed++) {
      let crc = 0;
      for (const line of lines) {
        crc = chainStart(line, crc);
        const { crc: stated, ...rec } = JSON.parse(line) as Record<string, unknown>;
        const enc = encodeRecord(reordered(rec, shuffled(Object.keys(rec), seed * 7919 + Number(rec.seq))) as Omit<LogRecord, 'crc'>, crc);
        assert.equal(enc.line, `${line}\n`, `seq ${String(rec.seq)} with key order seed ${seed}`);
        assert.equal(enc.record.crc, stated);
        crc = enc.crc;
      }
    }
  });

  it('gives every golden line from its draft and envelope (encodeDraft), in any key order', () => {
    for (let seed = 1; seed <= 12; seed++) {
      let crc = 0;
      for (const line of lines) {
        crc = chainStart(line, crc);
        const rec = JSON.parse(line) as Record<string, unknown>;
        const draft: Record<string, unknown> = {};
        for (const k of shuffled(Object.keys(rec), seed * 104729 + Number(rec.seq))) {
          // A draft carries no envelope; severity and operator are its own when they differ from the defaults given.
          if (!ENVELOPE.includes(k)) draft[k] = rec[k];
        }
        if (rec.operator !== null) draft.operator = rec.operator;
        const env = { seq: rec.seq as number, id: rec.id as string, ts: rec.ts as string, batch: (rec.batch as number | undefined) ?? 0, severity: rec.severity as string, operator: null };
        const enc = encodeDraft(draft as { type: string }, env, crc);
        assert.equal(enc.line, `${line}\n`, `seq ${String(rec.seq)} with key order seed ${seed}`);
        crc = enc.crc;
      }
    }
  });

  it('returns the record JSON.parse gives of its line, keys in the same order', () => {
    for (const line of lines) {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      const { crc: _c, ...rec } = parsed;
      const enc = encodeRecord(reordered(rec, Object.keys(rec).reverse()) as Omit<LogRecord, 'crc'>, 0);
      const again = JSON.parse(enc.line) as Record<string, unknown>;
      assert.deepEqual(enc.record, again);
      assert.deepEqual(Object.keys(enc.record), Object.keys(again));
    }
  });

  it('does not reuse a plan for other keys of the same count, and leaves undefined values out', () => {
    const env = { seq: 7, id: '01TEST00000000000000000007', ts: '2026-01-01T00:00:00.000Z', batch: 0, severity: 'info', operator: null };
    const a = encodeDraft({ type: 'task_queued', workstream_id: 'w', task_id: 't', zeta: 1 }, env, 0);
    const b = encodeDraft({ type: 'task_queued', workstream_id: 'w', task_id: 't', alpha: 2 }, env, 0);
    const c = encodeDraft({ type: 'task_queued', workstream_id: 'w', task_id: 't', alpha: undefined, trigger: 'retry_due' }, env, 0);
    assert.match(a.line, /"task_id":"t","zeta":1,"crc"/);
    assert.match(b.line, /"task_id":"t","alpha":2,"crc"/);
    assert.match(c.line, /"task_id":"t","trigger":"retry_due","crc"/);
    assert.ok(!('alpha' in c.record), 'an undefined value is not a key of the record');
  });

  it('writes nested values canonically and copies them', () => {
    const env = { seq: 1, id: '01TEST00000000000000000001', ts: '2026-01-01T00:00:00.000Z', batch: 0, severity: 'warning', operator: null };
    const outcome = { message: 'exit code 1', kind: 'exit', signal: null, exit_code: 1, duration_ms: 5, extra: undefined };
    const enc = encodeDraft({ type: 'task_attempt_failed', workstream_id: 'w', task_id: 't', outcome }, env, 0);
    assert.match(enc.line, /"outcome":\{"duration_ms":5,"exit_code":1,"kind":"exit","message":"exit code 1","signal":null\}/);
    assert.notEqual(enc.record.outcome, outcome, 'the record has its own copy');
  });

  it('takes the envelope from the store, not from the draft, except the draft\'s own severity and operator', () => {
    const env = { seq: 9, id: '01TEST00000000000000000009', ts: '2026-01-01T00:00:00.000Z', batch: 3, severity: 'info', operator: null };
    const enc = encodeDraft({ type: 'task_queued', seq: 1, id: 'x', ts: 'y', batch: 99, crc: 'zzzzzzzz', severity: 'warning', operator: 'ana', workstream_id: 'w' }, env, 0);
    const r = JSON.parse(enc.line) as Record<string, unknown>;
    assert.deepEqual(Object.keys(r), ['seq', 'id', 'ts', 'type', 'batch', 'severity', 'operator', 'workstream_id', 'crc']);
    assert.deepEqual([r.seq, r.id, r.ts, r.batch, r.severity, r.operator], [9, env.id, env.ts, 3, 'warning', 'ana']);
    const plain = encodeDraft({ type: 'task_queued', workstream_id: 'w' }, { ...env, batch: 0 }, 0);
    assert.deepEqual(Object.keys(JSON.parse(plain.line) as object), ['seq', 'id', 'ts', 'type', 'severity', 'operator', 'workstream_id', 'crc']);
  });

  it('chains the crc exactly as the verifier checks it', async () => {
    const { verifyLine } = await import('../src/log/codec.js');
    let crc = 0x1234abcd;
    for (const line of lines.slice(0, 40)) {
      const { crc: _c, ...rec } = JSON.parse(line) as Record<string, unknown>;
      const enc = encodeRecord(rec as Omit<LogRecord, 'crc'>, crc);
      const buf = Buffer.from(enc.line);
      assert.equal(verifyLine(buf, 0, buf.length - 1, crc), enc.crc);
      assert.equal(verifyLine(buf, 0, buf.length - 1, (crc ^ 1) >>> 0), -1);
      crc = enc.crc;
    }
  });
});
