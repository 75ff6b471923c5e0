import type { FastifyInstance, RouteOptions } from 'fastify';
import { VERSION } from '../index.js';

interface Collected { method: string; url: string; schema: Record<string, unknown> }

/**
 * The OpenAPI 3.1 document of the API, written from the routes' own schemas (the ones fastify
 * validates and serializes with), so the document cannot drift from what the server does. Routes
 * whose schema says `hide` (the dashboard's files) are left out.
 */
export function collectRoutes(app: FastifyInstance): () => object {
  const routes: Collected[] = [];
  app.addHook('onRoute', (r: RouteOptions) => {
    const schema = (r.schema ?? {}) as Record<string, unknown>;
    if (schema.hide) return;
    for (const m of [r.method].flat()) if (m !== 'HEAD') routes.push({ method: m.toLowerCase(), url: r.url, schema });
  });
  let doc: object | null = null;
  return () => (doc ??= document(routes));
}

function document(routes: Collected[]): object {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = r.url.replace(/:([A-Za-z_]+)/g, '{$1}');
    const s = r.schema;
    const parameters = [
      ...props(s.params, 'path'),
      ...props(s.querystring, 'query'),
    ];
    const responses: Record<string, unknown> = {};
    for (const [code, schema] of Object.entries((s.response ?? {}) as Record<string, unknown>)) {
      const sse = r.url.endsWith('/stream') && code === '200';
      responses[code.toUpperCase()] = {
        description: code.startsWith('2') ? 'success' : 'an error: the CLI\'s error code, message and hint',
        content: { [sse ? 'text/event-stream' : 'application/json']: { schema } },
      };
    }
    const secured = path !== '/healthz';
    (paths[path] ??= {})[r.method] = {
      summary: s.summary ?? '',
      ...(parameters.length ? { parameters } : {}),
      ...(s.body ? { requestBody: { required: true, content: { 'application/json': { schema: s.body } } } } : {}),
      responses,
      // A mutation needs the header: the cookie alone is refused.
      ...(secured ? (r.method === 'get' ? {} : { security: [{ token: [] }] }) : { security: [] }),
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'cairn serve', version: VERSION, description: 'The HTTP API of cairn: the same verbs as the command line, over the state folder `cairn serve` was started on.' },
    components: {
      securitySchemes: {
        token: { type: 'http', scheme: 'bearer', description: 'the token in the state folder\'s serve-token file; every POST needs it' },
        // The name carries the port (cairn-serve-<port>); the document is the same for every port.
        cookie: { type: 'apiKey', in: 'cookie', name: 'cairn-serve-<port>', description: 'a browser\'s: set by GET /?token=<token> (303 to the dashboard); GETs only, never a POST' },
      },
    },
    security: [{ token: [] }, { cookie: [] }],
    paths,
  };
}

function props(schema: unknown, where: 'path' | 'query'): object[] {
  const s = schema as { properties?: Record<string, { description?: string }>; required?: string[] } | undefined;
  if (!s?.properties) return [];
  return Object.entries(s.properties).map(([name, p]) => ({
    name, in: where, required: where === 'path' || (s.required ?? []).includes(name),
    ...(p.description ? { description: p.description } : {}), schema: p,
  }));
}
