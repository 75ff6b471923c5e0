import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { httpError } from './errors.js';
import { cookieName, cookieValue, login, loginPage, queryToken, readCookie, sameSecret, secretDigest } from './session.js';

/** The dashboard's files: a browser fetches them with the cookie (a 401 there is a page that says how to get in). */
export function isStatic(path: string): boolean {
  return path === '/' || path === '/index.html' || path.startsWith('/assets/');
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

/**
 * The checks every request passes before any route, in this order (see the README's security rules):
 * - Host must name this server exactly (a loopback name and the port, or a host the user allowed):
 *   a page that rebinds its own name to 127.0.0.1 sends its own name, and page scripts cannot set Host.
 * - Origin, when sent, must be this server's own origin (`null` included is refused): no CORS, ever.
 * - Sec-Fetch-Site `cross-site` is refused (browsers that send it say what Origin may hide).
 * - Every route but /healthz needs the token: `Authorization: Bearer <token>`, or for a read (GET,
 *   HEAD) the cookie the browser got from `/?token=` (session.ts); a mutation needs the header, never
 *   only the cookie, so a page that makes the browser send its cookies still cannot act. Both are
 *   compared in constant time. The query string is read for the token on `/` alone, and only to
 *   trade it for the cookie at once (303), so it stays out of every later URL.
 */
export function installGuard(app: FastifyInstance, g: Guard): void {
  const want = secretDigest(g.token);
  const wantCookie = secretDigest(cookieValue(g.token));
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
    const path = req.url.split('?')[0]!;
    if (path === '/healthz') return;
    const read = req.method === 'GET' || req.method === 'HEAD';
    const page = read && isStatic(path);
    const auth = req.headers.authorization;
    if (auth !== undefined && auth !== '') {
      const m = /^Bearer ([^\s]+)$/.exec(auth);
      if (m && sameSecret(m[1]!, want)) return;
      return refuse(req, reply, page, m ? 'the token is wrong' : 'the Authorization header is not "Bearer <token>"');
    }
    const given = read && (path === '/' || path === '/index.html') ? queryToken(req.url) : undefined;
    if (given !== undefined) {
      if (sameSecret(given, want)) return login(reply, port, g.token);
      return refuse(req, reply, page, 'the token in this URL is wrong');
    }
    const cookie = readCookie(req.headers.cookie, cookieName(port));
    const cookieOk = cookie !== undefined && sameSecret(cookie, wantCookie);
    if (cookieOk && read) return;
    if (cookieOk) {
      return reply.code(401).header('www-authenticate', 'Bearer realm="cairn"').send(httpError(
        'UNAUTHORIZED', 'an action needs the token in the Authorization header; the dashboard\'s cookie only lets a browser read',
        'Send Authorization: Bearer <token> (the dashboard does when it has the token: open the URL cairn serve printed).',
      ));
    }
    return refuse(req, reply, page, cookie !== undefined ? 'the cookie is not this server\'s (was the token changed?)' : 'this route needs the token');
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

/** 401: for the dashboard's files a page saying how to get in, else the JSON error document. */
function refuse(req: FastifyRequest, reply: FastifyReply, page: boolean, why: string): FastifyReply {
  if (page) return loginPage(req, reply, `${why[0]!.toUpperCase()}${why.slice(1)}.`);
  return reply.code(401).header('www-authenticate', 'Bearer realm="cairn"').send(httpError(
    'UNAUTHORIZED', `${why} (Authorization: Bearer <token>)`,
    'The token is in serve-token in the state folder (cairn serve prints it inside its URL); send it as Authorization: Bearer <token>.',
  ));
}
