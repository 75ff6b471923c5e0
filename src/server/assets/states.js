// Each state has a colour, a symbol and its name: the page is readable without colour.
export const SYMBOL = {
  pending: '○', blocked: '⊘', queued: '…', running: '▶', validating: '◎', retrying: '↻',
  completed: '✓', failed: '✗', cancelled: '–', skipped: '↷',
  idle: '○', busy: '▶', unresponsive: '!', shutdown: '–',
};

export function badge(state) {
  const s = document.createElement('span');
  s.className = `badge st-${state}`;
  s.textContent = `${SYMBOL[state] ?? ''} ${state}`;
  return s;
}

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}
