// The transition tables are the whole state machine: for every (state, record type) pair, either the
// table allows it and `apply` accepts a record with that from/to, or the decider refuses it with
// ILLEGAL_TRANSITION and `apply` refuses the record with LOG_INVALID naming its seq (never ignores it).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CairnError } from '../src/errors.js';
import { RECORD_TYPES, RECORD_TYPE_NAMES, type RecordType } from '../src/model/catalogue.js';
import { Decision } from '../src/model/decision.js';
import { TASK_STATES, WORKER_STATES, WORKSTREAM_STATES, type TaskState, type WorkerState, type WorkstreamState } from '../src/model/states.js';
import { TASK_DEFINITION_CHANGES, TASK_TRANSITIONS, WORKER_TRANSITIONS, WORKSTREAM_TRANSITIONS, allowedTargets } from '../src/model/transitions.js';
import { defOf } from '../src/model/task-def.js';
import type { Draft } from '../src/model/types.js';
import { T0, World, exit, iso, ok, spec, startCmd } from './helpers/model.js';

/** Record types that appear in some row of a table: the ones that move an entity of that kind. */
function typesOf(table: Record<string, Partial<Record<RecordType, readonly string[]>>>): RecordType[] {
  return [...new Set(Object.values(table).flatMap((row) => Object.keys(row) as RecordType[]))].sort();
}

/** Every target a record type can have in a table, whatever the from state. */
function targetsAnywhere(table: Record<string, Partial<Record<RecordType, readonly string[]>>>, type: RecordType): string[] {
  return [...new Set(Object.values(table).flatMap((row) => [...(row[type] ?? [])]))];
}

/** Runs `fn` and returns the CairnError it throws (fails when it throws nothing or something else). */
function thrown(fn: () => unknown, what: string): CairnError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof CairnError, `${what}: expected a CairnError, got ${String(e)}`);
    return e;
  }
  assert.fail(`${what}: expected a refusal, but it was accepted`);
}

/** Asserts that applying `draft` as the next record fails with LOG_INVALID naming that record's seq. */
function assertApplyRefuses(w: World, draft: Draft, what: string): void {
  const seq = w.state.seq + 1;
  const e = thrown(() => w.given([draft]), `apply ${what}`);
  assert.equal(e.code, 'LOG_INVALID', `apply ${what}: ${e.message}`);
  assert.equal(e.details.seq, seq, `apply ${what} names the seq`);
  assert.match(e.message, new RegExp(`\\bseq ${seq}\\b`), `apply ${what}: the message names seq ${seq}`);
}

// ---- Tasks -------------------------------------------------------------------------------------

const WS = 'w';

/**
 * A world where task `x` of workstream `w` is in `state`, reached by the decisions that lead there
 * (or, for the operator-only states, by the record an operator's tool writes). Task `keep` is
 * queued throughout so the workstream stays running; worker `w2` stays idle for a task_started.
 */
function taskIn(state: TaskState): World {
  const w = new World();
  const dep = state === 'pending' || state === 'blocked';
  w.submit(spec({
    id: WS,
    tasks: [
      { id: 'dep', command: 'true', max_retries: 0 },
      { id: 'x', command: 'true', max_retries: state === 'retrying' ? 1 : 0, depends_on: dep ? ['dep'] : [], ...(state === 'validating' ? { validate: 'true' } : {}) },
      { id: 'keep', command: 'true' },
    ],
  }));
  w.worker('w1');
  w.worker('w2');
  switch (state) {
    case 'pending':
    case 'queued':
      break;
    case 'blocked':
      w.start(WS, 'dep', 'w1');
      w.outcome(WS, 'dep', exit(1));
      break;
    case 'running':
      w.start(WS, 'x', 'w1');
      break;
    case 'validating':
    case 'completed':
      w.start(WS, 'x', 'w1');
      w.outcome(WS, 'x', ok());
      break;
    case 'retrying':
    case 'failed':
      w.start(WS, 'x', 'w1');
      w.outcome(WS, 'x', exit(1));
      break;
    case 'cancelled':
    case 'skipped':
      w.given([{ type: state === 'cancelled' ? 'task_cancelled' : 'task_skipped', operator: 'op', reason: 'test', workstream_id: WS, task_id: 'x', from: 'queued', to: state, trigger: 'operator' }]);
      break;
    default:
      assert.fail(`no way to reach ${String(state)}`);
  }
  assert.equal(w.task(WS, 'x').state, state, `set-up reaches ${state}`);
  assert.equal(w.state.workstream(WS)!.state, 'running', `set-up keeps the workstream running (${state})`);
  return w;
}

/** The record an allowed transition would be written as, with the fields its type needs. */
function taskRecord(w: World, type: RecordType, from: TaskState, to: string): Draft {
  const t = w.task(WS, 'x');
  const extra: Record<string, unknown> = {};
  if (type === 'task_started') Object.assign(extra, { worker_id: 'w2', attempt: t.attempt + 1, pid: 1, pgid: 1, deadline: iso(T0 + 1000) });
  if (type === 'task_attempt_failed' || type === 'task_timed_out') Object.assign(extra, { attempt: t.attempt, retry_count: t.retry_count + 1, retry_at: iso(T0 + 1000), outcome: exit(1) });
  if (type === 'task_completed' || type === 'task_failed' || type === 'task_validation_failed') Object.assign(extra, { attempt: t.attempt, outcome: ok() });
  if (type === 'task_adopted') Object.assign(extra, { worker_id: 'w2', attempt: t.attempt, executor: 'slurm', job_id: '77' });
  if (type === 'task_blocked') extra.blocked_by = 'dep';
  if (type === 'task_queued') extra.trigger = 'test';
  if (type === 'task_reset') extra.retry_count = 0;
  return { type, workstream_id: WS, task_id: 'x', from, to, ...extra };
}

const TASK_TYPES = typesOf(TASK_TRANSITIONS);

describe('the task table', () => {
  it('covers every record type about a task that changes its state', () => {
    const taskEntity = RECORD_TYPE_NAMES.filter((t) => RECORD_TYPES[t].entity === 'task').sort();
    // task_dependency_removed changes an edge of the DAG, never a task's state; task_updated changes a
    // definition (TASK_DEFINITION_CHANGES says in which states) and task_added creates a task.
    assert.deepEqual(TASK_TYPES, taskEntity.filter((t) => !['task_dependency_removed', 'task_updated', 'task_added'].includes(t)));
  });

  it('has a row for every task state and no terminal state but the table says so', () => {
    assert.deepEqual(Object.keys(TASK_TRANSITIONS).sort(), [...TASK_STATES].sort());
    assert.deepEqual(TASK_TRANSITIONS.completed, {}, 'completed is final: no record leaves it');
  });

  for (const from of TASK_STATES) {
    for (const type of TASK_TYPES) {
      const allowed = allowedTargets(TASK_TRANSITIONS, from, type);
      if (allowed.length > 0) {
        it(`accepts ${type} from ${from} to ${allowed.join(' or ')}`, () => {
          for (const to of allowed) {
            const w = taskIn(from);
            const rec = taskRecord(w, type, from, to);
            // A decision may make the move (on its own draft: the world is not changed by it) …
            const d = new Decision(w.state, T0);
            d.move(d.task(WS, 'x'), type, to as TaskState, rec);
            assert.equal(d.draft.task(WS, 'x')!.state, to);
            // … and apply accepts the record.
            const counts = { ...w.state.workstream(WS)!.counts };
            w.given([rec]);
            assert.equal(w.task(WS, 'x').state, to);
            const after = w.state.workstream(WS)!.counts;
            assert.equal(after[to], counts[to] + (to === from ? 0 : 1), `counts of ${to}`);
            assert.equal(after[from], counts[from] - (to === from ? 0 : 1), `counts of ${from}`);
          }
        });
      } else {
        it(`refuses ${type} from ${from} with ILLEGAL_TRANSITION, and apply refuses it with LOG_INVALID`, () => {
          for (const to of targetsAnywhere(TASK_TRANSITIONS, type)) {
            const w = taskIn(from);
            const d = new Decision(w.state, T0);
            const e = thrown(() => d.move(d.task(WS, 'x'), type, to as TaskState), `move ${type} ${from}→${to}`);
            assert.equal(e.code, 'ILLEGAL_TRANSITION');
            assert.equal(e.details.state, from);
            assert.equal(d.out.length, 0, 'a refused move emits nothing');
            assertApplyRefuses(w, taskRecord(w, type, from, to), `${type} ${from}→${to}`);
            assert.equal(w.task(WS, 'x').state, from, 'the refused record changed nothing');
          }
        });
      }
    }
  }

  it('refuses a record whose from disagrees with the task, even when the move would be legal', () => {
    const w = taskIn('queued');
    assertApplyRefuses(w, { type: 'task_cancelled', workstream_id: WS, task_id: 'x', from: 'pending', to: 'cancelled' }, 'task_cancelled with a wrong from');
  });

  it('refuses a record about a task that does not exist, naming the seq', () => {
    const w = taskIn('queued');
    assertApplyRefuses(w, { type: 'task_queued', workstream_id: WS, task_id: 'nope', from: 'pending', to: 'queued' }, 'a record about an unknown task');
  });

  it('refuses an unknown record type, naming the seq', () => {
    const w = taskIn('queued');
    assertApplyRefuses(w, { type: 'task_teleported' as RecordType, severity: 'info', workstream_id: WS, task_id: 'x' }, 'an unknown type');
  });

  it('explains a refusal with what is allowed from the current state', () => {
    const w = taskIn('completed');
    const d = new Decision(w.state, T0);
    const e = thrown(() => d.move(d.task(WS, 'x'), 'task_queued', 'queued'), 'queue a completed task');
    assert.match(e.message, /w\/x is completed; task_queued to queued is not allowed/);
    assert.ok(e.hint, 'the refusal has a hint');
    const r = taskIn('failed');
    const d2 = new Decision(r.state, T0);
    const e2 = thrown(() => d2.move(d2.task(WS, 'x'), 'task_started', 'running'), 'start a failed task');
    assert.deepEqual(e2.details.allowed, Object.keys(TASK_TRANSITIONS.failed));
    assert.match(e2.hint ?? '', /task_retried/);
  });
});

describe('the definition table (task_updated)', () => {
  for (const state of TASK_STATES) {
    const allowed = TASK_DEFINITION_CHANGES[state];
    it(`${allowed ? 'accepts' : 'refuses with LOG_INVALID'} a task_updated of a ${state} task, whose state stays`, () => {
      const w = taskIn(state);
      const old = defOf(w.task(WS, 'x'));
      const rec: Draft = { type: 'task_updated', operator: 'op', workstream_id: WS, task_id: 'x', old, new: { ...old, command: 'echo fixed' }, fields: ['command'] };
      if (!allowed) {
        assertApplyRefuses(w, rec, `task_updated of a ${state} task`);
        assert.equal(w.task(WS, 'x').command, 'true');
        return;
      }
      w.given([rec]);
      assert.equal(w.task(WS, 'x').command, 'echo fixed');
      assert.equal(w.task(WS, 'x').state, state);
    });
  }

  it('refuses a task_updated whose old definition is not the one the task has', () => {
    const w = taskIn('failed');
    const old = defOf(w.task(WS, 'x'));
    assertApplyRefuses(w, { type: 'task_updated', operator: 'op', workstream_id: WS, task_id: 'x', old: { ...old, command: 'other' }, new: { ...old, command: 'echo fixed' }, fields: ['command'] }, 'a wrong old definition');
  });
});

// ---- Workstreams -------------------------------------------------------------------------------

/** A world where workstream `w` is in `state`. */
function workstreamIn(state: WorkstreamState): World {
  const w = new World();
  const s = spec({ id: WS, tasks: [{ id: 'a', command: 'true', max_retries: 0 }, { id: 'b', command: 'true', depends_on: ['a'] }] });
  if (state === 'pending') {
    // Only inside submit is a workstream pending (its first tasks are queued in the same decision).
    w.given([{ type: 'workstream_submitted', workstream_id: WS, to: 'pending', spec: s }]);
    return w;
  }
  w.submit(s);
  w.worker('w1');
  if (state === 'completed') {
    w.start(WS, 'a', 'w1');
    w.outcome(WS, 'a', ok());
    w.start(WS, 'b', 'w1');
    w.outcome(WS, 'b', ok());
  } else if (state === 'failed') {
    w.start(WS, 'a', 'w1');
    w.outcome(WS, 'a', exit(1));
  } else if (state === 'cancelled') {
    w.given([
      { type: 'task_cancelled', operator: 'op', workstream_id: WS, task_id: 'a', from: 'queued', to: 'cancelled', trigger: 'operator' },
      { type: 'task_cancelled', operator: 'op', workstream_id: WS, task_id: 'b', from: 'pending', to: 'cancelled', trigger: 'operator' },
      { type: 'workstream_cancelled', operator: 'op', workstream_id: WS, from: 'running', to: 'cancelled' },
    ]);
  }
  assert.equal(w.state.workstream(WS)!.state, state, `set-up reaches ${state}`);
  return w;
}

const WORKSTREAM_TYPES = typesOf(WORKSTREAM_TRANSITIONS);

describe('the workstream table', () => {
  it('covers every record type that changes a workstream state', () => {
    const entity = RECORD_TYPE_NAMES.filter((t) => RECORD_TYPES[t].entity === 'workstream').sort();
    // Submission creates the workstream; a rollback or resume changes its tasks and params, not its
    // state; repair's carry-forward puts back a whole workstream as a derived file held it, like a submission;
    // submit --update changes its params and names the tasks it changed; a named checkpoint changes nothing.
    assert.deepEqual(WORKSTREAM_TYPES, entity.filter((t) => !['workstream_submitted', 'workstream_rolled_back', 'workstream_resumed', 'workstream_carried_forward', 'workstream_updated', 'checkpoint_named'].includes(t)));
    assert.deepEqual(Object.keys(WORKSTREAM_TRANSITIONS).sort(), [...WORKSTREAM_STATES].sort());
  });

  for (const from of WORKSTREAM_STATES) {
    for (const type of WORKSTREAM_TYPES) {
      const allowed = allowedTargets(WORKSTREAM_TRANSITIONS, from, type);
      if (allowed.length > 0) {
        it(`accepts ${type} from ${from} to ${allowed.join(' or ')}`, () => {
          for (const to of allowed) {
            const w = workstreamIn(from);
            w.given([{ type, workstream_id: WS, from, to }]);
            assert.equal(w.state.workstream(WS)!.state, to);
          }
        });
      } else {
        it(`refuses ${type} from ${from}: a decision cannot emit it and apply refuses it with LOG_INVALID`, () => {
          for (const to of targetsAnywhere(WORKSTREAM_TRANSITIONS, type)) {
            const w = workstreamIn(from);
            // A decision applies each record it emits to its draft, so it can never emit this one.
            const d = new Decision(w.state, T0);
            const e = thrown(() => d.emit({ type, workstream_id: WS, from, to }), `emit ${type} ${from}→${to}`);
            assert.equal(e.code, 'LOG_INVALID');
            assertApplyRefuses(w, { type, workstream_id: WS, from, to }, `${type} ${from}→${to}`);
            assert.equal(w.state.workstream(WS)!.state, from);
          }
        });
      }
    }
  }
});

// ---- Workers -----------------------------------------------------------------------------------

/** A world with worker `w1` in `state`; `busy` runs task a, `unresponsive` too (it went silent mid-task). */
function workerIn(state: WorkerState): World {
  const w = new World();
  w.submit(spec({ id: WS, tasks: [{ id: 'a', command: 'true' }, { id: 'b', command: 'true' }] }));
  w.worker('w1');
  if (state === 'busy' || state === 'unresponsive') w.start(WS, 'a', 'w1');
  if (state === 'unresponsive') w.do({ kind: 'worker_unresponsive', worker_id: 'w1', silent_ms: 31_000 });
  if (state === 'shutdown') w.do({ kind: 'worker_shutdown', worker_id: 'w1', trigger: 'requested', reassign: true });
  assert.equal(w.state.worker('w1')!.state, state, `set-up reaches ${state}`);
  return w;
}

/** The worker record types, with the decision that asks for each (where the decider has one). */
const WORKER_RECORDS = {
  worker_started: { cmd: { kind: 'worker_start', worker_id: 'w1', pid: 7, scheduler_id: 'sched-1' } },
  worker_unresponsive: { cmd: { kind: 'worker_unresponsive', worker_id: 'w1', silent_ms: 31_000 } },
  worker_recovered: { cmd: { kind: 'worker_recovered', worker_id: 'w1' } },
  worker_shutdown: { cmd: { kind: 'worker_shutdown', worker_id: 'w1', trigger: 'requested', reassign: true } },
  task_started: { cmd: startCmd(WS, 'b', 'w1') },
} as const;

describe('the worker table', () => {
  it('covers every record type that changes a worker state', () => {
    const entity = RECORD_TYPE_NAMES.filter((t) => RECORD_TYPES[t].entity === 'worker');
    // Requests are remembered on the worker; the scheduler answers them with a real transition.
    const transitions = entity.filter((t) => !t.endsWith('_requested'));
    // task_adopted both ends the work of the lost scheduler's worker and starts the new one's.
    const taskEnds = typesOf(WORKER_TRANSITIONS).filter((t) => RECORD_TYPES[t].entity === 'task' && t !== 'task_started' && t !== 'task_adopted');
    assert.deepEqual(typesOf(WORKER_TRANSITIONS), [...transitions, 'task_started', 'task_adopted', ...taskEnds].sort());
    assert.deepEqual(Object.keys(WORKER_TRANSITIONS).sort(), [...WORKER_STATES].sort());
  });

  for (const from of WORKER_STATES) {
    for (const [type, { cmd }] of Object.entries(WORKER_RECORDS) as [keyof typeof WORKER_RECORDS, (typeof WORKER_RECORDS)[keyof typeof WORKER_RECORDS]][]) {
      const allowed = allowedTargets(WORKER_TRANSITIONS, from, type);
      if (allowed.length > 0) {
        it(`accepts ${type} from ${from} (to ${allowed.join(' or ')}), as the decider writes it`, () => {
          const w = workerIn(from);
          const out = w.when(cmd);
          const rec = out.find((r) => r.type === type && r.worker_id === 'w1');
          assert.ok(rec, `decide(${cmd.kind}) writes ${type}: ${JSON.stringify(out.map((r) => r.type))}`);
          w.given(out);
          assert.ok((allowed as readonly string[]).includes(w.state.worker('w1')!.state), `w1 is ${w.state.worker('w1')!.state}`);
        });
      } else {
        it(`refuses ${type} from ${from}, and apply refuses the record with LOG_INVALID`, () => {
          const w = workerIn(from);
          if (type === 'worker_shutdown' && from === 'shutdown') {
            // Shutting down a worker that is already down is a no-op, not an error: nothing to write.
            assert.deepEqual(w.when(cmd), []);
          } else {
            const e = thrown(() => w.when(cmd), `decide ${cmd.kind} on a ${from} worker`);
            assert.equal(e.code, 'ILLEGAL_TRANSITION', e.message);
          }
          const draft: Draft = type === 'task_started'
            ? { type, workstream_id: WS, task_id: 'b', worker_id: 'w1', from: 'queued', to: 'running', attempt: 1 }
            : { type, worker_id: 'w1', from, to: targetsAnywhere(WORKER_TRANSITIONS, type)[0] };
          assertApplyRefuses(w, draft, `${type} on a ${from} worker`);
          assert.equal(w.state.worker('w1')!.state, from);
        });
      }
    }
  }

  for (const from of ['busy', 'unresponsive'] as const) {
    for (const type of typesOf(WORKER_TRANSITIONS).filter((t) => RECORD_TYPES[t].entity === 'task' && t !== 'task_started' && t !== 'task_adopted')) {
      const [to] = allowedTargets(WORKER_TRANSITIONS, from, type);
      it(`moves a ${from} worker to ${to} when its task leaves by ${type}`, () => {
        const w = workerIn(from);
        const taskTo = TASK_TRANSITIONS.running[type as keyof typeof TASK_TRANSITIONS.running]?.[0];
        const fields = type === 'task_attempt_failed' || type === 'task_timed_out' ? { retry_count: 1, retry_at: iso(T0 + 1000) } : {};
        if (taskTo === undefined) {
          // Only from validating (task_validation_failed): get there first.
          w.given([{ type: 'task_validating', workstream_id: WS, task_id: 'a', from: 'running', to: 'validating' }]);
          w.given([{ type, workstream_id: WS, task_id: 'a', from: 'validating', to: TASK_TRANSITIONS.validating.task_validation_failed[0] }]);
        } else {
          w.given([{ type, workstream_id: WS, task_id: 'a', from: 'running', to: taskTo, ...fields }]);
        }
        assert.equal(w.state.worker('w1')!.state, to);
        assert.equal(w.state.worker('w1')!.task, null, 'the worker no longer runs the task');
      });
    }
  }

  for (const from of ['busy', 'unresponsive'] as const) {
    it(`hands a cluster job from a ${from} worker of a lost scheduler to an idle worker by task_adopted (same attempt)`, () => {
      const w = workerIn(from);
      w.worker('w2');
      w.given([{ type: 'task_adopted', workstream_id: WS, task_id: 'a', from: 'running', to: 'running', worker_id: 'w2', attempt: 1, executor: 'slurm', job_id: '77' }]);
      assert.equal(w.state.worker('w1')!.state, from === 'busy' ? 'idle' : 'unresponsive');
      assert.equal(w.state.worker('w1')!.task, null, 'the old worker no longer runs the task');
      assert.equal(w.state.worker('w2')!.state, 'busy');
      assert.equal(w.state.worker('w2')!.task, `${WS}/a`);
      assert.equal(w.task(WS, 'a').attempt, 1, 'no new attempt');
      assert.equal(w.task(WS, 'a').worker_id, 'w2');
    });
  }

  it('never lets a worker that still runs a task shut down without its task leaving first', () => {
    const w = workerIn('busy');
    assertApplyRefuses(w, { type: 'worker_shutdown', worker_id: 'w1', from: 'busy', to: 'shutdown' }, 'worker_shutdown of a busy worker');
  });
});

describe('worker records', () => {
  it('refuses a worker record whose from disagrees with the worker', () => {
    const w = workerIn('idle');
    assertApplyRefuses(w, { type: 'worker_unresponsive', worker_id: 'w1', from: 'busy', to: 'unresponsive' }, 'worker_unresponsive with a wrong from');
  });

  it('refuses a worker record whose to disagrees with what the worker becomes', () => {
    const w = workerIn('unresponsive');
    // w1 still runs task a, so recovering makes it busy, not idle.
    assertApplyRefuses(w, { type: 'worker_recovered', worker_id: 'w1', from: 'unresponsive', to: 'idle' }, 'worker_recovered to idle while it runs a task');
    assert.equal(w.state.worker('w1')!.state, 'unresponsive');
  });
});

describe('scheduler_stopped releasing workers', () => {
  it('refuses released_workers naming a worker that is not shut down, or no worker at all', () => {
    const w = workerIn('idle');
    assertApplyRefuses(w, { type: 'scheduler_stopped', released_workers: ['w1'] }, 'release of an idle worker');
    assertApplyRefuses(w, { type: 'scheduler_stopped', released_workers: ['w9'] }, 'release of an unknown worker');
    assert.equal(w.state.worker('w1')!.state, 'idle');
  });
});
