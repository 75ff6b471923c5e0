// Retention (config.json's *_keep and *_max_age_days): `cairn prune [--dry-run]` and the end of
// `cairn run` remove old backups, checkpoint files and attempt logs, and never what the log or
// loading needs. Ages are files' mtimes, set here with utimes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { CAIRN_BIN, FIXTURES, ROOT } from './helpers/paths.js';
import { scratch } from './helpers/tmp.js';

const DAY_S = 86_400;
/** Derived files at every write, so a short run leaves several backups and checkpoint files. */
const BUSY = { backup_interval_ms: 0, snapshot_interval_ms: 0 };

async function fresh(): Promise<{ dir: string; state: string }> {
  const dir = scratch();
  const state = join(dir, 'st');
  const r = await cairn(['init', '--state-dir', state]);
  assert.equal(r.code, 0, said(r));
  setConfig(state, BUSY); // a backup and checkpoints at every derived write: several to prune
  return { dir, state };
}

function setConfig(state: string, config: Record<string, unknown>): void {
  writeFileSync(join(state, 'config.json'), JSON.stringify(config));
}

function writeSpec(dir: string, spec: unknown): string {
  const f = join(dir, `${(spec as { id: string }).id}.json`);
  writeFileSync(f, JSON.stringify(spec));
  return f;
}

async function runSpec(state: string, spec: string, expected = 0): Promise<{ notes: string[] }> {
  const r = await cairnJson(['run', spec, '--workers', '1', '--state-dir', state]);
  assert.equal(r.code, expected, said(r));
  return r.doc;
}

/** Sets a file's mtime (and atime) to `days` ago. */
function age(file: string, days: number): void {
  const t = Date.now() / 1000 - days * DAY_S;
  utimesSync(file, t, t);
}

/** Every file under the state folder (lock folders aside), relative to it, sorted. */
function files(state: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (!e.name.endsWith('.lock')) walk(p);
      } else out.push(relative(state, p));
    }
  };
  walk(state);
  return out.sort();
}

const under = (state: string, sub: string) => files(state).filter((f) => f.startsWith(sub));
const names = (doc: { removed: { file: string }[] }) => doc.removed.map((r) => r.file).sort();

/** Two workstreams run to the end: `old` (a retried first task, then b and c), then `new`. */
async function twoRuns(): Promise<{ dir: string; state: string }> {
  const { dir, state } = await fresh();
  const counter = join(dir, 'counter');
  await runSpec(state, writeSpec(dir, {
    id: 'old',
    defaults: { max_retries: 1, retry_base_seconds: 0 },
    tasks: [
      { id: 'a', command: ['node', join(FIXTURES, 'flaky.mjs'), counter, '1'] },
      { id: 'b', command: 'echo b', depends_on: ['a'] },
      { id: 'c', command: 'echo c', depends_on: ['b'] },
    ],
  }));
  await runSpec(state, writeSpec(dir, { id: 'new', tasks: [{ id: 'n', command: 'echo n' }] }));
  return { dir, state };
}

describe('cairn prune', () => {
  it('removes by age exactly what the dry run listed, keeps the newest backup and each latest checkpoint, and leaves the log and state as they were', async () => {
    const { state } = await twoRuns();
    const backups = under(state, 'backups/');
    assert.ok(backups.length >= 4, backups.join('\n'));
    const oldCheckpoints = under(state, 'checkpoints/old/');
    assert.ok(oldCheckpoints.length >= 3, oldCheckpoints.join('\n'));
    assert.deepEqual(under(state, 'logs/old/'), ['logs/old/a.1.log', 'logs/old/a.2.log', 'logs/old/b.1.log', 'logs/old/c.1.log']);

    for (const f of [...backups, ...oldCheckpoints]) age(join(state, f), 10);
    age(join(state, 'logs/old/a.1.log'), 40); // did not complete its task: kept under the 60-day rule
    age(join(state, 'logs/old/a.2.log'), 40);
    age(join(state, 'logs/old/b.1.log'), 40);
    age(join(state, 'logs/old/c.1.log'), 10);
    setConfig(state, {
      ...BUSY,
      backups_max_age_days: 7,
      checkpoints_finished_max_age_days: 7,
      attempt_logs_max_age_days: 30,
      failed_attempt_logs_max_age_days: 60,
    });

    const statusBefore = (await cairnJson(['status', '--all', '--state-dir', state])).doc;
    const atBefore = await cairnJson(['state', '--at', '3', '--state-dir', state]);
    assert.equal(atBefore.code, 0, said(atBefore));
    const logBefore = readFileSync(join(state, 'transitions.jsonl'));
    const before = files(state);

    const dry = await cairnJson(['prune', '--dry-run', '--state-dir', state]);
    assert.equal(dry.code, 0, said(dry));
    assert.equal(dry.doc.dry_run, true);
    assert.deepEqual(files(state), before, 'a dry run removes nothing');

    // The newest backup (by its name's time, then seq: the one restore-state --from-backup latest tries first).
    const newest = [...backups].sort((x, y) => stampSeq(y).localeCompare(stampSeq(x)))[0]!;
    const latestOld = Math.max(...oldCheckpoints.map(seqOf));
    const expected = [
      ...backups.filter((f) => f !== newest),
      ...oldCheckpoints.filter((f) => f !== `checkpoints/old/${latestOld}.json`),
      'logs/old/a.2.log',
      'logs/old/b.1.log',
    ].sort();
    assert.deepEqual(names(dry.doc), expected);
    const ruleOf = Object.fromEntries(dry.doc.removed.map((r: { file: string; rule: string }) => [r.file, r.rule]));
    assert.equal(ruleOf['logs/old/a.2.log'], 'attempt_logs_max_age_days');
    assert.equal(ruleOf[backups.find((f) => f !== newest)!], 'backups_max_age_days');
    assert.equal(ruleOf[`checkpoints/old/${Math.min(...oldCheckpoints.map(seqOf))}.json`], 'checkpoints_finished_max_age_days');
    for (const r of dry.doc.removed) assert.equal(r.bytes, statSync(join(state, r.file)).size, r.file);
    assert.equal(dry.doc.bytes, dry.doc.removed.reduce((n: number, r: { bytes: number }) => n + r.bytes, 0));
    assert.deepEqual(dry.doc.kept.map((k: { file: string; rule: string }) => [k.file, k.rule]).sort(), [
      [newest, 'backups_max_age_days'],
      [`checkpoints/old/${latestOld}.json`, 'checkpoints_finished_max_age_days'],
    ]);
    assert.deepEqual(dry.doc.rewritten.map((w: { file: string }) => w.file), ['checkpoints/old_latest.json', `checkpoints/old/${latestOld}.json`]);
    const human = await cairn(['prune', '--dry-run', '--state-dir', state]);
    assert.match(human.stdout, new RegExp(`would remove ${expected.length} file\\(s\\)`));
    assert.match(human.stdout, /logs\/old\/b\.1\.log +\d+ B +attempt_logs_max_age_days +a completed attempt's log, 40\.0 days old/);
    assert.match(human.stdout, /kept backups\/\S+ \(backups_max_age_days matched\): the newest valid backup is always kept/);

    const real = await cairnJson(['prune', '--state-dir', state]);
    assert.equal(real.code, 0, said(real));
    assert.equal(real.doc.dry_run, false);
    assert.deepEqual(real.doc.removed, dry.doc.removed, 'prune removes exactly what the dry run listed');
    assert.deepEqual(files(state), before.filter((f) => !expected.includes(f)));

    assert.deepEqual(readFileSync(join(state, 'transitions.jsonl')), logBefore, 'nothing recorded: retention is housekeeping');
    const v = await cairnJson(['validate-state', '--state-dir', state]);
    assert.equal(v.code, 0, said(v));
    assert.deepEqual((await cairnJson(['status', '--all', '--state-dir', state])).doc, statusBefore);
    const atAfter = await cairnJson(['state', '--at', '3', '--state-dir', state]);
    assert.equal(atAfter.code, 0, said(atAfter));
    assert.deepEqual(atAfter.doc, atBefore.doc);
    const restore = await cairnJson(['restore-state', '--from-backup', 'latest', '--dry-run', '--state-dir', state]);
    assert.equal(restore.code, 0, said(restore));
    assert.equal(restore.doc.source, newest);

    // The failed attempt's log passes its own, longer limit later; a second prune takes it alone.
    age(join(state, 'logs/old/a.1.log'), 70);
    const later = await cairnJson(['prune', '--state-dir', state]);
    assert.equal(later.code, 0, said(later));
    assert.deepEqual(later.doc.removed.map((r: { file: string; rule: string }) => [r.file, r.rule]), [['logs/old/a.1.log', 'failed_attempt_logs_max_age_days']]);
    assert.deepEqual(under(state, 'logs/old/'), ['logs/old/c.1.log']);
  });

  it('removes by count beyond backups_keep and checkpoints_keep, oldest first, and validate-state stays clean', async () => {
    const { state } = await twoRuns();
    const backups = under(state, 'backups/').sort((x, y) => stampSeq(y).localeCompare(stampSeq(x)));
    const oldCk = under(state, 'checkpoints/old/').map(seqOf).sort((x, y) => x - y);
    setConfig(state, { ...BUSY, backups_keep: 2, checkpoints_keep: 2 });
    const dry = await cairnJson(['prune', '--dry-run', '--state-dir', state]);
    assert.deepEqual(names(dry.doc), [...backups.slice(2), ...oldCk.slice(0, -2).map((s) => `checkpoints/old/${s}.json`)].sort());
    assert.ok(dry.doc.removed.every((r: { rule: string }) => r.rule === 'backups_keep' || r.rule === 'checkpoints_keep'));
    const real = await cairnJson(['prune', '--state-dir', state]);
    assert.deepEqual(real.doc.removed, dry.doc.removed);
    assert.deepEqual(under(state, 'backups/').sort(), backups.slice(0, 2).sort());
    assert.deepEqual(under(state, 'checkpoints/old/').sort(), oldCk.slice(-2).map((s) => `checkpoints/old/${s}.json`).sort());
    const v = await cairnJson(['validate-state', '--state-dir', state]);
    assert.equal(v.code, 0, said(v));
    const again = await cairnJson(['prune', '--state-dir', state]);
    assert.deepEqual(again.doc.removed, []);
    assert.match((await cairn(['prune', '--state-dir', state])).stdout, /nothing to remove/);
  });

  it('keeps a finished workstream\'s archive file and latest checkpoint under archived_workstreams_max_age_days, and loading still starts from current.json', async () => {
    const { state } = await twoRuns();
    setConfig(state, { ...BUSY, archived_workstreams_max_age_days: 0 });
    const r = await cairnJson(['prune', '--state-dir', state]);
    assert.equal(r.code, 0, said(r));
    assert.ok(r.doc.removed.every((x: { rule: string }) => x.rule === 'archived_workstreams_max_age_days'), JSON.stringify(r.doc.removed));
    assert.deepEqual(under(state, 'logs/old/'), []);
    assert.deepEqual(under(state, 'logs/new/'), []);
    assert.ok(!existsSync(join(state, 'logs/old')), 'an emptied attempt-log folder goes too');
    assert.equal(under(state, 'checkpoints/old/').length, 1);
    assert.ok(existsSync(join(state, 'archive/old.json')) && existsSync(join(state, 'archive/new.json')));
    assert.ok(existsSync(join(state, 'checkpoints/old_latest.json')));
    const s = await cairnJson(['status', '--all', '--state-dir', state]);
    assert.equal(s.doc.loaded_from, 'current.json');
    assert.deepEqual(s.doc.warnings, []);
    const v = await cairnJson(['validate-state', '--state-dir', state]);
    assert.equal(v.code, 0, said(v));
  });

  it('keeps the logs of a retrying task, whatever their age', async () => {
    const { dir, state } = await fresh();
    const spec = writeSpec(dir, { id: 'r', defaults: { max_retries: 2, retry_base_seconds: 3600, retry_cap_seconds: 3600 }, tasks: [{ id: 't', command: 'exit 3' }] });
    // The first attempt fails and the task waits an hour to retry: stop the run there (exit 130).
    const child = spawn(process.execPath, [CAIRN_BIN, 'run', spec, '--workers', '1', '--state-dir', state], { cwd: ROOT, stdio: 'ignore', env: { ...process.env, CAIRN_STATE_DIR: undefined } });
    const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)));
    for (;;) {
      const st = await cairnJson(['show-task', '--task-id', 'r/t', '--state-dir', state]);
      if (st.code === 0 && st.doc.task?.state === 'retrying') break;
      await new Promise((res) => setTimeout(res, 100));
    }
    child.kill('SIGINT');
    assert.equal(await exited, 130);
    age(join(state, 'logs/r/t.1.log'), 400);
    setConfig(state, { failed_attempt_logs_max_age_days: 1, attempt_logs_max_age_days: 1, archived_workstreams_max_age_days: 0 });
    const r = await cairnJson(['prune', '--state-dir', state]);
    assert.equal(r.code, 0, said(r));
    assert.ok(!r.doc.removed.some((x: { file: string }) => x.file.startsWith('logs/')), JSON.stringify(r.doc.removed));
    assert.deepEqual(r.doc.kept.filter((k: { file: string }) => k.file.startsWith('logs/')).map((k: { file: string; rule: string; why: string }) => [k.file, k.rule, k.why]), [
      ['logs/r/t.1.log', 'failed_attempt_logs_max_age_days', 'task r/t is retrying: logs of unfinished tasks are always kept'],
    ]);
    assert.ok(existsSync(join(state, 'logs/r/t.1.log')));
  });

  it('keeps every backup when current.json is not usable (loading and restore-state need them)', async () => {
    const { state } = await twoRuns();
    const backups = under(state, 'backups/');
    for (const f of backups) age(join(state, f), 10);
    setConfig(state, { ...BUSY, backups_max_age_days: 1 });
    writeFileSync(join(state, 'current.json'), '{"garbled": ');
    const r = await cairnJson(['prune', '--dry-run', '--state-dir', state]);
    assert.equal(r.code, 0, said(r));
    assert.deepEqual(r.doc.removed, []);
    assert.match(r.doc.notes.join('\n'), /current\.json was not usable .*every backup is kept/);
    assert.deepEqual(under(state, 'backups/'), backups);
  });

  it('refuses a bad retention setting with its path (exit 2) and removes nothing', async () => {
    const { state } = await twoRuns();
    const before = files(state);
    setConfig(state, { backups_max_age_days: -1 });
    const r = await cairn(['prune', '--state-dir', state]);
    assert.equal(r.code, 2, said(r));
    assert.match(r.stderr, /SCHEMA_INVALID.*\$\.backups_max_age_days: must be >= 0/s);
    assert.deepEqual(files(state), before);
  });

  it('is also scripts/prune, with --help naming the rules', async () => {
    const help = await new Promise<string>((res) => {
      const c = spawn(join(ROOT, 'scripts/prune'), ['--help'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      c.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
      c.on('close', () => res(out));
    });
    assert.match(help, /cairn prune/);
    assert.match(help, /--dry-run/);
    assert.match(help, /failed_attempt_logs_max_age_days/);
    assert.match(help, /Never removed: transitions\.jsonl/);
  });
});

describe('cairn run and retention', () => {
  it('applies the retention rules when it ends, and says what it removed', async () => {
    const { dir, state } = await fresh();
    await runSpec(state, writeSpec(dir, { id: 'first', tasks: [{ id: 'x', command: 'echo x' }, { id: 'y', command: 'echo y' }] }));
    for (const f of under(state, 'logs/first/')) age(join(state, f), 40);
    setConfig(state, { attempt_logs_max_age_days: 30 });
    const doc = await runSpec(state, writeSpec(dir, { id: 'second', tasks: [{ id: 'z', command: 'echo z' }] }));
    assert.deepEqual(under(state, 'logs/first/'), []);
    assert.deepEqual(under(state, 'logs/second/'), ['logs/second/z.1.log']);
    assert.ok(doc.notes.some((n) => /^retention removed 2 file\(s\), 4 bytes/.test(n)), doc.notes.join('\n'));
    const v = await cairnJson(['validate-state', '--state-dir', state]);
    assert.equal(v.code, 0, said(v));
  });
});

/** The seq of a checkpoint file `checkpoints/<ws>/<seq>.json`. */
function seqOf(f: string): number {
  return Number(/(\d+)\.json$/.exec(f)![1]);
}

function stampSeq(f: string): string {
  const m = /current_(.+)_(\d+)\.json$/.exec(f)!;
  return `${m[1]}_${m[2]!.padStart(12, '0')}`;
}
