// Lays a DAG out with dagre off the page's thread: a 1,000-task graph takes seconds, and the page
// stays usable meanwhile. Big graphs use the longest-path ranker (several times faster than
// network simplex, a little less compact).
import dagre from '/assets/vendor/dagre.js';

self.onmessage = (ev) => {
  const { nodes, edges, width: W, height: H } = ev.data;
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 10, ranksep: 36, marginx: 8, marginy: 8, ...(nodes.length > 300 ? { ranker: 'longest-path' } : {}) });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of nodes) g.setNode(n.id, { width: W, height: H });
  for (const e of edges) g.setEdge(e.from, e.to);
  dagre.layout(g);
  const pos = {};
  for (const n of nodes) { const p = g.node(n.id); pos[n.id] = [p.x, p.y]; }
  self.postMessage({ width: g.graph().width, height: g.graph().height, pos, edges: g.edges().map((e) => g.edge(e).points.map((p) => [p.x, p.y])) });
};
