// The live DAG: laid out once by dagre (served from node_modules, run in layout-worker.js), drawn as SVG; a new state only
// recolours its node (no new layout), so a 1,000-task workstream stays smooth under the stream.
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
 * Draws the graph into `box`; `open(taskId)` runs on click, Enter or Space. The layout runs in a
 * worker; until it arrives the box says so, and states that change meanwhile are kept and drawn.
 * Returns { setState(id, state), focus(id) } at once.
 */
export function drawDag(box, dag, open) {
  const states = new Map(dag.nodes.map((n) => [n.id, n.state]));
  const nodes = new Map();
  box.replaceChildren(Object.assign(document.createElement('p'), { className: 'help', textContent: `Laying out ${dag.nodes.length} tasks…` }));
  const worker = new Worker('/assets/layout-worker.js', { type: 'module' });
  worker.onmessage = (ev) => {
    worker.terminate();
    render(box, dag, ev.data, states, nodes, open);
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
      const n = nodes.get(id);
      if (n) { n.node.focus(); n.node.scrollIntoView({ block: 'center', inline: 'center' }); }
      return Boolean(n);
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

function render(box, dag, layout, states, nodes, open) {
  const { width, height } = layout;
  const root = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'group', 'aria-label': `dependency graph of ${dag.workstream_id}: ${dag.nodes.length} tasks` });
  const edges = svg('g', { class: 'edges', 'aria-hidden': 'true' });
  for (const pts of layout.edges) edges.append(svg('path', { d: `M${pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join('L')}` }));
  root.append(edges);
  const layer = svg('g', { class: 'nodes' });
  for (const n of dag.nodes) {
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
    layer.append(node);
  }
  root.append(layer);
  box.replaceChildren(root);
}
