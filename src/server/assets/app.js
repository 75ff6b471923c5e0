// The dashboard: pages by the URL's fragment (#/, #/ws/<id>, #/events, #/resources, #/activity),
// every datum from the API, kept live by the event stream.
import { api, ApiError, stream, takeToken } from './api.js';
import { drawDag } from './dag.js';
import { badge, el } from './states.js';
import { activityPage, eventsPage, resourcesPage } from './pages.js';
import { openTask, taskPanelRecords } from './panel.js';

const main = document.getElementById('main');
const live = document.getElementById('live');
/** What the current page wants to hear of new records (replaced on each navigation). */
let onRecords = () => {};

function fail(e) {
  const msg = e instanceof ApiError ? `${e.body?.error?.code ?? e.status}: ${e.message}` : String(e?.message ?? e);
  const hint = e instanceof ApiError ? e.body?.error?.hint : null;
  main.replaceChildren(...[el('p', { class: 'error', role: 'alert', text: msg }), hint ? el('p', { class: 'hint', text: hint }) : null].filter(Boolean));
}

function progress(ws) {
  const done = (ws.counts.completed ?? 0) + (ws.counts.skipped ?? 0) + (ws.counts.cancelled ?? 0);
  const bar = el('progress', { max: String(ws.total || 1), value: String(done), 'aria-label': `${done} of ${ws.total} tasks done` });
  return el('span', { class: 'progress' }, bar, ` ${done}/${ws.total}`);
}

async function workstreamsPage() {
  document.title = 'cairn: workstreams';
  const draw = async () => {
    const { workstreams } = await api('/api/v1/workstreams?all=true');
    const rows = workstreams.map((ws) => el('tr', { 'data-ws': ws.id },
      el('td', {}, el('a', { href: `#/ws/${encodeURIComponent(ws.id)}`, text: ws.id })),
      el('td', {}, badge(ws.state)),
      el('td', {}, progress(ws)),
      el('td', { text: Object.entries(ws.counts).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') }),
      el('td', { text: ws.submitted_at.replace('T', ' ').slice(0, 19) }),
    ));
    main.replaceChildren(el('h1', { text: 'Workstreams' }), workstreams.length === 0
      ? el('p', { text: 'No workstream yet: cairn run spec.json, or POST a spec to /api/v1/workstreams.' })
      : el('table', {}, el('thead', {}, el('tr', {}, ...['workstream', 'state', 'progress', 'tasks', 'submitted'].map((h) => el('th', { scope: 'col', text: h })))), el('tbody', {}, ...rows)));
  };
  await draw();
  let timer = null;
  onRecords = () => { timer ??= setTimeout(() => { timer = null; draw().catch(fail); }, 300); };
}

async function workstreamPage(id) {
  document.title = `cairn: ${id}`;
  const [{ workstream: ws }, dag] = await Promise.all([api(`/api/v1/workstreams/${encodeURIComponent(id)}`), api(`/api/v1/workstreams/${encodeURIComponent(id)}/dag`)]);
  const head = el('div', { class: 'ws-head' });
  const drawHead = (w) => head.replaceChildren(...[el('h1', {}, `${w.id} `, badge(w.state)), progress(w),
    w.failure ? el('p', { class: 'error', text: `failed: ${w.failure.reason}` }) : null].filter(Boolean));
  drawHead(ws);
  const find = el('input', { type: 'search', placeholder: 'task id, then Enter', 'aria-label': 'find a task', id: 'find' });
  const box = el('div', { class: 'dag', id: 'dag' });
  main.replaceChildren(head, el('p', { class: 'help', text: 'Tab to a task and press Enter (or click it) for its attempts, log and actions. Esc closes the panel.' }), find, box);
  let graph = drawDag(box, dag, (t) => openTask(id, t));
  find.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Enter') return;
    const hit = dag.nodes.find((n) => n.id === find.value.trim()) ?? dag.nodes.find((n) => n.id.includes(find.value.trim()));
    if (hit) graph.focus(hit.id);
  });
  let timer = null;
  const refresh = async () => {
    const [{ workstream: w }, d] = await Promise.all([api(`/api/v1/workstreams/${encodeURIComponent(id)}`), api(`/api/v1/workstreams/${encodeURIComponent(id)}/dag`)]);
    drawHead(w);
    if (d.nodes.length !== dag.nodes.length || d.edges.length !== dag.edges.length) {
      Object.assign(dag, d);
      graph = drawDag(box, dag, (t) => openTask(id, t));
    } else for (const n of d.nodes) graph.setState(n.id, n.state);
  };
  onRecords = (records) => {
    const mine = records.filter((r) => r.workstream_id === id);
    if (mine.length === 0) return;
    // A task's record names its new state: recolour at once; the header and anything else follow in one re-read.
    for (const r of mine) if (r.task_id && typeof r.to === 'string') graph.setState(r.task_id, r.to);
    taskPanelRecords(id, mine);
    timer ??= setTimeout(() => { timer = null; refresh().catch(fail); }, 250);
  };
}

async function route() {
  onRecords = () => {};
  document.getElementById('panel').hidden = true;
  const h = location.hash.replace(/^#/, '') || '/';
  try {
    const ws = /^\/ws\/(.+)$/.exec(h);
    if (ws) await workstreamPage(decodeURIComponent(ws[1]));
    else if (h === '/events') onRecords = await eventsPage(main);
    else if (h === '/resources') onRecords = await resourcesPage(main);
    else if (h === '/activity') onRecords = await activityPage(main);
    else await workstreamsPage();
    for (const a of document.querySelectorAll('nav a')) a.toggleAttribute('aria-current', a.getAttribute('href') === `#${h}`);
  } catch (e) {
    fail(e);
  }
}

/** The cookie was refused (the token changed, or the server's port): paste the token, which goes to /?token= like the printed URL. */
function askToken() {
  const input = el('input', { type: 'password', id: 'token', 'aria-label': 'token', autocomplete: 'off', size: '70' });
  const form = el('form', { class: 'token' }, el('label', { for: 'token', text: 'Token (from serve-token in the state folder):' }), input, el('button', { type: 'submit', text: 'Open' }));
  form.addEventListener('submit', (ev) => { ev.preventDefault(); location.assign(`/?token=${encodeURIComponent(input.value.trim())}`); });
  main.replaceChildren(el('h1', { text: 'cairn' }), el('p', { text: 'Open the URL cairn serve printed (it holds the token), or paste the token here.' }), form);
}

async function start() {
  takeToken();
  let seq;
  try {
    ({ seq } = await api('/api/v1/status'));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return askToken();
    return fail(e);
  }
  window.addEventListener('hashchange', () => void route());
  document.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') document.getElementById('panel').hidden = true; });
  await route();
  stream(seq, (records) => {
    live.textContent = `live · seq ${records[records.length - 1].seq}`;
    onRecords(records);
  }, (state) => { live.textContent = state === 'live' ? `live · seq ${seq}` : 'reconnecting…'; live.dataset.state = state; }, () => void route());
}

void start();
