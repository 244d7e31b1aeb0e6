import { randomBytes } from 'node:crypto';
import { signatureHeader } from '../../src/webhooks/signature';
import type { ProviderAgent } from './factories';

/**
 * A voice provider in a few lines: builds call events and delivers them over
 * real HTTP, signed with real HMAC-SHA256 (the same header format the docs
 * describe: t=<seconds>,v1=<hex>[,v1=<hex>]).
 */

export interface Delivery {
  status: number;
  headers: Headers;
  text: string;
  body: { status?: string; event_id?: string; error?: { code: string; message: string; field?: string } };
}

export interface DeliverOptions {
  /** Each secret adds one v1 signature. */
  secrets: string[];
  /** Unix seconds; defaults to now. */
  timestamp?: number;
  /** Overrides the computed header (or removes it with null). */
  signature?: string | null;
  method?: string;
  /** Aborts the request (fetch rejects) after this long; no limit unless given. */
  timeoutMs?: number;
}

export async function deliver(baseUrl: string, slug: string, body: string | Buffer | object, options: DeliverOptions): Promise<Delivery> {
  const raw = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const signature = options.signature === undefined ? signatureHeader(options.secrets, timestamp, raw) : options.signature;
  const response = await fetch(`${baseUrl}/webhooks/calls/${slug}`, {
    method: options.method ?? 'POST',
    headers: { 'content-type': 'application/json', ...(signature === null ? {} : { 'switchboard-signature': signature }) },
    ...(options.method === 'GET' ? {} : { body: raw }),
    ...(options.timeoutMs ? { signal: AbortSignal.timeout(options.timeoutMs) } : {}),
  });
  const text = await response.text();
  let parsed: Delivery['body'] = {};
  try {
    parsed = JSON.parse(text) as Delivery['body'];
  } catch {
    // left empty: the spec checking the reply fails on its content type
  }
  return { status: response.status, headers: response.headers, text, body: parsed };
}

export type EventType = 'call.started' | 'call.ended' | 'call.recording_ready' | 'call.transcript_ready';

export interface CallScript {
  callId: string;
  agent: ProviderAgent;
  direction: 'inbound' | 'outbound';
  from: string;
  to: string;
  startedAt: Date;
}

export function newCallScript(agent: ProviderAgent, overrides: Partial<CallScript> = {}): CallScript {
  return {
    callId: `call_${randomBytes(8).toString('hex')}`,
    agent,
    direction: 'inbound',
    from: `+1646${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`,
    to: '+12125550100',
    startedAt: new Date(Date.now() - 3_600_000),
    ...overrides,
  };
}

/** One event of a call's life, `secondsIn` after it started; `extra` is merged into `call` (or the top level for `top`). */
export function callEvent(
  script: CallScript,
  type: EventType,
  options: { secondsIn?: number; eventId?: string; call?: Record<string, unknown>; top?: Record<string, unknown> } = {},
): Record<string, unknown> {
  const secondsIn = options.secondsIn ?? { 'call.started': 0, 'call.ended': 120, 'call.recording_ready': 150, 'call.transcript_ready': 180 }[type];
  const occurredAt = new Date(script.startedAt.getTime() + secondsIn * 1000).toISOString();
  const call: Record<string, unknown> = {
    id: script.callId,
    agent_id: script.agent.providerAgentId,
    direction: script.direction,
    from: script.from,
    to: script.to,
    started_at: script.startedAt.toISOString(),
  };
  const typeFields: Record<string, unknown> = {};
  if (type === 'call.started') call.status = 'in_progress';
  if (type === 'call.ended') {
    Object.assign(call, {
      status: 'completed',
      ended_at: occurredAt,
      duration_seconds: secondsIn,
      cost: 0.25,
      outcome: 'appointment_booked',
      sentiment: 'positive',
      summary: 'Booked a cleaning for Tuesday.',
    });
  }
  if (type === 'call.recording_ready') typeFields.recording = { key: `recordings/${script.callId}.wav` };
  if (type === 'call.transcript_ready') {
    typeFields.transcript = {
      text: 'Agent: Hello! Caller: I would like a cleaning.',
      segments: [
        { speaker: 'agent', start_ms: 0, text: 'Hello!' },
        { speaker: 'contact', start_ms: 1200, text: 'I would like a cleaning.' },
      ],
    };
  }
  return {
    id: options.eventId ?? `evt_${randomBytes(8).toString('hex')}`,
    type,
    occurred_at: occurredAt,
    provider: script.agent.provider,
    call: { ...call, ...options.call },
    ...typeFields,
    ...options.top,
  };
}

/** Runs `tasks` with at most `limit` in flight: enough parallelism to race, without queueing past the pool's connect timeout. */
export async function inParallel<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await tasks[index]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}
