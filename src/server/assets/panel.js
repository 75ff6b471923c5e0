// The task panel: state, attempts, log tail, and the actions. Each action shows its dry run (the
// exact records it would append) and is done only after Confirm, recorded with the name the person
// gave once (kept in localStorage: two people on one dashboard are told apart in the log).
import { api, ApiError, hasToken, setToken } from './api.js';
import { badge, el } from './states.js';

const panel = document.getElementById('panel');
let shown = null;

const enc = encodeURIComponent;
const NAME = 'cairn-operator';

export async function openTask(ws, task) {
  shown = { ws, task };
  panel.hidden = false;
  panel.replaceChildren(el('p', { text: `Loading ${task}…` }));
  await drawTask(ws, task);
  panel.querySelector('h2')?.focus();
}

/** New records of the workstream: redraw the open task when one names it. */
export function taskPanelRecords(ws, records) {
  if (!shown || panel.hidden || shown.ws !== ws || panel.querySelector('.confirm')) return;
  if (records.some((r) => r.task_id === shown.task)) void drawTask(ws, shown.task);
}

async function drawTask(ws, task) {
  let t;
  try {
    t = await api(`/api/v1/workstreams/${enc(ws)}/tasks/${enc(task)}?lines=40`);
  } catch (e) {
    panel.replaceChildren(el('p', { class: 'error', role: 'alert', text: e.message }));
    return;
  }
  const attempts = t.history.attempts ?? [];
  const rows = attempts.map((a) => el('tr', {},
    el('td', { text: String(a.attempt) }), el('td', { text: a.worker_id ?? '' }),
    el('td', { text: (a.started_at ?? '').replace('T', ' ').slice(11, 19) }),
    el('td', { text: a.end === null ? 'running' : `${a.end.replace(/^task_/, '')}${a.outcome && a.outcome !== 'exit' ? ` (${a.outcome})` : ''}${a.exit_code !== null ? `, exit ${a.exit_code}` : ''}${a.duration_ms !== null ? `, ${(a.duration_ms / 1000).toFixed(1)} s` : ''}` }),
  ));
  const last = t.logs.at(-1);
  const who = el('input', { type: 'text', id: 'operator', 'aria-label': 'your name (recorded as the operator)', placeholder: 'your name (recorded)', maxlength: '128', value: localStorage.getItem(NAME) ?? '' });
  const reason = el('input', { type: 'text', id: 'reason', 'aria-label': 'reason (recorded with the action)', placeholder: 'reason (recorded)' });
  const out = el('div', { class: 'action-out', role: 'status', 'aria-live': 'polite' });
  const button = (name, label) => el('button', { type: 'button', 'data-action': name, text: label, onclick: () => void preview(ws, task, name, reason.value, who.value.trim(), out) });
  const h2 = el('h2', { tabindex: '-1' }, `${task} `, badge(t.task.state));
  panel.replaceChildren(
    el('button', { type: 'button', class: 'close', 'aria-label': 'close the panel', text: '×', onclick: () => { panel.hidden = true; } }),
    h2,
    el('p', { text: `attempt ${t.task.attempt}, retries ${t.task.retry_count}/${t.task.max_retries}${t.task.critical ? ', critical' : ''}` }),
    el('p', { class: 'cmd', text: JSON.stringify(t.task.command) }),
    el('h3', { text: 'Attempts' }),
    attempts.length ? el('table', {}, el('thead', {}, el('tr', {}, ...['#', 'worker', 'started', 'outcome'].map((x) => el('th', { scope: 'col', text: x })))), el('tbody', {}, ...rows)) : el('p', { text: 'none yet' }),
    el('h3', { text: 'History' }),
    history(t.history.events ?? []),
    el('h3', { text: last ? `Log of attempt ${last.attempt} (last lines)` : 'Log' }),
    el('pre', { class: 'log', tabindex: '0', text: last ? last.tail.join('\n') || '(empty)' : '(no log yet)' }),
    el('h3', { text: 'Actions' }),
    who,
    reason,
    el('div', { class: 'actions' }, button('retry', 'Retry…'), button('skip', 'Skip…'), button('cancel', 'Cancel…')),
    out,
  );
}

/** The task's records, newest first (the last 30): what happened, when, and who did it and why. */
function history(events) {
  if (events.length === 0) return el('p', { text: 'nothing yet' });
  const shown = events.slice(-30).reverse();
  return el('ol', { class: 'history', reversed: '' }, ...shown.map((e) => el('li', { 'data-seq': String(e.seq) },
    `${e.ts.replace('T', ' ').slice(0, 19)} `, el('span', { text: e.text }),
    e.operator ? el('span', { class: 'who', text: ` by ${e.operator}${e.reason ? `: ${e.reason}` : ''}` }) : null)));
}

async function preview(ws, task, action, reason, operator, out) {
  const path = `/api/v1/workstreams/${enc(ws)}/tasks/${enc(task)}/${action}`;
  if (!operator) {
    out.replaceChildren(el('p', { class: 'error', role: 'alert', text: 'Say who you are first: your name is recorded as the operator of the action.' }));
    return;
  }
  localStorage.setItem(NAME, operator);
  if (action === 'skip' && !reason) {
    out.replaceChildren(el('p', { class: 'error', role: 'alert', text: 'Skip needs a reason: say why it is safe to skip.' }));
    return;
  }
  if (!hasToken()) return askToken(() => preview(ws, task, action, reason, operator, out), out);
  const body = { dry_run: true, operator, ...(reason ? { reason } : {}) };
  try {
    const r = await api(path, { method: 'POST', body });
    const list = el('ol', { class: 'records' }, ...r.records.map((x) => el('li', { text: `seq ${x.seq} ${x.type} ${x.task_id ? `${x.workstream_id}/${x.task_id}` : x.workstream_id ?? ''} ${x.from ?? ''}${x.to ? ` → ${x.to}` : ''}` })));
    if (!r.changed) { out.replaceChildren(el('p', { text: r.message })); return; }
    const confirm = el('button', { type: 'button', class: 'confirm', text: `Confirm ${action}`, onclick: () => void act(ws, task, path, { operator, ...(reason ? { reason } : {}) }, out) });
    const back = el('button', { type: 'button', text: 'Cancel', onclick: () => out.replaceChildren() });
    out.replaceChildren(el('p', { text: `${r.message}. Dry run: it would append ${r.records.length} record(s):` }), list, confirm, back);
    confirm.focus();
  } catch (e) {
    out.replaceChildren(el('p', { class: 'error', role: 'alert', text: e instanceof ApiError ? `${e.body?.error?.code}: ${e.message}` : String(e) }));
  }
}

async function act(ws, task, path, body, out) {
  try {
    const r = await api(path, { method: 'POST', body });
    await drawTask(ws, task);
    panel.querySelector('.action-out').replaceChildren(el('p', { class: 'done', text: `Done: ${r.message} (seq ${r.records.map((x) => x.seq).join(', ')})` }));
  } catch (e) {
    out.replaceChildren(el('p', { class: 'error', role: 'alert', text: e instanceof ApiError ? `${e.body?.error?.code}: ${e.message}` : String(e) }));
  }
}

/** This tab has no token (it was opened on / with the cookie alone, which only reads): ask for it, then go on. */
function askToken(then, out) {
  const input = el('input', { type: 'password', id: 'action-token', 'aria-label': 'token', autocomplete: 'off', size: '40' });
  const use = el('button', { type: 'button', text: 'Use token', onclick: () => { if (input.value.trim()) { setToken(input.value.trim()); void then(); } } });
  out.replaceChildren(el('p', { text: 'Actions need the token (this tab can only read): paste it from serve-token in the state folder, or open the URL cairn serve printed.' }), input, use);
  input.focus();
}
