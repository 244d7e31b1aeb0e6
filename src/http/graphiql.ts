import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';

/**
 * GraphiQL served entirely from local node_modules, so the IDE works offline
 * and no third-party CDN ever sees the page (or the dev token in it).
 */

export interface GraphiqlOptions {
  /** Path of the GraphQL endpoint, e.g. '/graphql'. */
  endpoint: string;
  /** When set (development mode), the headers editor is prefilled with `Authorization: Bearer <token>`. */
  devToken?: string;
}

const PAGE_PATHS = new Set(['/graphiql', '/graphiql/']);
const ASSET_PREFIX = '/graphiql/assets/';

/**
 * The only files this handler will ever read. Lookups go through this map by
 * exact name, so no request path reaches the filesystem: no traversal possible.
 */
const ASSETS: ReadonlyMap<string, { pkg: string; file: string; contentType: string }> = new Map([
  ['react.production.min.js', { pkg: 'react', file: 'umd/react.production.min.js', contentType: 'text/javascript; charset=utf-8' }],
  ['react-dom.production.min.js', { pkg: 'react-dom', file: 'umd/react-dom.production.min.js', contentType: 'text/javascript; charset=utf-8' }],
  ['graphiql.min.js', { pkg: 'graphiql', file: 'graphiql.min.js', contentType: 'text/javascript; charset=utf-8' }],
  ['graphiql.min.css', { pkg: 'graphiql', file: 'graphiql.min.css', contentType: 'text/css; charset=utf-8' }],
]);

/**
 * react and react-dom declare "exports" without their umd/ folder, so
 * `require.resolve('react/umd/…')` throws ERR_PACKAGE_PATH_NOT_EXPORTED.
 * Every package exports (or, lacking "exports", exposes) its package.json,
 * so resolve that and join the fixed file name onto its directory.
 */
function resolveAsset(pkg: string, file: string): string {
  return join(dirname(require.resolve(`${pkg}/package.json`)), file);
}

interface CachedAsset {
  contentType: string;
  body: Buffer;
  etag: string;
  /** graphiql.min.js is ~3.5 MB unminified; gzip once up front rather than per request. */
  gzip: Buffer;
  gzipEtag: string;
}

const assetCache = new Map<string, CachedAsset>();

/**
 * Reads and compresses an asset on first use, then serves it from memory.
 * The synchronous read happens once per file per process, which is cheaper
 * than the bookkeeping an async cache-fill would need.
 */
function loadAsset(name: string): CachedAsset | undefined {
  const cached = assetCache.get(name);
  if (cached) return cached;
  const spec = ASSETS.get(name);
  if (!spec) return undefined;
  const body = readFileSync(resolveAsset(spec.pkg, spec.file));
  const gzip = gzipSync(body);
  const hash = createHash('sha256').update(body).digest('base64url').slice(0, 27);
  const asset: CachedAsset = {
    contentType: spec.contentType,
    body,
    etag: `"${hash}"`,
    // A strong ETag names exact bytes, so the compressed variant needs its own.
    gzip,
    gzipEtag: `"${hash}-gz"`,
  };
  assetCache.set(name, asset);
  return asset;
}

const DEFAULT_QUERY = `# Your organisation and its ten latest calls.
# recordingUrl is a short-lived signed link:
# open it in a new tab to play the recording.
query Dashboard {
  viewer {
    organisation {
      name
      timezone
    }
    role
  }
  calls(first: 10) {
    edges {
      node {
        id
        startedAt
        direction
        status
        durationSeconds
        agent {
          name
        }
        contact {
          name
        }
        hasRecording
        recordingUrl
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
`;

/**
 * JSON is valid JavaScript, but a `</script>` (or `<!--`) inside a string
 * would still end the script element early; escaping every `<` prevents that.
 * U+2028/U+2029 are escaped too so older parsers cannot see a line break.
 */
function toScriptLiteral(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

interface Page {
  html: string;
  csp: string;
}

function renderPage(options: GraphiqlOptions): Page {
  const headers = options.devToken === undefined
    ? ''
    : JSON.stringify({ Authorization: `Bearer ${options.devToken}` }, null, 2);

  // The only inline script. It is allowed by its sha256 hash rather than a
  // nonce: the page is deterministic for given options, so no per-request randomness is needed.
  const bootstrap = `
(function () {
  var props = {
    fetcher: GraphiQL.createFetcher({ url: ${toScriptLiteral(options.endpoint)} }),
    defaultQuery: ${toScriptLiteral(DEFAULT_QUERY)},
    defaultHeaders: ${toScriptLiteral(headers)},
    defaultEditorToolsVisibility: 'headers',
    isHeadersEditorEnabled: true,
    // Not persisted: a stored header would outlive the dev token it carries
    // (tokens expire), and a fresh page should always work.
    shouldPersistHeaders: false
  };
  ReactDOM.createRoot(document.getElementById('graphiql')).render(React.createElement(GraphiQL, props));
})();
`;
  const scriptHash = createHash('sha256').update(bootstrap, 'utf8').digest('base64');

  const csp = [
    "default-src 'none'",
    `script-src 'self' 'sha256-${scriptHash}'`,
    // GraphiQL and CodeMirror set style attributes at runtime, which CSP treats as inline styles.
    "style-src 'self' 'unsafe-inline'",
    // graphiql.min.css embeds its fonts as data: URIs.
    "font-src 'self' data:",
    "img-src 'self' data:",
    "media-src 'self'",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');

  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchboard · GraphiQL</title>
<link rel="stylesheet" href="${ASSET_PREFIX}graphiql.min.css">
<style>html, body, #graphiql { height: 100%; margin: 0; overflow: hidden; }</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script src="${ASSET_PREFIX}react.production.min.js"></script>
<script src="${ASSET_PREFIX}react-dom.production.min.js"></script>
<script src="${ASSET_PREFIX}graphiql.min.js"></script>
<script>${bootstrap}</script>
</body>
</html>
`;
  return { html, csp };
}

function sendNotFound(res: ServerResponse): void {
  const body = JSON.stringify({ error: 'not found' });
  res.writeHead(404, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  // If-None-Match uses weak comparison (RFC 9110 §13.1.2), so ignore any W/ prefix.
  return header.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === etag);
}

function acceptsGzip(req: IncomingMessage): boolean {
  const header = req.headers['accept-encoding'];
  if (typeof header !== 'string') return false;
  return header.split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding !== 'gzip') return false;
    return !params.some((p) => /^\s*q=0(\.0*)?\s*$/.test(p));
  });
}

/**
 * Handles GET /graphiql and GET /graphiql/assets/<file>.
 * Returns true when it handled the request, false when the path is not its own.
 */
export function handleGraphiql(req: IncomingMessage, res: ServerResponse, options: GraphiqlOptions): boolean {
  const { pathname } = new URL(req.url ?? '/', 'http://localhost');
  const isPage = PAGE_PATHS.has(pathname);
  const isAsset = pathname.startsWith(ASSET_PREFIX);
  if (!isPage && !isAsset) return false;

  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') {
    const body = JSON.stringify({ error: 'method not allowed' });
    res.writeHead(405, {
      allow: 'GET, HEAD',
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
    return true;
  }
  const headOnly = method === 'HEAD';

  if (isPage) {
    const { html, csp } = renderPage(options);
    const body = Buffer.from(html, 'utf8');
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': body.length,
      'content-security-policy': csp,
      // The page may carry a dev token, so keep it out of every cache.
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
    });
    res.end(headOnly ? undefined : body);
    return true;
  }

  let asset: CachedAsset | undefined;
  try {
    asset = loadAsset(pathname.slice(ASSET_PREFIX.length));
  } catch {
    // A whitelisted package is missing from node_modules: a deployment fault, not the client's.
    const body = JSON.stringify({ error: 'asset unavailable' });
    res.writeHead(500, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
    });
    res.end(body);
    return true;
  }
  if (!asset) {
    sendNotFound(res);
    return true;
  }

  const gzip = acceptsGzip(req);
  const etag = gzip ? asset.gzipEtag : asset.etag;
  const headers: Record<string, string | number> = {
    'content-type': asset.contentType,
    'cache-control': 'public, max-age=86400',
    etag,
    vary: 'Accept-Encoding',
    'x-content-type-options': 'nosniff',
  };
  if (etagMatches(req.headers['if-none-match'], etag)) {
    res.writeHead(304, headers);
    res.end();
    return true;
  }
  const body = gzip ? asset.gzip : asset.body;
  if (gzip) headers['content-encoding'] = 'gzip';
  headers['content-length'] = body.length;
  res.writeHead(200, headers);
  res.end(headOnly ? undefined : body);
  return true;
}
