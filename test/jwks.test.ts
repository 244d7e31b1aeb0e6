import type { JwksTiming } from '../src/config/config';
import { loadConfig } from '../src/config/config';
import type { Db } from '../src/db/database';
import type { Role } from '../src/db/schema';
import { startTestServer, type TestServer, type GraphQLResponse } from './support/server';
import { openTestDb } from './support/db';
import { waitFor } from './support/waiting';
import { createOrg, type TestOrg } from './support/factories';
import { AUDIENCE, ISSUER, createSigner, startJwksServer, type JwksServer, type Signer } from './support/jwksServer';

/**
 * With JWKS_URL, tokens are verified against keys the server holds and
 * refreshes in the background. An outage of the key endpoint is the server's
 * problem, never the user's: valid tokens keep working on the last good keys
 * (stale-if-error), and when no key can be had the answer is 503
 * AUTH_UNAVAILABLE with Retry-After — never the 401 that tells a client to log
 * the user out. A token that is really bad stays 401.
 */

const PROBE = '{ viewer { role organisation { slug } } }';
/** What a 503 from /health/ready carries beside its checks: the one error shape. */
const NOT_READY = { error: { code: 'NOT_READY', message: 'The server is not ready to serve requests' } };
const codeOf = (reply: GraphQLResponse) => reply.body.errors?.[0]?.extensions?.code;

/** Short enough that no spec sleeps for long; each spec shortens what it exercises. */
const FAST: JwksTiming = { timeoutMs: 300, refreshIntervalMs: 60_000, maxStaleMs: 60_000, cooldownMs: 60_000 };

async function readiness(server: TestServer): Promise<{ status: number; body: { status: string; checks: Record<string, unknown> } }> {
  const response = await fetch(`${server.url}/health/ready`);
  return { status: response.status, body: (await response.json()) as { status: string; checks: Record<string, unknown> } };
}

async function metric(server: TestServer, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

function expectUnavailable(reply: GraphQLResponse): void {
  expect(reply.status).toBe(503);
  expect(codeOf(reply)).toBe('AUTH_UNAVAILABLE');
  expect(reply.body.data ?? null).toBeNull();
  const retryAfter = Number(reply.headers.get('retry-after'));
  expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 300).toBe(true);
  expect(reply.text).not.toMatch(/ at |node_modules|JWKS fetch|127\.0\.0\.1/);
}

function expectUnauthenticated(reply: GraphQLResponse): void {
  expect(reply.status).toBe(401);
  expect(codeOf(reply)).toBe('UNAUTHENTICATED');
  expect(reply.body.data ?? null).toBeNull();
}

describe('JWKS: a key endpoint outage never logs anyone out', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let org: TestOrg;
  let rsa: Signer;
  let ec: Signer;
  let jwks: JwksServer;
  let servers: TestServer[] = [];

  beforeAll(async () => {
    ({ db, close: closeDb } = openTestDb());
    org = await createOrg(db);
    [rsa, ec] = await Promise.all([createSigner('rsa-1', 'RS256'), createSigner('ec-1', 'ES256')]);
  });

  afterAll(async () => {
    await closeDb();
  });

  beforeEach(async () => {
    jwks = await startJwksServer(rsa, ec);
  });

  afterEach(async () => {
    await Promise.all(servers.map((server) => server.close()));
    servers = [];
    await jwks.close();
  });

  async function start(timing: Partial<JwksTiming> = {}): Promise<TestServer> {
    const server = await startTestServer({
      overrides: { auth: { kind: 'jwks', jwksUrl: jwks.url, issuer: ISSUER, audience: AUDIENCE, ...FAST, ...timing } },
    });
    servers.push(server);
    return server;
  }

  const claims = (role: Role = 'admin') => ({ sub: org.users[role], org: org.id, role });
  const probe = (server: TestServer, token: string, timeoutMs = 3000) => server.graphql(PROBE, { token, timeoutMs });
  const failureLogs = (server: TestServer) => server.logs.filter((line) => line.msg.startsWith('JWKS refresh failed'));

  describe('while the endpoint is healthy', () => {
    it('serves RS256 and ES256 tokens on keys fetched once at start, not per request', async () => {
      const server = await start();
      expect(jwks.requests).toBe(1);
      for (const signer of [rsa, ec, rsa, ec]) {
        const reply = await probe(server, await signer.sign(claims('viewer')));
        expect(reply.status).toBe(200);
        expect(reply.body.data).toEqual({ viewer: { role: 'VIEWER', organisation: { slug: org.slug } } });
      }
      expect(jwks.requests).toBe(1);
      expect(await readiness(server)).toEqual({
        status: 200,
        body: { status: 'ready', checks: { database: 'ok', migrations: 'current', draining: false, jwks: 'ok' } },
      });
      expect(await metric(server, 'switchboard_jwks_keys_usable')).toBe(1);
      expect(await metric(server, 'switchboard_jwks_refresh_failures_total')).toBe(0);
    });

    it('serves a token whose kid appeared after a rotation, after exactly one on-demand fetch, and a flood of unknown kids fetches no more within the cooldown', async () => {
      const server = await start();
      expect(jwks.requests).toBe(1);
      const rotated = await createSigner('rsa-2', 'RS256');
      jwks.publish(rotated, rsa);

      expect((await probe(server, await rotated.sign(claims()))).status).toBe(200);
      expect(jwks.requests).toBe(2);
      expect((await probe(server, await rotated.sign(claims()))).status).toBe(200);
      expect(jwks.requests).toBe(2);

      const flood = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => probe(server, await rsa.sign(claims(), { kid: `random-${i}-${Math.random()}` }))),
      );
      for (const reply of flood) expectUnauthenticated(reply);
      expect(jwks.requests).toBe(2);
    });

    it('answers 401 to a token signed by a key it does not hold under a kid it does', async () => {
      const server = await start();
      const impostor = await createSigner(rsa.kid, 'RS256');
      const reply = await probe(server, await impostor.sign(claims()));
      expectUnauthenticated(reply);
      expect(reply.body.errors?.[0]?.message).toBe('Invalid token: token is not valid');
    });
  });

  describe('stale-if-error: once keys were fetched, an outage changes nothing for valid tokens', () => {
    it('serves a valid token at once while the background refresh hangs', async () => {
      // A refresh every 100 ms that hangs for 5 s: a request that waited on it would still be waiting.
      const server = await start({ refreshIntervalMs: 100, timeoutMs: 5000 });
      jwks.mode = 'hang';
      await waitFor('a refresh to hang', () => jwks.hanging() > 0);
      const reply = await probe(server, await rsa.sign(claims()));
      expect(reply.status).toBe(200);
      expect(reply.body.data?.viewer.organisation.slug).toBe(org.slug);
      // The answer came while the refresh it would have waited on was still hanging.
      expect(jwks.hanging()).toBeGreaterThan(0);
    });

    it.each(['error', 'malformed'] as const)(
      'serves valid tokens while refreshes fail (%s), reports stale but ready, and logs each failed refresh once, not each request',
      async (mode) => {
        const server = await start({ refreshIntervalMs: 100 });
        const token = await rsa.sign(claims());
        jwks.mode = mode;
        await waitFor('a failed refresh', async () => (await readiness(server)).body.checks.jwks === 'stale');

        for (let i = 0; i < 10; i += 1) expect((await probe(server, token)).status).toBe(200);
        expect(await readiness(server)).toMatchObject({ status: 200, body: { status: 'ready', checks: { jwks: 'stale' } } });

        // Requests never fetch while the keys are usable (every failure is the schedule's), and each failed fetch is one warning.
        const warnings = failureLogs(server);
        expect(warnings.length).toBeGreaterThanOrEqual(1);
        expect(warnings.length).toBeLessThanOrEqual(jwks.requests - 1);
        for (const line of warnings) expect(line).toMatchObject({ msg: 'JWKS refresh failed; keeping the last good keys', trigger: 'background' });
        expect(await metric(server, 'switchboard_jwks_refresh_failures_total')).toBeGreaterThanOrEqual(1);
        expect(await metric(server, 'switchboard_jwks_keys_usable')).toBe(1);
      },
    );

    it('still answers 401 to a really bad token, and 503 to an unknown kid it cannot ask about', async () => {
      const server = await start();
      jwks.mode = 'error';
      const impostor = await createSigner(rsa.kid, 'RS256');
      const bad: [string, string][] = [
        ['signed by another key under a known kid', await impostor.sign(claims())],
        ['expired', await rsa.sign(claims(), { expiresIn: -3600 })],
        ['from another issuer', await rsa.sign(claims(), { issuer: 'https://elsewhere.test/' })],
        ['for another audience', await rsa.sign(claims(), { audience: 'someone-else' })],
        ['malformed', 'not.a.jwt'],
      ];
      for (const [, token] of bad) expectUnauthenticated(await probe(server, token));

      // Whether this kid exists only the endpoint can say, and it is failing.
      const rotated = await createSigner('rsa-3', 'RS256');
      const reply = await probe(server, await rotated.sign(claims()));
      expectUnavailable(reply);
      expect(jwks.requests).toBe(2);
      // Known keys still verify.
      expect((await probe(server, await rsa.sign(claims()))).status).toBe(200);
    });
  });

  describe('no usable key: 503 AUTH_UNAVAILABLE with Retry-After, never 401', () => {
    it('on a fresh instance whose endpoint hangs: the start is bounded, a valid token gets 503 within about the timeout, and it recovers by itself', async () => {
      jwks.mode = 'hang';
      const server = await start({ timeoutMs: 300, cooldownMs: 1000 });
      const token = await rsa.sign(claims());

      // The client gives up at 3 s: a request waiting on the hanging endpoint would fail here, not answer.
      expectUnavailable(await probe(server, token, 3000));
      expect(await readiness(server)).toEqual({
        status: 503,
        body: { ...NOT_READY, status: 'not ready', checks: { database: 'ok', migrations: 'current', draining: false, jwks: 'unavailable' } },
      });
      expect(await metric(server, 'switchboard_jwks_keys_usable')).toBe(0);
      expect(await metric(server, 'switchboard_jwks_key_age_seconds')).toBe(-1);
      expect(failureLogs(server)[0]).toMatchObject({ msg: 'JWKS refresh failed; no usable keys, tokens get 503 AUTH_UNAVAILABLE', trigger: 'start' });

      // The background retry (1 s, then doubling), or a request past the cooldown, finds the endpoint back without a restart.
      jwks.mode = 'serve';
      await waitFor('the key set to recover', async () => (await probe(server, token)).status === 200, 5000);
      expect((await readiness(server)).body.checks.jwks).toBe('ok');
    });

    it.each(['error', 'malformed'] as const)('on a fresh instance whose endpoint fails (%s)', async (mode) => {
      jwks.mode = mode;
      const server = await start();
      const replies = await Promise.all([probe(server, await rsa.sign(claims())), probe(server, await ec.sign(claims()))]);
      for (const reply of replies) expectUnavailable(reply);
      // The start fetched, and one on-demand fetch at most: the rest are rate-limited by the cooldown.
      expect(jwks.requests).toBeLessThanOrEqual(2);
    });

    it('once the last good keys are older than JWKS_MAX_STALE_SECONDS', async () => {
      const server = await start({ refreshIntervalMs: 100, maxStaleMs: 700, cooldownMs: 60_000 });
      const token = await rsa.sign(claims());
      expect((await probe(server, token)).status).toBe(200);
      jwks.mode = 'error';

      const statuses: number[] = [];
      let last: GraphQLResponse | undefined;
      await waitFor(
        'the keys to go stale past the window',
        async () => {
          last = await probe(server, token);
          statuses.push(last.status);
          return last.status !== 200;
        },
        3000,
      );
      expectUnavailable(last!);
      // Up to the window every answer was 200; past it, 503 — never a 401 in between.
      expect(statuses.slice(0, -1).every((status) => status === 200)).toBe(true);
      expect((await readiness(server)).body.checks.jwks).toBe('unavailable');
    });
  });

  it('reads its settings from JWKS_TIMEOUT_MS, JWKS_REFRESH_INTERVAL_SECONDS, JWKS_MAX_STALE_SECONDS and JWKS_COOLDOWN_SECONDS', () => {
    const names = ['JWKS_URL', 'JWKS_TIMEOUT_MS', 'JWKS_REFRESH_INTERVAL_SECONDS', 'JWKS_MAX_STALE_SECONDS', 'JWKS_COOLDOWN_SECONDS'];
    const saved = names.map((name) => process.env[name]);
    try {
      Object.assign(process.env, {
        JWKS_URL: 'https://id.example.test/jwks.json',
        JWKS_TIMEOUT_MS: '1500',
        JWKS_REFRESH_INTERVAL_SECONDS: '120',
        JWKS_MAX_STALE_SECONDS: '3600',
        JWKS_COOLDOWN_SECONDS: '10',
      });
      expect(loadConfig().auth).toMatchObject({
        kind: 'jwks',
        jwksUrl: 'https://id.example.test/jwks.json',
        timeoutMs: 1500,
        refreshIntervalMs: 120_000,
        maxStaleMs: 3_600_000,
        cooldownMs: 10_000,
      });
      delete process.env.JWKS_TIMEOUT_MS;
      delete process.env.JWKS_MAX_STALE_SECONDS;
      expect(loadConfig().auth).toMatchObject({ timeoutMs: 2000, maxStaleMs: 86_400_000 });
    } finally {
      names.forEach((name, i) => (saved[i] === undefined ? delete process.env[name] : (process.env[name] = saved[i])));
    }
  });
});
