import DataLoader from 'dataloader';
import type { Registry } from 'prom-client';
import type { CacheClock } from '../cache/keyValue';
import type { ProviderConfig } from '../config/provider';
import type { TenantScope } from '../db/tenant';
import { remainingBudgetMs } from '../observability/requestContext';
import { findProviderApiKey } from '../queries/providerAccounts';
import type {
  AgentConfiguration,
  CallOptions,
  ProviderAgentListing,
  ProviderAgentsPage,
  ProviderApi,
  ProviderConversation,
  ProviderPhoneNumber,
  ProviderUsage,
} from './api';
import { ProviderCache, type Fetched } from './cache';
import { ProviderError } from './errors';
import { HttpProviderApi, type ProviderOperation } from './http';
import { createProviderMetrics } from './metrics';
import { ProviderBudget, ProviderGateway } from './resilience';

/** Sync reads at most this many pages of 100 agents. */
export const MAX_AGENT_PAGES = 100;

/** `ok`; `degraded` while some account's circuit is open or half-open; `unconfigured` without PROVIDER_URL. */
export type ProviderReadiness = 'ok' | 'degraded' | 'unconfigured';

/**
 * The provider for the whole process: the HTTP adapter (one keep-alive pool),
 * the gateway (breaker and bulkhead per account), the cache of last good
 * values, metrics. Requests get a RequestProvider from `forRequest`.
 */
export class ProviderService {
  readonly api: ProviderApi | undefined;
  readonly gateway: ProviderGateway;
  readonly cache: ProviderCache;

  constructor(
    readonly config: ProviderConfig,
    registry: Registry,
    clock?: CacheClock,
  ) {
    const metrics = createProviderMetrics(registry, () => this.gateway.breakerStates());
    this.gateway = new ProviderGateway(config, metrics);
    this.api = config.url ? new HttpProviderApi(config.url, metrics, { connections: Math.max(config.concurrency * 4, 16) }) : undefined;
    this.cache = new ProviderCache({ ttlMs: config.cacheTtlMs, maxStaleMs: config.cacheMaxStaleMs, maxEntries: config.cacheMaxEntries }, clock);
  }

  /** `deadline`: the request's (performance.now() clock), which no provider call outlasts. */
  forRequest(scope: TenantScope, deadline?: number): RequestProvider {
    return new RequestProvider(this, scope, deadline);
  }

  readiness(): ProviderReadiness {
    if (!this.api) return 'unconfigured';
    return this.gateway.breakerStates().some((state) => state !== 'closed') ? 'degraded' : 'ok';
  }

  async close(): Promise<void> {
    await this.api?.close();
  }
}

/**
 * One GraphQL request's view of the provider, bound to the caller's
 * organisation. Nothing happens until a provider field is resolved: then the
 * organisation's API key is read (one statement, once), the request's
 * provider budget starts, and the loaders batch and dedupe the calls — one
 * provider request per agent or conversation at most, however often a
 * document names it.
 */
export class RequestProvider {
  private apiKeyRead: Promise<string | undefined> | undefined;
  private budget: ProviderBudget | undefined;
  private usageRead: Promise<Fetched<ProviderUsage> | null> | undefined;

  /** By the provider's agent id. */
  readonly agentConfiguration: DataLoader<string, Fetched<AgentConfiguration> | null>;
  /** By the provider's conversation (call) id. */
  readonly conversation: DataLoader<string, Fetched<ProviderConversation> | null>;

  constructor(
    private readonly service: ProviderService,
    private readonly scope: TenantScope,
    private readonly deadline: number | undefined,
  ) {
    this.agentConfiguration = new DataLoader((ids) => this.each(ids, 'agent', (api, id, options) => api.agent(id, options)));
    this.conversation = new DataLoader((ids) => this.each(ids, 'conversation', (api, id, options) => api.conversation(id, options)));
  }

  /** What synced agents and phone numbers record as their provider (PROVIDER_NAME). */
  get name(): string {
    return this.service.config.name;
  }

  /** The account's usage this period; null when no provider or key is configured. */
  usage(): Promise<Fetched<ProviderUsage> | null> {
    this.usageRead ??= this.fetch('usage', '', (api, _id, options) => api.usage(options));
    return this.usageRead;
  }

  /** The provider's agents and phone numbers, uncached (the sync mutation writes them); undefined when nothing is configured. */
  async listings(): Promise<{ agents: ProviderAgentListing[]; phoneNumbers: ProviderPhoneNumber[] } | undefined> {
    const { api } = this.service;
    const apiKey = await this.apiKey();
    if (!api || !apiKey) return undefined;
    const budget = this.requestBudget();
    const call = <T>(operation: ProviderOperation, send: (options: CallOptions) => Promise<T>) =>
      this.service.gateway.call(this.scope.orgId, operation, apiKey, budget, send);
    // Agents first: the phone numbers' assignments name them. Each page is its
    // own retried call; the cap stops a provider whose cursor never ends.
    const agents: ProviderAgentListing[] = [];
    let cursor: string | null = null;
    for (let page = 0; ; page++) {
      if (page === MAX_AGENT_PAGES) throw new ProviderError('malformed', `provider agents: more than ${MAX_AGENT_PAGES} pages; nothing was synced`);
      const from: string | null = cursor;
      const answer: ProviderAgentsPage = await call('agents', (options) => api.agentsPage(from, options));
      agents.push(...answer.agents);
      if (answer.nextCursor === null) break;
      cursor = answer.nextCursor;
    }
    const phoneNumbers = await call('phone_numbers', (options) => api.phoneNumbers(options));
    return { agents, phoneNumbers };
  }

  private each<T>(
    ids: readonly string[],
    kind: ProviderOperation,
    send: (api: ProviderApi, id: string, options: CallOptions) => Promise<T | undefined>,
  ): Promise<(Fetched<T> | null | Error)[]> {
    // Concurrently: the gateway's per-organisation bulkhead is what bounds them.
    return Promise.all(
      ids.map((id) => this.fetch(kind, id, send).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))))),
    );
  }

  /**
   * Fresh in the cache: served from it. Stale: served from it (`stale:
   * true`) and refreshed in the background. Missing: fetched within the
   * request's budget; a failure is thrown (a ProviderError) for the field.
   */
  private async fetch<T>(
    kind: ProviderOperation,
    id: string,
    send: (api: ProviderApi, id: string, options: CallOptions) => Promise<T | undefined>,
  ): Promise<Fetched<T> | null> {
    const { api, cache, gateway, config } = this.service;
    const { orgId } = this.scope;
    const cached = cache.get<T>(orgId, kind, id);
    if (cached && !cached.stale) return cached;
    if (!api) return null;
    // An open circuit refuses before the key is even read: a dead provider costs the field nothing.
    if (!cached && gateway.refuses(orgId)) throw gateway.refused(kind);
    const apiKey = await this.apiKey();
    if (!apiKey) return null;
    const fetchWith = async (budget: ProviderBudget) => {
      const value = await gateway.call(orgId, kind, apiKey, budget, (options) => send(api, id, options));
      return value === undefined ? null : cache.set(orgId, kind, id, value);
    };
    if (cached) {
      // Its own budget: the refresh may outlive this request, never the configured bound.
      cache.refreshOnce(orgId, kind, id, () => fetchWith(new ProviderBudget(config.budgetMs)));
      return cached;
    }
    return fetchWith(this.requestBudget());
  }

  private apiKey(): Promise<string | undefined> {
    this.apiKeyRead ??= findProviderApiKey(this.scope);
    return this.apiKeyRead;
  }

  /** Starts on the first provider call; never past the request's own deadline (REQUEST_TIMEOUT_MS). */
  private requestBudget(): ProviderBudget {
    this.budget ??= new ProviderBudget(Math.min(this.service.config.budgetMs, remainingBudgetMs(this.deadline) ?? Number.POSITIVE_INFINITY));
    return this.budget;
  }
}
