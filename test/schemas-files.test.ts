// The JSON Schemas of the files cairn derives from the log (current.json, checkpoints, archive,
// metrics.json, workers.json): registered with the other schemas, built from the state tables,
// matched by every file a real run writes, and used by validate-state to point at a damaged field.
import { cpSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TASK_STATES, WORKER_STATES, WORKSTREAM_STATES } from '../src/model/states.js';
import { SCHEMA_FILES } from '../src/schemas/files.js';
import { STATE_FILE_SCHEMAS, validateStateFile, type StateFileKind } from '../src/schemas/files-validate.js';
import { scratch } from './helpers/tmp.js';
import { cairn, exited, json, ROOT, setup, startRun, until } from './run-helpers.js';

const example = (name: string) => path.join(ROOT, 'examples', `${name}.json`);

/** Which schema a file under .state/ follows, by its path there; null for files without one here. */
function kindOf(rel: string): StateFileKind | null {
  if (!rel.endsWith('.json')) return null;
  if (rel === 'current.json' || rel.startsWith('backups/current_')) return 'current';
  if (rel.startsWith('checkpoints/')) return 'checkpoint';
  if (rel.startsWith('archive/')) return 'archive';
  if (rel === 'metrics.json') return 'metrics';
  if (rel === 'workers.json') return 'workers';
  return null;
}

/** Every schema problem of every derived file under `stateDir`, and the kinds of file seen. */
function checkFolder(stateDir: string): { problems: string[]; kinds: Set<StateFileKind> } {
  const problems: string[] = [];
  const kinds = new Set<StateFileKind>();
  const walk = (dir: string, prefix: string): void => {
    for (const f of readdirSync(dir)) {
      const rel = `${prefix}${f}`;
      if (statSync(path.join(dir, f)).isDirectory()) {
        walk(path.join(dir, f), `${rel}/`);
        continue;
      }
      const kind = kindOf(rel);
      if (kind === null) continue;
      kinds.add(kind);
      const doc: unknown = JSON.parse(readFileSync(path.join(dir, f), 'utf8'));
      for (const p of validateStateFile(kind, doc)) problems.push(`${rel} ${p.path}: ${p.message}`);
    }
  };
  walk(stateDir, '');
  return { problems, kinds };
}

const ALL_KINDS = Object.keys(STATE_FILE_SCHEMAS).sort();

function editJson(file: string, edit: (doc: any) => void): void {
  const doc = JSON.parse(readFileSync(file, 'utf8'));
  edit(doc);
  writeFileSync(file, JSON.stringify(doc, null, 2) + '\n');
}

/** Runs a problem's fix as the user would type it (words up to any explanation in parentheses), in `dir`. */
function runFix(dir: string, fix: string) {
  const words = fix.split(/\s+\(|, or /)[0]!.trim().split(/\s+/);
  assert.equal(words[0], 'cairn', fix);
  return cairn(dir, words.slice(1));
}

describe('derived file schemas', () => {
  it('are registered with every other schema, so test/schemas.test.ts keeps schemas/*.json equal to their constants', () => {
    const files = SCHEMA_FILES.map((f) => f.file);
    for (const [kind, schema] of Object.entries(STATE_FILE_SCHEMAS)) {
      const file = String(schema.$id).split('/').pop()!;
      assert.ok(files.includes(file), `${kind}: ${file} is not in SCHEMA_FILES`);
      assert.equal(SCHEMA_FILES.find((f) => f.file === file)!.schema, schema);
      assert.ok(existsSync(path.join(ROOT, 'schemas', file)), `schemas/${file} is missing`);
    }
  });

  it('take the task, workstream and worker states from src/model/states.ts', () => {
    const current = STATE_FILE_SCHEMAS.current as any;
    assert.deepEqual(current.$defs.task.properties.state.enum, [...TASK_STATES]);
    assert.deepEqual(current.$defs.workstream.properties.state.enum, [...WORKSTREAM_STATES]);
    assert.deepEqual(Object.keys(current.$defs.workstream.properties.counts.properties), [...TASK_STATES]);
    assert.deepEqual(current.properties.workers.additionalProperties.properties.state.enum, [...WORKER_STATES]);
    assert.deepEqual((STATE_FILE_SCHEMAS.checkpoint as any).properties.tasks.additionalProperties.properties.state.enum, [...TASK_STATES]);
    const metrics = STATE_FILE_SCHEMAS.metrics as any;
    assert.deepEqual(Object.keys(metrics.properties.tasks.properties), [...TASK_STATES]);
    assert.deepEqual(Object.keys(metrics.properties.workstreams.properties), [...WORKSTREAM_STATES]);
    assert.deepEqual(Object.keys(metrics.properties.workers.properties), [...WORKER_STATES]);
  });

  it('accept the empty snapshot cairn init writes', () => {
    const dir = scratch();
    assert.equal(cairn(dir, ['init']).code, 0);
    assert.deepEqual(checkFolder(path.join(dir, '.state')), { problems: [], kinds: new Set(['current']) });
  });

  it('name the JSON path and what was expected', () => {
    assert.deepEqual(validateStateFile('workers', { scheduler: { id: 's', pid: 1 }, written_at: '2026-01-15T10:40:00.000Z', workers: [{ id: 'w1', pid: 0, state: 'asleep', task: 'x', last_heartbeat_at: '2026-01-15T10:40:00.000Z', silent_ms: 5 }] }), [
      { path: '$.workers[0].pid', message: 'must be >= 1 (got 0)' },
      { path: '$.workers[0].state', message: 'must be one of "idle", "busy", "unresponsive", "shutdown", "unknown" (got "asleep")' },
      { path: '$.workers[0].task', message: `must match ${(STATE_FILE_SCHEMAS.workers as any).properties.workers.items.properties.task.pattern}` },
    ]);
  });
});

describe('files a real run writes', () => {
  it('match their schemas when the hello example completes', () => {
    const dir = scratch();
    assert.equal(cairn(dir, ['run', example('hello')]).code, 0);
    const r = checkFolder(path.join(dir, '.state'));
    assert.deepEqual(r.problems, []);
    assert.deepEqual([...r.kinds].sort(), ALL_KINDS);
  });

  it('match their schemas when critical-failure fails, and when retry-task brings it back into current.json', () => {
    const dir = scratch();
    assert.equal(cairn(dir, ['run', example('critical-failure')]).code, 1);
    const failed = checkFolder(path.join(dir, '.state'));
    assert.deepEqual(failed.problems, []);
    assert.deepEqual([...failed.kinds].sort(), ALL_KINDS);
    assert.equal(cairn(dir, ['retry-task', '--task-id', 'release/build', '--yes']).code, 0);
    const current = JSON.parse(readFileSync(path.join(dir, '.state', 'current.json'), 'utf8'));
    assert.equal(current.workstreams.release.tasks.build.state, 'queued');
    assert.deepEqual(checkFolder(path.join(dir, '.state')).problems, []);
  });

  it('match their schemas while a task runs and holds a resource, and after Ctrl-C requeues it', async () => {
    const dir = scratch();
    const spec = setup(dir, {
      id: 'live',
      params: { channel: 'beta' },
      resources: { db: { max_holders: 1 } },
      tasks: [
        { id: 'a', command: 'sleep 30', resources: ['db'], timeout_seconds: 60 },
        { id: 'b', command: ['sleep', '30'], resources: { db: 1 } },
        { id: 'c', command: 'echo c', depends_on: ['a'], validate: 'true', env: { MODE: 'fast' } },
      ],
    }, { snapshot_interval_ms: 20 });
    const stateDir = path.join(dir, '.state');
    const run = startRun(dir, [spec]);
    try {
      const running = () => {
        try {
          const doc = JSON.parse(readFileSync(path.join(stateDir, 'current.json'), 'utf8'));
          return Object.values(doc.workstreams.live?.tasks ?? {}).some((t: any) => t.state === 'running') && existsSync(path.join(stateDir, 'workers.json'));
        } catch {
          return false;
        }
      };
      await until(running, 20_000, 'current.json to show a running task');
      const snap = JSON.parse(readFileSync(path.join(stateDir, 'current.json'), 'utf8'));
      assert.notEqual(snap.scheduler, null);
      assert.equal(Object.keys(snap.resources.db.holders).length, 1);
      const live = checkFolder(stateDir);
      assert.deepEqual(live.problems, []);
      assert.deepEqual([...live.kinds].sort(), ['checkpoint', 'current', 'metrics', 'workers']);
    } finally {
      run.kill('SIGTERM');
    }
    assert.equal(await exited(run), 130);
    assert.deepEqual(checkFolder(stateDir).problems, []);
  });
});

describe('validate-state checks the derived files against their schemas', () => {
  let base = '';
  before(() => {
    base = scratch();
    assert.equal(cairn(base, ['run', example('critical-failure')]).code, 1);
  });

  /** A copy of the failed run's folder; `reopen` retries the failed task so the workstream is back in current.json. */
  function copy(reopen: boolean): string {
    const dir = scratch();
    cpSync(path.join(base, '.state'), path.join(dir, '.state'), { recursive: true });
    if (reopen) assert.equal(cairn(dir, ['retry-task', '--task-id', 'release/build', '--yes']).code, 0);
    assert.equal(json(dir, ['validate-state']).ok, true);
    return dir;
  }

  it('reports a task field of the wrong type in current.json as SCHEMA_INVALID_FILE with the file, the JSON path and the fix, which works', () => {
    const dir = copy(true);
    editJson(path.join(dir, '.state', 'current.json'), (d) => { d.workstreams.release.tasks.build.retry_count = '1'; });
    const r = cairn(dir, ['validate-state', '--json']);
    assert.equal(r.code, 1);
    const report = JSON.parse(r.stdout);
    const schema = report.problems.filter((p: any) => p.code === 'SCHEMA_INVALID_FILE');
    assert.deepEqual(schema, [{
      code: 'SCHEMA_INVALID_FILE',
      message: 'current.json does not match schemas/current.schema.json: $.workstreams.release.tasks.build.retry_count must be an integer (got a string)',
      fix: 'cairn restore-state --from-transitions .state/transitions.jsonl --yes',
      file: 'current.json',
      path: '$.workstreams.release.tasks.build.retry_count',
    }]);
    assert.equal(runFix(dir, schema[0].fix).code, 0);
    assert.deepEqual(json(dir, ['validate-state']).problems, []);
  });

  it('reports an archived task field of the wrong type, and restore-state rewrites the archive', () => {
    const dir = copy(false);
    editJson(path.join(dir, '.state', 'archive', 'release.json'), (d) => { d.workstream.tasks.docs.last_outcome = 'cancelled'; });
    const report = json(dir, ['validate-state']);
    const schema = report.problems.filter((p: any) => p.code === 'SCHEMA_INVALID_FILE');
    assert.deepEqual(schema.map((p: any) => [p.file, p.path]), [['archive/release.json', '$.workstream.tasks.docs.last_outcome']]);
    assert.match(schema[0].message, /must be an object or null \(got a string\)$/);
    assert.equal(runFix(dir, schema[0].fix).code, 0);
    assert.deepEqual(json(dir, ['validate-state']).problems, []);
  });

  it('reports a checkpoint task of the wrong type, and names repair-state, which rebuilds it', () => {
    const dir = copy(false);
    const file = readdirSync(path.join(dir, '.state', 'checkpoints', 'release')).sort()[0]!;
    editJson(path.join(dir, '.state', 'checkpoints', 'release', file), (d) => { d.tasks.build.state = 'sleeping'; });
    const report = json(dir, ['validate-state']);
    const schema = report.problems.filter((p: any) => p.code === 'SCHEMA_INVALID_FILE');
    assert.deepEqual(schema.map((p: any) => [p.file, p.path]), [[`checkpoints/release/${file}`, '$.tasks.build.state']]);
    assert.match(schema[0].fix, /^cairn repair-state --yes/);
    assert.equal(runFix(dir, schema[0].fix).code, 0);
    assert.deepEqual(json(dir, ['validate-state']).problems, []);
  });

  it('reports a metrics.json count of the wrong type', () => {
    const dir = copy(false);
    editJson(path.join(dir, '.state', 'metrics.json'), (d) => { d.tasks.failed = null; });
    const schema = json(dir, ['validate-state']).problems.filter((p: any) => p.code === 'SCHEMA_INVALID_FILE');
    assert.deepEqual(schema.map((p: any) => [p.file, p.path]), [['metrics.json', '$.tasks.failed']]);
    assert.equal(runFix(dir, schema[0].fix).code, 0);
    assert.deepEqual(json(dir, ['validate-state']).problems, []);
  });
});
