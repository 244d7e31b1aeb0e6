import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer } from '@apollo/server';
import type { Context } from '../graphql/context';
import type { PersistedSettings } from '../persisted/resolve';
import { BodyTooLargeError, readBody } from './body';
import { rewritePersistedRequest } from './persistedRequest';
import { sendGraphQLError } from './respond';

export interface GraphqlHandlerOptions {
  apollo: ApolloServer<Context>;
  buildContext: (req: IncomingMessage) => Promise<Context>;
  bodyLimitBytes: number;
  /** Trusted documents and APQ ids, resolved before Apollo sees the request. */
  persisted?: PersistedSettings;
}

/**
 * Node's http → Apollo Server, without a web framework: Apollo does the
 * GraphQL-over-HTTP protocol; this does body limits and JSON parsing so a
 * malformed request gets a JSON error, never an HTML page.
 */
export async function handleGraphql(req: IncomingMessage, res: ServerResponse, url: URL, options: GraphqlHandlerOptions) {
  let body: unknown;
  if (req.method === 'POST') {
    let raw: Buffer;
    try {
      raw = await readBody(req, options.bodyLimitBytes);
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        res.setHeader('connection', 'close');
        return sendGraphQLError(res, 413, 'PAYLOAD_TOO_LARGE', 'Request body is too large');
      }
      throw error;
    }
    const type = req.headers['content-type'] ?? '';
    if (!/^application\/(graphql-response\+)?json\b/i.test(type)) {
      return sendGraphQLError(res, 415, 'BAD_REQUEST', 'Content-Type must be application/json');
    }
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return sendGraphQLError(res, 400, 'BAD_REQUEST', 'Request body is not valid JSON');
    }
  } else if (req.method !== 'GET') {
    res.setHeader('allow', 'GET, POST');
    return sendGraphQLError(res, 405, 'METHOD_NOT_ALLOWED', 'Use GET or POST');
  }

  let search = url.search;
  if (options.persisted) {
    const rewrite = rewritePersistedRequest(req.method, body, url, options.persisted);
    if (rewrite.kind === 'reject') return sendGraphQLError(res, rewrite.status, rewrite.code, rewrite.message);
    ({ body, search } = rewrite);
  }

  const headers = new HeaderMap();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  const result = await options.apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: req.method, headers, search, body },
    context: () => options.buildContext(req),
  });

  res.statusCode = result.status ?? 200;
  for (const [name, value] of result.headers) res.setHeader(name, value);
  if (result.body.kind === 'complete') {
    res.end(result.body.string);
    return;
  }
  for await (const chunk of result.body.asyncIterator) res.write(chunk);
  res.end();
}
