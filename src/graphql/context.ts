import type { Principal } from '../auth/tokens';
import type { Config } from '../config/config';
import type { TenantScope } from '../db/tenant';
import type { Loaders } from '../loaders';
import type { LiveHub } from '../live/hub';
import type { RecordingSigner } from '../recordings/signer';
import type { RequestProvider } from '../provider/service';
import type { RequestContext } from '../observability/requestContext';

/**
 * Everything a resolver may use, built per request after the token is
 * verified. There is no database handle here: queries go through `scope`
 * (src/db/tenant.ts) and the loaders made from it, so `orgId` is the only
 * organisation any query in this request sees.
 */
export interface Context extends Principal {
  /** tenantScope(db, orgId) of the verified principal; tenant query functions take it first. */
  scope: TenantScope;
  /** createLoaders(scope, …): the same scope. */
  loaders: Loaders;
  signer: RecordingSigner;
  /** scheme://host the request came to; base of locally served recording URLs. */
  origin: string;
  limits: Pick<Config, 'defaultPageSize' | 'maxPageSize'>;
  recordingUrlTtlSeconds: number;
  /** When the request started: "today" for every statistic in it. */
  now: Date;
  /**
   * Whether `loaders.agentById` answers from the in-process agents cache: a
   * calls list then leaves its agents to the loader instead of joining them,
   * since a warm cache serves them without a statement or any decoding.
   */
  agentsCached: boolean;
  /** The HTTP request a query or mutation serves: its id, deadline and statement log. Absent on a subscription's context. */
  request?: RequestContext;
  /** The voice provider for this request and organisation (src/provider/service.ts): lazy, batched, within one budget. */
  provider: RequestProvider;
  /**
   * Only on a subscription's context (src/live/websocket.ts, src/live/sse.ts):
   * the instance's live hub. `loaders` is then replaced per event by the
   * event batch's shared loaders (src/resolvers/subscriptions.ts).
   */
  live?: {
    hub: LiveHub;
    /** Events one subscription may have waiting for its socket. */
    maxQueued: number;
    /** Past maxQueued: the connection reads too slowly and is closed. */
    onOverflow: () => void;
    /** performance.now() when the event being executed reached this instance (delivery lag). */
    eventReceivedAt?: number;
  };
}
