// Ids are checked before they become paths, cairn never follows a symlink in or as its state folder,
// and everything it creates is private (files 0600, folders 0700) whatever the umask.
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { FIXTURES } from './helpers/paths.js';
import { scratch } from './helpers/tmp.js';
import { assertTreeUnchanged, readTree } from './helpers/tree.js';

const base = scratch('cairn-security-');
let n = 0;
function fresh(): string {
  n += 1;
  const dir = join(base, `t${n}`);
  mkdirSync(dir);
  return dir;
}

function writeSpec(dir: string, name: string, spec: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(spec));
  return file;
}

/** A state folder with one workstream, made by the CLI. */
async function initialized(dir: string): Promise<string> {
  const state = join(dir, '.state');
  const ok = writeSpec(dir, 'ok.json', { id: 'ok', resources: { db: { max_holders: 1 } }, tasks: [{ id: 'a', command: 'true', resources: ['db'] }] });
  const r = await cairn(['submit', ok, '--state-dir', state]);
  assert.equal(r.code, 0, said(r));
  return state;
}

const BAD_IDS: Record<string, string> = {
  'a parent reference': '..',
  'a path with ..': '../../etc/x',
  'a slash': 'a/b',
  'a NUL byte': 'a\u0000b',
  '200 characters': 'a'.repeat(200),
};

describe('ids that could leave .state', () => {
  for (const [what, id] of Object.entries(BAD_IDS)) {
    it(`refuses ${what} as a workstream id, a task id or a resource name (exit 2) and writes nothing`, async () => {
      const dir = fresh();
      const state = await initialized(dir);
      const specs = {
        workstream: { id, tasks: [{ id: 't', command: 'true' }] },
        task: { id: 'w', tasks: [{ id, command: 'true' }] },
        resource: { id: 'w', resources: { [id]: { max_holders: 1 } }, tasks: [{ id: 't', command: 'true', resources: [id] }] },
        dependency: { id: 'w', tasks: [{ id: 't', command: 'true', depends_on: [id] }] },
      };
      const files = Object.entries(specs).map(([where, spec]) => [where, writeSpec(dir, `bad-${where}.json`, spec)] as const);
      const before = readTree(dir);
      // Refusals write nothing, so they may all run at once.
      await Promise.all(files.flatMap(([where, file]) => ['submit', 'run'].map(async (cmd) => {
        const r = await cairn([cmd, file, '--state-dir', state], { cwd: dir });
        assert.equal(r.code, 2, `${cmd} with a bad ${where}: ${said(r)}`);
        assert.match(r.stderr, /error \[(SCHEMA_INVALID|BAD_ID)\]/, said(r));
      })));
      assertTreeUnchanged(before, readTree(dir), 'the folder around .state');
    });
  }

  it('refuses a bad id before creating a state folder that does not exist yet', async () => {
    const dir = fresh();
    const file = writeSpec(dir, 'bad.json', { id: '../escape', tasks: [{ id: 't', command: 'true' }] });
    for (const cmd of ['submit', 'run']) {
      const r = await cairn([cmd, file, '--state-dir', join(dir, '.state')], { cwd: dir });
      assert.equal(r.code, 2, said(r));
      assert.deepEqual(readdirSync(dir), ['bad.json'], `${cmd} created nothing`);
    }
  });

  it('refuses a bad id given as a flag without touching the state', async () => {
    const dir = fresh();
    const state = await initialized(dir);
    const before = readTree(dir);
    for (const args of [['status', '--workstream-id', '../ok'], ['show-task', '--task-id', '../../ok/a'], ['show-task', '--task-id', `ok/${'a'.repeat(200)}`]]) {
      const r = await cairn([...args, '--state-dir', state]);
      assert.equal(r.code, 2, said(r));
    }
    assertTreeUnchanged(before, readTree(dir), 'the folder around .state');
  });
});

describe('symlinks', () => {
  const COMMANDS: string[][] = [['init'], ['submit', 'SPEC'], ['run', 'SPEC'], ['status'], ['validate-state'], ['restore-state', '--from-backup', 'latest', '--yes'], ['events']];

  it('refuses a .state that is a symlink to a state folder, for every command, and writes nothing there', async () => {
    const dir = fresh();
    const real = await initialized(join(dir));
    const link = join(dir, 'link');
    symlinkSync(real, link);
    const spec = writeSpec(dir, 'other.json', { id: 'other', tasks: [{ id: 't', command: 'true' }] });
    const before = readTree(real);
    await Promise.all(COMMANDS.map(async (args) => {
      const r = await cairn([...args.map((a) => (a === 'SPEC' ? spec : a)), '--state-dir', link], { cwd: dir });
      assert.equal(r.code, 2, `${args[0]}: ${said(r)}`);
      assert.match(r.stderr, /error \[UNSAFE_PATH\]/, said(r));
    }));
    assertTreeUnchanged(before, readTree(real), "the link's target");
  });

  it('refuses a .state that is a symlink to an empty folder, creating nothing in it', async () => {
    const dir = fresh();
    mkdirSync(join(dir, 'elsewhere'));
    symlinkSync(join(dir, 'elsewhere'), join(dir, '.state'));
    const spec = writeSpec(dir, 'other.json', { id: 'other', tasks: [{ id: 't', command: 'true' }] });
    await Promise.all(COMMANDS.map(async (args) => {
      const r = await cairn([...args.map((a) => (a === 'SPEC' ? spec : a)), '--state-dir', join(dir, '.state')], { cwd: dir });
      assert.equal(r.code, 2, `${args[0]}: ${said(r)}`);
    }));
    assert.deepEqual(readdirSync(join(dir, 'elsewhere')), [], 'nothing was written through the link');
  });

  for (const name of ['transitions.jsonl', 'current.json', 'config.json', 'metrics.json', 'interventions.log', 'backups', 'checkpoints', 'archive', 'logs']) {
    it(`never writes through a symlink planted as .state/${name}`, async () => {
      const dir = fresh();
      const state = await initialized(dir);
      writeFileSync(join(state, 'config.json'), JSON.stringify({ backup_interval_ms: 0 }));
      if (!existsSync(join(state, name))) writeFileSync(join(state, name), '');
      const outside = join(dir, 'outside');
      mkdirSync(outside);
      cpSync(join(state, name), join(outside, 'target'), { recursive: true });
      // A file of the kind cairn keeps there, so a command that removes such files through the link is caught.
      if (lstatSync(join(outside, 'target')).isDirectory()) writeFileSync(join(outside, 'target', 'victim.json'), '{}');
      rmSync(join(state, name), { recursive: true });
      symlinkSync(join(outside, 'target'), join(state, name));
      const spec = writeSpec(dir, 'other.json', { id: 'other', tasks: [{ id: 't', command: 'true' }] });
      const before = readTree(outside);
      for (const args of [['submit', spec], ['run', spec], ['status'], ['validate-state']]) {
        const r = await cairn([...args, '--state-dir', state], { cwd: dir });
        assert.ok(r.code === 0 || r.code === 1 || r.code === 2, said(r));
        assert.doesNotMatch(r.stderr, /INTERNAL|ELOOP/, `${args[0]} fails cleanly: ${said(r)}`);
        assertTreeUnchanged(before, readTree(outside), `the symlink's target after ${args[0]}`);
      }
      if (name === 'checkpoints' || name === 'archive') {
        const v = await cairnJson(['validate-state', '--state-dir', state], { cwd: dir });
        assert.ok(v.doc.problems.some((p: { code: string; file?: string }) => p.code === 'UNSAFE_PATH' && p.file === name), `validate-state reports the link and reads nothing through it: ${said(v)}`);
      }
      // The tools that rebuild derived files remove and replace files: never through the link. A
      // garbled snapshot gives repair-state something to rebuild.
      writeFileSync(join(state, name === 'current.json' ? 'metrics.json' : 'current.json'), '{');
      for (const args of [['restore-state', '--from-transitions', join(state, 'transitions.jsonl'), '--yes'], ['repair-state', '--yes']]) {
        const r = await cairn([...args, '--state-dir', state], { cwd: dir });
        assert.ok(r.code === 0 || r.code === 1 || r.code === 2, said(r));
        assert.doesNotMatch(r.stderr, /error \[INTERNAL\]/, said(r));
        assertTreeUnchanged(before, readTree(outside), `the symlink's target after ${args[0]}`);
      }
      if (name === 'transitions.jsonl') {
        const r = await cairn(['status', '--state-dir', state]);
        assert.equal(r.code, 2, said(r));
        assert.match(r.stderr, /error \[UNSAFE_PATH\]: .*transitions\.jsonl/, said(r));
      }
    });
  }
});

describe('permissions', () => {
  /** Every entry under `dir` whose mode is not 0600 (files) or 0700 (folders), the folder itself included. */
  function wrongModes(dir: string): string[] {
    const out: string[] = [];
    const check = (p: string, rel: string) => {
      const st = lstatSync(p);
      const mode = st.mode & 0o777;
      if (st.isDirectory()) {
        if (mode !== 0o700) out.push(`${rel}/ ${mode.toString(8)}`);
        for (const e of readdirSync(p)) check(join(p, e), rel ? `${rel}/${e}` : e);
      } else if (mode !== 0o600) out.push(`${rel} ${mode.toString(8)}`);
    };
    check(dir, '');
    return out;
  }

  for (const umask of ['000', '077', '022']) {
    it(`creates files 0600 and folders 0700 under umask ${umask}`, async () => {
      const dir = fresh();
      const state = join(dir, '.state');
      cpSync(join(FIXTURES, 'flaky.mjs'), join(dir, 'flaky.mjs'));
      const spec = writeSpec(dir, 'run.json', {
        id: 'perm', defaults: { retry_base_seconds: 0.01 }, resources: { db: { max_holders: 1 } },
        tasks: [
          { id: 'flaky', command: ['node', join(dir, 'flaky.mjs'), join(dir, 'count'), '1'], max_retries: 1, resources: ['db'] },
          { id: 'after', command: 'echo hi', depends_on: ['flaky'], validate: 'true' },
          { id: 'fails', command: 'exit 3', max_retries: 0 },
        ],
      });
      const steps: string[][] = [
        ['init'],
        ['run', spec, '--workers', '2'],
        ['submit', writeSpec(dir, 'next.json', { id: 'next', tasks: [{ id: 'a', command: 'true' }] })],
        ['restore-state', '--from-transitions', join(state, 'transitions.jsonl'), '--yes'],
      ];
      for (const [i, args] of steps.entries()) {
        const r = await cairn([...args, '--state-dir', state], { cwd: dir, umask });
        assert.ok(r.code === 0 || (args[0] === 'run' && r.code === 1), `${args[0]}: ${said(r)}`);
        if (i === 0) writeFileSync(join(state, 'config.json'), JSON.stringify({ backup_interval_ms: 0 }), { mode: 0o600 });
      }
      // A torn tail set aside under this umask too.
      writeFileSync(join(state, 'transitions.jsonl'), '{"seq":99', { flag: 'a' });
      const r = await cairnJson(['submit', writeSpec(dir, 'last.json', { id: 'last', tasks: [{ id: 'a', command: 'true' }] }), '--state-dir', state], { cwd: dir, umask });
      assert.equal(r.code, 0, said(r));
      const names = readdirSync(state);
      assert.ok(names.some((f) => f.startsWith('transitions.jsonl.torn-')), names.join(', '));
      for (const sub of ['backups', 'checkpoints', 'archive', 'logs']) assert.ok(readdirSync(join(state, sub)).length > 0, `${sub} has files to check`);
      assert.deepEqual(wrongModes(state), []);
    });
  }
});
