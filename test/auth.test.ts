import { randomBytes } from 'node:crypto';
import { SignJWT, UnsecuredJWT } from 'jose';
import { signToken } from '../src/auth/tokens';
import type { Db } from '../src/db/database';
import { toGlobalId } from '../src/graphql/globalId';
import { openTestDb } from './support/db';
import { createAgent, createCalls, createOrg, type TestOrg } from './support/factories';
import { startTestServer, type TestServer } from './support/server';

/**
 * Authentication: the organisation, user and role come only from a verified,
 * unexpired bearer token of ours. Anything else is a 401 JSON error with code
 * UNAUTHENTICATED and no data.
 */
describe('auth: only a verified token of ours opens the API', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let server: TestServer;
  let org: TestOrg;
  let secret: Uint8Array;
  let issuer: string;
  let audience: string;

  /** Selects rows the org really has, so a leak would show up as data. */
  const PROBE = `{ viewer { role organisation { slug } } calls(first: 5) { nodes { id } } }`;

  beforeAll(async () => {
    ({ db, close: closeDb } = openTestDb());
    server = await startTestServer();
    if (server.config.auth.kind !== 'hs256') throw new Error('expected an HS256 test server');
    ({ secret, issuer, audience } = server.config.auth);
    org = await createOrg(db, { timezone: 'Europe/Lisbon' });
    const agent = await createAgent(db, org.id);
    await createCalls(db, org.id, [{ agentId: agent }, { agentId: agent }]);
  });

  afterAll(async () => {
    await server.close();
    await closeDb();
  });

  /** Claims a valid admin token of `org` would carry; cases override them one at a time. */
  const claims = () => ({ org: org.id, role: 'admin' });
  const jwt = (payload: Record<string, unknown> = claims()) =>
    new SignJWT(payload)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(org.users.admin)
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt();
  const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

  async function post(headers: Record<string, string>) {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query: PROBE }),
    });
    const text = await response.text();
    return { status: response.status, contentType: response.headers.get('content-type'), text };
  }

  function expectRejected(result: { status: number; contentType: string | null; text: string }, status = 401) {
    expect(result.status).toBe(status);
    expect(result.contentType).toMatch(/^application\/(graphql-response\+)?json/);
    const body = JSON.parse(result.text) as { data?: unknown; errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
    expect(body.data ?? null).toBeNull();
    expect(result.text).not.toContain(org.slug);
    expect(result.text).not.toContain(toGlobalId('Organisation', org.id));
    expect(result.text).not.toMatch(/"nodes"|Call:|SELECT|select |node_modules| at /);
    return body;
  }

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  const cases: [string, () => Promise<Record<string, string>>][] = [
    ['no Authorization header', async () => ({})],
    ['an empty Authorization header', async () => ({ authorization: '' })],
    ['Basic credentials instead of a bearer token', async () => ({ authorization: `Basic ${Buffer.from('admin:secret').toString('base64')}` })],
    ['a bearer value that is not a JWT', async () => bearer('not-a-jwt')],
    [
      'a JWT with a mangled payload',
      async () => {
        const [header, , signature] = (await jwt().setExpirationTime(inAnHour()).sign(secret)).split('.');
        return bearer(`${header}.e30x.${signature}`);
      },
    ],
    [
      'an expired token',
      async () =>
        bearer(await signToken(secret, { issuer, audience }, { userId: org.users.admin, orgId: org.id, role: 'admin', expiresInSeconds: -60 })),
    ],
    [
      'a token signed with another secret (forged)',
      async () => bearer(await signToken(randomBytes(32), { issuer, audience }, { userId: org.users.admin, orgId: org.id, role: 'admin' })),
    ],
    [
      'a token whose signature was altered',
      async () => {
        const token = await server.tokenFor(org);
        const last = token.at(-2) === 'A' ? 'B' : 'A';
        return bearer(`${token.slice(0, -2)}${last}${token.at(-1)}`);
      },
    ],
    [
      'a token with the wrong issuer',
      async () => bearer(await signToken(secret, { issuer: 'someone-else', audience }, { userId: org.users.admin, orgId: org.id, role: 'admin' })),
    ],
    [
      'a token with the wrong audience',
      async () => bearer(await signToken(secret, { issuer, audience: 'another-api' }, { userId: org.users.admin, orgId: org.id, role: 'admin' })),
    ],
    [
      'an unsigned alg:none token',
      async () =>
        bearer(new UnsecuredJWT(claims()).setSubject(org.users.admin).setIssuer(issuer).setAudience(audience).setExpirationTime(inAnHour()).encode()),
    ],
    ['a token without exp', async () => bearer(await jwt().sign(secret))],
    [
      'a token without sub',
      async () =>
        bearer(
          await new SignJWT(claims())
            .setProtectedHeader({ alg: 'HS256' })
            .setIssuer(issuer)
            .setAudience(audience)
            .setExpirationTime(inAnHour())
            .sign(secret),
        ),
    ],
    [
      'a token whose org claim is not numeric',
      async () => bearer(await jwt({ org: 'acme', role: 'admin' }).setExpirationTime(inAnHour()).sign(secret)),
    ],
    [
      'a token whose org claim is a SQL fragment',
      async () =>
        bearer(
          await jwt({ org: `${org.id} or 1=1`, role: 'admin' })
            .setExpirationTime(inAnHour())
            .sign(secret),
        ),
    ],
    [
      'a token whose role is not one of ours',
      async () => bearer(await jwt({ org: org.id, role: 'owner' }).setExpirationTime(inAnHour()).sign(secret)),
    ],
    [
      'a token signed with another algorithm (HS512)',
      async () => bearer(await jwt().setProtectedHeader({ alg: 'HS512' }).setExpirationTime(inAnHour()).sign(secret)),
    ],
  ];

  it.each(cases)('rejects %s with 401 UNAUTHENTICATED, as JSON, with no data', async (_name, headers) => {
    expectRejected(await post(await headers()));
  });

  it('rejects a well-signed token for an organisation that does not exist, without data', async () => {
    const token = await signToken(secret, { issuer, audience }, { userId: org.users.admin, orgId: '987654321987', role: 'admin' });
    const body = expectRejected(await post(bearer(token)));
    expect(body.errors[0]!.message).toMatch(/organisation|member/);
  });

  it('rejects a well-signed token for an organisation that has since been deleted', async () => {
    const doomed = await createOrg(db);
    const token = await server.tokenFor(doomed);
    const before = await server.graphql(`{ viewer { organisation { slug } } }`, { token });
    expect(before.body.data.viewer.organisation.slug).toBe(doomed.slug);
    await db.deleteFrom('organisations').where('id', '=', doomed.id).execute();
    const after = await server.graphql(`{ viewer { organisation { slug } } }`, { token });
    expect(after.status).toBe(401);
    expect(after.body.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
    expect(after.body.data ?? null).toBeNull();
  });

  it('refuses a token it accepted before, once the token has expired (remembering verified tokens never outlives exp)', async () => {
    // exp 1 s from now, plus the 5 s of clock tolerance every verification allows.
    const token = await jwt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + 1)
      .sign(secret);
    expect((await post(bearer(token))).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 7_000));
    expectRejected(await post(bearer(token)));
  }, 15_000);

  it('rejects a token naming a user who is not a member of the organisation', async () => {
    const stranger = await createOrg(db);
    const token = await signToken(secret, { issuer, audience }, { userId: stranger.users.admin, orgId: org.id, role: 'admin' });
    const response = await server.graphql(`{ viewer { user { id name } } }`, { token });
    expect(response.body.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
    expect(response.body.data ?? null).toBeNull();
    expect(JSON.stringify(response.body)).not.toContain(`admin of ${stranger.slug}`);
  });

  it('never reveals why a token failed beyond a short reason, nor echoes the token', async () => {
    const token = await signToken(randomBytes(32), { issuer, audience }, { userId: org.users.admin, orgId: org.id, role: 'admin' });
    const result = await post(bearer(token));
    expect(result.text).not.toContain(token);
    expect(result.text).not.toContain(Buffer.from(secret).toString('base64url'));
  });

  it.each(['admin', 'member', 'viewer'] as const)('a valid %s token identifies the user, organisation and role', async (role) => {
    const response = await server.graphql(`{ viewer { user { id name email } organisation { slug timezone } role } }`, {
      token: await server.tokenFor(org, role),
    });
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data).toEqual({
      viewer: {
        user: { id: toGlobalId('User', org.users[role]), name: `${role} of ${org.slug}`, email: `${role}-${org.slug}@example.com` },
        organisation: { slug: org.slug, timezone: 'Europe/Lisbon' },
        role: role.toUpperCase(),
      },
    });
  });

  it('a valid token also accepts a lower-case "bearer" scheme and serves the data', async () => {
    const token = await server.tokenFor(org, 'viewer');
    const result = await post({ authorization: `bearer ${token}` });
    expect(result.status).toBe(200);
    const body = JSON.parse(result.text);
    expect(body.errors).toBeUndefined();
    expect(body.data.calls.nodes).toHaveLength(2);
  });
});
