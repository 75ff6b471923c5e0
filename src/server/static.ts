import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type {} from './context.js';

/**
 * The dashboard's files, read once at start: src/server/assets/ in a checkout, or the copy the
 * build puts beside this module (dist/src/server/assets/, what the package ships), and dagre's ES
 * module from node_modules. They hold no data and no token: every
 * datum comes from the API with the token, which the page takes from its URL's fragment.
 * This is the one file of the server that reads files, and only the package's own.
 */
function assetDir(): string {
  // The source tree first: in a checkout, `tsc` alone never leaves a stale copy in use.
  for (const rel of ['../../../src/server/assets/', './assets/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}index.html`)) return dir;
  }
  throw new Error('the dashboard\'s assets are missing (src/server/assets/); reinstall cairn');
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export async function staticRoutes(app: FastifyInstance): Promise<void> {
  const dir = assetDir();
  const files = new Map<string, { type: string; body: Buffer }>();
  for (const f of readdirSync(dir)) {
    const ext = f.slice(f.lastIndexOf('.'));
    if (TYPES[ext]) files.set(`/assets/${f}`, { type: TYPES[ext]!, body: readFileSync(`${dir}${f}`) });
  }
  const dagre = fileURLToPath(import.meta.resolve('@dagrejs/dagre'));
  files.set('/assets/vendor/dagre.js', { type: TYPES['.js']!, body: readFileSync(dagre) });
  const index = files.get('/assets/index.html')!;
  const hide = { schema: { hide: true } };
  app.get('/', hide, async (_req, reply) => reply.type(index.type).send(index.body));
  app.get('/index.html', hide, async (_req, reply) => reply.type(index.type).send(index.body));
  // Only the names read at start: a request's path never becomes a file name.
  app.get<{ Params: { '*': string } }>('/assets/*', hide, async (req, reply) => {
    const f = files.get(`/assets/${req.params['*']}`);
    if (!f) return reply.code(404).send({ ok: false, error: { code: 'NOT_FOUND', message: 'no such asset', details: {}, hint: null } });
    return reply.type(f.type).send(f.body);
  });
}
