import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError } from '../errors';
import { renderPage } from '../graphiqlPage';
import { isLoopbackAddress } from '../loopback';
import { refuseOtherMethods } from './methods';

const ASSET_PREFIX = '/graphiql/assets/';

/**
 * The only files served here, looked up by exact name: no request path
 * reaches the filesystem, so no traversal is possible. @fastify/static serves
 * one root per route; these live in three packages, and graphiql.min.js
 * (3.5 MB) is worth gzipping once in memory rather than per request.
 */
const ASSETS: ReadonlyMap<string, { pkg: string; file: string; contentType: string }> = new Map([
  ['react.production.min.js', { pkg: 'react', file: 'umd/react.production.min.js', contentType: 'text/javascript; charset=utf-8' }],
  ['react-dom.production.min.js', { pkg: 'react-dom', file: 'umd/react-dom.production.min.js', contentType: 'text/javascript; charset=utf-8' }],
  ['graphiql.min.js', { pkg: 'graphiql', file: 'graphiql.min.js', contentType: 'text/javascript; charset=utf-8' }],
  ['graphiql.min.css', { pkg: 'graphiql', file: 'graphiql.min.css', contentType: 'text/css; charset=utf-8' }],
]);

interface Asset {
  contentType: string;
  body: Buffer;
  etag: string;
  gzip: Buffer;
  gzipEtag: string;
}

const loaded = new Map<string, Asset>();

/**
 * react and react-dom declare "exports" without their umd/ folder, so
 * `require.resolve('react/umd/…')` throws ERR_PACKAGE_PATH_NOT_EXPORTED;
 * every package exposes its package.json, so the file is joined onto its directory.
 * Read and compressed on first use (once per file per process), then served from memory.
 */
function loadAsset(name: string): Asset | undefined {
  const cached = loaded.get(name);
  if (cached) return cached;
  const spec = ASSETS.get(name);
  if (!spec) return undefined;
  const body = readFileSync(join(dirname(require.resolve(`${spec.pkg}/package.json`)), spec.file));
  const hash = createHash('sha256').update(body).digest('base64url').slice(0, 27);
  // A strong ETag names exact bytes, so the compressed variant needs its own.
  const asset = { contentType: spec.contentType, body, etag: `"${hash}"`, gzip: gzipSync(body), gzipEtag: `"${hash}-gz"` };
  loaded.set(name, asset);
  return asset;
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  // If-None-Match uses weak comparison (RFC 9110 §13.1.2), so ignore any W/ prefix.
  return header.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === etag);
}

function acceptsGzip(request: FastifyRequest): boolean {
  const header = request.headers['accept-encoding'];
  if (typeof header !== 'string') return false;
  return header.split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    return coding === 'gzip' && !params.some((p) => /^\s*q=0(\.0*)?\s*$/.test(p));
  });
}

/**
 * GET /graphiql (development only): the IDE, with the dev token prefilled for
 * a browser on this machine only (its socket's peer is loopback; no header is
 * trusted for this), and its assets under /graphiql/assets/.
 */
export async function graphiqlRoutes(fastify: FastifyInstance, options: { endpoint: string; devToken: string | undefined }): Promise<void> {
  const page = (request: FastifyRequest) => {
    // The dev token is an admin's: only a browser on this machine gets it prefilled.
    const devToken = options.devToken && isLoopbackAddress(request.raw.socket.remoteAddress) ? options.devToken : undefined;
    return renderPage({ endpoint: options.endpoint, ...(devToken ? { devToken } : {}) }, ASSET_PREFIX);
  };
  for (const url of ['/graphiql', '/graphiql/']) {
    fastify.get(url, async (request, reply) => {
      const { html, csp } = page(request);
      return reply
        .headers({
          'content-security-policy': csp,
          // The page may carry a dev token, so keep it out of every cache.
          'cache-control': 'no-store',
          'referrer-policy': 'no-referrer',
          'x-content-type-options': 'nosniff',
        })
        .type('text/html; charset=utf-8')
        .send(html);
    });
    refuseOtherMethods(fastify, url, ['GET', 'HEAD']);
  }

  fastify.get<{ Params: { name: string } }>(`${ASSET_PREFIX}:name`, async (request, reply) => {
    let asset: Asset | undefined;
    try {
      asset = loadAsset(request.params.name);
    } catch (error) {
      // A whitelisted package is missing from node_modules: a deployment fault, not the client's.
      request.log.error({ err: error }, 'GraphiQL asset unavailable');
      throw new HttpError(500, 'INTERNAL_SERVER_ERROR', 'GraphiQL asset unavailable');
    }
    if (!asset) {
      reply.callNotFound();
      return;
    }
    const gzip = acceptsGzip(request);
    const etag = gzip ? asset.gzipEtag : asset.etag;
    reply.headers({ 'cache-control': 'public, max-age=86400', etag, vary: 'Accept-Encoding', 'x-content-type-options': 'nosniff' });
    if (etagMatches(request.headers['if-none-match'], etag)) return reply.code(304).send();
    if (gzip) reply.header('content-encoding', 'gzip');
    return reply.type(asset.contentType).send(gzip ? asset.gzip : asset.body);
  });
  refuseOtherMethods(fastify, `${ASSET_PREFIX}:name`, ['GET', 'HEAD']);
}
