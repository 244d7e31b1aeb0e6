import { Agent, request, errors as undiciErrors } from 'undici';
import {
  PROMPT_SUMMARY_LENGTH,
  type AgentConfiguration,
  type CallOptions,
  type ProviderAgentsPage,
  type ProviderApi,
  type ProviderConversation,
  type ProviderPhoneNumber,
  type ProviderUsage,
} from './api';
import { ProviderError, parseRetryAfter } from './errors';

/** The operations, as metric labels: a bounded set, never an id. */
export type ProviderOperation = 'agent' | 'conversation' | 'usage' | 'agents' | 'phone_numbers';

export interface HttpObserver {
  /** One HTTP attempt finished: its duration and outcome (a status, or the failure). */
  attempt(operation: ProviderOperation, durationMs: number, outcome: string): void;
}

/**
 * The ElevenLabs-style Conversational AI REST adapter over undici: one
 * keep-alive connection pool for every organisation (the API key is a
 * header, not a connection property), GETs only. Each call answers or
 * throws a ProviderError; retries, timeouts, the breaker and the bulkhead are
 * the caller's (./resilience.ts), so this stays one attempt per call.
 */
export class HttpProviderApi implements ProviderApi {
  private readonly dispatcher: Agent;

  constructor(
    private readonly baseUrl: string,
    private readonly observer: HttpObserver,
    options: { connections?: number } = {},
  ) {
    this.dispatcher = new Agent({ keepAliveTimeout: 10_000, keepAliveMaxTimeout: 60_000, connections: options.connections ?? 64 });
  }

  async agent(id: string, options: CallOptions): Promise<AgentConfiguration | undefined> {
    const body = await this.get('agent', `/v1/convai/agents/${encodeURIComponent(id)}`, options, true);
    return body === undefined ? undefined : toAgentConfiguration(id, body);
  }

  async conversation(id: string, options: CallOptions): Promise<ProviderConversation | undefined> {
    const body = await this.get('conversation', `/v1/convai/conversations/${encodeURIComponent(id)}`, options, true);
    return body === undefined ? undefined : toConversation(id, body);
  }

  async usage(options: CallOptions): Promise<ProviderUsage> {
    return toUsage(await this.get('usage', '/v1/user/subscription', options, false));
  }

  async agentsPage(cursor: string | null, options: CallOptions): Promise<ProviderAgentsPage> {
    // 100 is the API's largest page.
    const query = new URLSearchParams({ page_size: '100', ...(cursor === null ? {} : { cursor }) });
    const body = record(await this.get('agents', `/v1/convai/agents?${query.toString()}`, options, false));
    const agents = body.agents;
    if (!Array.isArray(agents)) throw malformed('agents');
    const nextCursor = body.has_more === true ? requiredString(body.next_cursor, 'agents') : null;
    return {
      agents: agents.map((entry) => {
        const agent = record(entry);
        return {
          providerAgentId: requiredString(agent.agent_id, 'agents'),
          name: requiredString(agent.name, 'agents'),
          language: optionalString(agent.language),
        };
      }),
      nextCursor,
    };
  }

  async phoneNumbers(options: CallOptions): Promise<ProviderPhoneNumber[]> {
    const body = await this.get('phone_numbers', '/v1/convai/phone-numbers', options, false);
    if (!Array.isArray(body)) throw malformed('phone_numbers');
    return body.map((entry) => {
      const phone = record(entry);
      const assigned = phone.assigned_agent === null || phone.assigned_agent === undefined ? undefined : record(phone.assigned_agent);
      return {
        e164: requiredString(phone.phone_number, 'phone_numbers'),
        providerNumberId: requiredString(phone.phone_number_id, 'phone_numbers'),
        providerAgentId: assigned ? requiredString(assigned.agent_id, 'phone_numbers') : null,
      };
    });
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }

  /** One GET: the parsed JSON body, `undefined` for a 404 when `notFoundIsAnswer`, or a ProviderError. */
  private async get(operation: ProviderOperation, path: string, { apiKey, signal }: CallOptions, notFoundIsAnswer: boolean): Promise<unknown> {
    const started = performance.now();
    let outcome = 'connection';
    try {
      let response;
      try {
        response = await request(new URL(path, this.baseUrl), {
          method: 'GET',
          headers: { 'xi-api-key': apiKey, accept: 'application/json' },
          dispatcher: this.dispatcher,
          signal,
        });
      } catch (error) {
        outcome = signal.aborted ? 'timeout' : 'connection';
        throw transportError(operation, error, signal);
      }
      const { statusCode, headers, body } = response;
      outcome = String(statusCode);
      if (statusCode === 404 && notFoundIsAnswer) {
        await body.dump();
        return undefined;
      }
      if (statusCode < 200 || statusCode >= 300) {
        await body.dump().catch(() => {});
        if (statusCode === 429) {
          const retryAfterMs = parseRetryAfter(headers['retry-after']);
          throw new ProviderError('rate_limited', `provider ${operation}: rate limited (429)`, {
            status: 429,
            ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
          });
        }
        if (statusCode === 401 || statusCode === 403)
          throw new ProviderError('unauthorized', `provider ${operation}: the API key was refused (${statusCode})`, { status: statusCode });
        if (statusCode === 404) throw new ProviderError('not_found', `provider ${operation}: not found (404)`, { status: 404 });
        throw new ProviderError('http', `provider ${operation}: HTTP ${statusCode}`, { status: statusCode });
      }
      let text: string;
      try {
        text = await body.text();
      } catch (error) {
        outcome = signal.aborted ? 'timeout' : 'connection';
        throw transportError(operation, error, signal);
      }
      try {
        return JSON.parse(text) as unknown;
      } catch {
        outcome = 'malformed';
        throw malformed(operation);
      }
    } finally {
      this.observer.attempt(operation, performance.now() - started, outcome);
    }
  }
}

function transportError(operation: ProviderOperation, error: unknown, signal: AbortSignal): ProviderError {
  if (signal.aborted || error instanceof undiciErrors.RequestAbortedError)
    return new ProviderError('timeout', `provider ${operation}: no answer in time`);
  const code = (error as { code?: unknown }).code;
  // The code only (ECONNRESET, UND_ERR_SOCKET…): undici's messages can carry the URL.
  return new ProviderError('connection', `provider ${operation}: connection failed${typeof code === 'string' ? ` (${code})` : ''}`);
}

function malformed(operation: string): ProviderError {
  return new ProviderError('malformed', `provider ${operation}: the answer is not the expected JSON`);
}

function record(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed('answer');
  return value as Record<string, unknown>;
}

function optionalRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function optionalString(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function requiredString(value: unknown, operation: string): string {
  if (typeof value !== 'string' || value.length === 0) throw malformed(operation);
  return value;
}

function unixSeconds(value: unknown): Date | null {
  return typeof value === 'number' && Number.isFinite(value) ? new Date(value * 1000) : null;
}

function summarise(prompt: string | null): string | null {
  if (prompt === null) return null;
  return prompt.length <= PROMPT_SUMMARY_LENGTH ? prompt : `${prompt.slice(0, PROMPT_SUMMARY_LENGTH - 1).trimEnd()}…`;
}

function toAgentConfiguration(id: string, body: unknown): AgentConfiguration {
  const agent = record(body);
  const config = optionalRecord(agent.conversation_config);
  const core = optionalRecord(config.agent);
  const prompt = optionalRecord(core.prompt);
  const tts = optionalRecord(config.tts);
  const metadata = optionalRecord(agent.metadata);
  return {
    providerAgentId: optionalString(agent.agent_id) ?? id,
    name: optionalString(agent.name),
    voiceId: optionalString(tts.voice_id),
    voiceName: optionalString(tts.voice_name),
    ttsModel: optionalString(tts.model_id),
    model: optionalString(prompt.llm),
    language: optionalString(core.language),
    firstMessage: optionalString(core.first_message),
    promptSummary: summarise(optionalString(prompt.prompt)),
    updatedAt: unixSeconds(metadata.updated_at_unix_secs) ?? unixSeconds(metadata.created_at_unix_secs),
  };
}

function toConversation(id: string, body: unknown): ProviderConversation {
  const conversation = record(body);
  const analysis = optionalRecord(conversation.analysis);
  const metadata = optionalRecord(conversation.metadata);
  const transcript = Array.isArray(conversation.transcript) ? conversation.transcript : [];
  return {
    conversationId: optionalString(conversation.conversation_id) ?? id,
    status: optionalString(conversation.status),
    outcome: optionalString(analysis.call_successful),
    summary: optionalString(analysis.transcript_summary),
    evaluations: Object.entries(optionalRecord(analysis.evaluation_criteria_results)).map(([key, value]) => {
      const result = optionalRecord(value);
      return {
        criterion: optionalString(result.criteria_id) ?? key,
        result: optionalString(result.result) ?? 'unknown',
        rationale: optionalString(result.rationale),
      };
    }),
    dataCollected: Object.fromEntries(
      Object.entries(optionalRecord(analysis.data_collection_results)).map(([key, value]) => [key, optionalRecord(value).value ?? null]),
    ),
    transcript: transcript.map((entry) => {
      const turn = record(entry);
      return {
        speaker: turn.role === 'agent' ? 'agent' : 'caller',
        text: optionalString(turn.message) ?? '',
        secondsFromStart: typeof turn.time_in_call_secs === 'number' && turn.time_in_call_secs >= 0 ? turn.time_in_call_secs : 0,
      };
    }),
    startedAt: unixSeconds(metadata.start_time_unix_secs),
    durationSeconds:
      typeof metadata.call_duration_secs === 'number' && metadata.call_duration_secs >= 0 ? Math.round(metadata.call_duration_secs) : null,
  };
}

function toUsage(body: unknown): ProviderUsage {
  const subscription = record(body);
  const count = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.floor(value) : 0);
  return {
    plan: optionalString(subscription.tier),
    charactersUsed: count(subscription.character_count),
    characterLimit: count(subscription.character_limit),
    periodEndsAt: unixSeconds(subscription.next_character_count_reset_unix),
  };
}
