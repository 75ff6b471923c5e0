import Fastify, { type FastifyInstance } from 'fastify';
import type { ServerContext } from './context.js';
import { errorReply, httpError } from './errors.js';
import { ServerMetrics } from './metrics.js';
import { collectRoutes } from './openapi.js';
import { ACTION_LIMIT, actionRoutes } from './routes/actions.js';
import { eventRoutes } from './routes/events.js';
import { readRoutes } from './routes/read.js';
import { type Guard, installGuard } from './security.js';
import { SseHub } from './sse.js';
import { staticRoutes } from './static.js';

/**
 * The fastify instance of `cairn serve`: the guard (Host, Origin, token) before every route, one
 * plugin per group of routes with its schemas beside it, errors as the CLI's error document.
 */
export async function buildApp(ctx: Omit<ServerContext, 'sseClients'>, guard: Guard): Promise<{ app: FastifyInstance; metrics: ServerMetrics }> {
  const app = Fastify({
    // Fastify logs whole URLs; cairn serve logs nothing per request (the token never travels in a URL anyway).
    logger: false,
    bodyLimit: ACTION_LIMIT,
    requestTimeout: 30_000,
    forceCloseConnections: true,
    // Ids are up to 128 characters; a longer one gets the id rule's 400, not the router's bare 414.
    // (under routerOptions: the top-level option prints a deprecation warning on every start).
    routerOptions: { maxParamLength: 256 },
    frameworkErrors: (e, _req, reply) => {
      const { status, body } = errorReply(e);
      void (reply as unknown as import("fastify").FastifyReply).code(status).send(body);
    },
    return503OnClosing: true,
    // Unknown body fields are refused, not stripped silently; allErrors stays off (a DoS vector).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
  });
  // Forms and text/plain skip a browser's CORS preflight: only JSON bodies are read at all.
  app.removeContentTypeParser('text/plain');
  const openapi = collectRoutes(app);
  const hub = new SseHub(ctx.live, ctx.stateDir);
  const full: ServerContext = { ...ctx, sseClients: () => hub.size };
  installGuard(app, guard);
  app.setErrorHandler((e, _req, reply) => {
    const { status, body } = errorReply(e);
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send(httpError('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`, 'GET /api/v1/openapi.json lists the routes.')));
  app.addHook('preClose', async () => hub.close());

  const metrics = new ServerMetrics(full);
  await app.register(async (a) => {
    a.get('/healthz', { schema: { summary: 'Liveness: answers without the token', response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } } } } }, async () => ({ ok: true }));
    a.get('/api/v1/openapi.json', { schema: { summary: 'This document' } }, async () => openapi());
    a.get('/metrics', { schema: { summary: 'Prometheus metrics (text format 0.0.4); needs the token like every route' } }, async (_req, reply) =>
      reply.type(metrics.registry.contentType).send(await metrics.text()));
    await readRoutes(a, full);
    await eventRoutes(a, full, hub);
    await actionRoutes(a, full);
    await staticRoutes(a);
  });
  return { app, metrics };
}
