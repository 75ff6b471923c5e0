import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { Agent, request } from 'node:http';
import * as path from 'node:path';
import { initState } from '../src/store/init.js';
import { Store } from '../src/store/store.js';
import { simulate } from './gen.js';
import { type BenchContext, type BenchResult, fmt, median, REPO, resultLine, runChild } from './util.js';

/**
 * Issue 14: `cairn serve`. serve-get: GET of a 1,000-task workstream, requests/s against a bare
 * fastify route returning the same prepared JSON (target >= 0.5). serve-sse: how soon a record
 * appended by a real `cairn run` reaches an SSE client, against `cairn status --json` polled as
 * fast as it runs (p50 and p95 of record ts -> seen), and the server's memory with 100 clients
 * while records stream (steady: the RSS at the end within 1.5x of the RSS once they are open).
 */

const CAIRN = path.join(REPO, 'bin', 'cairn.js');

interface Child { proc: ChildProcess; line: string }

/** Starts a process and waits for its first stdout line. */
function startChild(args: string[]): Promise<Child> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CAIRN_STATE_DIR: undefined } });
    let out = '';
    let err = '';
    proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const i = out.indexOf('\n');
      if (i >= 0) resolve({ proc, line: out.slice(0, i) });
    });
    proc.on('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}: ${err}`)));
  });
}

async function startServe(state: string): Promise<{ proc: ChildProcess; port: number; token: string }> {
  const c = await startChild([CAIRN, 'serve', '--state-dir', state, '--port', '0', '--json']);
  const doc = JSON.parse(c.line) as { port: number; token_file: string };
  return { proc: c.proc, port: doc.port, token: fs.readFileSync(doc.token_file, 'utf8').trim() };
}

function stop(p: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (p.exitCode !== null) return resolve();
    p.removeAllListeners('exit');
    p.once('exit', () => resolve());
    p.kill('SIGTERM');
  });
}

/** GETs `path` with `conns` keep-alive connections for `ms`; returns requests per second. */
async function load(port: number, pathName: string, headers: Record<string, string>, ms: number, conns = 8): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: conns });
  let n = 0;
  const end = performance.now() + ms;
  const one = () => new Promise<void>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: pathName, headers: { host: `127.0.0.1:${port}`, ...headers }, agent }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`GET ${pathName}: ${res.statusCode}`));
      res.on('data', () => undefined);
      res.on('end', () => resolve());
    });
    req.on('error', reject);
    req.end();
  });
  const t0 = performance.now();
  await Promise.all(Array.from({ length: conns }, async () => {
    while (performance.now() < end) { await one(); n++; }
  }));
  const secs = (performance.now() - t0) / 1000;
  agent.destroy();
  return n / secs;
}

function getText(port: number, pathName: string, token: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: pathName, headers: { authorization: `Bearer ${token}` } }, (res) => {
      let t = '';
      res.setEncoding('utf8').on('data', (d: string) => { t += d; }).on('end', () => resolve(t));
    }).on('error', reject).end();
  });
}

export async function benchServeGet(ctx: BenchContext): Promise<BenchResult[]> {
  const dir = path.join(ctx.scratch, 'serve-1k');
  initState(dir);
  fs.rmSync(path.join(dir, 'current.json'));
  simulate(path.join(dir, 'transitions.jsonl'), { workstreamId: 'wide', tasks: 1000, layerWidth: 100, workers: 8, churnRecords: 0, stopAfter: 3000 });
  const store = await Store.open(dir, { config: { lock_stale_ms: 120_000, lock_timeout_ms: 180_000 } });
  await store.close();
  const serve = await startServe(dir);
  const route = '/api/v1/workstreams/wide';
  const json = await getText(serve.port, route, serve.token);
  const doc = JSON.parse(json) as { workstream: { tasks: unknown[] } };
  if (doc.workstream.tasks.length !== 1000) throw new Error(`GET ${route} gave ${doc.workstream.tasks.length} tasks`);
  const file = path.join(ctx.scratch, 'serve-1k.json');
  fs.writeFileSync(file, json);
  const bare = await startChild([path.join(REPO, 'dist', 'bench', 'serve-bare.js'), file]);
  const barePort = Number(bare.line);
  ctx.note(`GET ${route}: ${(json.length / 1024).toFixed(0)} KiB`);
  const ours: number[] = [];
  const base: number[] = [];
  try {
    await load(serve.port, route, { authorization: `Bearer ${serve.token}` }, 500);
    await load(barePort, route, {}, 500);
    for (let r = 0; r < 5; r++) {
      for (const k of r % 2 === 0 ? [0, 1] : [1, 0]) {
        if (k === 0) ours.push(await load(serve.port, route, { authorization: `Bearer ${serve.token}` }, 1500));
        else base.push(await load(barePort, route, {}, 1500));
      }
    }
  } finally {
    await stop(serve.proc);
    await stop(bare.proc);
  }
  const a = median(ours);
  const b = median(base);
  ctx.note(`serve-get: cairn serve ${fmt(a)} req/s, bare fastify ${fmt(b)} req/s`);
  return [resultLine('serve-get', `GET 1,000-task workstream req/s, cairn serve / bare fastify (${fmt(a)} / ${fmt(b)})`, a / b, { op: '>=', value: 0.5 })];
}

interface Seen { seq: number; ts: number; at: number }

/** An SSE client that notes when each record arrives (wall clock, as record ts is). */
function sseClient(port: number, token: string, onRecord: ((s: Seen) => void) | null): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/api/v1/events/stream', headers: { authorization: `Bearer ${token}` } }, (res) => {
      let buf = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        if (!onRecord) return;
        const at = Date.now();
        buf += d;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (data && block.includes('event: record')) {
            const r = JSON.parse(data.slice(6)) as { seq: number; ts: string };
            onRecord({ seq: r.seq, ts: Date.parse(r.ts), at });
          }
        }
      });
      res.on('error', () => undefined);
      resolve(() => req.destroy());
    });
    req.on('error', reject);
    req.end();
  });
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

export async function benchServeSse(ctx: BenchContext): Promise<BenchResult[]> {
  const dir = path.join(ctx.scratch, 'serve-sse');
  const state = path.join(dir, '.state');
  fs.mkdirSync(dir, { recursive: true });
  initState(state);
  const tasks = Array.from({ length: 40 }, (_, i) => ({ id: `t${i}`, command: 'sleep 0.1', ...(i > 0 ? { depends_on: [`t${i - 1}`] } : {}) }));
  const spec = path.join(dir, 'spec.json');
  fs.writeFileSync(spec, JSON.stringify({ id: 'chain', tasks }));
  const serve = await startServe(state);
  const sse: Seen[] = [];
  const closeSse = await sseClient(serve.port, serve.token, (s) => sse.push(s));
  // `cairn status --json` polled back to back: a record is seen by the first poll whose seq reaches it.
  const polled: { seq: number; at: number }[] = [];
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const r = await runChild(process.execPath, [CAIRN, 'status', '--json', '--state-dir', state]);
      if (r.code === 0) polled.push({ seq: (JSON.parse(r.stdout) as { seq: number }).seq, at: Date.now() });
    }
  })();
  const run = await runChild(process.execPath, [CAIRN, 'run', spec, '--state-dir', state]);
  await new Promise((r) => setTimeout(r, 1500));
  polling = false;
  await poller;
  closeSse();
  if (run.code !== 0) throw new Error(`cairn run exited ${run.code}: ${run.stderr}`);
  const sseLat = sse.map((s) => s.at - s.ts);
  const pollLat = sse.map((s) => (polled.find((p) => p.seq >= s.seq)?.at ?? NaN) - s.ts).filter(Number.isFinite);
  const [s50, s95, p50, p95] = [pct(sseLat, 50), pct(sseLat, 95), pct(pollLat, 50), pct(pollLat, 95)];
  ctx.note(`serve-sse: ${sse.length} records; SSE p50 ${s50} ms p95 ${s95} ms; status polling (${polled.length} polls) p50 ${p50} ms p95 ${p95} ms`);

  // 100 clients on one server while a 200-task workstream streams its records to all of them.
  const closers: (() => void)[] = [];
  for (let i = 0; i < 100; i++) closers.push(await sseClient(serve.port, serve.token, null));
  await new Promise((r) => setTimeout(r, 500));
  const rssOpen = rssKiB(serve.proc.pid!);
  const many = Array.from({ length: 200 }, (_, i) => ({ id: `m${i}`, command: 'true', ...(i >= 8 ? { depends_on: [`m${i - 8}`] } : {}) }));
  fs.writeFileSync(spec, JSON.stringify({ id: 'many', tasks: many }));
  const half = await runChild(process.execPath, [CAIRN, 'run', spec, '--state-dir', state]);
  if (half.code !== 0) throw new Error(`cairn run exited ${half.code}: ${half.stderr}`);
  const rssMid = rssKiB(serve.proc.pid!);
  fs.writeFileSync(spec, JSON.stringify({ id: 'many2', tasks: many }));
  await runChild(process.execPath, [CAIRN, 'run', spec, '--state-dir', state]);
  await new Promise((r) => setTimeout(r, 1000));
  const rssEnd = rssKiB(serve.proc.pid!);
  const clients = /cairn_sse_clients (\d+)/.exec(await getText(serve.port, '/metrics', serve.token))?.[1];
  for (const c of closers) c();
  await stop(serve.proc);
  ctx.note(`serve-sse: 100 clients (${clients} open at the end): RSS ${fmt(rssOpen / 1024)} MiB open, ${fmt(rssMid / 1024)} MiB after one 200-task run, ${fmt(rssEnd / 1024)} MiB after two`);
  return [
    resultLine('serve-sse', `record -> client latency p50, SSE / cairn status polling (${s50} / ${p50} ms)`, s50 / p50, { op: '<=', value: 1 }),
    resultLine('serve-sse', `record -> client latency p95, SSE / cairn status polling (${s95} / ${p95} ms)`, s95 / p95, { op: '<=', value: 1 }),
    resultLine('serve-sse', `100 SSE clients: RSS after two runs / after one (${fmt(rssEnd / 1024)} / ${fmt(rssMid / 1024)} MiB)`, rssEnd / rssMid, { op: '<=', value: 1.25 }),
  ];
}
