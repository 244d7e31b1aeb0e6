import type { IncomingMessage, ServerResponse } from 'node:http';

// What a browser client of /graphql sends: the bearer token, JSON, and the
// headers Apollo Client adds (the preflight one is what CSRF prevention wants).
const ALLOWED_HEADERS = [
  'authorization',
  'content-type',
  'accept',
  'apollo-require-preflight',
  'x-apollo-operation-name',
  'apollographql-client-name',
  'apollographql-client-version',
].join(', ');

/**
 * CORS for /graphql from an allow-list of exact origins. An allowed origin is
 * echoed back (with `Vary: Origin`, so caches keep origins apart) and may send
 * credentials; `*` in the list lets any origin in, but never with credentials.
 * An unknown origin gets no CORS headers at all, so the browser blocks the
 * response. Answers a preflight (OPTIONS) itself and returns true then.
 */
export function handleCors(req: IncomingMessage, res: ServerResponse, allowedOrigins: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (allowedOrigins.length > 0) res.setHeader('vary', 'origin');
  const explicit = origin !== undefined && allowedOrigins.includes(origin);
  const allowed = explicit || (origin !== undefined && allowedOrigins.includes('*'));
  if (allowed) {
    res.setHeader('access-control-allow-origin', explicit ? origin : '*');
    if (explicit) res.setHeader('access-control-allow-credentials', 'true');
    res.setHeader('access-control-expose-headers', 'x-request-id');
  }
  if (req.method !== 'OPTIONS') return false;
  if (allowed) {
    res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
    res.setHeader('access-control-allow-headers', ALLOWED_HEADERS);
    res.setHeader('access-control-max-age', '600');
  }
  res.writeHead(204, { allow: 'GET, POST, OPTIONS', 'content-length': '0' });
  res.end();
  return true;
}
