import { randomUUID } from 'node:crypto';
import type { KeyValueCache } from '@apollo/utils.keyvaluecache';
import type { CacheConfig } from '../config/caches';
import type { Logger } from '../logger';
import type { AgentListRow, PhoneNumberListRow } from '../queries/agents';
import type { OrganisationListRow, UserListRow } from '../queries/organisations';
import { EntityCache } from './entityCache';
import { LruKeyValueCache, TolerantKeyValueCache, createRedisStore, type CacheClock, type RedisStore } from './keyValue';
import type { InvalidationListener, Invalidation } from './listener';
import { CacheStats } from './stats';
import { throttledWarn } from '../observability/throttledWarn';

/** How long a shared-cache (Redis) operation may take before it counts as a miss. */
const SHARED_CACHE_TIMEOUT_MS = 250;

/** A Redis outage fails every lookup: one warn line per this interval, with the count left out (src/observability/throttledWarn.ts). */
export const CACHE_ERROR_LOG_INTERVAL_MS = 10_000;

/** The entity caches, by what they hold. */
export interface EntityCaches {
  organisations: EntityCache<OrganisationListRow>;
  /** Users as members of an organisation (Viewer.user). */
  members: EntityCache<UserListRow>;
  agents: EntityCache<AgentListRow>;
  /** An agent's phone numbers, by agent id. */
  phoneNumbersByAgent: EntityCache<PhoneNumberListRow[]>;
}

/**
 * Everything cached by one server instance, and what keeps it honest: the
 * instance's LISTEN connection (listener.ts, shared with live subscriptions)
 * and the per-organisation generations it
 * learns from the database.
 *
 * Generations: the response cache key of an organisation carries
 * `x:<transaction id>` of the newest write the instance has heard of for it.
 * Every instance hearing the same notification derives the same key, so a
 * shared Redis is shared; older entries are simply unreachable. An
 * organisation not written since this instance started LISTENing has the
 * generation `s:<listener session>`: correct (nothing changed since), but
 * private to the session, since another instance cannot know it is current.
 * While the listener is down, nothing is read from or written to any cache.
 */
export class CacheRuntime {
  readonly stats = new CacheStats();
  readonly entities: EntityCaches;
  /** Undefined when RESPONSE_CACHE=off. */
  readonly responseCache: KeyValueCache | undefined;
  readonly apqCache: KeyValueCache;
  /** The instance's listener, when a cache needs it (undefined with every invalidated cache off). */
  readonly listener: InvalidationListener | undefined;
  private readonly unsubscribe: (() => void) | undefined;
  private readonly inMemory: LruKeyValueCache[] = [];
  private readonly redis: RedisStore | undefined;
  private readonly generations = new Map<string, string>();
  private sessionId: string = randomUUID();

  constructor(
    readonly config: CacheConfig,
    /** The instance's one LISTEN connection (owned and stopped by the caller); subscribed to only when a cache needs it. */
    listener: InvalidationListener,
    logger: Logger,
    clock?: CacheClock,
  ) {
    const needsListener = config.responseCache || config.entityCache;
    const usable = () => config.entityCache && this.trusted();
    const entity = <V>(name: string, tables: string[]) =>
      new EntityCache<V>(
        name,
        tables,
        { maxEntries: config.entityCacheMaxEntries, ttlMs: config.entityCacheTtlMs, ...(clock ? { clock } : {}) },
        this.stats.for(name),
        usable,
      );
    this.entities = {
      organisations: entity('organisations', ['organisations']),
      members: entity('members', ['memberships', 'users']),
      agents: entity('agents', ['agents']),
      phoneNumbersByAgent: entity('phone_numbers_by_agent', ['phone_numbers', 'agents']),
    };

    const warnShared = throttledWarn(logger, 'shared cache (Redis) error; served as a miss', CACHE_ERROR_LOG_INTERVAL_MS, clock);
    const onSharedError = (error: unknown) => warnShared({ err: error });
    if (config.redisUrl) this.redis = createRedisStore(config.redisUrl, config.redisKeyPrefix, onSharedError);
    const store = (name: string, maxBytes: number, countLookups: boolean): KeyValueCache => {
      const counters = this.stats.for(name);
      if (this.redis) {
        return new TolerantKeyValueCache(this.redis.cache(name), {
          counters,
          timeoutMs: SHARED_CACHE_TIMEOUT_MS,
          countLookups,
          onError: onSharedError,
        });
      }
      const memory = new LruKeyValueCache({ maxBytes, counters, ...(clock ? { clock } : {}) });
      // Responses can go stale; APQ entries (a query text under its own hash) cannot.
      if (name === 'response') this.inMemory.push(memory);
      return countLookups ? new TolerantKeyValueCache(memory, { counters, timeoutMs: SHARED_CACHE_TIMEOUT_MS, countLookups }) : memory;
    };
    this.responseCache = config.responseCache ? store('response', config.responseCacheMaxBytes, false) : undefined;
    // APQ entries are only query texts under their own hash: nothing to invalidate, nothing tenant-specific.
    this.apqCache = store('apq', config.apqCacheMaxBytes, true);

    if (needsListener) {
      this.listener = listener;
      this.unsubscribe = listener.subscribe({
        onInvalidation: (invalidation) => this.apply(invalidation),
        onConnected: (sessionId) => {
          // Anything cached before this point may have missed notifications.
          this.flush();
          this.sessionId = sessionId;
        },
        onLost: () => this.flush(),
      });
    }
  }

  async start(): Promise<void> {
    await this.listener?.start();
  }

  /** Stops hearing (the listener itself is its owner's to stop) and closes the shared cache. */
  async close(): Promise<void> {
    this.unsubscribe?.();
    await this.redis?.close();
  }

  /** True while the LISTEN connection is up: only then may anything be served from a cache. */
  trusted(): boolean {
    return this.listener?.listening ?? false;
  }

  /** The organisation's part of every response-cache key (see the class comment). */
  generationOf(orgId: string): string {
    return this.generations.get(orgId) ?? `s:${this.sessionId}`;
  }

  /**
   * A write served by this instance (a mutation) is visible to this
   * instance's next read even before its NOTIFY arrives: the organisation gets
   * a fresh local generation and its entities are dropped now.
   */
  invalidateLocally(orgId: string): void {
    this.generations.set(orgId, `l:${randomUUID()}`);
    for (const cache of Object.values(this.entities) as EntityCache<unknown>[]) cache.invalidateOrg(orgId);
  }

  private apply(invalidation: Invalidation): void {
    if (invalidation.orgId === '*') {
      this.flush();
      return;
    }
    const generation = `x:${invalidation.generation}`;
    if (this.generations.get(invalidation.orgId) !== generation) {
      this.generations.set(invalidation.orgId, generation);
      this.stats.for('response').invalidations += 1;
    }
    for (const cache of Object.values(this.entities) as EntityCache<unknown>[]) {
      if (cache.tables.includes(invalidation.table)) cache.invalidateOrg(invalidation.orgId);
    }
  }

  /** Forgets everything this instance cannot vouch for. Shared (Redis) entries stay: other instances' keys are still right, and ours are unreachable. */
  private flush(): void {
    this.generations.clear();
    this.sessionId = randomUUID();
    for (const cache of Object.values(this.entities) as EntityCache<unknown>[]) cache.clear();
    for (const memory of this.inMemory) memory.clear();
    this.stats.for('response').flushes += 1;
  }
}
