import type { FastifyReply, FastifyRequest } from 'fastify';
import { type LogRecord, streamEvents } from '../index.js';
import { httpError } from './errors.js';
import type { Live } from './live.js';

/** At most this many streams at once (a browser holds 6 connections a host; 100 clients are benchmarked). */
const MAX_CLIENTS = 256;
const HEARTBEAT_MS = 15_000;

interface Client {
  reply: FastifyReply;
  /** seq of the last record sent. */
  sent: number;
  /** Records that arrived while the replay from disk ran, sent after it. */
  queued: LogRecord[] | null;
}

/**
 * The server-sent event streams: each client first gets the records after the seq it resumes from
 * (read from the log, so nothing between two connections is lost), then every new record the live
 * handle reads. An event's `id` is the record's seq, so a browser's EventSource (or our fetch reader)
 * resumes with Last-Event-ID. Streams are written raw (not through fastify's serializer), never
 * compressed (`no-transform`), and ended when the server closes.
 */
export class SseHub {
  private readonly clients = new Set<Client>();
  private readonly heartbeat: NodeJS.Timeout;

  constructor(private readonly live: Live, private readonly stateDir: string) {
    live.subscribe((records) => { for (const c of this.clients) this.push(c, records); });
    live.onReset((seq) => {
      for (const c of this.clients) {
        c.sent = seq;
        c.reply.raw.write(`event: reset\ndata: ${JSON.stringify({ seq })}\n\n`);
      }
    });
    this.heartbeat = setInterval(() => { for (const c of this.clients) c.reply.raw.write(': ping\n\n'); }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  async open(req: FastifyRequest, reply: FastifyReply, since: number): Promise<void> {
    if (this.clients.size >= MAX_CLIENTS) {
      return reply.code(503).header('retry-after', '5').send(httpError('TOO_MANY_STREAMS', `this server holds ${MAX_CLIENTS} event streams already`, 'Close other dashboards, or poll /api/v1/events?since_seq=N.')) as unknown as void;
    }
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
    res.write(`retry: 1000\n: cairn events after seq ${since}\n\n`);
    const c: Client = { reply, sent: since, queued: [] };
    this.clients.add(c);
    req.raw.on('close', () => this.clients.delete(c));
    try {
      if (since < this.live.current().seq) {
        await streamEvents({ stateDir: this.stateDir, sinceSeq: since }, async (batch) => {
          if (res.destroyed) return false;
          const ok = this.write(c, batch);
          if (!ok) await new Promise<void>((resolve) => res.once('drain', resolve));
          return true;
        });
      }
    } catch (e) {
      res.write(`event: error\ndata: ${JSON.stringify((e as Error).message)}\n\n`);
    }
    const queued = c.queued ?? [];
    c.queued = null;
    this.write(c, queued);
  }

  private push(c: Client, records: readonly LogRecord[]): void {
    if (c.queued) c.queued.push(...records);
    else this.write(c, records);
  }

  /** Writes the records after the client's last one; false when the socket's buffer is full. */
  private write(c: Client, records: readonly LogRecord[]): boolean {
    let text = '';
    for (const r of records) {
      if (r.seq <= c.sent) continue;
      text += `id: ${r.seq}\nevent: record\ndata: ${JSON.stringify(r)}\n\n`;
      c.sent = r.seq;
    }
    return text === '' ? true : c.reply.raw.write(text);
  }

  /** Ends every stream (fastify's close waits for open connections, and these never end by themselves). */
  close(): void {
    clearInterval(this.heartbeat);
    for (const c of this.clients) c.reply.raw.end();
    this.clients.clear();
  }
}
