import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { bindRequest, type Db } from '../../db/database';
import { databaseFailure, isRetryableConflict } from '../../db/failures';
import type { Logger } from '../../logger';
import { tenantScope } from '../../db/tenant';
import { ingestCallEvent } from '../../webhooks/apply';
import { InvalidEventError, parseCallEvent } from '../../webhooks/event';
import type { DeliveryResult, WebhookMetrics } from '../../webhooks/metrics';
import { activeSecrets } from '../../webhooks/secrets';
import { MISMATCH, SIGNATURE_HEADER, checkTimestamp, isSignatureFailure, parseSignatureHeader, verifySignatures } from '../../webhooks/signature';
import { HttpError, errorBody, fromFrameworkError, sendError, type HttpErrorCode } from '../errors';
import { refuseOtherMethods } from './methods';

export interface CallWebhookOptions {
  db: Db;
  logger: Logger;
  metrics: WebhookMetrics;
  bodyLimitBytes: number;
  toleranceSeconds: number;
}

/** `/webhooks/calls/{organisation slug}`; anything else under /webhooks/calls has no organisation. */
const CALL_WEBHOOK_PATH = /^\/webhooks\/calls(?:\/([^/?]*))?\/?(?:\?|$)/;

/**
 * `POST /webhooks/calls/{org}`: the voice provider's call events
 * (docs/webhooks.md). In order: raw body (bounded by Fastify's body limit),
 * signature and replay window, then JSON and the event schema, then one
 * transaction. Unsigned requests learn nothing about the body or the
 * organisation: an unknown organisation is answered exactly like a wrong signature.
 */
export async function webhookRoutes(fastify: FastifyInstance, options: CallWebhookOptions): Promise<void> {
  const { metrics, logger } = options;

  // The signature covers the exact bytes: every body is kept as a Buffer, whatever its type.
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => {
    done(null, body);
  });

  // Every answer but a stored event comes from here, counted by its result: the
  // handler throws a Refusal, the database throws its own failure, Fastify its errors.
  fastify.setErrorHandler((error, request, reply) => {
    const failure = databaseFailure(error);
    if (failure || isRetryableConflict(error)) {
      logger.warn({ err: error, requestId: request.id }, 'webhook delivery not stored');
      const unavailable = new Refusal('unavailable', 503, failure?.code ?? 'RETRY', failure?.message ?? 'Try again', {}, { 'retry-after': '1' });
      return answer(reply, unavailable);
    }
    if (error instanceof Refusal) return answer(reply, error);
    const known = error instanceof HttpError ? error : fromFrameworkError(error, options.bodyLimitBytes);
    if (known) return answer(reply, new Refusal(resultOf(known.status), known.status, known.code, known.message, {}, known.headers));
    logger.error({ err: error, requestId: request.id }, 'webhook delivery failed');
    return answer(reply, new Refusal('error', 500, 'INTERNAL_SERVER_ERROR', 'Internal server error', { requestId: request.id }));
  });

  function answer(reply: FastifyReply, refusal: Refusal): FastifyReply {
    metrics.countDelivery(refusal.result);
    return sendError(reply, refusal.status, errorBody(refusal.code, refusal.message, refusal.extra), refusal.headers);
  }

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const match = CALL_WEBHOOK_PATH.exec(request.url);
    if (!match) {
      reply.callNotFound();
      return;
    }
    const slug = safeDecode(match[1] ?? '');
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);

    const header = parseSignatureHeader(request.headers[SIGNATURE_HEADER]);
    if (isSignatureFailure(header)) throw new Refusal('unauthorized', 401, header.code, header.message);
    const stale = checkTimestamp(header.timestamp, Date.now(), options.toleranceSeconds);
    if (stale) throw new Refusal('unauthorized', 401, stale.code, stale.message);
    // Every statement within the request's deadline, as for GraphQL: a stuck database gets a 503, never a hang.
    const db = bindRequest(options.db, { requestId: request.id, deadline: request.deadline });
    const { orgId, secrets } = await activeSecrets(db, slug);
    if (!orgId || !verifySignatures(header, secrets, raw)) throw new Refusal('unauthorized', 401, MISMATCH.code, MISMATCH.message);

    let payload: unknown;
    try {
      payload = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new Refusal('invalid', 400, 'MALFORMED_JSON', 'The body is not valid JSON');
    }
    let event;
    try {
      event = parseCallEvent(payload);
    } catch (error) {
      if (!(error instanceof InvalidEventError)) throw error;
      throw new Refusal('invalid', 400, 'INVALID_EVENT', error.message, { field: error.field });
    }

    // The signature proved the organisation: from here on, only its scope.
    const result = await ingestCallEvent(tenantScope(db, orgId), event, payload);
    if (result.status === 'unknown_agent') {
      // 4xx so the provider retries: the agent may be created meanwhile, and a
      // stored event that never took effect is applied on redelivery.
      throw new Refusal(
        'unknown_agent',
        422,
        'UNKNOWN_AGENT',
        `No agent of provider "${event.provider}" with id "${event.call.agentId}" in this organisation; the event is stored and will be applied when redelivered after the agent exists`,
        { field: 'call.agent_id' },
      );
    }
    metrics.countDelivery(result.status);
    return reply.header('cache-control', 'no-store').send({ status: result.status, event_id: event.id });
  };

  for (const url of ['/webhooks/calls', '/webhooks/calls/*']) {
    fastify.post(url, handler);
    refuseOtherMethods(fastify, url, ['POST']);
  }
}

/** A delivery answered without storing it: its metrics result, status and body. */
class Refusal extends HttpError {
  constructor(
    readonly result: DeliveryResult,
    status: number,
    code: HttpErrorCode,
    message: string,
    readonly extra: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) {
    super(status, code, message, headers);
    this.name = 'Refusal';
  }
}

/** How Fastify's own refusals of a delivery are counted. */
function resultOf(status: number): DeliveryResult {
  if (status === 413) return 'too_large';
  if (status === 405) return 'method_not_allowed';
  return 'invalid';
}

/** A malformed escape names no organisation (and is answered like any unknown one). */
function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return '';
  }
}
