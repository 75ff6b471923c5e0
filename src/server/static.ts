import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
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
  // The source tree first: in a checkout, `tsc` alone never leaves a stale copy in use. This module
  // runs from dist/src/server/ (the compiled sources) or from dist/cli/ (the bundled command line).
  for (const rel of ['../../../src/server/assets/', './assets/', '../../src/server/assets/', '../src/server/assets/']) {
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
  // dagre's ES module build, found through its package.json (import.meta.resolve is not there in the
  // CommonJS bundle of the command line).
  const dagre = join(dirname(createRequire(import.meta.url).resolve('@dagrejs/dagre/package.json')), 'dist', 'dagre.esm.js');
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
