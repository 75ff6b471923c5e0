// Given/when/then over records (after Emmett's deciderSpecification): a World holds a State built
// only by applying records, `when` asks `decide` for the records a command gives (and checks that
// deciding changed nothing), `given` commits records the way the store does (envelope, crc chain).
import assert from 'node:assert/strict';
import { encodeRecord } from '../../src/log/codec.js';
import { apply } from '../../src/model/apply.js';
import { RECORD_TYPES } from '../../src/model/catalogue.js';
import { decide, type Command } from '../../src/model/decide.js';
import { parseSpec } from '../../src/model/spec.js';
import { State } from '../../src/model/state.js';
import type { Draft, LogRecord, TaskOutcome, WorkstreamSpec } from '../../src/model/types.js';
import { stateDocument } from './state.js';

/** The fixed "now" of model tests; a test that needs time to pass adds to it. */
export const T0 = Date.parse('2030-01-01T00:00:00.000Z');
export const iso = (ms: number): string => new Date(ms).toISOString();

/** A spec as a user writes it, normalized by the real parser (every default filled in). */
export function spec(input: Record<string, unknown>): WorkstreamSpec {
  return parseSpec(input, { defaultId: () => 'ws-default' });
}

/** Turns drafts into log records exactly as the store does: seq, id, ts, severity, operator, crc chain. */
export function toRecords(drafts: Draft[], prev: { seq: number; crc: string }, now: number): LogRecord[] {
  let seq = prev.seq;
  let crc = parseInt(prev.crc, 16);
  return drafts.map((d) => {
    const { type, severity, operator, reason, caused_by, ...rest } = d;
    seq += 1;
    const enc = encodeRecord({
      seq, id: `01TEST${String(seq).padStart(20, '0')}`, ts: iso(now), type,
      severity: severity ?? RECORD_TYPES[type].severity, operator: operator ?? null,
      ...(reason !== undefined ? { reason } : {}), ...(caused_by !== undefined ? { caused_by } : {}), ...rest,
    } as Omit<LogRecord, 'crc'>, crc);
    crc = enc.crc;
    return enc.record;
  });
}

export const ok = (duration_ms = 10): TaskOutcome => ({ kind: 'exit', exit_code: 0, signal: null, duration_ms, message: null });
export const exit = (code: number, duration_ms = 10): TaskOutcome => ({ kind: 'exit', exit_code: code, signal: null, duration_ms, message: null });
export const timeout = (duration_ms = 1000): TaskOutcome => ({ kind: 'timeout', exit_code: null, signal: 'SIGTERM', duration_ms, message: 'deadline passed' });
export const lost = (): TaskOutcome => ({ kind: 'worker_lost', exit_code: null, signal: null, duration_ms: 0, message: 'worker died' });

/** `type subject→to` for each record: a one-line picture of what a decision says. */
export function picture(records: readonly Draft[]): string[] {
  return records.map((r) => {
    const subject = typeof r.task_id === 'string' && r.type.startsWith('task_') ? `${String(r.workstream_id)}/${r.task_id}`
      : r.type.startsWith('workstream_') ? String(r.workstream_id)
        : typeof r.worker_id === 'string' && r.type.startsWith('worker_') ? String(r.worker_id)
          : typeof r.resource_id === 'string' ? String(r.resource_id)
            : '';
    return `${r.type}${subject ? ` ${subject}` : ''}${typeof r.to === 'string' ? `→${r.to}` : ''}`;
  });
}

/** A state that only records change, with commands to drive it. */
export class World {
  readonly state = new State();
  /** Every record committed so far, in order. */
  readonly log: LogRecord[] = [];

  /** Given: appends these records (as decided elsewhere) and applies them. */
  given(drafts: Draft[], now = T0): LogRecord[] {
    const records = toRecords(drafts, { seq: this.state.seq, crc: this.state.crc }, now);
    for (const r of records) {
      apply(this.state, r);
      this.log.push(r);
    }
    return records;
  }

  /** When: the records `decide` gives for `cmd`, without committing them; deciding must not change the state. */
  when(cmd: Command, now = T0): Draft[] {
    const before = JSON.stringify(stateDocument(this.state));
    const out = decide(this.state, cmd, { now });
    assert.equal(JSON.stringify(stateDocument(this.state)), before, `decide(${cmd.kind}) changed the state it was given`);
    return out;
  }

  /** Decides and commits: the usual way to build up the "given" part of a test. */
  do(cmd: Command, now = T0): LogRecord[] {
    return this.given(this.when(cmd, now), now);
  }

  /** The error code `decide` throws for `cmd` (fails the test when it gives records instead). */
  refusal(cmd: Command, now = T0): { code: string; message: string; hint: string | undefined } {
    try {
      const out = this.when(cmd, now);
      assert.fail(`expected ${cmd.kind} to be refused, got ${JSON.stringify(picture(out))}`);
    } catch (e) {
      if (e instanceof assert.AssertionError) throw e;
      const err = e as { code?: string; message: string; hint?: string };
      return { code: String(err.code), message: err.message, hint: err.hint };
    }
  }

  // Short forms of the commands the scheduler gives.
  submit(s: WorkstreamSpec, now = T0) { return this.do({ kind: 'submit', spec: s }, now); }
  worker(id: string, now = T0) { return this.do({ kind: 'worker_start', worker_id: id, pid: 1000, scheduler_id: 'sched-1' }, now); }
  start(ws: string, task: string, worker: string, now = T0) { return this.do(startCmd(ws, task, worker, now), now); }
  outcome(ws: string, task: string, o: TaskOutcome, now = T0, phase: 'command' | 'validate' = 'command') {
    return this.do(outcomeCmd(this, ws, task, o, phase), now);
  }
  task(ws: string, id: string) {
    const t = this.state.task(ws, id);
    assert.ok(t, `no task ${ws}/${id}`);
    return t;
  }
  taskStates(ws: string): Record<string, string> {
    const w = this.state.workstream(ws)!;
    return Object.fromEntries(w.task_ids.map((id) => [id, this.state.task(ws, id)!.state]));
  }
}

export function startCmd(ws: string, task: string, worker: string, now = T0): Command {
  return { kind: 'task_start', workstream_id: ws, task_id: task, worker_id: worker, pid: 4242, pgid: 4242, process_start: '123', scheduler_id: 'sched-1', deadline: iso(now + 60_000) };
}

/** The outcome of the task's current attempt. */
export function outcomeCmd(w: World, ws: string, task: string, o: TaskOutcome, phase: 'command' | 'validate' = 'command'): Command {
  return { kind: 'task_outcome', workstream_id: ws, task_id: task, attempt: w.task(ws, task).attempt, phase, outcome: o };
}
