// A state folder that is not usable as given: another user's, read-only, a regular file, a link
// written with a trailing slash. Each gets a message naming the path and what is needed, a
// documented exit code, and no change to the folder; never INTERNAL "this is a bug".
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CAIRN_BIN } from './helpers/paths.js';
import { cairn, said } from './helpers/cli.js';
import { scratch } from './helpers/tmp.js';
import { assertTreeUnchanged, readTree } from './helpers/tree.js';

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

/**
 * Runs the real binary as a user the folder's modes apply to. Root ignores mode bits, so as root
 * (here and in CI) the command runs as `nobody` through setpriv; as anyone else it runs as itself.
 */
function asOther(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const argv = [process.execPath, CAIRN_BIN, ...args];
  const r = isRoot
    ? spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--', ...argv], { encoding: 'utf8', env: { ...process.env, CAIRN_OPERATOR: 'tester' } })
    : spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env: { ...process.env, CAIRN_OPERATOR: 'tester' } });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Fails loudly (never skips) when the denial this test needs cannot be produced on this machine. */
function assertDenied(file: string, op: 'read' | 'write'): void {
  const probe = op === 'read' ? ['cat', file] : ['sh', '-c', 'echo x >> "$0"', file];
  const r = isRoot
    ? spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--', ...probe], { encoding: 'utf8' })
    : spawnSync(probe[0]!, probe.slice(1), { encoding: 'utf8' });
  assert.notEqual(r.status, 0, `the test cannot deny ${op} access to ${file} here (setpriv missing, or a user mode bits do not stop): ${r.error ?? r.stderr}`);
}

/** A folder both this process and the other user can enter, with an initialized state folder in it. */
async function initialized(): Promise<{ dir: string; state: string }> {
  const dir = scratch('cairn-access-');
  chmodSync(dir, 0o755);
  const state = join(dir, 'st');
  const r = await cairn(['init', '--state-dir', state]);
  assert.equal(r.code, 0, said(r));
  writeFileSync(join(dir, 'spec.json'), JSON.stringify({ id: 'w', tasks: [{ id: 'a', command: 'true' }] }));
  chmodSync(join(dir, 'spec.json'), 0o644);
  return { dir, state };
}

describe('a state folder this user may not use', () => {
  it('refuses every command on another user\'s folder with PERMISSION_DENIED naming the folder and what is needed (exit 2), changing nothing', async () => {
    const { dir, state } = await initialized();
    // Owned by root (or by this user with no access at all when the test is not root), 0700.
    if (!isRoot) chmodSync(state, 0o000);
    assertDenied(join(state, 'config.json'), 'read');
    const before = readTree(dir);
    for (const [args, need] of [
      [['status'], 'read'], [['events'], 'read'], [['validate-state'], 'read'], [['repair-state', '--dry-run'], 'read'],
      [['submit', join(dir, 'spec.json')], 'write'], [['init'], 'write'], [['run', join(dir, 'spec.json')], 'write'],
      // restore-state reads first (its preview is a dry run), so it stops at reading.
      [['restore-state', '--from-transitions', join(state, 'transitions.jsonl'), '--yes'], 'read'],
    ] as const) {
      const r = asOther([...args, '--state-dir', state]);
      const what = `cairn ${args.join(' ')}: exit ${r.code}\n${r.stderr}`;
      assert.equal(r.code, 2, what);
      assert.match(r.stderr, /error \[PERMISSION_DENIED\]: cannot (read|write to) \S*\/st: permission denied/, what);
      assert.match(r.stderr, need === 'write' ? /needs read and write access to the state folder/ : /needs read access to the state folder/, what);
      assert.doesNotMatch(r.stderr, /INTERNAL|bug/, what);
    }
    const j = asOther(['status', '--state-dir', state, '--json']);
    const doc = JSON.parse(j.stdout);
    assert.equal(doc.error.code, 'PERMISSION_DENIED');
    assert.equal(doc.error.details.path, state);
    if (!isRoot) chmodSync(state, 0o700);
    assertTreeUnchanged(before, readTree(dir));
  });

  it('reads a read-only folder (status, events, validate-state) and refuses a write naming the folder, changing nothing', async () => {
    const { dir, state } = await initialized();
    const sub = await cairn(['submit', join(dir, 'spec.json'), '--state-dir', state]);
    assert.equal(sub.code, 0, said(sub));
    // Readable by everyone, writable by its owner only (root): read-only for the other user.
    spawnSync('chmod', ['-R', isRoot ? 'a+rX' : 'a+rX,a-w', state]);
    assertDenied(join(state, 'transitions.jsonl'), 'write');
    const before = readTree(dir);
    for (const args of [['status'], ['events'], ['validate-state']]) {
      const r = asOther([...args, '--state-dir', state]);
      assert.equal(r.code, 0, `cairn ${args.join(' ')}: exit ${r.code}\n${r.stdout}${r.stderr}`);
    }
    const r = asOther(['cancel-task', '--task-id', 'w/a', '--yes', '--state-dir', state]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /error \[PERMISSION_DENIED\]: cannot write to \S*\/st: permission denied/);
    assert.match(r.stderr, /Commands that only read \(status, events/);
    if (!isRoot) spawnSync('chmod', ['-R', 'u+w', state]);
    assertTreeUnchanged(before, readTree(dir));
  });

  it('reports a file deep in the folder it may not write as IO_ERROR naming that file, never INTERNAL', async () => {
    const dir = scratch('cairn-access-');
    chmodSync(dir, 0o755);
    if (isRoot) chownSync(dir, NOBODY, NOBODY);
    const state = join(dir, 'st');
    const init = asOther(['init', '--state-dir', state]);
    assert.equal(init.code, 0, init.stderr);
    writeFileSync(join(dir, 'spec.json'), JSON.stringify({ id: 'w', tasks: [{ id: 'a', command: 'true' }] }));
    chmodSync(join(dir, 'spec.json'), 0o644);
    const ckpts = join(state, 'checkpoints');
    if (isRoot) chownSync(ckpts, 0, 0);
    chmodSync(ckpts, 0o000);
    assertDenied(join(ckpts, 'x'), 'write');
    const r = asOther(['submit', join(dir, 'spec.json'), '--state-dir', state]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /error \[IO_ERROR\]: the command's records are committed .*checkpoints\S* failed: permission denied \(EACCES\)/);
    assert.match(r.stderr, /Do not run the command again/);
    assert.doesNotMatch(r.stderr, /INTERNAL|This is a bug/);
    chmodSync(ckpts, 0o700);
  });
});

describe('--state-dir naming something that is not a folder', () => {
  it('says a regular file is a regular file, not a symbolic link (exit 2)', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'plain'), 'x');
    for (const cmd of ['status', 'init']) {
      const r = await cairn([cmd, '--state-dir', join(dir, 'plain')]);
      assert.equal(r.code, 2, said(r));
      assert.match(r.stderr, /error \[BAD_INPUT\]: \S*plain is a regular file, not a state folder/);
      assert.doesNotMatch(r.stderr, /symbolic link/);
    }
  });

  it('judges link/ with a trailing slash like link: a link to a state folder is refused either way', async () => {
    const dir = scratch();
    const real = join(dir, 'real');
    assert.equal((await cairn(['init', '--state-dir', real])).code, 0);
    symlinkSync(real, join(dir, 'link'));
    for (const named of [join(dir, 'link'), join(dir, 'link') + '/', join(dir, 'link') + '//']) {
      for (const cmd of [['status'], ['init'], ['events'], ['validate-state']]) {
        const before = readTree(dir);
        const r = await cairn([...cmd, '--state-dir', named]);
        assert.equal(r.code, 2, `${cmd.join(' ')} --state-dir ${named}\n${said(r)}`);
        assert.match(r.stderr, /error \[UNSAFE_PATH\]: \S*link is a symbolic link; cairn does not follow a link to its state folder/);
        assertTreeUnchanged(before, readTree(dir));
      }
    }
    const ok = await cairn(['status', '--state-dir', real + '/']);
    assert.equal(ok.code, 0, said(ok));
  });
});
