// The other pages: events (filterable, live), resources and workers, failures and recoveries over time.
import { api } from './api.js';
import { badge, el } from './states.js';

const FAILURES = ['task_attempt_failed', 'task_timed_out', 'task_failed', 'task_validation_failed'];

function recordRow(r) {
  return el('tr', { class: `sev-${r.severity}` },
    el('td', { text: String(r.seq) }), el('td', { text: r.ts.replace('T', ' ').slice(0, 23) }), el('td', { text: r.type }),
    el('td', { text: r.task_id ? `${r.workstream_id}/${r.task_id}` : r.workstream_id ?? r.worker_id ?? r.resource_id ?? '' }),
    el('td', { text: r.to ? `${r.from ?? ''} → ${r.to}` : '' }), el('td', { text: r.operator ? `${r.operator}${r.reason ? `: ${r.reason}` : ''}` : '' }));
}

export async function eventsPage(main) {
  document.title = 'cairn: events';
  const type = el('input', { type: 'text', id: 'f-type', placeholder: 'task_failed', 'aria-label': 'record type' });
  const task = el('input', { type: 'text', id: 'f-task', placeholder: 'workstream/task', 'aria-label': 'task' });
  const body = el('tbody');
  const form = el('form', { class: 'filters' }, el('label', { text: 'type ' }, type), el('label', { text: ' task ' }, task), el('button', { type: 'submit', text: 'Filter' }));
  const load = async () => {
    const q = new URLSearchParams({ last: '200' });
    if (type.value.trim()) q.append('type', type.value.trim());
    if (task.value.trim()) q.append('task', task.value.trim());
    const { records } = await api(`/api/v1/events?${q}`);
    body.replaceChildren(...records.reverse().map(recordRow));
  };
  form.addEventListener('submit', (ev) => { ev.preventDefault(); load().catch((e) => body.replaceChildren(el('tr', {}, el('td', { colspan: '6', class: 'error', role: 'alert', text: e.message })))); });
  main.replaceChildren(el('h1', { text: 'Events' }), form, el('table', {}, el('thead', {}, el('tr', {}, ...['seq', 'time', 'type', 'entity', 'change', 'operator'].map((h) => el('th', { scope: 'col', text: h })))), body));
  await load();
  return (records) => {
    const t = type.value.trim();
    const k = task.value.trim();
    for (const r of records) {
      if (t && r.type !== t) continue;
      if (k && `${r.workstream_id}/${r.task_id}` !== k && r.task_id !== k) continue;
      body.prepend(recordRow(r));
    }
    while (body.children.length > 500) body.lastChild.remove();
  };
}

export async function resourcesPage(main) {
  document.title = 'cairn: resources and workers';
  const draw = async () => {
    const [res, w] = await Promise.all([api('/api/v1/resources'), api('/api/v1/workers')]);
    const resources = res.resources ?? [];
    main.replaceChildren(
      el('h1', { text: 'Resources' }),
      resources.length ? el('table', {}, el('thead', {}, el('tr', {}, ...['resource', 'limit', 'holders', 'waiting'].map((h) => el('th', { scope: 'col', text: h })))),
        el('tbody', {}, ...resources.map((r) => el('tr', {}, el('td', { text: r.id }), el('td', { text: r.max_holders === null ? 'unlimited' : String(r.max_holders) }),
          el('td', { text: Object.keys(r.holders ?? {}).join(', ') || '-' }), el('td', { text: (r.waiting ?? []).map((x) => x.task ?? x).join(', ') || '-' }))))) : el('p', { text: 'No resources declared.' }),
      el('h2', { text: 'Scheduler' }),
      el('p', { text: w.scheduler ? `pid ${w.scheduler.pid}, started ${w.scheduler.started_at}${w.scheduler.alive === false ? ' (gone)' : ''}` : 'No scheduler runs (cairn run starts one).' }),
      el('h2', { text: 'Workers' }),
      w.workers.length ? el('table', {}, el('thead', {}, el('tr', {}, ...['worker', 'state', 'task', 'pid'].map((h) => el('th', { scope: 'col', text: h })))),
        el('tbody', {}, ...w.workers.map((x) => el('tr', {}, el('td', { text: x.id }), el('td', {}, badge(x.state)), el('td', { text: x.task ?? '-' }), el('td', { text: String(x.pid ?? '') }))))) : el('p', { text: 'No workers.' }),
    );
  };
  await draw();
  let timer = null;
  return (records) => { if (records.some((r) => r.worker_id || r.resource_id || r.type.startsWith('scheduler_'))) timer ??= setTimeout(() => { timer = null; void draw(); }, 300); };
}

/**
 * Failures and recoveries per hour, as bars with their counts written out, redrawn as records come.
 * A recovery is a task's record with `recovery` (one per task an operator's tool recovered, as
 * `cairn metrics` and /metrics count them): one retry appends three records with an operator
 * (workstream reopened, task retried, task queued) but is one recovery.
 */
export async function activityPage(main) {
  document.title = 'cairn: failures and recoveries';
  const draw = async () => {
    const { records } = await api('/api/v1/events?last=5000');
    const hours = new Map();
    for (const r of records) {
      const kind = FAILURES.includes(r.type) ? 'failures' : isRecovery(r) ? 'recoveries' : null;
      if (!kind) continue;
      const h = r.ts.slice(0, 13);
      const row = hours.get(h) ?? { failures: 0, recoveries: 0 };
      row[kind] += 1;
      hours.set(h, row);
    }
    const max = Math.max(1, ...[...hours.values()].flatMap((x) => [x.failures, x.recoveries]));
    const rows = [...hours.entries()].sort().map(([h, x]) => el('tr', { 'data-hour': h },
      el('th', { scope: 'row', text: `${h.replace('T', ' ')}:00` }),
      el('td', { class: 'failures' }, bar('fail', x.failures, max)), el('td', { class: 'recoveries' }, bar('recover', x.recoveries, max))));
    main.replaceChildren(el('h1', { text: 'Failures and recoveries' }),
      el('p', { class: 'help', text: 'Per hour, from the last 5,000 records: failed attempts (exit, timeout, validation) and recoveries (a task an operator retried, skipped, cancelled, rolled back, …).' }),
      rows.length ? el('table', { class: 'activity' }, el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: 'hour (UTC)' }), el('th', { scope: 'col', text: 'failures' }), el('th', { scope: 'col', text: 'recoveries' }))), el('tbody', {}, ...rows)) : el('p', { text: 'No failures or recoveries yet.' }));
  };
  await draw();
  let timer = null;
  return (records) => { if (records.some((r) => FAILURES.includes(r.type) || isRecovery(r))) timer ??= setTimeout(() => { timer = null; void draw(); }, 300); };
}

const isRecovery = (r) => typeof r.recovery === 'string' && typeof r.task_id === 'string';

function bar(kind, n, max) {
  const b = el('span', { class: `bar ${kind}` });
  b.style.width = `${Math.round((n / max) * 200)}px`;
  return el('span', {}, b, ` ${n}`);
}
