import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * The browser's way in, as Jupyter's: the printed URL is `/?token=<token>`; the server checks it,
 * sets a cookie and answers 303 to `/#token=<token>`. The redirect puts the token in the fragment,
 * which a browser never sends (so it is in no request line, log or Referer after this one), and the
 * page's script takes it from there for its Authorization header (mutations need the header; the
 * cookie alone only reads). Serving the HTML with the token inside was the other way: the page
 * would then hold the secret in its source, its cache entry and any copy of it, and need an inline
 * script the Content-Security-Policy forbids.
 */

/** One cookie per port: cookies ignore ports, so two servers on 127.0.0.1 would overwrite one name. */
export const cookieName = (port: number) => `cairn-serve-${port}`;

/**
 * The cookie's value is derived from the token, not the token itself: a cookie read out of a
 * browser profile lets its holder read, never act (actions need the token in a header).
 */
export const cookieValue = (token: string) => createHash('sha256').update(`cairn serve cookie\0${token}`).digest('hex');

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Constant-time equality of two strings of any length (both hashed first: timingSafeEqual needs equal lengths). */
export function sameSecret(given: string, want: Buffer): boolean {
  return timingSafeEqual(digest(given), want);
}
export const secretDigest = digest;

/** The value of cookie `name` in a Cookie header, or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/** `token` of the query string, when the URL has one. */
export function queryToken(url: string): string | undefined {
  const q = url.indexOf('?');
  if (q < 0) return undefined;
  return new URLSearchParams(url.slice(q + 1)).get('token') ?? undefined;
}

/** The 303 of a right `?token=`: the cookie (HttpOnly, SameSite=Strict; no Secure: plain http on loopback) and the fragment. */
export function login(reply: FastifyReply, port: number, token: string): FastifyReply {
  return reply.code(303)
    .header('set-cookie', `${cookieName(port)}=${cookieValue(token)}; HttpOnly; SameSite=Strict; Path=/`)
    .header('location', `/#token=${token}`)
    .type('text/plain; charset=utf-8')
    .send('See /\n');
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The 401 a browser gets for the dashboard's files: a page saying how to get in (no script, no data). */
export function loginPage(req: FastifyRequest, reply: FastifyReply, why: string): FastifyReply {
  // The Host header was checked against this server's names before this runs.
  const origin = `http://${req.headers.host ?? '127.0.0.1'}`;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="referrer" content="no-referrer"><title>cairn: token needed</title></head>
<body>
<h1>cairn serve: this page needs the token</h1>
<p>${escape(why)}</p>
<p>Open the URL <code>cairn serve</code> printed when it made the token, or this one with the token of the
state folder (the 64 hex digits in <code>serve-token</code> there):</p>
<pre>${escape(origin)}/?token=&lt;token&gt;</pre>
<p>For example: <code>echo "${escape(origin)}/?token=$(cat .state/serve-token)"</code></p>
<p>Scripts send the header <code>Authorization: Bearer &lt;token&gt;</code> instead.</p>
</body></html>
`;
  return reply.code(401).header('www-authenticate', 'Bearer realm="cairn"').type('text/html; charset=utf-8').send(html);
}
