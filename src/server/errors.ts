import type { FastifyReply } from 'fastify';

/**
 * Every answer that is not GraphQL (webhooks, recordings, health, GraphiQL
 * assets, unknown paths) has one error body shape:
 *
 *   { "error": { "code": "NOT_FOUND", "message": "…", …extra } }
 *
 * extra: `field` (webhooks: the bad field), `requestId` (internal errors:
 * the id in the log line and the x-request-id header). A readiness 503 keeps
 * its `status` and `checks` beside `error`. Answers from /graphql stay
 * GraphQL-shaped (`{ "errors": [ … ] }`), as GraphQL over HTTP requires; the
 * codes in both come from this one list (GraphQL-only codes live in
 * src/graphql/errors.ts and src/limits).
 */
export const HTTP_ERROR_CODES = {
  /** 400: a request the server cannot read (malformed JSON or URL, missing query). */
  BAD_REQUEST: 'BAD_REQUEST',
  /** 404: no such path. */
  NOT_FOUND: 'NOT_FOUND',
  /** 405: the path exists, the method does not (the `allow` header lists those that do). */
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  /** 413: the body is larger than MAX_BODY_BYTES. */
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  /** 415: a body of a type the route does not read. */
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  /** 503: the server is draining (SIGTERM); a request on a kept-alive connection is sent elsewhere. */
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  /** 503 from /health/ready: a check failed (the body's `checks` say which). */
  NOT_READY: 'NOT_READY',
  /** 403: a recording URL whose signature does not match what is presented. */
  RECORDING_URL_INVALID: 'RECORDING_URL_INVALID',
  /** 403: a genuinely signed recording URL past its expiry. */
  RECORDING_URL_EXPIRED: 'RECORDING_URL_EXPIRED',
  /** 404: a validly signed recording URL whose file is not there. */
  RECORDING_NOT_FOUND: 'RECORDING_NOT_FOUND',
  /** 416: a Range outside the recording (`content-range: bytes *\/<size>` says its size). */
  RANGE_NOT_SATISFIABLE: 'RANGE_NOT_SATISFIABLE',
  /** 412: an If-Match / If-Unmodified-Since the recording does not meet. */
  PRECONDITION_FAILED: 'PRECONDITION_FAILED',
  /** 500: a bug; masked, logged with the `requestId` the body carries. */
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
  // Webhooks (src/server/routes/webhooks.ts, docs/webhooks.md).
  SIGNATURE_MISSING: 'SIGNATURE_MISSING',
  SIGNATURE_MALFORMED: 'SIGNATURE_MALFORMED',
  TIMESTAMP_OUT_OF_TOLERANCE: 'TIMESTAMP_OUT_OF_TOLERANCE',
  SIGNATURE_MISMATCH: 'SIGNATURE_MISMATCH',
  MALFORMED_JSON: 'MALFORMED_JSON',
  INVALID_EVENT: 'INVALID_EVENT',
  UNKNOWN_AGENT: 'UNKNOWN_AGENT',
  /** 503: a concurrent delivery won a race (deadlock, serialization failure); send it again. */
  RETRY: 'RETRY',
  // 503, the database's own failures (src/db/failures.ts).
  DATABASE_UNAVAILABLE: 'DATABASE_UNAVAILABLE',
  DATABASE_BUSY: 'DATABASE_BUSY',
  STATEMENT_TIMEOUT: 'STATEMENT_TIMEOUT',
  REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
  /** The database is a read-only standby (SQLSTATE 25006); a write may succeed once it is promoted. */
  READ_ONLY: 'READ_ONLY',
  // Exports (src/server/routes/exports.ts), with the meaning they have in GraphQL answers.
  /** 401: no bearer token, or one that does not verify. */
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  /** 503: the identity provider's keys cannot be fetched (`retry-after`). */
  AUTH_UNAVAILABLE: 'AUTH_UNAVAILABLE',
  /** 403: the token's role may not do this. */
  FORBIDDEN: 'FORBIDDEN',
  /** 400: an argument breaks a rule; `argument` names it. */
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  /** 503: as many exports as the server runs at once are running; `retry-after` says when to try again. */
  EXPORTS_BUSY: 'EXPORTS_BUSY',
} as const;

export type HttpErrorCode = keyof typeof HTTP_ERROR_CODES;

export interface ErrorBody {
  error: { code: HttpErrorCode; message: string; [extra: string]: unknown };
}

export function errorBody(code: HttpErrorCode, message: string, extra: Record<string, unknown> = {}): ErrorBody {
  return { error: { code, message, ...extra } };
}

/**
 * An error a route or hook throws to be answered with its own status and
 * code; the error handler of the surface it reached renders it in that
 * surface's shape (GraphQL's or the one above).
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: HttpErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/**
 * What Fastify's own errors (body parsing, limits, URLs) mean to a client, by
 * their `code`. Anything not listed with a 4xx status is a bug: 500.
 */
export function fromFrameworkError(error: unknown, bodyLimitBytes: number): HttpError | undefined {
  switch ((error as { code?: unknown } | null)?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      // The rest of the body is not read: the connection cannot carry another request.
      return new HttpError(413, 'PAYLOAD_TOO_LARGE', `Request body is larger than ${bodyLimitBytes} bytes`, { connection: 'close' });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_BAD_URL':
    case 'FST_ERR_ASYNC_CONSTRAINT':
      return new HttpError(400, 'BAD_REQUEST', 'The request could not be read');
    default:
      return undefined;
  }
}

/** An error answer in either shape: JSON, never cached. */
function sendErrorBody(reply: FastifyReply, status: number, body: object, headers: Record<string, string>): FastifyReply {
  return reply
    .code(status)
    .headers({ 'cache-control': 'no-store', ...headers })
    .type('application/json; charset=utf-8')
    .send(body);
}

/** Sends the one non-GraphQL error shape. */
export function sendError(reply: FastifyReply, status: number, body: ErrorBody & object, headers: Record<string, string> = {}): FastifyReply {
  return sendErrorBody(reply, status, body, headers);
}

/** The GraphQL-shaped error body for answers at /graphql that GraphQL itself did not give (refusals, masked bugs). */
export function sendGraphQLError(
  reply: FastifyReply,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
  extensions: Record<string, unknown> = {},
): FastifyReply {
  return sendErrorBody(reply, status, { errors: [{ message, extensions: { code, ...extensions } }] }, headers);
}
