import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_ACCOUNT_SIZE, accountAgents, accountOf, accountPhoneNumbers, agentDetails, conversationDetails, subscriptionDetails } from './data';

/**
 * One injected fault. A request matching `match` (a substring of its path and query;
 * every provider path when absent) gets, in order: `latencyMs` of delay, then
 * the first of `reset` (the socket is destroyed: ECONNRESET), `hang` (no answer
 * ever; the socket stays open until the client gives up or the server closes),
 * `status` (with `retryAfterSeconds` as Retry-After), `malformed` (200 with a
 * body that is not JSON) — or, with none of them, the normal answer.
 * `times` limits how many requests the rule applies to (forever when absent).
 */
export interface FaultRule {
  match?: string;
  latencyMs?: number;
  status?: number;
  retryAfterSeconds?: number;
  hang?: boolean;
  malformed?: boolean;
  reset?: boolean;
  times?: number;
}

export interface ProviderRequestRecord {
  method: string;
  path: string;
  /** The account the API key stands for (a hash, never the key). */
  account: string | undefined;
  /** What was answered: a status, or `hang` / `reset`. */
  outcome: number | 'hang' | 'reset';
  /** Monotonic milliseconds at arrival. */
  at: number;
}

export interface LocalProviderOptions {
  /** Faults from the start (the same as `setFaults`). */
  faults?: FaultRule[];
  /** Agents and phone numbers each account owns (default 5). */
  accountSize?: number;
}

/** The in-flight and maximum concurrent requests seen per account, for the bounded-concurrency specs. */
interface Concurrency {
  inFlight: number;
  max: number;
}

const CONTROL = '/__control/';

/**
 * A page of the agents list as ElevenLabs pages it: `page_size` (default 30,
 * at most 100) and an opaque `cursor`; `has_more` and `next_cursor` say what
 * follows. The cursor is the next offset, base64url-encoded.
 */
function agentsPage(agents: readonly unknown[], params: URLSearchParams): { status: number; body: unknown } {
  const size = Math.min(100, Math.max(1, Number.parseInt(params.get('page_size') ?? '30', 10) || 30));
  const cursor = params.get('cursor');
  const offset = cursor === null ? 0 : Number.parseInt(Buffer.from(cursor, 'base64url').toString(), 10);
  if (!Number.isSafeInteger(offset) || offset < 0)
    return { status: 422, body: { detail: { status: 'invalid_cursor', message: 'the cursor is not valid' } } };
  const page = agents.slice(offset, offset + size);
  const more = offset + size < agents.length;
  return {
    status: 200,
    body: { agents: page, has_more: more, next_cursor: more ? Buffer.from(String(offset + size)).toString('base64url') : null },
  };
}

/**
 * The local provider: a small HTTP server speaking the ElevenLabs-style
 * Conversational AI REST API with deterministic data (./data.ts), started by
 * `npm start` when no PROVIDER_URL is configured, and by the specs and the
 * bench, which inject faults through `setFaults` (in-process) or
 * `PUT /__control/faults` (over HTTP, the same rules as JSON). Every request
 * needs an `xi-api-key`; which key decides the account, and so which agents
 * and phone numbers the list endpoints return.
 *
 * Development and test only: the control endpoints take no credentials.
 */
export class LocalProvider {
  private server: Server | undefined;
  private faults: { rule: FaultRule; left: number }[] = [];
  private readonly concurrency = new Map<string, Concurrency>();
  readonly requests: ProviderRequestRecord[] = [];
  private accountSize: number;

  constructor(options: LocalProviderOptions = {}) {
    this.accountSize = options.accountSize ?? DEFAULT_ACCOUNT_SIZE;
    this.setFaults(options.faults ?? []);
  }

  /** How many agents and phone numbers each account owns from now on. */
  setAccountSize(size: number): void {
    this.accountSize = size;
  }

  /** Replaces every fault rule; `[]` makes the provider healthy again. */
  setFaults(rules: FaultRule[]): void {
    this.faults = rules.map((rule) => ({ rule, left: rule.times ?? Number.POSITIVE_INFINITY }));
  }

  /** Forgets the request log and the concurrency peaks. */
  resetStats(): void {
    this.requests.length = 0;
    this.concurrency.clear();
  }

  /** The most requests of one account that were in flight at once. */
  maxInFlight(account?: string): number {
    if (account !== undefined) return this.concurrency.get(account)?.max ?? 0;
    return Math.max(0, ...[...this.concurrency.values()].map((c) => c.max));
  }

  /** Provider requests seen (control requests excluded), optionally only those whose path contains `match`. */
  requestsTo(match = ''): ProviderRequestRecord[] {
    return this.requests.filter((request) => request.path.includes(match));
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    const server = createServer((request, response) => void this.handle(request, response));
    // Keep-alive as a real API does: the client's connection pool is what is being exercised.
    server.keepAliveTimeout = 30_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return this.url;
  }

  get url(): string {
    const address = this.server?.address() as AddressInfo | null | undefined;
    if (!address) throw new Error('the local provider is not listening');
    return `http://127.0.0.1:${address.port}`;
  }

  /** Stops listening and cuts every connection, hanging ones included. */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://local');
    if (url.pathname.startsWith(CONTROL)) return this.control(request, response, url.pathname.slice(CONTROL.length));

    const apiKey = header(request, 'xi-api-key');
    const account = apiKey ? accountOf(apiKey) : undefined;
    const record: ProviderRequestRecord = {
      method: request.method ?? 'GET',
      path: url.pathname + url.search,
      account,
      outcome: 200,
      at: performance.now(),
    };
    this.requests.push(record);
    const concurrency = this.concurrencyOf(account ?? '-');
    concurrency.inFlight += 1;
    concurrency.max = Math.max(concurrency.max, concurrency.inFlight);
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      concurrency.inFlight -= 1;
    };
    response.once('close', finish);

    const fault = this.faultFor(url.pathname + url.search);
    if (fault?.latencyMs) await sleep(fault.latencyMs);
    if (fault?.reset) {
      record.outcome = 'reset';
      request.socket.destroy();
      finish();
      return;
    }
    if (fault?.hang) {
      record.outcome = 'hang';
      return;
    }
    if (fault?.status) {
      record.outcome = fault.status;
      const headers: Record<string, string> = fault.retryAfterSeconds !== undefined ? { 'retry-after': String(fault.retryAfterSeconds) } : {};
      send(response, fault.status, { detail: { status: 'injected_fault', message: `injected ${fault.status}` } }, headers);
      return;
    }
    if (!apiKey) {
      record.outcome = 401;
      send(response, 401, { detail: { status: 'invalid_api_key', message: 'xi-api-key header is required' } });
      return;
    }
    const answer = this.answer(request.method ?? 'GET', url, apiKey);
    record.outcome = answer.status;
    if (fault?.malformed && answer.status === 200) {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"agent_id": "truncated', () => finish());
      return;
    }
    send(response, answer.status, answer.body);
  }

  private answer(method: string, url: URL, apiKey: string): { status: number; body: unknown } {
    if (method !== 'GET') return { status: 405, body: { detail: { status: 'method_not_allowed', message: 'read-only' } } };
    const path = url.pathname;
    const id = (prefix: string) => (path.startsWith(prefix) ? decodeURIComponent(path.slice(prefix.length)) : undefined);
    const notFound = { status: 404, body: { detail: { status: 'not_found', message: 'not found' } } };
    // Ids starting `missing_` do not exist at the provider: the 404 path, deterministically.
    const known = (value: string) => value.length > 0 && !value.includes('/') && !value.startsWith('missing_');

    if (path === '/v1/convai/agents') return agentsPage(accountAgents(apiKey, this.accountSize), url.searchParams);
    if (path === '/v1/convai/phone-numbers') return { status: 200, body: accountPhoneNumbers(apiKey, this.accountSize) };
    if (path === '/v1/user/subscription') return { status: 200, body: subscriptionDetails(apiKey) };
    const agentId = id('/v1/convai/agents/');
    if (agentId !== undefined) return known(agentId) ? { status: 200, body: agentDetails(agentId) } : notFound;
    const conversationId = id('/v1/convai/conversations/');
    if (conversationId !== undefined) return known(conversationId) ? { status: 200, body: conversationDetails(conversationId) } : notFound;
    return notFound;
  }

  private faultFor(path: string): FaultRule | undefined {
    for (const entry of this.faults) {
      if (entry.left <= 0) continue;
      if (entry.rule.match !== undefined && !path.includes(entry.rule.match)) continue;
      entry.left -= 1;
      return entry.rule;
    }
    return undefined;
  }

  private concurrencyOf(account: string): Concurrency {
    let entry = this.concurrency.get(account);
    if (!entry) this.concurrency.set(account, (entry = { inFlight: 0, max: 0 }));
    return entry;
  }

  /** `PUT faults` (body: FaultRule[]), `DELETE faults`, `GET stats`, `POST reset`. */
  private async control(request: IncomingMessage, response: ServerResponse, action: string): Promise<void> {
    if (action === 'faults' && request.method === 'PUT') {
      const rules = await readJson(request);
      if (!Array.isArray(rules)) {
        send(response, 400, { error: 'expected an array of fault rules' });
        return;
      }
      this.setFaults(rules as FaultRule[]);
      send(response, 200, { faults: rules.length });
      return;
    }
    if (action === 'faults' && request.method === 'DELETE') {
      this.setFaults([]);
      send(response, 200, { faults: 0 });
      return;
    }
    if (action === 'stats' && request.method === 'GET') {
      send(response, 200, { requests: this.requests, maxInFlight: Object.fromEntries([...this.concurrency].map(([k, v]) => [k, v.max])) });
      return;
    }
    if (action === 'reset' && request.method === 'POST') {
      this.setFaults([]);
      this.resetStats();
      send(response, 200, { reset: true });
      return;
    }
    send(response, 404, { error: 'unknown control action' });
  }
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  response.end(text);
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
