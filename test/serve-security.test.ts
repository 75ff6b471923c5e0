// cairn serve's security rules, tried from outside against a real `cairn serve` process: no token,
// a wrong token, a forged Origin, a rebinding Host, a 10 MB body, hostile ids, path traversal in
// log requests, forms and text/plain, GET for a mutation, and the token file itself.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { http, post, type Served, startServe } from './helpers/serve.js';
import { scratch } from './helpers/tmp.js';

/**
 * POSTs a large body announced by its Content-Length, as a client streams it: the first 1.5 MiB
 * (past every limit), then it waits for the answer. The server answers and closes as soon as it
 * knows, so writing on would only race its close (EPIPE) with reading the answer.
 */
function bigPost(s: Served, path: string, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request({
      host: '127.0.0.1', port: s.port, method: 'POST', path, setHost: false,
      headers: { host: `127.0.0.1:${s.port}`, authorization: `Bearer ${s.token}`, 'content-type': 'application/json', 'content-length': String(body.length) },
    }, (res) => {
      answered = true;
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => { text += d; }).on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', (e) => { if (!answered) reject(e); });
    req.write(body.subarray(0, 1536 * 1024));
  });
}

async function stateWithFailedTask(): Promise<{ dir: string; state: string }> {
  const dir = scratch('cairn-serve-');
  const state = join(dir, 'st');
  const spec = join(dir, 'spec.json');
  writeFileSync(spec, JSON.stringify({ id: 'nightly', defaults: { max_retries: 0 }, tasks: [{ id: 'ok', command: 'true' }, { id: 'bad', command: 'exit 3', depends_on: ['ok'] }] }));
  const r = await cairn(['run', spec, '--state-dir', state], { timeoutMs: 120_000 });
  assert.equal(r.code, 1, said(r));
  return { dir, state };
}

describe('cairn serve: security', () => {
  let s: Served;
  let state: string;
  before(async () => {
    ({ state } = await stateWithFailedTask());
    s = await startServe(state);
  });
  after(async () => { await s.stop(); });

  it('writes the token (64 hex digits, 0600) into the state folder, git-ignores it, and keeps it across restarts', async () => {
    const file = join(state, 'serve-token');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.match(readFileSync(file, 'utf8'), /^[0-9a-f]{64}\n$/);
    assert.match(readFileSync(join(state, '.gitignore'), 'utf8'), /^serve-token$/m);
    const again = await startServe(state);
    try {
      assert.equal(again.token, s.token);
      assert.ok(!again.output().includes(s.token), 'a token that already existed is not printed again');
    } finally {
      await again.stop();
    }
  });

  it('answers /healthz without the token, and nothing else (not even the dashboard\'s files)', async () => {
    assert.equal((await http(s, 'GET', '/healthz')).status, 200);
    for (const path of ['/', '/index.html', '/assets/app.js', '/assets/vendor/dagre.js']) {
      const page = await http(s, 'GET', path);
      assert.equal(page.status, 401, `${path} without a token`);
      assert.ok(!page.text.includes(s.token), 'the answer holds no token');
    }
    const page = await http(s, 'GET', '/', { token: s.token });
    assert.equal(page.status, 200);
    assert.ok(!page.text.includes(s.token), 'the page holds no token');
    for (const path of ['/api/v1/status', '/api/v1/workstreams', '/api/v1/events', '/api/v1/events/stream', '/metrics', '/api/v1/openapi.json', '/api/v1/workstreams/nightly/tasks/bad/logs']) {
      const r = await http(s, 'GET', path);
      assert.equal(r.status, 401, `${path} without a token: ${r.status} ${r.text}`);
      assert.equal(r.json.error.code, 'UNAUTHORIZED');
      assert.match(r.json.error.hint, /Authorization: Bearer/);
    }
  });

  it('refuses a wrong token, one of another length, a token in an API route\'s query string or in a cookie', async () => {
    const wrong = s.token.slice(0, -1) + (s.token.endsWith('0') ? '1' : '0');
    for (const headers of [{ authorization: `Bearer ${wrong}` }, { authorization: 'Bearer x' }, { authorization: s.token }, { cookie: `token=${s.token}` }] as Record<string, string>[]) {
      const r = await http(s, 'GET', '/api/v1/status', { headers });
      assert.equal(r.status, 401, JSON.stringify(headers));
    }
    assert.equal((await http(s, 'GET', `/api/v1/status?token=${s.token}`)).status, 401);
    assert.equal((await http(s, 'GET', '/api/v1/status', { token: s.token })).status, 200);
  });

  it('refuses a Host that is not this server (DNS rebinding), even with the token, on every route', async () => {
    for (const host of ['evil.example:' + s.port, `127.0.0.1:${s.port + 1}`, 'localhost', '', `127.0.0.1.nip.io:${s.port}`]) {
      for (const path of ['/api/v1/status', '/healthz', '/']) {
        const r = await http(s, 'GET', path, { token: s.token, headers: { host } });
        assert.equal(r.status, 403, `Host ${host} ${path}: ${r.status}`);
        assert.equal(r.json.error.code, 'FORBIDDEN_HOST');
      }
    }
    for (const host of [`localhost:${s.port}`, `[::1]:${s.port}`, `127.0.0.1:${s.port}`]) {
      assert.equal((await http(s, 'GET', '/api/v1/status', { token: s.token, headers: { host } })).status, 200, host);
    }
  });

  it('refuses a forged or foreign Origin (null included) and a cross-site fetch, and sends no CORS headers', async () => {
    for (const origin of ['http://evil.example', 'null', `http://127.0.0.1:${s.port + 1}`, `https://127.0.0.1:${s.port}`]) {
      const r = await post(s, '/api/v1/workstreams/nightly/tasks/bad/retry', { dry_run: true });
      assert.equal(r.status, 200, 'the same request without an Origin is fine');
      const f = await http(s, 'POST', '/api/v1/workstreams/nightly/tasks/bad/retry', { token: s.token, body: '{}', headers: { origin } });
      assert.equal(f.status, 403, origin);
      assert.equal(f.json.error.code, 'FORBIDDEN_ORIGIN');
      assert.equal(f.headers['access-control-allow-origin'], undefined);
    }
    const cross = await http(s, 'GET', '/api/v1/status', { token: s.token, headers: { 'sec-fetch-site': 'cross-site' } });
    assert.equal(cross.status, 403);
    const same = await http(s, 'POST', '/api/v1/workstreams/nightly/tasks/bad/retry', { token: s.token, body: '{"dry_run":true}', headers: { origin: `http://127.0.0.1:${s.port}` } });
    assert.equal(same.status, 200, same.text);
    const pre = await http(s, 'OPTIONS', '/api/v1/workstreams/nightly/tasks/bad/retry', { headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' } });
    assert.equal(pre.status, 403);
  });

  it('takes mutations only as POST with a JSON body: no GET, no form, no text/plain', async () => {
    const before = (await cairnJson(['status', '--state-dir', state])).doc.seq;
    assert.equal((await http(s, 'GET', '/api/v1/workstreams/nightly/tasks/bad/retry', { token: s.token })).status, 404);
    const form = await http(s, 'POST', '/api/v1/workstreams/nightly/tasks/bad/retry', { token: s.token, body: 'reason=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(form.status, 415);
    const text = await http(s, 'POST', '/api/v1/workstreams/nightly/tasks/bad/retry', { token: s.token, body: '{}', headers: { 'content-type': 'text/plain' } });
    assert.equal(text.status, 415);
    const none = await http(s, 'POST', '/api/v1/workstreams/nightly/tasks/bad/retry', { token: s.token, body: '{}' , headers: { 'content-type': 'application/json', authorization: '' } });
    assert.equal(none.status, 401);
    assert.equal((await cairnJson(['status', '--state-dir', state])).doc.seq, before, 'nothing was recorded');
  });

  it('refuses a 10 MB body with 413 and stays up', async () => {
    const big = Buffer.from(JSON.stringify({ spec: { id: 'big', tasks: [{ id: 't', command: 'x'.repeat(10 * 1024 * 1024) }] } }));
    const r = await bigPost(s, '/api/v1/workstreams', big);
    assert.equal(r.status, 413, r.text.slice(0, 200));
    assert.equal(JSON.parse(r.text).error.code, 'BODY_TOO_LARGE');
    const action = await bigPost(s, '/api/v1/workstreams/nightly/tasks/bad/retry', Buffer.from(JSON.stringify({ reason: 'x'.repeat(100 * 1024) })));
    assert.equal(action.status, 413, 'an action body is limited to 64 KiB');
    assert.equal((await http(s, 'GET', '/healthz')).status, 200);
    assert.equal((await cairnJson(['events', '--type', 'workstream_submitted', '--state-dir', state])).doc.records.length, 1, 'nothing was submitted');
  });

  it('refuses hostile ids and path traversal in log requests by the CLI\'s id rules, before any file is named', async () => {
    for (const path of [
      '/api/v1/workstreams/nightly/tasks/..%2F..%2Fserve-token/logs',
      '/api/v1/workstreams/..%2F..%2Fetc/tasks/passwd/logs',
      '/api/v1/workstreams/nightly/tasks/%2E%2E/logs',
      '/api/v1/workstreams/nightly/tasks/bad%00/logs',
      '/api/v1/workstreams/nightly/tasks/-rf/logs',
      '/api/v1/workstreams/nightly/tasks/bad/logs?attempt=..%2F1',
      '/api/v1/workstreams/nightly/tasks/bad/logs?attempt=-1',
      `/api/v1/workstreams/${'a'.repeat(200)}`,
      `/api/v1/workstreams/${'a'.repeat(2000)}`,
    ]) {
      const r = await http(s, 'GET', path, { token: s.token });
      assert.ok([400, 404, 414].includes(r.status), `${path}: ${r.status} ${r.text.slice(0, 300)}`);
      assert.equal(r.json.ok, false);
      assert.ok(!r.text.includes(s.token));
    }
    assert.equal((await http(s, 'GET', '/assets/..%2F..%2F..%2Fpackage.json')).status, 401, 'no token: nothing at all');
    const traversal = await http(s, 'GET', '/assets/..%2F..%2F..%2Fpackage.json', { token: s.token });
    assert.equal(traversal.status, 404);
    const unknown = await http(s, 'GET', '/api/v1/workstreams/nightly/tasks/nope/logs', { token: s.token });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.error.code, 'UNKNOWN_TASK');
    const body = await post(s, '/api/v1/workstreams/nightly/resume', { from_task: '../x', dry_run: true });
    assert.equal(body.status, 400);
    const extra = await post(s, '/api/v1/workstreams/nightly/retry', { dry_run: true, command: 'rm -rf /' });
    assert.equal(extra.status, 400, 'an unknown field is refused, not stripped');
    assert.match(extra.json.error.message, /command/);
  });

  it('refuses a token file others may read, and warns when listening beyond loopback', async () => {
    const { state: other } = await stateWithFailedTask();
    const first = await startServe(other);
    await first.stop();
    const file = join(other, 'serve-token');
    const { chmodSync } = await import('node:fs');
    chmodSync(file, 0o644);
    const r = await cairn(['serve', '--state-dir', other, '--port', '0']);
    assert.equal(r.code, 2, said(r));
    assert.match(r.stderr, /UNSAFE_PATH.*may be read by other users/);
    chmodSync(file, 0o600);
    const wide = await startServe(other, ['--host', '0.0.0.0']);
    try {
      assert.match(wide.output(), /warning: listening on 0\.0\.0\.0, not only this machine/);
    } finally {
      await wide.stop();
    }
  });
});
