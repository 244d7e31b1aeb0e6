import { createLocalJWKSet, errors, importJWK, type FlattenedJWSInput, type JWK, type JWSHeaderParameters, type KeyLike } from 'jose';
import type { JwksTiming } from '../config/config';
import type { Logger } from '../logger';

/**
 * No key can be had to check a token against: the key set was never fetched,
 * is stale past its window, or the token names a `kid` we do not hold while the
 * endpoint is failing. Not the caller's fault: HTTP 503 AUTH_UNAVAILABLE, never 401.
 */
export class KeySourceUnavailableError extends Error {
  constructor(
    message: string,
    /** When a retry may succeed: the next background attempt or the end of the on-demand cooldown. */
    readonly retryAfterSeconds: number,
  ) {
    super(message);
    this.name = 'KeySourceUnavailableError';
  }
}

/** ok: the last refresh succeeded. stale: it failed, the last good keys are still within the window. unavailable: no usable key. */
export type KeySetState = 'ok' | 'stale' | 'unavailable';

export interface KeySetStatus {
  state: KeySetState;
  /** Keys in the set in use; 0 when none is usable. */
  keys: number;
  /** Since the keys in use were fetched; undefined when none ever were. */
  ageSeconds: number | undefined;
  /** Failed fetches since start, of any trigger. */
  refreshFailures: number;
}

type LocalKeySet = ReturnType<typeof createLocalJWKSet>;

interface Held {
  keys: LocalKeySet;
  count: number;
  /** Monotonic ms. */
  fetchedAt: number;
}

type Trigger = 'start' | 'background' | 'on demand';

const MAX_BODY_CHARS = 1_000_000;
const MAX_RETRY_AFTER_SECONDS = 300;

/**
 * The JWKS keys, held in memory and refreshed in the background, so verifying
 * a token normally waits on no network at all. The invariants:
 *
 * - Every fetch is bounded by `timeoutMs` (the one at start too), and at most
 *   one is in flight: a request that has to wait joins it.
 * - A failed refresh keeps the last good keys (stale-if-error) until they are
 *   `maxStaleMs` old, and the background retries with backoff (1 s doubling,
 *   capped at the refresh interval).
 * - A request fetches on demand only when it cannot be answered otherwise (no
 *   usable keys, or a `kid` we do not hold: a rotation), and at most once per
 *   `cooldownMs` however many such requests arrive, so a flood of tokens with
 *   random `kid`s cannot hammer the endpoint.
 */
export class JwksKeySet {
  private held: Held | undefined;
  private inFlight: Promise<void> | undefined;
  private lastOnDemandAt = Number.NEGATIVE_INFINITY;
  private lastAttemptFailed = false;
  private consecutiveFailures = 0;
  private failures = 0;
  private nextBackgroundAt = Number.POSITIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly url: URL,
    private readonly timing: JwksTiming,
    private readonly logger: Logger,
    /** Monotonic ms. */
    private readonly now: () => number = () => performance.now(),
  ) {
    for (const [name, value] of Object.entries(timing)) {
      // Zero would mean a fetch that always times out, a refresh loop, or keys never usable.
      if (!(Number.isFinite(value) && value > 0)) throw new Error(`JWKS ${name} must be positive, got ${value}`);
    }
  }

  /** The first fetch (at most `timeoutMs`; never throws: a failure leaves the set unavailable and retrying), then the background schedule. */
  async start(): Promise<void> {
    await this.refresh('start');
    this.scheduleNext();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  status(): KeySetStatus {
    const usable = this.usable();
    return {
      state: !usable ? 'unavailable' : this.lastAttemptFailed ? 'stale' : 'ok',
      keys: usable?.count ?? 0,
      ageSeconds: this.held ? (this.now() - this.held.fetchedAt) / 1000 : undefined,
      refreshFailures: this.failures,
    };
  }

  /**
   * For jose's jwtVerify. Throws KeySourceUnavailableError when no key can be
   * had; jose's own errors (JWKSNoMatchingKey for a `kid` that a successful
   * fetch does not list, …) mean the token is bad.
   */
  readonly getKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<KeyLike> => {
    // At most one wait per request, so no request waits longer than one fetch's timeout.
    let waited = false;
    let usable = this.usable();
    if (!usable) {
      await this.refreshOnDemand();
      waited = true;
      usable = this.usable();
      if (!usable) throw this.unavailable('no usable JWKS key (never fetched, or stale past JWKS_MAX_STALE_SECONDS)');
    }
    try {
      return await usable.keys(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
    }
    // A kid we do not hold: the issuer may have rotated its keys since the last refresh.
    if (!waited) await this.refreshOnDemand();
    usable = this.usable();
    if (!usable) throw this.unavailable('no usable JWKS key');
    try {
      return await usable.keys(header, token);
    } catch (error) {
      // Only a successful fetch can say a kid does not exist; while fetches fail we do not know.
      if (error instanceof errors.JWKSNoMatchingKey && this.lastAttemptFailed) {
        throw this.unavailable('token names a key the JWKS endpoint could not be asked about');
      }
      throw error;
    }
  };

  /** The held keys while they are fresh enough to use. */
  private usable(): Held | undefined {
    return this.held && this.now() - this.held.fetchedAt <= this.timing.maxStaleMs ? this.held : undefined;
  }

  private async refreshOnDemand(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    if (this.now() - this.lastOnDemandAt < this.timing.cooldownMs) return;
    this.lastOnDemandAt = this.now();
    return this.refresh('on demand');
  }

  /** Never rejects: a failure is counted, logged once, and leaves the held keys as they were. */
  private refresh(trigger: Trigger): Promise<void> {
    if (this.inFlight) return this.inFlight;
    const attempt = this.fetchKeys().then(
      (fetched) => {
        this.held = { ...fetched, fetchedAt: this.now() };
        this.lastAttemptFailed = false;
        this.consecutiveFailures = 0;
      },
      (error: unknown) => {
        this.failures += 1;
        this.consecutiveFailures += 1;
        this.lastAttemptFailed = true;
        const usable = this.usable();
        this.logger.warn(
          {
            jwksUrl: this.url.origin + this.url.pathname,
            trigger,
            error: error instanceof Error ? error.message : String(error),
            consecutiveFailures: this.consecutiveFailures,
            keyAgeSeconds: this.held ? Math.round((this.now() - this.held.fetchedAt) / 1000) : null,
          },
          usable ? 'JWKS refresh failed; keeping the last good keys' : 'JWKS refresh failed; no usable keys, tokens get 503 AUTH_UNAVAILABLE',
        );
      },
    );
    this.inFlight = attempt.finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private scheduleNext(): void {
    if (this.closed) return;
    const delay = this.lastAttemptFailed
      ? Math.min(this.timing.refreshIntervalMs, Math.min(1000, this.timing.refreshIntervalMs) * 2 ** Math.min(this.consecutiveFailures - 1, 20))
      : this.timing.refreshIntervalMs;
    this.nextBackgroundAt = this.now() + delay;
    this.timer = setTimeout(() => {
      void this.refresh('background').then(() => this.scheduleNext());
    }, delay);
    // The schedule never keeps the process alive on its own.
    this.timer.unref();
  }

  private unavailable(message: string): KeySourceUnavailableError {
    const nextChance = Math.min(this.nextBackgroundAt, this.lastOnDemandAt + this.timing.cooldownMs);
    const seconds = Math.ceil((nextChance - this.now()) / 1000);
    return new KeySourceUnavailableError(message, Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(1, Number.isFinite(seconds) ? seconds : 1)));
  }

  private async fetchKeys(): Promise<{ keys: LocalKeySet; count: number }> {
    let text: string;
    try {
      // The signal bounds the body as well as the headers: a server that trickles bytes is cut too.
      const response = await fetch(this.url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(this.timing.timeoutMs) });
      if (!response.ok) {
        await response.body?.cancel();
        throw new Error(`JWKS endpoint answered HTTP ${response.status}`);
      }
      text = await response.text();
    } catch (error) {
      if (error instanceof Error && error.name === 'TimeoutError') throw new Error(`JWKS fetch timed out after ${this.timing.timeoutMs} ms`);
      // undici says only "fetch failed"; the reason (ECONNREFUSED, DNS, TLS) is its cause.
      if (error instanceof Error && error.cause instanceof Error) throw new Error(`${error.message}: ${error.cause.message}`);
      throw error;
    }
    if (text.length > MAX_BODY_CHARS) throw new Error('JWKS response is too large');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error('JWKS response is not JSON');
    }
    const keys = await verificationKeys(body);
    // An empty set would reject every token; treat it as the endpoint misbehaving, not as news.
    if (keys.length === 0) throw new Error('JWKS response has no usable public keys');
    return { keys: createLocalJWKSet({ keys }), count: keys.length };
  }
}

/**
 * The members of a fetched set that can verify a token, each imported once
 * here so that a malformed key fails the fetch's check rather than a
 * request (where it would look like the caller's bad token). A private or
 * symmetric key, or one that does not import, is left out; the rest still serve.
 */
async function verificationKeys(body: unknown): Promise<JWK[]> {
  const members = (body as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(members)) throw new Error('JWKS response has no "keys" array');
  const usable: JWK[] = [];
  for (const member of members) {
    if (typeof member !== 'object' || member === null) continue;
    const jwk = member as JWK;
    if ('d' in jwk || jwk.kty === 'oct') continue;
    const alg = typeof jwk.alg === 'string' ? jwk.alg : defaultAlgorithm(jwk);
    if (!alg) continue;
    try {
      await importJWK(jwk, alg);
      usable.push(jwk);
    } catch {
      // Not importable: leave it out.
    }
  }
  return usable;
}

function defaultAlgorithm(jwk: JWK): string | undefined {
  if (jwk.kty === 'RSA') return 'RS256';
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  if (jwk.kty === 'OKP' && (jwk.crv === 'Ed25519' || jwk.crv === 'Ed448')) return 'EdDSA';
  return undefined;
}
