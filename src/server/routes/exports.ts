import { makeExecutableSchema } from '@graphql-tools/schema';
import { coerceInputValue, GraphQLError, isInputType, type GraphQLInputType } from 'graphql';
import type { FastifyInstance } from 'fastify';
import { KeySourceUnavailableError } from '../../auth/jwks';
import { InvalidTokenError, bearerToken, type Principal } from '../../auth/tokens';
import { startCopyOut } from '../../db/copyOut';
import { databaseFailure } from '../../db/failures';
import { tenantScope } from '../../db/tenant';
import type { CallFilter, CallOrder, ContactOrder, ContactStatus, LeadTier } from '../../generated/graphql';
import { typeDefs } from '../../graphql/typeDefs';
import { resolvers } from '../../resolvers';
import { callExportSql, contactExportSql, type ExportFormat } from '../../queries/exports';
import { callFilterSpec, callOrderSpec, contactOrderSpec, contactSearch } from '../../resolvers/args';
import { toDbEnum } from '../../resolvers/enums';
import { HttpError, errorBody, sendError } from '../errors';
import type { Services } from '../services';
import { refuseOtherMethods } from './methods';

/**
 * GET /export/calls.csv, /export/calls.ndjson, /export/contacts.csv,
 * /export/contacts.ndjson — documented in docs/exports.md.
 *
 * An authenticated GET rather than a signed URL: the bearer token is checked
 * exactly as /graphql checks it, the organisation comes from it, and nothing
 * that grants access ends up in a URL, a browser history or a proxy log.
 * Arguments are the GraphQL ones, as JSON in the query string
 * (`filter`, `orderBy`; for contacts `search`, `tier`, `status`), coerced by
 * the schema's own input types and validated by the same code as the API.
 * VIEWERs may read lists but not take the organisation's data away in bulk:
 * exports are for MEMBER and ADMIN.
 */
const FILE = /^(calls|contacts)\.(csv|ndjson)$/;
const CONTENT_TYPES: Record<ExportFormat, string> = { csv: 'text/csv; charset=utf-8', ndjson: 'application/x-ndjson; charset=utf-8' };
/** Each export holds a pool connection for its whole length: a few at once, so GraphQL keeps the rest. */
const MAX_CONCURRENT_EXPORTS = 2;
/** An export of a large organisation to a slow client takes minutes; a stuck one is cut here. */
const EXPORT_TIMEOUT_MS = 15 * 60_000;

/** The API's own schema with its scalars (DateTime, NonNegativeInt…), so arguments parse exactly as in a query. */
const schema = makeExecutableSchema({ typeDefs, resolvers });

function inputType(name: string): GraphQLInputType {
  const type = schema.getType(name);
  if (!isInputType(type)) throw new Error(`${name} is not an input type`);
  return type;
}

function badInput(message: string): HttpError {
  return new HttpError(400, 'BAD_USER_INPUT', message);
}

/** A query-string argument as the GraphQL input type `typeName` would take it; JSON unless the type is a plain enum or string. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- T is the generated type of `typeName`, which the schema just coerced the value to.
function argument<T>(query: Record<string, string | undefined>, name: string, typeName: string, json: boolean): T | undefined {
  const raw = query[name];
  if (raw === undefined) return undefined;
  let value: unknown = raw;
  if (json) {
    try {
      value = JSON.parse(raw);
    } catch {
      throw badInput(`${name} is not valid JSON`);
    }
  }
  let problem: string | undefined;
  const coerced = coerceInputValue(value, inputType(typeName), (path, _invalid, error) => {
    problem ??= `${[name, ...path].join('.')}: ${error.message}`;
  }) as T;
  if (problem) throw badInput(problem);
  return coerced;
}

async function principalOf(services: Services, authorization: string | undefined): Promise<Principal> {
  const token = bearerToken(authorization);
  if (!token) throw new HttpError(401, 'UNAUTHENTICATED', 'A valid bearer token is required');
  try {
    return await services.verifier.verify(token);
  } catch (error) {
    if (error instanceof InvalidTokenError) throw new HttpError(401, 'UNAUTHENTICATED', `Invalid token: ${error.message}`);
    if (error instanceof KeySourceUnavailableError) {
      throw new HttpError(503, 'AUTH_UNAVAILABLE', 'Tokens cannot be verified right now', { 'retry-after': String(error.retryAfterSeconds) });
    }
    throw error;
  }
}

export async function exportRoutes(fastify: FastifyInstance, options: { services: Services }): Promise<void> {
  const { services } = options;
  let running = 0;

  fastify.get<{ Params: { file: string }; Querystring: Record<string, string | undefined> }>(
    '/export/:file',
    { exposeHeadRoute: false },
    async (request, reply) => {
      const match = FILE.exec(request.params.file);
      if (!match) return sendError(reply, 404, errorBody('NOT_FOUND', 'Not found'));
      const [, list, format] = match as unknown as [string, 'calls' | 'contacts', ExportFormat];
      const principal = await principalOf(services, request.headers.authorization);
      if (principal.role === 'viewer') throw new HttpError(403, 'FORBIDDEN', 'Exports are for members and admins');

      const scope = tenantScope(services.database.db, principal.orgId);
      let copySql: string;
      try {
        if (list === 'calls') {
          const filter = callFilterSpec(argument<CallFilter>(request.query, 'filter', 'CallFilter', true));
          const order = callOrderSpec(argument<CallOrder>(request.query, 'orderBy', 'CallOrder', true), filter);
          copySql = callExportSql(scope, filter, order, format);
        } else {
          const tier = argument<LeadTier>(request.query, 'tier', 'LeadTier', false);
          const status = argument<ContactStatus>(request.query, 'status', 'ContactStatus', false);
          copySql = contactExportSql(
            scope,
            {
              ...(request.query.search !== undefined ? { search: contactSearch(request.query.search) } : {}),
              ...(tier ? { tier: toDbEnum(tier) } : {}),
              ...(status ? { status: toDbEnum(status) } : {}),
            },
            contactOrderSpec(argument<ContactOrder>(request.query, 'orderBy', 'ContactOrder', true)),
            format,
          );
        }
      } catch (error) {
        // The API's validation speaks GraphQL; here it is the same refusal as a 400.
        if (error instanceof GraphQLError && error.extensions.code === 'BAD_USER_INPUT') {
          throw badInput(error.message);
        }
        throw error;
      }

      if (running >= MAX_CONCURRENT_EXPORTS)
        throw new HttpError(503, 'EXPORTS_BUSY', 'Too many exports are running; try again shortly', { 'retry-after': '5' });
      running += 1;
      let copy;
      try {
        copy = await startCopyOut(services.database.pool, copySql, EXPORT_TIMEOUT_MS);
      } catch (error) {
        running -= 1;
        const failure = databaseFailure(error);
        if (failure) throw new HttpError(503, failure.code, failure.message, { 'retry-after': '1' });
        throw error;
      }
      const started = copy;
      if (reply.raw.destroyed) {
        // Gone while the COPY was starting: no 'close' is coming.
        running -= 1;
        await started.cancel();
        return reply;
      }
      reply.raw.once('close', () => {
        running -= 1;
        // Closed before the last byte was handed over: the client went away (or the stream failed). Stop the query.
        if (!reply.raw.writableFinished) void started.cancel();
      });
      started.stream.once('error', (error) => request.log.warn({ err: error, requestId: request.id }, 'export stopped'));
      return reply
        .headers({
          'content-type': CONTENT_TYPES[format],
          'content-disposition': `attachment; filename="${list}.${format}"`,
          'cache-control': 'no-store',
        })
        .send(started.stream);
    },
  );
  refuseOtherMethods(fastify, '/export/:file', ['GET']);
}
