// A real `cairn serve` child process on a free port, and raw HTTP requests to it (node:http, so a
// test can send any Host, Origin or body a hostile page or program could).
import { type ChildProcess, spawn } from 'node:child_process';
import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CAIRN_BIN, ROOT } from './paths.js';

export interface Served {
  origin: string;
  /** The URL it printed: with the token (`/?token=`) when it made the token now, else the bare origin. */
  url: string;
  port: number;
  token: string;
  child: ChildProcess;
  /** Everything the server said on stdout and stderr so far. */
  output: () => string;
  /** Stops it (SIGTERM) and resolves with its exit code. */
  stop: () => Promise<number | null>;
}

/** Starts `cairn serve --port 0 --json` on a state folder and waits for its address (generous deadline). */
export async function startServe(state: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Served> {
  const child = spawn(process.execPath, [CAIRN_BIN, 'serve', '--state-dir', state, '--port', '0', '--json', ...extra], {
    cwd: ROOT, env: { ...process.env, CAIRN_STATE_DIR: undefined, CAIRN_OPERATOR: 'tester', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 30_000;
  while (!out.includes('\n')) {
    if (child.exitCode !== null) throw new Error(`cairn serve exited ${child.exitCode}:\n${out}\n${err}`);
    if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error(`cairn serve did not start:\n${out}\n${err}`); }
    await new Promise((r) => setTimeout(r, 20));
  }
  const doc = JSON.parse(out.split('\n')[0]!) as { url: string; origin: string; port: number; token_file: string };
  return {
    origin: doc.origin, url: doc.url, port: doc.port, token: readFileSync(doc.token_file, 'utf8').trim(), child,
    output: () => out + err,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

export interface HttpResult { status: number; headers: Record<string, string | string[] | undefined>; text: string; json: any }

/** One HTTP request with exactly these headers (Host defaults to 127.0.0.1:port). */
export function http(s: { port: number }, method: string, path: string, o: { headers?: Record<string, string>; body?: string | Buffer; token?: string } = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: `127.0.0.1:${s.port}`, ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), ...o.headers };
    if (o.body !== undefined && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
    const req = request({ host: '127.0.0.1', port: s.port, method, path, headers, setHost: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown = undefined;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (o.body !== undefined) req.end(o.body);
    else req.end();
  });
}

/** GET with the token; fails with the answer when the status is not 200. */
export async function getJson(s: Served, path: string): Promise<any> {
  const r = await http(s, 'GET', path, { token: s.token });
  if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.text}`);
  return r.json;
}

/** POST a JSON body with the token. */
export function post(s: Served, path: string, body: unknown): Promise<HttpResult> {
  return http(s, 'POST', path, { token: s.token, body: JSON.stringify(body) });
}

export const serveTokenFile = (state: string) => join(state, 'serve-token');

export interface SseEvent { id: number | null; event: string; data: any }

/** An open event stream: the events so far, a wait for one that matches, and close. */
export interface SseStream {
  events: SseEvent[];
  waitFor: (pred: (e: SseEvent) => boolean, what: string, ms?: number) => Promise<SseEvent>;
  close: () => void;
}

/** Opens /api/v1/events/stream (with Last-Event-ID when given) and parses events as they come. */
export function openStream(s: Served, lastEventId?: number, query = ''): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: `127.0.0.1:${s.port}`, authorization: `Bearer ${s.token}`, accept: 'text/event-stream' };
    if (lastEventId !== undefined) headers['last-event-id'] = String(lastEventId);
    const req = request({ host: '127.0.0.1', port: s.port, path: `/api/v1/events/stream${query}`, headers, setHost: false }, (res) => {
      if (res.statusCode !== 200) { reject(new Error(`stream: ${res.statusCode}`)); return; }
      const events: SseEvent[] = [];
      let buf = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        buf += d;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let id: number | null = null;
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('id: ')) id = Number(line.slice(4));
            else if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length) events.push({ id, event, data: JSON.parse(data.join('\n')) });
        }
      });
      res.on('error', () => undefined);
      resolve({
        events,
        close: () => req.destroy(),
        waitFor: async (pred, what, ms = 60_000) => {
          const end = Date.now() + ms;
          for (;;) {
            const hit = events.find(pred);
            if (hit) return hit;
            if (Date.now() > end) throw new Error(`no event ${what} within ${ms} ms; got ${events.map((e) => `${e.id}:${e.data?.type}`).join(' ')}`);
            await new Promise((r) => setTimeout(r, 20));
          }
        },
      });
    });
    req.on('error', reject);
    req.end();
  });
}
