// The JSON Schemas of cairn's files: the shipped .json files equal the TypeScript constants, every
// record type has a schema that accepts a real record and refuses a broken one, and config.json
// gets its defaults and its cross-checks.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { monotonicFactory as ulidFactory } from 'ulid';
import { CairnError } from '../src/errors.js';
import { apply } from '../src/model/apply.js';
import { decide, type Command } from '../src/model/decide.js';
import { State } from '../src/model/state.js';
import type { LogRecord, TaskOutcome } from '../src/model/types.js';
import { RECORD_TYPE_NAMES, RECORD_TYPES, type RecordType } from '../src/model/catalogue.js';
import { parseSpec } from '../src/model/spec.js';
import { CONFIG_SCHEMA, DEFAULT_CONFIG, parseConfig } from '../src/schemas/config.js';
import { SCHEMA_FILES, renderSchema } from '../src/schemas/files.js';
import { recordFields } from '../src/schemas/record-types.js';
import { validateRecord, validateWith } from '../src/schemas/validate.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const SCHEMAS = join(ROOT, 'schemas');

describe('schema files', () => {
  it('equal the TypeScript constants byte for byte (CAIRN_UPDATE_SCHEMAS=1 rewrites them)', () => {
    for (const { file, schema } of SCHEMA_FILES) {
      const path = join(SCHEMAS, file);
      const want = renderSchema(schema);
      if (process.env.CAIRN_UPDATE_SCHEMAS === '1') {
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, want);
      }
      let have = '';
      try {
        have = readFileSync(path, 'utf8');
      } catch {
        assert.fail(`schemas/${file} is missing; run the tests with CAIRN_UPDATE_SCHEMAS=1`);
      }
      assert.equal(have, want, `schemas/${file} differs from its constant; run the tests with CAIRN_UPDATE_SCHEMAS=1`);
    }
  });

  it('has no file that no constant renders', () => {
    const known = new Set(SCHEMA_FILES.map((f) => f.file));
    const onDisk = [
      ...readdirSync(SCHEMAS).filter((f) => f.endsWith('.json')),
      ...readdirSync(join(SCHEMAS, 'records')).map((f) => `records/${f}`),
    ];
    assert.deepEqual(onDisk.filter((f) => !known.has(f)), []);
  });

  it('gives one schema per record type, with $id, title and description', () => {
    for (const type of RECORD_TYPE_NAMES) {
      const entry = SCHEMA_FILES.find((f) => f.file === `records/${type}.schema.json`);
      assert.ok(entry, `no schema for ${type}`);
      assert.match(String(entry.schema.$id), new RegExp(`/records/${type}\\.schema\\.json$`));
      assert.equal(entry.schema.title, `${type} record`);
      assert.ok(String(entry.schema.description).startsWith(RECORD_TYPES[type].description));
    }
  });

  it('describes every property of every schema', () => {
    const missing: string[] = [];
    const walk = (node: unknown, where: string, isSchema: boolean): void => {
      if (node === null || typeof node !== 'object' || Array.isArray(node)) return;
      const s = node as Record<string, unknown>;
      if (isSchema && typeof s.description !== 'string') missing.push(where);
      for (const kw of ['properties', '$defs'] as const) {
        const map = s[kw] as Record<string, unknown> | undefined;
        for (const [k, v] of Object.entries(map ?? {})) walk(v, `${where}/${kw}/${k}`, true);
      }
      for (const kw of ['items', 'additionalProperties', 'propertyNames'] as const) {
        if (typeof s[kw] === 'object') walk(s[kw], `${where}/${kw}`, true);
      }
      for (const [i, v] of ((s.prefixItems as unknown[]) ?? []).entries()) walk(v, `${where}/prefixItems/${i}`, true);
    };
    for (const { file, schema } of SCHEMA_FILES) {
      assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema', file);
      assert.equal(typeof schema.title, 'string', file);
      walk(schema, file, true);
    }
    assert.deepEqual(missing, []);
  });

  it('compiles every schema in strict mode', () => {
    for (const { schema } of SCHEMA_FILES) assert.ok(Array.isArray(validateWith(String(schema.$id), {})));
  });
});

const SPEC = parseSpec(
  {
    id: 'nightly',
    params: { channel: 'beta' },
    resources: { git_repo_write: { max_holders: 1 } },
    tasks: [
      { id: 'lint', command: 'npm run lint' },
      { id: 'build', command: ['npm', 'run', 'build'], depends_on: ['lint'], resources: ['git_repo_write'], validate: 'test -f x' },
    ],
  },
  { defaultId: () => 'unused' },
);

const TS = '2026-01-15T10:40:00.000Z';
const LATER = '2026-01-15T10:40:02.000Z';
const task = { workstream_id: 'nightly', task_id: 'build' };
const exit1 = { kind: 'exit', exit_code: 1, signal: null, duration_ms: 1200, message: null };

/** A record of each type as cairn writes it; typed so that a new record type needs a sample. */
const SAMPLES: { [T in RecordType]: Record<string, unknown> } = {
  workstream_submitted: { workstream_id: 'nightly', to: 'pending', spec: SPEC },
  workstream_started: { workstream_id: 'nightly', from: 'pending', to: 'running' },
  workstream_completed: { workstream_id: 'nightly', from: 'running', to: 'completed' },
  workstream_failed: { workstream_id: 'nightly', task_id: 'build', from: 'running', to: 'failed', trigger: 'critical_failure', failure: 'critical task build failed' },
  workstream_cancelled: { workstream_id: 'nightly', from: 'running', to: 'cancelled', operator: 'ana', reason: 'wrong branch' },
  workstream_reopened: { workstream_id: 'nightly', from: 'failed', to: 'running', action: 'retry_workstream' },
  workstream_rolled_back: { workstream_id: 'nightly', checkpoint_seq: 42 },
  workstream_resumed: { workstream_id: 'nightly', params: { channel: 'stable' }, from_task: 'build' },
  workstream_updated: { workstream_id: 'nightly', changed_tasks: ['build'], added_tasks: ['docs'], params: { channel: 'stable' }, old_params: { channel: 'beta' } },
  workstream_reset: { workstream_id: 'nightly', from: 'completed', to: 'pending', recovery: 'reset_workstream' },
  task_queued: { ...task, from: 'pending', to: 'queued', trigger: 'dependencies_met' },
  task_blocked: { ...task, from: 'pending', to: 'blocked', blocked_by: 'lint' },
  task_unblocked: { ...task, from: 'blocked', to: 'pending' },
  task_started: {
    ...task, from: 'queued', to: 'running', worker_id: 'w1', attempt: 1, pid: 4242, pgid: 4242,
    process_start: '8812345', scheduler_id: 'sched-01', deadline: LATER,
  },
  task_validating: { ...task, from: 'running', to: 'validating', attempt: 1, worker_id: 'w1', outcome: { ...exit1, exit_code: 0 } },
  task_completed: { ...task, from: 'validating', to: 'completed', attempt: 1, outcome: { ...exit1, exit_code: 0 } },
  task_attempt_failed: { ...task, from: 'running', to: 'retrying', attempt: 1, retry_count: 1, retry_at: LATER, outcome: exit1 },
  task_timed_out: {
    ...task, from: 'running', to: 'retrying', retry_count: 2, retry_at: LATER,
    outcome: { kind: 'timeout', exit_code: null, signal: 'SIGTERM', duration_ms: 900_000, message: 'timed out after 900 s' },
  },
  task_adopted: { ...task, from: 'running', to: 'running', worker_id: 'w3', attempt: 1, executor: 'slurm', job_id: '4242', scheduler_id: 'sched-02', previous_worker_id: 'w1' },
  task_failed: { ...task, from: 'running', to: 'failed', outcome: exit1 },
  task_validation_failed: { ...task, from: 'validating', to: 'failed', outcome: { ...exit1, kind: 'validation' } },
  task_reassigned: { ...task, from: 'running', to: 'queued', trigger: 'worker_lost', worker_id: 'w1' },
  task_cancelled: { ...task, from: 'queued', to: 'cancelled', trigger: 'critical_failure' },
  task_skipped: { ...task, from: 'failed', to: 'skipped', operator: 'ana', reason: 'flaky', recovery: 'skip_task', action: 'skip_task' },
  task_retried: { ...task, from: 'failed', to: 'pending', timeout_seconds: 1200, max_retries: 5, retry_count: 0, recovery: 'retry_task' },
  task_reset: { ...task, from: 'cancelled', to: 'pending', retry_count: 1, recovery: 'rollback_workstream' },
  task_dependency_removed: { ...task, dependency_id: 'lint' },
  task_updated: { ...task, old: SPEC.tasks[1], new: { ...SPEC.tasks[1], command: 'make build' }, fields: ['command'], operator: 'ana', action: 'update_task' },
  task_added: { workstream_id: 'nightly', task_id: 'docs', to: 'pending', definition: { ...SPEC.tasks[0], id: 'docs', command: 'make docs' }, action: 'submit_update' },
  resource_declared: { resource_id: 'git_repo_write', max_holders: 1 },
  resource_limit_changed: { resource_id: 'git_repo_write', max_holders: null },
  resource_exhausted: { resource_id: 'git_repo_write', ...task, waited_ms: 61_000 },
  worker_started: { worker_id: 'w1', to: 'idle', pid: 4100, scheduler_id: 'sched-01' },
  worker_unresponsive: { worker_id: 'w1', from: 'busy', to: 'unresponsive', silent_ms: 31_000 },
  worker_recovered: { worker_id: 'w1', from: 'unresponsive', to: 'busy' },
  worker_shutdown: { worker_id: 'w1', from: 'unresponsive', to: 'shutdown', trigger: 'unresponsive' },
  worker_restart_requested: { worker_id: 'w1' },
  worker_shutdown_requested: { worker_id: 'w1', reassign: true },
  scheduler_started: { scheduler_id: 'sched-01', pid: 4000, process_start: '8800000' },
  scheduler_stopped: { trigger: 'sigint' },
  checkpoint_named: { workstream_id: 'nightly', name: 'nightly-ok', checkpoint_seq: 12, operator: 'ana', action: 'checkpoint' },
  system_checkpoint_created: { name: 'before-deploy', checkpoint_seq: 40, checkpoint_crc: '0a1b2c3d', operator: 'ana', action: 'system_checkpoint_create' },
  system_checkpoint_restored: { name: 'before-deploy', checkpoint_seq: 40, rolled_back_workstreams: ['nightly'], cancelled_workstreams: [], left: [], operator: 'ana', action: 'system_checkpoint_restore' },
  state_restored: { source: 'transitions', file: '.state/transitions.jsonl' },
  log_archived: { segments: ['000000000001-000000000020.jsonl.gz'], archived_to: '/srv/cairn-archive', base_seq: 20 },
  state_repaired: { actions: ['rebuilt current.json from the log'] },
  record_lost: { damage: 'damaged beyond one flipped bit (a task_started record of nightly/build)', set_aside_file: 'transitions.jsonl.corrupt-2026-01-15T10-40-00.000Z' },
  workstream_carried_forward: {
    workstream_id: 'nightly', source: 'current.json', source_seq: 75,
    workstream: { id: 'nightly', state: 'completed', task_ids: [], tasks: {} },
    differences: ['workstream nightly: running in the log, completed in current.json'],
    resources: { git_repo_write: 1 },
  },
};

function sample(type: RecordType): Record<string, unknown> {
  return {
    seq: 7, id: '01JD5Z8Q4K5M6N7P8Q9R0S1T2V', ts: TS, type, severity: RECORD_TYPES[type].severity, operator: null,
    ...SAMPLES[type], crc: '0a1b2c3d',
  };
}

function problems(r: unknown): string[] {
  const v = validateRecord(r);
  return v.ok ? [] : v.errors.map((e) => `${e.path}: ${e.message}`);
}

describe('record schemas', () => {
  for (const type of RECORD_TYPE_NAMES) {
    it(`accepts a ${type} record and rejects it without each required field`, () => {
      assert.deepEqual(problems(sample(type)), []);
      const { required } = recordFields(type);
      for (const key of ['seq', 'id', 'ts', 'severity', 'operator', 'crc', ...required]) {
        const r = sample(type);
        delete r[key];
        assert.deepEqual(problems(r), [`$: missing required key '${key}'`], `${type} without ${key}`);
      }
    });
  }

  it('rejects a field its type does not carry, naming it', () => {
    assert.deepEqual(problems({ ...sample('task_queued'), pid: 12 }), [
      "$.pid: unknown key 'pid' (allowed: type, workstream_id, task_id, from, to, attempt, worker_id)",
    ]);
  });

  it('rejects a move the transition tables do not allow', () => {
    assert.deepEqual(problems({ ...sample('task_started'), from: 'pending' }), ['$.from: must be one of "queued" (got "pending")']);
    assert.deepEqual(problems({ ...sample('task_reset'), to: 'running' }), [
      '$.to: must be one of "pending", "completed", "skipped" (got "running")',
    ]);
  });

  it('checks the envelope: seq, ULID, millisecond UTC time, severity and crc', () => {
    const r = { ...sample('task_queued'), seq: 0, id: '01JD5Z8Q4K5M6N7P8Q9R0S1T2I', ts: '2026-01-15T10:40:00Z', severity: 'fatal', crc: '0A1B2C3D' };
    assert.deepEqual(problems(r), [
      '$.seq: must be >= 1 (got 0)',
      '$.id: must be a ULID (26 characters of Crockford base32, upper case)',
      '$.ts: must be an ISO-8601 UTC time with milliseconds, like 2024-01-15T10:40:00.000Z',
      '$.severity: must be one of "info", "warning", "error", "critical" (got "fatal")',
      '$.crc: must be 8 lower-case hex digits',
    ]);
  });

  it('rejects an unknown record type against the envelope', () => {
    const [first] = problems({ ...sample('task_queued'), type: 'task_exploded' });
    assert.match(first!, /^\$\.type: must be one of "workstream_submitted", .* \(got "task_exploded"\)$/);
  });

  it('rejects __proto__ and constructor keys anywhere in a record', () => {
    const r = JSON.parse(JSON.stringify(sample('workstream_submitted')).replace('"channel":', '"__proto__":"x","constructor":'));
    assert.deepEqual(problems(r), [
      "$.spec.params.__proto__: key '__proto__' is not allowed anywhere (it could reach an object prototype)",
      "$.spec.params.constructor: key 'constructor' is not allowed anywhere (it could reach an object prototype)",
    ]);
  });

  it('checks the normalized spec inside workstream_submitted', () => {
    const spec = structuredClone(SPEC) as unknown as { tasks: Record<string, unknown>[] };
    delete spec.tasks[0]!.max_retries;
    spec.tasks[1]!.resources = ['git_repo_write'];
    assert.deepEqual(problems({ ...sample('workstream_submitted'), spec }), [
      "$.spec.tasks[0]: missing required key 'max_retries'",
      '$.spec.tasks[1].resources: must be an object (got an array)',
    ]);
  });
});

describe('config schema', () => {
  it('fills every default for an empty file', () => {
    assert.deepEqual(parseConfig({}), DEFAULT_CONFIG);
  });

  it('keeps what the file sets and defaults the rest', () => {
    const c = parseConfig({ workers: 2, heartbeat_ms: 50, health_timeout_ms: 200 });
    assert.equal(c.workers, 2);
    assert.equal(c.heartbeat_ms, 50);
    assert.equal(c.shutdown_after_ms, DEFAULT_CONFIG.shutdown_after_ms);
  });

  it('documents the defaults it fills (workers: the machine\'s, so no fixed default; retention ages: null, no limit)', () => {
    const props = CONFIG_SCHEMA.properties as Record<string, { default?: unknown; description?: string }>;
    for (const [k, v] of Object.entries(DEFAULT_CONFIG)) {
      if (k.endsWith('_max_age_days')) {
        assert.equal(props[k]?.default, null, k);
        assert.match(props[k]!.description!, /null: no limit\..*Default null\./, k);
      } else if (k === 'log_segment_bytes') {
        assert.equal(props[k]?.default, null, k);
        assert.match(props[k]!.description!, /null: never rotate\. Default null\./, k);
      } else if (v === null) {
        assert.ok(!('default' in props[k]!), k);
        assert.match(props[k]!.description!, /Default the number of cores, at least 2\./, k);
      } else assert.equal(props[k]?.default, v, k);
    }
  });

  it('keeps the lock refresh within proper-lockfile\'s rule (update <= stale / 2)', () => {
    assert.ok(DEFAULT_CONFIG.lock_update_ms <= DEFAULT_CONFIG.lock_stale_ms / 2);
    assert.ok(DEFAULT_CONFIG.lock_update_ms >= 1000 && DEFAULT_CONFIG.lock_stale_ms >= 2000);
  });

  it('reports every problem with its path: types, minimums, unknown keys and cross-checks', () => {
    const err = catchError(() => parseConfig({ workers: 0, heartbeat_ms: 1.5, wokers: 3, lock_stale_ms: 1000 }));
    assert.equal(err.code, 'SCHEMA_INVALID');
    assert.equal(err.message, 'config.json has 4 problems');
    assert.deepEqual(err.details.errors, [
      { path: '$.workers', message: 'must be >= 1 (got 0)' },
      { path: '$.heartbeat_ms', message: 'must be an integer (got a number)' },
      { path: '$.wokers', message: "unknown key 'wokers' (did you mean 'workers'? allowed: $schema, workers, health_timeout_ms, heartbeat_ms, shutdown_after_ms, kill_grace_ms, resource_wait_warn_ms, snapshot_interval_ms, backup_interval_ms, backups_keep, checkpoints_keep, backups_max_age_days, checkpoints_finished_max_age_days, checkpoints_failed_max_age_days, attempt_logs_max_age_days, failed_attempt_logs_max_age_days, archived_workstreams_max_age_days, lock_stale_ms, lock_update_ms, lock_timeout_ms, retry_base_seconds, retry_cap_seconds, worker_restart_base_ms, worker_restart_cap_ms, worker_deaths_limit, log_segment_bytes, executor, git_commit)" },
      { path: '$.lock_stale_ms', message: 'must be >= 2000 (got 1000)' },
    ]);
  });

  it('rejects settings that contradict each other', () => {
    const err = catchError(() => parseConfig({ heartbeat_ms: 30_000, lock_update_ms: 6_000, retry_cap_seconds: 0.5 }));
    assert.deepEqual(err.details.errors, [
      { path: '$.heartbeat_ms', message: 'heartbeat_ms (30000) must be less than health_timeout_ms (30000), or every worker would look unresponsive' },
      { path: '$.lock_update_ms', message: 'lock_update_ms (6000) must be at most lock_stale_ms / 2 (5000), or a held lock could look stale' },
      { path: '$.retry_cap_seconds', message: 'retry_cap_seconds (0.5) must be >= retry_base_seconds (1)' },
    ]);
  });

  it('rejects a config that is not an object, and __proto__ keys', () => {
    assert.deepEqual(catchError(() => parseConfig([])).details.errors, [{ path: '$', message: 'must be an object (got an array)' }]);
    assert.deepEqual(catchError(() => parseConfig(JSON.parse('{"__proto__": {"workers": 9}}'))).details.errors, [
      { path: '$.__proto__', message: "key '__proto__' is not allowed anywhere (it could reach an object prototype)" },
    ]);
  });
});

function catchError(fn: () => unknown): CairnError & { details: { errors: unknown } } {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof CairnError, `expected a CairnError, got ${String(e)}`);
    return e as CairnError & { details: { errors: unknown } };
  }
  assert.fail('expected an error');
}

/** Runs commands through decide and apply as the store would, keeping every record written. */
function driver() {
  const state = new State();
  const next = ulidFactory();
  let now = Date.parse(TS);
  const written: LogRecord[] = [];
  const run = (cmd: Command): void => {
    for (const d of decide(state, cmd, { now })) {
      const { type, severity, operator, reason, caused_by, ...rest } = d;
      const r = {
        seq: state.seq + 1, id: next(now), ts: new Date(now).toISOString(), type, severity: severity ?? RECORD_TYPES[type].severity,
        operator: operator ?? null, ...(reason !== undefined ? { reason } : {}), ...(caused_by !== undefined ? { caused_by } : {}),
        ...rest, crc: '00000000',
      } as LogRecord;
      apply(state, r);
      written.push(r);
    }
    now += 1000;
  };
  const start = (ws: string, id: string, worker: string) =>
    run({ kind: 'task_start', workstream_id: ws, task_id: id, worker_id: worker, pid: 500, pgid: 500, process_start: '77', scheduler_id: 'sched-1', deadline: null });
  return { run, start, written };
}

const outcome = (kind: TaskOutcome['kind'], exit_code: number | null): TaskOutcome => ({ kind, exit_code, signal: null, duration_ms: 10, message: null });

describe('records cairn writes', () => {
  it('match their schemas through retries, a timeout, a failed validation, a lost worker and a resource wait', () => {
    const { run, start, written } = driver();
    run({ kind: 'submit', spec: SPEC });
    run({ kind: 'scheduler_start', scheduler_id: 'sched-1', pid: 400, process_start: '70' });
    run({ kind: 'worker_start', worker_id: 'w1', pid: 401, scheduler_id: 'sched-1' });
    run({ kind: 'worker_start', worker_id: 'w2', pid: 402, scheduler_id: 'sched-1' });
    start('nightly', 'lint', 'w1');
    run({ kind: 'task_outcome', workstream_id: 'nightly', task_id: 'lint', attempt: 1, phase: 'command', outcome: outcome('exit', 1) });
    run({ kind: 'retry_due', workstream_id: 'nightly', task_id: 'lint' });
    start('nightly', 'lint', 'w1');
    run({ kind: 'task_outcome', workstream_id: 'nightly', task_id: 'lint', attempt: 2, phase: 'command', outcome: outcome('timeout', null) });
    run({ kind: 'retry_due', workstream_id: 'nightly', task_id: 'lint' });
    start('nightly', 'lint', 'w1');
    run({ kind: 'task_outcome', workstream_id: 'nightly', task_id: 'lint', attempt: 3, phase: 'command', outcome: outcome('exit', 0) });
    run({ kind: 'submit', spec: { ...SPEC, id: 'other', resources: {}, tasks: [{ ...SPEC.tasks[1]!, depends_on: [], critical: true }] } });
    run({ kind: 'resource_wait_warn', workstream_id: 'other', task_id: 'build', resource_id: 'git_repo_write', waited_ms: 61_000 });
    start('nightly', 'build', 'w2');
    run({ kind: 'task_outcome', workstream_id: 'nightly', task_id: 'build', attempt: 1, phase: 'command', outcome: outcome('exit', 0) });
    run({ kind: 'worker_unresponsive', worker_id: 'w2', silent_ms: 31_000 });
    run({ kind: 'worker_recovered', worker_id: 'w2' });
    run({ kind: 'reassign', workstream_id: 'nightly', task_id: 'build', trigger: 'scheduler_lost' });
    start('nightly', 'build', 'w2');
    run({ kind: 'task_outcome', workstream_id: 'nightly', task_id: 'build', attempt: 2, phase: 'command', outcome: outcome('exit', 0) });
    run({ kind: 'task_outcome', workstream_id: 'nightly', task_id: 'build', attempt: 2, phase: 'validate', outcome: outcome('exit', 1) });
    start('other', 'build', 'w1');
    run({ kind: 'worker_shutdown', worker_id: 'w1', trigger: 'request', reassign: true });
    run({ kind: 'scheduler_stop', reason: 'sigint' });

    const types = new Set(written.map((r) => r.type));
    for (const t of ['task_attempt_failed', 'task_timed_out', 'task_validation_failed', 'task_reassigned', 'workstream_failed', 'resource_exhausted', 'worker_shutdown'] as const) {
      assert.ok(types.has(t), `the scenario writes ${t}`);
    }
    for (const r of written) assert.deepEqual(problems(r), [], `seq ${r.seq} ${r.type}: ${JSON.stringify(r)}`);
  });
});

describe('records cairn writes', () => {
  it('name the outcome of an attempt failed because its worker was shut down', () => {
    const { run, start, written } = driver();
    run({ kind: 'submit', spec: SPEC });
    run({ kind: 'worker_start', worker_id: 'w1', pid: 401, scheduler_id: 'sched-1' });
    start('nightly', 'lint', 'w1');
    run({ kind: 'worker_shutdown', worker_id: 'w1', trigger: 'request', reassign: false });
    for (const r of written) assert.deepEqual(problems(r), [], `seq ${r.seq} ${r.type}`);
    const failed = written.find((r) => r.type === 'task_attempt_failed');
    assert.equal((failed?.outcome as { kind?: string } | undefined)?.kind, 'worker_lost');
  });
});
