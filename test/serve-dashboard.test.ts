// The dashboard as a person uses it, in Debian's chromium: open it with the token, watch a running
// workstream's tasks change colour as `cairn run` works, retry a failed task from the page (its dry
// run shown, then Confirm) and see it complete, and a 1,000-task DAG; any console error fails.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'puppeteer-core';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { browserMissing, launch, screenshot, watchedPage } from './helpers/browser.js';
import { post, type Served, startServe } from './helpers/serve.js';
import { scratch } from './helpers/tmp.js';
import { exited, startRun } from './run-helpers.js';

const missing = browserMissing();
if (missing && process.env.CI === 'true') throw new Error(`the dashboard tests need chromium under CI: ${missing}`);

describe('the dashboard in chromium', { skip: missing ?? false }, () => {
  let browser: Browser;
  let s: Served;
  let dir: string;
  let state: string;
  before(async () => {
    dir = scratch('cairn-dash-');
    state = join(dir, '.state');
    assert.equal((await cairn(['init', '--state-dir', state])).code, 0);
    s = await startServe(state);
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await s?.stop();
  });

  it('shows tasks change colour as cairn run works, retries a failed task from the page, and sees it complete', async () => {
    const marker = join(dir, 'fixed');
    const spec = join(dir, 'spec.json');
    writeFileSync(spec, JSON.stringify({
      id: 'nightly', defaults: { max_retries: 0 },
      tasks: [
        { id: 'fetch', command: 'sleep 1.5' },
        { id: 'build', command: 'sleep 1', depends_on: ['fetch'] },
        { id: 'flaky', command: ['test', '-f', marker], depends_on: ['fetch'] },
        { id: 'ship', command: 'true', depends_on: ['build', 'flaky'] },
      ],
    }));
    assert.equal((await cairn(['submit', spec, '--state-dir', state])).code, 0);
    const { page, errors } = await watchedPage(browser);
    assert.equal(s.url, `${s.origin}/?token=${s.token}`, 'the printed URL holds the token in its query');
    await page.goto(s.url);
    await page.waitForSelector('tr[data-ws="nightly"]');
    assert.ok(!page.url().includes(s.token), 'the token leaves the address bar');
    await screenshot(page, 'dashboard-workstreams');
    await page.click('tr[data-ws="nightly"] a');
    await page.waitForSelector('[data-task="fetch"][data-state="queued"]');
    const fill = (task: string) => page.$eval(`[data-task="${task}"] rect`, (r) => (globalThis as any).getComputedStyle(r).fill as string);
    const queued = await fill('fetch');

    const run = startRun(dir, []);
    await page.waitForSelector('[data-task="fetch"][data-state="running"]', { timeout: 60_000 });
    const running = await fill('fetch');
    assert.match(await page.$eval('[data-task="fetch"] text', (t) => t.textContent ?? ''), /▶ fetch/, 'the state has a symbol, not only a colour');
    await page.waitForSelector('[data-task="fetch"][data-state="completed"]', { timeout: 60_000 });
    const completed = await fill('fetch');
    assert.equal(new Set([queued, running, completed]).size, 3, `queued ${queued}, running ${running}, completed ${completed}: three colours`);
    await page.waitForSelector('[data-task="flaky"][data-state="failed"]', { timeout: 60_000 });
    assert.equal(await exited(run), 1, 'the run ends failed');
    await page.waitForSelector('[data-task="ship"][data-state="blocked"]', { timeout: 60_000 });
    // The header follows the recoloured nodes in one re-read of the workstream: failed, 2 of 4 done.
    await page.waitForSelector('.ws-head .badge.st-failed', { timeout: 60_000 });
    assert.match(await page.$eval('.ws-head', (h) => h.textContent ?? ''), /2\/4/);
    await screenshot(page, 'dashboard-dag');

    // The fix, then the retry from the page: keyboard to the node, Enter, the dry run, Confirm.
    writeFileSync(marker, '');
    await page.$eval('[data-task="flaky"]', (e) => (e as any).focus());
    await page.keyboard.press('Enter');
    await page.waitForSelector('#panel:not([hidden]) [data-action="retry"]');
    await page.type('#reason', 'marker file restored');
    await page.click('[data-action="retry"]');
    await page.waitForSelector('.action-out .error');
    assert.match(await page.$eval('.action-out', (e) => e.textContent ?? ''), /Say who you are first/, 'an action asks for a name first');
    await page.type('#operator', 'alice');
    await page.click('[data-action="retry"]');
    await page.waitForSelector('.confirm');
    const preview = await page.$eval('.action-out', (e) => e.textContent ?? '');
    assert.match(preview, /Dry run: it would append \d+ record\(s\)/);
    assert.match(preview, /task_retried nightly\/flaky failed → pending/);
    assert.equal((await cairnJson(['events', '--type', 'task_retried', '--state-dir', state])).doc.records.length, 0, 'the dry run wrote nothing');
    await screenshot(page, 'dashboard-task-dry-run');
    await page.click('.confirm');
    await page.waitForSelector('.done', { timeout: 30_000 });
    const retried = (await cairnJson(['events', '--type', 'task_retried', '--state-dir', state])).doc.records;
    assert.deepEqual(retried.map((r: any) => [r.task_id, r.operator, r.reason]), [['flaky', 'alice', 'marker file restored']], 'the name given on the page is the operator, not the server\'s user');
    assert.equal(await page.$eval('#operator', (e) => (e as any).value as string), 'alice', 'the name is asked once and kept');
    assert.match(await page.$eval('.history', (e) => e.textContent ?? ''), /by alice: marker file restored/, 'the task\'s history says who retried it and why');
    const again = startRun(dir, []);
    await page.waitForSelector('[data-task="flaky"][data-state="completed"]', { timeout: 60_000 });
    await page.waitForSelector('[data-task="ship"][data-state="completed"]', { timeout: 60_000 });
    assert.equal(await exited(again), 0, 'the workstream completes');
    await screenshot(page, 'dashboard-completed');

    await page.goto(`${s.origin}/#/events`);
    await page.waitForSelector('#f-type');
    await page.type('#f-type', 'task_retried');
    await page.click('.filters button');
    await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('main tbody tr').length === 1).catch(async (e: Error) => {
      throw new Error(`${e.message}: the table shows ${await page.$eval('main tbody', (b) => b.textContent)}; errors ${errors.join('; ')}`);
    });
    await screenshot(page, 'dashboard-events');
    await page.goto(`${s.origin}/#/resources`);
    await page.waitForSelector('main h2');
    await page.goto(`${s.origin}/#/activity`);
    await page.waitForSelector('table.activity');
    // One failed attempt and one retry so far: one recovery, not the retry's three records with an operator.
    const totals = () => page.$$eval('table.activity tbody tr', (rows) => rows.reduce((t, r) => [
      t[0]! + Number(/\d+$/.exec(r.querySelector('td.failures')?.textContent ?? '')?.[0]), t[1]! + Number(/\d+$/.exec(r.querySelector('td.recoveries')?.textContent ?? '')?.[0])], [0, 0]));
    assert.deepEqual(await totals(), [1, 1], 'failures and recoveries');
    assert.equal((await post(s, '/api/v1/workstreams', { spec: { id: 'later', tasks: [{ id: 'x', command: 'true' }] } })).status, 201);
    assert.equal((await post(s, '/api/v1/workstreams/later/tasks/x/skip', { reason: 'not needed', operator: 'alice' })).status, 201);
    await page.waitForFunction(() => /\b2$/.test((globalThis as any).document.querySelector('table.activity tbody tr:last-child td.recoveries')?.textContent ?? '')
      || (globalThis as any).document.querySelectorAll('table.activity tbody tr').length > 1, { timeout: 30_000 });
    assert.deepEqual(await totals(), [1, 2], 'a new recovery shows up live');
    await screenshot(page, 'dashboard-activity');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('reads with the cookie alone in a new tab, and asks for the token before an action', async () => {
    const r = await post(s, '/api/v1/workstreams', { spec: { id: 'small', tasks: [{ id: 'a', command: 'true' }] } });
    assert.equal(r.status, 201, r.text);
    const { page, errors } = await watchedPage(browser);
    await page.goto(s.url);
    await page.waitForSelector('tr[data-ws="small"]');
    assert.equal(await page.evaluate(() => (globalThis as any).document.cookie), '', 'the cookie is HttpOnly: no script reads it');
    // A new tab has no token (it lives in one tab's sessionStorage): the cookie alone reads.
    const tab = await watchedPage(browser);
    await tab.page.goto(`${s.origin}/#/ws/small`);
    await tab.page.waitForSelector('[data-task="a"][data-state="queued"]');
    await tab.page.$eval('[data-task="a"]', (e) => (e as any).focus());
    await tab.page.keyboard.press('Enter');
    await tab.page.waitForSelector('#panel:not([hidden]) [data-action="cancel"]');
    await tab.page.$eval('#operator', (e) => { (e as any).value = ''; });
    await tab.page.type('#operator', 'bob');
    await tab.page.click('[data-action="cancel"]');
    await tab.page.waitForSelector('#action-token');
    await tab.page.type('#action-token', s.token);
    await tab.page.keyboard.press('Tab');
    await tab.page.keyboard.press('Enter');
    await tab.page.waitForSelector('.confirm');
    assert.match(await tab.page.$eval('.action-out', (e) => e.textContent ?? ''), /task_cancelled small\/a/);
    assert.deepEqual([...errors, ...tab.errors], []);
    await tab.page.close();
    await page.close();
  });

  it('draws a 1,000-task workstream and recolours it from the stream', async () => {
    // Ten stages of 100 tasks, each needing two of the stage before (a build matrix, not a chain).
    const tasks = Array.from({ length: 1000 }, (_, i) => ({ id: `t${i}`, command: 'true', ...(i >= 100 ? { depends_on: [...new Set([`t${i - 100}`, `t${i - 100 - (i % 100) + ((i * 37) % 100)}`])] } : {}) }));
    const r = await post(s, '/api/v1/workstreams', { spec: { id: 'wide', tasks } });
    assert.equal(r.status, 201, r.text);
    const { page, errors } = await watchedPage(browser);
    await page.goto(s.url);
    await page.waitForSelector('tr[data-ws="wide"]');
    const t0 = Date.now();
    await page.goto(`${s.origin}/#/ws/wide`);
    await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('[data-task]').length === 1000, { timeout: 120_000 });
    process.stderr.write(`# 1,000-task DAG drawn in ${Date.now() - t0} ms (layout ${await page.$eval('#dag', (e) => (e as any).dataset.layoutMs)} ms)\n`);
    assert.equal(await page.$eval('#dag', (e) => (e as any).dataset.layoutEngine), 'dagre', 'up to 1,000 tasks dagre lays the graph out');
    const c = await cairn(['cancel-task', '--task-id', 'wide/t999', '--yes', '--reason', 'not needed', '--state-dir', state]);
    assert.equal(c.code, 0, said(c));
    await page.waitForSelector('[data-task="t999"][data-state="cancelled"]', { timeout: 60_000 });
    await screenshot(page, 'dashboard-1000-tasks');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('draws a 3,000-task workstream near the visible part, finds a task by its id, and recolours it from the stream', async () => {
    const tasks = Array.from({ length: 3000 }, (_, i) => ({ id: `t${i}`, command: 'true', ...(i >= 100 ? { depends_on: [...new Set([`t${i - 100}`, `t${i - 100 - (i % 100) + ((i * 37) % 100)}`])] } : {}) }));
    const r = await post(s, '/api/v1/workstreams', { spec: { id: 'huge', tasks } });
    assert.equal(r.status, 201, r.text);
    const { page, errors } = await watchedPage(browser);
    await page.goto(s.url);
    await page.waitForSelector('tr[data-ws="huge"]');
    const t0 = Date.now();
    await page.goto(`${s.origin}/#/ws/huge`);
    await page.waitForSelector('#dag[data-layout-engine="layered"] [data-task]', { timeout: 120_000 });
    const drawn = await page.$$eval('[data-task]', (l) => l.length);
    process.stderr.write(`# 3,000-task DAG drawn in ${Date.now() - t0} ms (layout ${await page.$eval('#dag', (e) => (e as any).dataset.layoutMs)} ms, ${drawn} tasks in the page)\n`);
    assert.ok(drawn > 0 && drawn < 3000, `only the tasks near the visible part are in the page (${drawn})`);
    // The last task is far from the first screen: the find box scrolls to it and focuses it.
    await page.type('#find', 't2999');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-task="t2999"]');
    assert.equal(await page.evaluate(() => (globalThis as any).document.activeElement?.dataset?.task), 't2999');
    const c = await cairn(['cancel-task', '--task-id', 'huge/t2999', '--yes', '--reason', 'not needed', '--state-dir', state]);
    assert.equal(c.code, 0, said(c));
    await page.waitForSelector('[data-task="t2999"][data-state="cancelled"]', { timeout: 60_000 });
    // Scrolled back to the start, the first tasks are drawn again and the keyboard goes on from there.
    await page.$eval('#dag', (e) => { (e as any).scrollTop = 0; (e as any).scrollLeft = 0; });
    await page.waitForSelector('[data-task="t0"]');
    await page.$eval('[data-task="t0"]', (e) => (e as any).focus());
    await page.keyboard.press('Tab');
    assert.match(await page.evaluate(() => String((globalThis as any).document.activeElement?.dataset?.task)), /^t\d+$/, 'Tab moves to another task');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#panel:not([hidden]) [data-action="retry"]');
    await screenshot(page, 'dashboard-3000-tasks');
    assert.deepEqual(errors, []);
    await page.close();
  });
});
