// How a browser gets into `cairn serve`, tried from outside against a real server (as Jupyter's):
// the printed URL's `?token=` is traded for a cookie and a 303 to a URL without it; the cookie lets
// a browser read (the page, its assets, the API), never act; and an action records the operator
// its body names, so two people on one dashboard are told apart.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { http, post, type Served, startServe } from './helpers/serve.js';
import { scratch } from './helpers/tmp.js';

async function stateWithFailedTask(): Promise<string> {
  const dir = scratch('cairn-session-');
  const state = join(dir, 'st');
  const spec = join(dir, 'spec.json');
  writeFileSync(spec, JSON.stringify({ id: 'nightly', defaults: { max_retries: 0 }, tasks: [{ id: 'ok', command: 'true' }, { id: 'bad', command: 'exit 3', depends_on: ['ok'] }] }));
  const r = await cairn(['run', spec, '--state-dir', state], { timeoutMs: 120_000 });
  assert.equal(r.code, 1, said(r));
  return state;
}

const seqOf = async (state: string) => (await cairnJson(['status', '--state-dir', state])).doc.seq as number;

describe('cairn serve: the browser\'s way in', () => {
  let s: Served;
  let state: string;
  let cookie: string;
  before(async () => {
    state = await stateWithFailedTask();
    s = await startServe(state);
    const r = await http(s, 'GET', `/?token=${s.token}`);
    cookie = String(r.headers['set-cookie']).split(';')[0]!;
  });
  after(async () => { await s.stop(); });

  it('prints the dashboard\'s URL with the token in its query, once', () => {
    assert.equal(s.url, `${s.origin}/?token=${s.token}`);
  });

  it('answers / and /assets/* without a token with 401 and a page that says how to get the URL', async () => {
    for (const path of ['/', '/index.html', '/assets/app.js', '/assets/x']) {
      const r = await http(s, 'GET', path, { headers: { accept: 'text/html' } });
      assert.equal(r.status, 401, path);
      assert.match(String(r.headers['content-type']), /^text\/html/);
      assert.match(r.text, /\/\?token=/, 'it shows the form of the URL');
      assert.match(r.text, /serve-token/, 'it says where the token is');
      assert.ok(!r.text.includes(s.token));
      assert.equal(r.headers['set-cookie'], undefined);
    }
  });

  it('refuses a wrong token in the URL with 401 and sets no cookie', async () => {
    const wrong = s.token.slice(0, -1) + (s.token.endsWith('0') ? '1' : '0');
    for (const q of [`?token=${wrong}`, '?token=', '?token=x', `?token=${s.token}0`]) {
      const r = await http(s, 'GET', `/${q}`);
      assert.equal(r.status, 401, q);
      assert.match(r.text, /wrong/);
      assert.equal(r.headers['set-cookie'], undefined, q);
    }
  });

  it('trades the right token in the URL for a cookie (HttpOnly, SameSite=Strict, per port) and a 303 to a URL without it in the query', async () => {
    const r = await http(s, 'GET', `/?token=${s.token}`);
    assert.equal(r.status, 303);
    assert.equal(r.headers.location, `/#token=${s.token}`, 'only the fragment, which a browser never sends, holds the token');
    const set = String(r.headers['set-cookie']);
    assert.match(set, new RegExp(`^cairn-serve-${s.port}=[0-9a-f]{64}; HttpOnly; SameSite=Strict; Path=/$`));
    assert.ok(!set.includes(s.token), 'the cookie is not the token (it cannot be sent as the header)');
    assert.equal(r.headers['referrer-policy'], 'no-referrer');
    const again = await startServe(state);
    try {
      const other = await http(again, 'GET', `/?token=${again.token}`);
      assert.notEqual(String(other.headers['set-cookie']).split('=')[0], set.split('=')[0], 'two servers name their cookies apart');
    } finally {
      await again.stop();
    }
  });

  it('lets the cookie alone read: the page, its assets and the API', async () => {
    for (const path of ['/', '/assets/app.js', '/assets/vendor/dagre.js', '/api/v1/status', '/api/v1/workstreams/nightly/tasks/bad/logs', '/metrics', '/api/v1/openapi.json']) {
      const r = await http(s, 'GET', path, { headers: { cookie: `other=1; ${cookie}` } });
      assert.equal(r.status, 200, `${path}: ${r.text.slice(0, 200)}`);
    }
  });

  it('refuses an action with the cookie alone (401), and records nothing', async () => {
    const before = await seqOf(state);
    for (const body of [{ dry_run: true }, { reason: 'cookie only' }]) {
      const r = await http(s, 'POST', '/api/v1/workstreams/nightly/tasks/bad/retry', { body: JSON.stringify(body), headers: { cookie, origin: s.origin } });
      assert.equal(r.status, 401, r.text);
      assert.equal(r.json.error.code, 'UNAUTHORIZED');
      assert.match(r.json.error.message, /Authorization header/);
    }
    assert.equal(await seqOf(state), before, 'nothing was recorded');
    const withHeader = await http(s, 'POST', '/api/v1/workstreams/nightly/tasks/bad/retry', { token: s.token, body: '{"dry_run":true}', headers: { cookie } });
    assert.equal(withHeader.status, 200, withHeader.text);
  });

  it('documents the cookie in OpenAPI for reads only, and the header for every action', async () => {
    const doc = (await http(s, 'GET', '/api/v1/openapi.json', { headers: { cookie } })).json;
    assert.deepEqual(doc.security, [{ token: [] }, { cookie: [] }]);
    assert.equal(doc.components.securitySchemes.cookie.in, 'cookie');
    assert.deepEqual(doc.paths['/api/v1/workstreams/{ws}/tasks/{task}/retry'].post.security, [{ token: [] }]);
    assert.equal(doc.paths['/api/v1/status'].get.security, undefined, 'a read takes either');
  });

  it('refuses a forged cookie, the token itself as the cookie, and another port\'s cookie', async () => {
    const [name, value] = cookie.split('=') as [string, string];
    // The forged value differs from the real one in its last digit (a value ending in 0 ends in 1).
    const forged = `${value.slice(0, -1)}${value.endsWith('0') ? '1' : '0'}`;
    for (const c of [`${name}=${forged}`, `${name}=${s.token}`, `cairn-serve-${s.port + 1}=${value}`, `${name}=`]) {
      const r = await http(s, 'GET', '/api/v1/status', { headers: { cookie: c } });
      assert.equal(r.status, 401, c);
      assert.equal((await http(s, 'GET', '/', { headers: { cookie: c } })).status, 401, c);
    }
  });

  it('records the operator an action\'s body names, else the operator cairn serve runs as', async () => {
    const dry = await post(s, '/api/v1/workstreams/nightly/tasks/bad/retry', { dry_run: true, operator: 'Bob Smith' });
    assert.equal(dry.status, 200, dry.text);
    assert.ok(dry.json.records.length > 0 && dry.json.records.every((r: any) => r.operator === 'Bob Smith'), JSON.stringify(dry.json.records));
    const done = await post(s, '/api/v1/workstreams/nightly/tasks/bad/retry', { operator: 'alice', reason: 'flaky disk' });
    assert.equal(done.status, 201, done.text);
    const cancel = await post(s, '/api/v1/workstreams/nightly/tasks/bad/cancel', { reason: 'not today' });
    assert.equal(cancel.status, 201, cancel.text);
    const log = (await cairnJson(['events', '--task-id', 'nightly/bad', '--state-dir', state])).doc.records as any[];
    const retried = log.find((r) => r.type === 'task_retried');
    assert.deepEqual([retried.operator, retried.reason], ['alice', 'flaky disk']);
    const cancelled = log.find((r) => r.type === 'task_cancelled');
    assert.equal(cancelled.operator, 'tester', 'no name: the server\'s operator');
  });

  it('refuses an operator that is empty, blank at its start, too long or holds control characters', async () => {
    const before = await seqOf(state);
    for (const operator of ['', ' alice', 'a\nb', 'tab\there', 'x'.repeat(129), null]) {
      const r = await post(s, '/api/v1/workstreams/nightly/tasks/bad/skip', { operator, reason: 'x' });
      assert.equal(r.status, 400, `${JSON.stringify(operator)}: ${r.text}`);
      assert.equal(r.json.error.code, 'BAD_INPUT');
      assert.match(r.json.error.message, /operator/);
    }
    assert.equal(await seqOf(state), before, 'nothing was recorded');
  });
});
