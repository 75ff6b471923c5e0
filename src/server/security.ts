import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { httpError } from './errors.js';

/** Paths anyone on this machine may fetch without the token: they carry no data (the dashboard's shell). */
export function isPublic(url: string): boolean {
  const path = url.split('?')[0]!;
  return path === '/healthz' || path === '/' || path === '/index.html' || path.startsWith('/assets/');
}

export interface Guard {
  token: string;
  /** Host names (without the port) a request may name in its Host header. */
  hosts: readonly string[];
  port: () => number;
}

/** Names of a loopback interface: the only Host headers a loopback server answers by default. */
export const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * The checks every request passes before any route, in this order (see the README's security rules):
 * - Host must name this server exactly (a loopback name and the port, or a host the user allowed):
 *   a page that rebinds its own name to 127.0.0.1 sends its own name, and page scripts cannot set Host.
 * - Origin, when sent, must be this server's own origin (`null` included is refused): no CORS, ever.
 * - Sec-Fetch-Site `cross-site` is refused (browsers that send it say what Origin may hide).
 * - Every route but /healthz and the dashboard's static shell needs `Authorization: Bearer <token>`,
 *   compared in constant time (both sides hashed first: timingSafeEqual needs equal lengths). The
 *   token is never taken from a cookie or the query string (fastify and proxies log URLs).
 */
export function installGuard(app: FastifyInstance, g: Guard): void {
  const want = digest(g.token);
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const port = g.port();
    const allowed = new Set(g.hosts.map((h) => `${h}:${port}`));
    const host = req.headers.host ?? '';
    if (!allowed.has(host.toLowerCase())) {
      return reply.code(403).send(httpError('FORBIDDEN_HOST', `this server does not answer for Host ${JSON.stringify(host)}`, `Open it as http://127.0.0.1:${port}/ (a name that points here must be added with cairn serve --allow-host NAME).`));
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !allowed.has(originHost(origin))) {
      return reply.code(403).send(httpError('FORBIDDEN_ORIGIN', `cross-origin requests are refused (Origin ${JSON.stringify(origin)})`, 'Use the dashboard this server serves, or a client that sends no Origin header (curl, scripts).'));
    }
    if (req.headers['sec-fetch-site'] === 'cross-site') {
      return reply.code(403).send(httpError('FORBIDDEN_ORIGIN', 'cross-site requests are refused', 'Use the dashboard this server serves.'));
    }
    if (isPublic(req.url) && req.method === 'GET') return;
    const auth = req.headers.authorization ?? '';
    const m = /^Bearer ([^\s]+)$/.exec(auth);
    if (!m || !timingSafeEqual(digest(m[1]!), want)) {
      return reply.code(401).header('www-authenticate', 'Bearer realm="cairn"').send(httpError(
        'UNAUTHORIZED', m ? 'the token is wrong' : 'this route needs the token (Authorization: Bearer <token>)',
        'The token is in serve-token in the state folder (cairn serve prints it inside its URL); send it as Authorization: Bearer <token>.',
      ));
    }
  });
  // Headers every answer carries: no framing, no sniffing, no referrer (a URL never leaves the page).
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    reply.header('content-security-policy', "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
    reply.header('cache-control', 'no-store');
    return payload;
  });
}

/** `host:port` of an Origin header (`http://127.0.0.1:7070` -> `127.0.0.1:7070`); '' for `null` or garbage. */
function originHost(origin: string): string {
  const m = /^http:\/\/([^/]+)$/.exec(origin.trim());
  return m ? m[1]!.toLowerCase() : '';
}
