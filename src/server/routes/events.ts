import type { FastifyInstance } from 'fastify';
import { type LogRecord, streamEvents } from '../../index.js';
import type { ServerContext } from '../context.js';
import { ANY_ARRAY, ID, responses } from '../schemas.js';
import { SseHub } from '../sse.js';

interface EventsQuery { type?: string[]; workstream_id?: string; task?: string; worker_id?: string; since_seq?: number; last?: number }

/** Most records one GET of /api/v1/events returns (page on with since_seq). */
const PAGE = 5000;

/** The log's records, filtered as `cairn events` filters them, and the live stream of new records. */
export async function eventRoutes(app: FastifyInstance, ctx: ServerContext, hub: SseHub): Promise<void> {
  app.get<{ Querystring: EventsQuery }>('/api/v1/events', {
    schema: {
      summary: 'Records of the log, oldest first, with the filters of cairn events (at most 5,000: page on with since_seq)',
      querystring: {
        type: 'object', additionalProperties: false,
        properties: {
          type: { type: 'array', items: { type: 'string', pattern: '^[a-z_]{1,64}$' }, description: 'record types (repeat the parameter for several)' },
          workstream_id: ID,
          task: { type: 'string', pattern: '^([A-Za-z0-9][A-Za-z0-9._-]{0,127}/)?[A-Za-z0-9][A-Za-z0-9._-]{0,127}$', description: '<workstream>/<task>, or a bare task id' },
          worker_id: ID,
          since_seq: { type: 'integer', minimum: 0 },
          last: { type: 'integer', minimum: 1, maximum: PAGE },
        },
      },
      response: responses({ type: 'object', properties: { records: ANY_ARRAY, last_seq: { type: 'integer' }, more: { type: 'boolean' } } }),
    },
  }, async (req) => {
    const q = req.query;
    const records: LogRecord[] = [];
    let more = false;
    const r = await streamEvents({
      stateDir: ctx.stateDir, types: q.type, workstreamId: q.workstream_id, task: q.task, workerId: q.worker_id, sinceSeq: q.since_seq, last: q.last,
    }, (batch) => {
      for (const rec of batch) {
        if (records.length === PAGE) { more = true; return false; }
        records.push(rec);
      }
      return true;
    });
    return { records, last_seq: r.lastSeq, more };
  });

  app.get<{ Querystring: { since_seq?: number } }>('/api/v1/events/stream', {
    schema: {
      summary: 'Server-sent events: every new record as an event `record` whose id is its seq; resumes after Last-Event-ID (or since_seq) by replaying the records after it',
      querystring: { type: 'object', properties: { since_seq: { type: 'integer', minimum: 0 } }, additionalProperties: false },
      response: { 200: { type: 'string', description: 'text/event-stream' } },
    },
  }, async (req, reply) => {
    const header = req.headers['last-event-id'];
    const fromHeader = typeof header === 'string' && /^\d{1,15}$/.test(header) ? Number(header) : undefined;
    const since = fromHeader ?? req.query.since_seq ?? ctx.live.current().seq;
    return hub.open(req, reply, since);
  });
}
