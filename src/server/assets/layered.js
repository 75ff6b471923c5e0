// The layout of a DAG too big for dagre to lay out in reasonable time (dagre takes ~15 s for 3,000
// tasks on a loaded 2-core machine, most of it in its crossing minimisation and positioning): the
// same left-to-right layers, in linear time. Each task's layer is its longest path from a root
// (dagre's longest-path ranker gives the same); tasks in a layer are ordered by the mean position
// of their neighbours (four barycenter sweeps down and up, where dagre runs up to 24 with
// transposes); edges are straight lines. Same output as the dagre path of layout-worker.js.
export function layered(nodes, edges, W, H, { nodesep = 10, ranksep = 36, margin = 8 } = {}) {
  const index = new Map(nodes.map((n, i) => [n.id, i]));
  const preds = nodes.map(() => []);
  const succs = nodes.map(() => []);
  for (const e of edges) {
    const a = index.get(e.from);
    const b = index.get(e.to);
    if (a === undefined || b === undefined) continue;
    succs[a].push(b);
    preds[b].push(a);
  }
  // Layers by longest path, in topological order (Kahn); a spec's DAG has no cycle.
  const rank = new Array(nodes.length).fill(0);
  const waiting = preds.map((p) => p.length);
  const queue = [];
  waiting.forEach((w, i) => { if (w === 0) queue.push(i); });
  for (let q = 0; q < queue.length; q++) {
    const v = queue[q];
    for (const s of succs[v]) {
      rank[s] = Math.max(rank[s], rank[v] + 1);
      if (--waiting[s] === 0) queue.push(s);
    }
  }
  const layers = [];
  rank.forEach((r, v) => (layers[r] ??= []).push(v));
  const pos = new Array(nodes.length).fill(0);
  const place = (layer) => layer.forEach((v, i) => { pos[v] = i; });
  layers.forEach(place);
  const sweep = (layer, near) => {
    const bary = new Map();
    for (const v of layer) {
      const ns = near[v];
      bary.set(v, ns.length ? ns.reduce((s, u) => s + pos[u], 0) / ns.length : pos[v]);
    }
    layer.sort((a, b) => bary.get(a) - bary.get(b));
    place(layer);
  };
  for (let i = 0; i < 2; i++) {
    for (let l = 1; l < layers.length; l++) sweep(layers[l], preds);
    for (let l = layers.length - 2; l >= 0; l--) sweep(layers[l], succs);
  }
  const tallest = layers.reduce((m, l) => Math.max(m, l.length), 1);
  const xy = new Array(nodes.length);
  layers.forEach((layer, r) => {
    const shift = ((tallest - layer.length) * (H + nodesep)) / 2;
    layer.forEach((v, i) => { xy[v] = [margin + r * (W + ranksep) + W / 2, margin + shift + i * (H + nodesep) + H / 2]; });
  });
  const out = {};
  nodes.forEach((n, i) => { out[n.id] = xy[i]; });
  return {
    width: 2 * margin + layers.length * (W + ranksep) - ranksep,
    height: 2 * margin + tallest * (H + nodesep) - nodesep,
    pos: out,
    edges: edges.filter((e) => index.has(e.from) && index.has(e.to)).map((e) => {
      const [x1, y1] = out[e.from];
      const [x2, y2] = out[e.to];
      return [[x1 + W / 2, y1], [x2 - W / 2, y2]];
    }),
  };
}
