import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GraphQLError } from 'graphql';
import { InvalidTokenError, bearerToken, createTokenVerifier } from './auth/tokens';
import type { Config } from './config/config';
import type { Db } from './db/database';
import { withStatementLog, type OperationStatements } from './db/statementLog';
import { createApolloServer } from './graphql/apollo';
import type { Context } from './graphql/context';
import { unauthenticated } from './graphql/errors';
import { handleGraphiql } from './http/graphiql';
import { handleGraphql } from './http/graphqlHandler';
import { serveRecording } from './http/recordings';
import { sendJson } from './http/respond';
import { createLoaders } from './loaders';
import type { Logger } from './logger';
import { createRecordingSigner, type RecordingSigner } from './recordings/signer';

export interface OperationReport {
  orgId: string | undefined;
  statements: OperationStatements;
}

export interface AppOptions {
  config: Config;
  db: Db;
  logger: Logger;
  /** Defaults to the signer the configuration selects. */
  signer?: RecordingSigner;
  /** Prefilled into GraphiQL's headers; development only. */
  devToken?: string;
  /** Called after every GraphQL operation with the SQL it ran (tests use it to assert the shape of the work). */
  onOperation?: (report: OperationReport) => void;
  /** The clock statistics take "today" from; tests pin it to stand on DST boundaries. */
  clock?: () => Date;
}

export interface App {
  server: http.Server;
  listen(port: number, host?: string): Promise<AddressInfo>;
  close(): Promise<void>;
}

const BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * The whole HTTP surface: GraphQL, GraphiQL, recordings. A request flows one
 * way — HTTP → auth/context → resolvers → loaders → queries → PostgreSQL.
 */
export async function createApp(options: AppOptions): Promise<App> {
  const { config, db, logger } = options;
  const production = config.env === 'production';
  const signer = options.signer ?? createRecordingSigner(config.recordings);
  const verifier = createTokenVerifier(config.auth);
  const apollo = createApolloServer({ production, logError: (error) => logger.error({ err: error }, 'internal error') });
  await apollo.start();

  async function buildContext(req: IncomingMessage, report: OperationReport): Promise<Context> {
    let principal;
    try {
      const token = bearerToken(req.headers.authorization);
      if (!token) throw unauthenticated();
      principal = await verifier.verify(token);
    } catch (error) {
      if (error instanceof GraphQLError) throw error;
      if (error instanceof InvalidTokenError) throw unauthenticated(`Invalid token: ${error.message}`);
      // The key source (JWKS) failed: not the caller's fault, and not a hang.
      logger.warn({ err: error }, 'token verification unavailable');
      throw new GraphQLError('Authentication is temporarily unavailable', {
        extensions: { code: 'UNAUTHENTICATED', http: { status: 503 } },
      });
    }
    report.orgId = principal.orgId;
    const now = options.clock?.() ?? new Date();
    const host = req.headers.host ?? `localhost:${config.port}`;
    return {
      ...principal,
      db,
      loaders: createLoaders(db, principal.orgId, { batch: config.batching }, now),
      signer,
      origin: `${req.headers['x-forwarded-proto'] === 'https' ? 'https' : 'http'}://${host}`,
      limits: { defaultPageSize: config.defaultPageSize, maxPageSize: config.maxPageSize },
      recordingUrlTtlSeconds: config.recordings.defaultExpiresInSeconds,
      now,
    };
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/graphql') {
      await withStatementLog(options.onOperation !== undefined, async (statements) => {
        const report: OperationReport = { orgId: undefined, statements };
        await handleGraphql(req, res, url, {
          apollo,
          buildContext: (request) => buildContext(request, report),
          bodyLimitBytes: BODY_LIMIT_BYTES,
        });
        options.onOperation?.(report);
      });
      return;
    }
    if (url.pathname.startsWith('/recordings/') && config.recordings.kind === 'local') {
      return serveRecording(req, res, url, config.recordings);
    }
    if (url.pathname === '/health/live') return sendJson(res, 200, { status: 'ok' });
    if (
      !production &&
      handleGraphiql(req, res, { endpoint: '/graphql', ...(options.devToken ? { devToken: options.devToken } : {}) })
    ) {
      return;
    }
    if (url.pathname === '/') {
      res.writeHead(302, { location: production ? '/graphql' : '/graphiql' });
      res.end();
      return;
    }
    sendJson(res, 404, { error: 'not found' });
  }

  const server = http.createServer((req, res) => {
    const requestId = randomUUID();
    res.setHeader('x-request-id', requestId);
    route(req, res).catch((error: unknown) => {
      logger.error({ err: error, requestId }, 'unhandled request error');
      if (!res.headersSent) sendJson(res, 500, { errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR', requestId } }] });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;

  return {
    server,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve(server.address() as AddressInfo));
      }),
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await apollo.stop();
    },
  };
}
