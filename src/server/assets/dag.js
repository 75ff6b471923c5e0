// The live DAG: laid out once in layout-worker.js (dagre, served from node_modules; layered.js above
// 1,000 tasks), drawn as SVG; a new state only recolours its node (no new layout). Above 1,000 tasks
// only the tasks in and near the visible part are in the page (see VIRTUAL_ABOVE), so a 3,000-task
// workstream stays smooth under the stream.
import { SYMBOL } from './states.js';

const NS = 'http://www.w3.org/2000/svg';
const W = 168;
const H = 30;

function svg(tag, attrs) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

const label = (id) => (id.length > 18 ? `${id.slice(0, 17)}…` : id);

/**
 * Above this many tasks only the nodes within a screen of the visible part are in the DOM, added and
 * removed as the box scrolls: drawing all 3,000 of a big graph held the page's thread for 1–1.5 s
 * at once, and drawn a chunk per frame still cost 0.2–0.6 s a frame (each frame restyled the whole,
 * growing SVG). The find box (and focus) scrolls a task into view first.
 */
const VIRTUAL_ABOVE = 1000;

/**
 * Draws the graph into `box`; `open(taskId)` runs on click, Enter or Space. The layout runs in a
 * worker; until it arrives the box says so, and states that change meanwhile are kept and drawn.
 * Returns { setState(id, state), focus(id) } at once.
 */
export function drawDag(box, dag, open) {
  const states = new Map(dag.nodes.map((n) => [n.id, n.state]));
  const nodes = new Map();
  let view = null;
  box.replaceChildren(Object.assign(document.createElement('p'), { className: 'help', textContent: `Laying out ${dag.nodes.length} tasks…` }));
  const worker = new Worker('/assets/layout-worker.js', { type: 'module' });
  worker.onmessage = (ev) => {
    worker.terminate();
    view = render(box, dag, ev.data, states, nodes, open);
  };
  worker.postMessage({ nodes: dag.nodes.map((n) => ({ id: n.id })), edges: dag.edges, width: W, height: H });
  return {
    setState(id, state) {
      if (!states.has(id)) return false;
      states.set(id, state);
      const n = nodes.get(id);
      if (n) paint(n, id, state);
      return true;
    },
    focus(id) {
      return view ? view.focus(id) : false;
    },
  };
}

function paint(n, id, state) {
  n.node.setAttribute('class', `node st-${state}${n.critical ? ' critical' : ''}`);
  n.node.setAttribute('data-state', state);
  n.node.setAttribute('aria-label', `${id}: ${state}`);
  n.title.textContent = `${id}: ${state}`;
  n.text.textContent = `${SYMBOL[state] ?? ''} ${label(id)}`;
}

/** One task's node, made once (a node scrolled away keeps its entry, and setState still paints it). */
function make(n, layout, states, nodes, open) {
  const [x, y] = layout.pos[n.id];
  const node = svg('g', { transform: `translate(${x - W / 2},${y - H / 2})`, tabindex: 0, role: 'button', 'data-task': n.id });
  const title = svg('title', {});
  const text = svg('text', { x: 8, y: H / 2 + 4 });
  node.append(title, svg('rect', { width: W, height: H, rx: 5 }), text);
  node.addEventListener('click', () => open(n.id));
  node.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); open(n.id); }
  });
  const entry = { node, text, title, critical: n.critical };
  paint(entry, n.id, states.get(n.id));
  nodes.set(n.id, entry);
  return entry;
}

function render(box, dag, layout, states, nodes, open) {
  const { width, height } = layout;
  const virtual = dag.nodes.length > VIRTUAL_ABOVE;
  const root = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'group', 'aria-label': `dependency graph of ${dag.workstream_id}: ${dag.nodes.length} tasks${virtual ? ' (the tasks near the visible part are drawn; find a task by its id above)' : ''}` });
  // All edges in one path: they are decoration (aria-hidden), and an element each doubled the DOM.
  const edges = svg('g', { class: 'edges', 'aria-hidden': 'true' });
  edges.append(svg('path', { d: layout.edges.map((pts) => `M${pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join('L')}`).join('') }));
  const layer = svg('g', { class: 'nodes' });
  root.append(edges, layer);
  box.replaceChildren(root);
  box.dataset.layoutMs = String(layout.ms);
  box.dataset.layoutEngine = layout.engine;
  box.dataset.virtual = String(virtual);
  const show = (n) => (nodes.get(n.id) ?? make(n, layout, states, nodes, open)).node;
  if (!virtual) {
    layer.append(...dag.nodes.map(show));
    return { focus: (id) => focusNode(nodes.get(id)) };
  }
  // The nodes within a screen around the visible part, in the graph's order (Tab goes along it);
  // a focused node stays even when scrolled away, so focus is never lost under the keyboard.
  const update = () => {
    const mx = box.clientWidth;
    const my = box.clientHeight;
    const x0 = box.scrollLeft - mx;
    const x1 = box.scrollLeft + 2 * mx;
    const y0 = box.scrollTop - my;
    const y1 = box.scrollTop + 2 * my;
    const want = dag.nodes.filter((n) => {
      const [x, y] = layout.pos[n.id];
      return (x + W / 2 >= x0 && x - W / 2 <= x1 && y + H / 2 >= y0 && y - H / 2 <= y1) || nodes.get(n.id)?.node === document.activeElement;
    }).map(show);
    const keep = new Set(want);
    for (const c of [...layer.children]) if (!keep.has(c)) c.remove();
    let at = layer.firstChild;
    for (const el of want) {
      if (el === at) at = at.nextSibling;
      else layer.insertBefore(el, at);
    }
  };
  let queued = false;
  box.addEventListener('scroll', () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; if (box.contains(root)) update(); });
  });
  update();
  return {
    focus(id) {
      const p = layout.pos[id];
      if (!p) return false;
      box.scrollLeft = p[0] - box.clientWidth / 2;
      box.scrollTop = p[1] - box.clientHeight / 2;
      update();
      return focusNode(nodes.get(id));
    },
  };
}

function focusNode(n) {
  if (!n) return false;
  n.node.focus();
  n.node.scrollIntoView({ block: 'center', inline: 'center' });
  return true;
}
