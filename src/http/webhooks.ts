import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Db } from '../db/database';
import { databaseFailure } from '../db/failures';
import { tenantScope } from '../db/tenant';
import type { Logger } from '../logger';
import { currentRequestId } from '../observability/requestContext';
import { ingestCallEvent } from '../webhooks/apply';
import { InvalidEventError, parseCallEvent } from '../webhooks/event';
import type { DeliveryResult, WebhookMetrics } from '../webhooks/metrics';
import { activeSecrets } from '../webhooks/secrets';
import {
  MISMATCH,
  SIGNATURE_HEADER,
  checkTimestamp,
  isSignatureFailure,
  parseSignatureHeader,
  verifySignatures,
} from '../webhooks/signature';
import { BodyTooLargeError, readBody } from './body';
import { sendJson } from './respond';

export interface CallWebhookOptions {
  db: Db;
  logger: Logger;
  metrics: WebhookMetrics;
  bodyLimitBytes: number;
  toleranceSeconds: number;
}

/** `/webhooks/calls/{organisation slug}`; anything else under /webhooks/calls has no organisation. */
export const CALL_WEBHOOK_PATH = /^\/webhooks\/calls(?:\/([^/]*))?\/?$/;

/**
 * `POST /webhooks/calls/{org}`: the voice provider's call events
 * (docs/webhooks.md). In order: raw body (bounded), signature and replay
 * window, then JSON and the event schema, then one transaction. Unsigned
 * requests learn nothing about the body or the organisation: an unknown
 * organisation is answered exactly like a wrong signature.
 */
export async function handleCallWebhook(req: IncomingMessage, res: ServerResponse, slug: string, options: CallWebhookOptions): Promise<void> {
  const reply = (result: DeliveryResult, status: number, body: unknown, headers: Record<string, string> = {}) => {
    options.metrics.countDelivery(result);
    sendJson(res, status, body, headers);
  };
  const fail = (result: DeliveryResult, status: number, code: string, message: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
    reply(result, status, { error: { code, message, ...extra } }, headers);

  if (req.method !== 'POST') {
    return fail('method_not_allowed', 405, 'METHOD_NOT_ALLOWED', 'Use POST', {}, { allow: 'POST' });
  }
  try {
    let raw: Buffer;
    try {
      raw = await readBody(req, options.bodyLimitBytes);
    } catch (error) {
      if (!(error instanceof BodyTooLargeError)) throw error;
      res.setHeader('connection', 'close');
      return fail('too_large', 413, 'PAYLOAD_TOO_LARGE', `Request body is larger than ${options.bodyLimitBytes} bytes`);
    }

    const header = parseSignatureHeader(req.headers[SIGNATURE_HEADER]);
    if (isSignatureFailure(header)) return fail('unauthorized', 401, header.code, header.message);
    const stale = checkTimestamp(header.timestamp, Date.now(), options.toleranceSeconds);
    if (stale) return fail('unauthorized', 401, stale.code, stale.message);
    const { orgId, secrets } = await activeSecrets(options.db, slug);
    if (!orgId || !verifySignatures(header, secrets, raw)) return fail('unauthorized', 401, MISMATCH.code, MISMATCH.message);

    let payload: unknown;
    try {
      payload = JSON.parse(raw.toString('utf8'));
    } catch {
      return fail('invalid', 400, 'MALFORMED_JSON', 'The body is not valid JSON');
    }
    let event;
    try {
      event = parseCallEvent(payload);
    } catch (error) {
      if (!(error instanceof InvalidEventError)) throw error;
      return fail('invalid', 400, 'INVALID_EVENT', error.message, { field: error.field });
    }

    // The signature proved the organisation: from here on, only its scope.
    const result = await ingestCallEvent(tenantScope(options.db, orgId), event, payload);
    if (result.status === 'unknown_agent') {
      // 4xx so the provider retries: the agent may be created meanwhile, and a
      // stored event that never took effect is applied on redelivery.
      return fail('unknown_agent', 422, 'UNKNOWN_AGENT',
        `No agent of provider "${event.provider}" with id "${event.call.agentId}" in this organisation; the event is stored and will be applied when redelivered after the agent exists`,
        { field: 'call.agent_id' });
    }
    return reply(result.status, 200, { status: result.status, event_id: event.id });
  } catch (error) {
    const failure = databaseFailure(error);
    const code = (error as { code?: unknown } | null)?.code;
    if (failure || code === '40P01' || code === '40001') {
      options.logger.warn({ err: error, requestId: currentRequestId() }, 'webhook delivery not stored');
      return fail('unavailable', 503, failure?.code ?? 'RETRY', failure?.message ?? 'Try again', {}, { 'retry-after': '1' });
    }
    options.logger.error({ err: error, requestId: currentRequestId() }, 'webhook delivery failed');
    return fail('error', 500, 'INTERNAL_SERVER_ERROR', 'Internal server error', { requestId: currentRequestId() });
  }
}
