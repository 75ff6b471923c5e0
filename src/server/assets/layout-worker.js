// Lays a DAG out off the page's thread, so the page stays usable meanwhile. Up to DAGRE_MAX tasks
// dagre does it (the longest-path ranker above 300: several times faster than network simplex, a
// little less compact); above, its crossing minimisation and positioning take too long (~15 s for
// 3,000 tasks on the shared 2-core machine), and layered.js lays the same layers out in linear time.
import dagre from '/assets/vendor/dagre.js';
import { layered } from '/assets/layered.js';

const DAGRE_MAX = 1000;

self.onmessage = (ev) => {
  const t0 = performance.now();
  const { nodes, edges, width: W, height: H } = ev.data;
  // ms and engine: how long the layout took and which did it, shown on the page (data-layout-*) for benches and bug reports.
  if (nodes.length > DAGRE_MAX) {
    self.postMessage({ ...layered(nodes, edges, W, H), engine: 'layered', ms: Math.round(performance.now() - t0) });
    return;
  }
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 10, ranksep: 36, marginx: 8, marginy: 8, ...(nodes.length > 300 ? { ranker: 'longest-path' } : {}) });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of nodes) g.setNode(n.id, { width: W, height: H });
  for (const e of edges) g.setEdge(e.from, e.to);
  dagre.layout(g);
  const pos = {};
  for (const n of nodes) { const p = g.node(n.id); pos[n.id] = [p.x, p.y]; }
  self.postMessage({ engine: 'dagre', ms: Math.round(performance.now() - t0), width: g.graph().width, height: g.graph().height, pos, edges: g.edges().map((e) => g.edge(e).points.map((p) => [p.x, p.y])) });
};
