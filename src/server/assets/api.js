// The dashboard's link to cairn serve: the token (taken once from the URL's fragment, where the
// server's redirect from /?token= puts it; kept in sessionStorage, sent as Authorization on every
// request), JSON calls, and the event stream read with fetch (EventSource cannot send a header),
// resumed after the last seq it saw. Without the token (a tab opened on / later) the browser's
// cookie still lets the page read; an action then asks for the token (the server wants the header).

const KEY = 'cairn-token';

export function takeToken() {
  const m = /(?:^#|&)token=([0-9a-f]{64})/.exec(location.hash);
  if (m) {
    sessionStorage.setItem(KEY, m[1]);
    // The fragment is never sent to a server; removing it keeps it out of history and screenshots too.
    history.replaceState(null, '', location.pathname + '#/');
  }
  return sessionStorage.getItem(KEY);
}

export function hasToken() {
  return Boolean(sessionStorage.getItem(KEY));
}

/** The Authorization header when the token is known; else none (the cookie goes along by itself). */
function auth() {
  const t = sessionStorage.getItem(KEY);
  return t ? { authorization: `Bearer ${t}` } : {};
}

export function setToken(t) {
  sessionStorage.setItem(KEY, t);
}

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export async function api(path, { method = 'GET', body } = {}) {
  const headers = auth();
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  const doc = await r.json().catch(() => null);
  if (!r.ok) throw new ApiError(r.status, doc);
  return doc;
}

/** Calls onRecords(records) for every batch of new records; onState('live'|'reconnecting'); reconnects after the last seq seen. */
export function stream(since, onRecords, onState, onReset) {
  let last = since;
  let stopped = false;
  const run = async () => {
    while (!stopped) {
      try {
        const r = await fetch('/api/v1/events/stream', { headers: { ...auth(), 'last-event-id': String(last) }, cache: 'no-store' });
        if (!r.ok || !r.body) throw new Error(`stream ${r.status}`);
        onState('live');
        const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          const batch = [];
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            let event = 'message';
            let data = '';
            for (const line of block.split('\n')) {
              if (line.startsWith('event: ')) event = line.slice(7);
              else if (line.startsWith('data: ')) data += line.slice(6);
            }
            if (event === 'record' && data) {
              const rec = JSON.parse(data);
              last = rec.seq;
              batch.push(rec);
            } else if (event === 'reset' && data) {
              last = JSON.parse(data).seq;
              onReset();
            }
          }
          if (batch.length) onRecords(batch);
        }
      } catch {
        // The server went away or restarted: say so and try again.
      }
      if (stopped) return;
      onState('reconnecting');
      await new Promise((r) => setTimeout(r, 1000));
    }
  };
  void run();
  return () => { stopped = true; };
}
