import { createHash } from 'node:crypto';

/**
 * The GraphiQL page: its scripts and styles come from this server
 * (src/server/routes/graphiql.ts serves them from node_modules), so the IDE
 * works offline and no third-party CDN ever sees the page or the dev token in it.
 */

export interface GraphiqlOptions {
  /** Path of the GraphQL endpoint, e.g. '/graphql'. */
  endpoint: string;
  /** When set (development mode), the headers editor is prefilled with `Authorization: Bearer <token>`. */
  devToken?: string;
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

export interface Page {
  html: string;
  csp: string;
}

export function renderPage(options: GraphiqlOptions, assetPrefix: string): Page {
  const headers = options.devToken === undefined ? '' : JSON.stringify({ Authorization: `Bearer ${options.devToken}` }, null, 2);

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
<link rel="stylesheet" href="${assetPrefix}graphiql.min.css">
<style>html, body, #graphiql { height: 100%; margin: 0; overflow: hidden; }</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script src="${assetPrefix}react.production.min.js"></script>
<script src="${assetPrefix}react-dom.production.min.js"></script>
<script src="${assetPrefix}graphiql.min.js"></script>
<script>${bootstrap}</script>
</body>
</html>
`;
  return { html, csp };
}
