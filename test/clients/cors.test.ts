import type { Db } from '../../src/db/database';
import { openTestDb } from '../support/db';
import { createOrg, type TestOrg } from '../support/factories';
import { startTestServer, type TestServer } from '../support/server';

/**
 * CORS for browser dashboards: in development a front end's dev server on any
 * loopback port (Vite on localhost:5173, Next on 127.0.0.1:3000) can call
 * /graphql with no setting; production answers no origin until CORS_ORIGINS
 * names it, and CORS_ORIGINS, once set, is the whole list everywhere.
 */

describe('CORS defaults', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let org: TestOrg;
  const started: TestServer[] = [];
  let development: TestServer;
  let developmentListed: TestServer;
  let production: TestServer;
  let productionListed: TestServer;

  beforeAll(async () => {
    ({ db, close: closeDb } = openTestDb());
    org = await createOrg(db);
    [development, developmentListed, production, productionListed] = await Promise.all([
      startTestServer({ overrides: { env: 'development' } }),
      startTestServer({ overrides: { env: 'development', corsOrigins: ['https://app.example.com'] } }),
      startTestServer({ overrides: { env: 'production' } }),
      startTestServer({ overrides: { env: 'production', corsOrigins: ['https://app.example.com'] } }),
    ]);
    started.push(development, developmentListed, production, productionListed);
  });

  afterAll(async () => {
    await Promise.all(started.map((server) => server.close()));
    await closeDb();
  });

  async function post(server: TestServer, origin: string): Promise<Response> {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/json', authorization: `Bearer ${await server.tokenFor(org)}` },
      body: JSON.stringify({ query: '{ viewer { role } }' }),
    });
    expect(response.status).toBe(200);
    return response;
  }

  /** The preflight a browser sends before urql's GET with the token. */
  async function preflight(server: TestServer, origin: string): Promise<Response> {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });
    expect(response.status).toBe(204);
    return response;
  }

  const allowedOrigin = (response: Response) => response.headers.get('access-control-allow-origin');

  describe('development without CORS_ORIGINS', () => {
    it.each(['http://localhost:5173', 'http://127.0.0.1:3000', 'http://localhost'])('lets %s in, preflight included', async (origin) => {
      const response = await post(development, origin);
      expect(allowedOrigin(response)).toBe(origin);
      expect(response.headers.get('vary')).toMatch(/origin/i);
      const answer = await preflight(development, origin);
      expect(allowedOrigin(answer)).toBe(origin);
      expect(answer.headers.get('access-control-allow-methods')).toMatch(/GET/);
      expect(answer.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    });

    it.each(['https://app.example.com', 'http://localhost.evil.example:5173', 'http://127.0.0.1.nip.io', 'http://192.168.1.20:5173', 'null'])(
      'gives %s no CORS headers',
      async (origin) => {
        expect(allowedOrigin(await post(development, origin))).toBeNull();
        expect(allowedOrigin(await preflight(development, origin))).toBeNull();
      },
    );
  });

  it('development with CORS_ORIGINS allows exactly that list', async () => {
    expect(allowedOrigin(await post(developmentListed, 'https://app.example.com'))).toBe('https://app.example.com');
    expect(allowedOrigin(await post(developmentListed, 'http://localhost:5173'))).toBeNull();
    expect(allowedOrigin(await preflight(developmentListed, 'http://localhost:5173'))).toBeNull();
  });

  it('production without CORS_ORIGINS allows no origin, loopback included', async () => {
    expect(allowedOrigin(await post(production, 'http://localhost:5173'))).toBeNull();
    expect(allowedOrigin(await preflight(production, 'http://localhost:5173'))).toBeNull();
    expect(allowedOrigin(await preflight(production, 'https://app.example.com'))).toBeNull();
  });

  it('production with CORS_ORIGINS allows that list only', async () => {
    expect(allowedOrigin(await preflight(productionListed, 'https://app.example.com'))).toBe('https://app.example.com');
    expect(allowedOrigin(await post(productionListed, 'http://localhost:5173'))).toBeNull();
  });
});
