import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { cachesOff } from '../src/config/caches';
import { loadConfig, type Config } from '../src/config/config';
import { createDb, createPool, openDatabase } from '../src/db/database';
import { migrateToLatest } from '../src/db/migrate';
import { createLogger } from '../src/logger';
import { isLoopbackAddress } from '../src/server/loopback';
import { createServer, type Server } from '../src/server/server';
import { createServices, type Services } from '../src/server/services';
import { demoWebhookSecret } from '../src/webhooks/secrets';
import { testDatabaseUrl } from './support/db';
import { createOrg, createWebhookSecret } from './support/factories';
import { envWith, freshDatabase, run, startServer, STACK_FRAME } from './support/processes';

/**
 * Development conveniences — an admin token prefilled in GraphiQL, demo
 * webhook secrets everyone knows — never reach the network or production.
 */

const SECRET = 'x'.repeat(40);

function withEnv<T>(vars: Record<string, string | undefined>, read: () => T): T {
  const saved = Object.fromEntries(Object.keys(vars).map((name) => [name, process.env[name]]));
  for (const [name, value] of Object.entries(vars)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  try {
    return read();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

describe('where the server listens', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-host-'));
  const hostIn = (vars: Record<string, string | undefined>) =>
    withEnv({ SWITCHBOARD_DATA_DIR: dataDir, HOST: undefined, JWT_SECRET: SECRET, RECORDINGS_SECRET: SECRET, ...vars }, () => loadConfig().host);

  it('development and test bind loopback only, production all interfaces (a container needs it), HOST decides over both', () => {
    expect(hostIn({ NODE_ENV: 'development' })).toBe('127.0.0.1');
    expect(hostIn({ NODE_ENV: 'test' })).toBe('127.0.0.1');
    expect(hostIn({ NODE_ENV: 'production' })).toBe('0.0.0.0');
    expect(hostIn({ NODE_ENV: 'development', HOST: '0.0.0.0' })).toBe('0.0.0.0');
    expect(hostIn({ NODE_ENV: 'production', HOST: '127.0.0.1' })).toBe('127.0.0.1');
  });
});

describe('the GraphiQL dev token', () => {
  it('is for loopback peers only: 127.0.0.0/8, ::1 and IPv4-mapped 127.x; anything else, or no address, is not', () => {
    for (const address of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1', '::FFFF:127.9.9.9', '0:0:0:0:0:0:0:1']) {
      expect([address, isLoopbackAddress(address)]).toEqual([address, true]);
    }
    for (const address of [
      undefined,
      '',
      '10.0.0.5',
      '192.168.1.20',
      '128.0.0.1',
      '::ffff:10.0.0.1',
      '::2',
      'fe80::1',
      '127.0.0.1.evil',
      'localhost',
    ]) {
      expect([address, isLoopbackAddress(address)]).toEqual([address, false]);
    }
  });

  describe('over real HTTP', () => {
    const devToken = 'dev.token.for-loopback-only';
    const started: { server: Server; services: Services }[] = [];
    let config: Config;

    beforeAll(() => {
      config = loadConfig({
        databaseUrl: testDatabaseUrl(),
        auth: { kind: 'hs256', secret: randomBytes(32), issuer: 'switchboard', audience: 'switchboard-api' },
        recordings: { kind: 'local', dir: os.tmpdir(), secret: randomBytes(32), publicBaseUrl: undefined, defaultExpiresInSeconds: 900 },
      });
      config.caches = cachesOff(config.caches);
    });

    afterAll(async () => {
      for (const { server, services } of started) {
        await server.close();
        await services.close();
      }
    });

    // As `npm start` builds it: services with the dev token, then the server.
    const startApp = async () => {
      const database = openDatabase({ connectionString: testDatabaseUrl(), max: 2 });
      const services = await createServices(config, createLogger({ level: 'silent' }), { database, devToken });
      const server = await createServer(services);
      started.push({ server, services });
      return server;
    };

    it('a browser on this machine gets GraphiQL with the token prefilled', async () => {
      const app = await startApp();
      const { port } = await app.listen(0, '127.0.0.1');
      const page = await fetch(`http://127.0.0.1:${port}/graphiql`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain(`Bearer ${devToken}`);
    });

    it('a peer without a loopback address gets GraphiQL without it, whatever X-Forwarded-For or Host claim', async () => {
      // A Unix socket: a real connection to the real server whose peer has no
      // loopback address, without sending anything off this machine.
      const app = await startApp();
      const socketPath = path.join(mkdtempSync(path.join(os.tmpdir(), 'switchboard-sock-')), 'http.sock');
      await app.fastify.listen({ path: socketPath });
      const get = (headers: Record<string, string>) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const request = http.get({ socketPath, path: '/graphiql', headers }, (response) => {
            let body = '';
            response.on('data', (chunk: Buffer) => (body += chunk.toString()));
            response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
          });
          request.on('error', reject);
        });
      const claims: Record<string, string>[] = [
        {},
        { 'x-forwarded-for': '127.0.0.1', host: 'localhost:4000' },
        { 'x-real-ip': '::1', forwarded: 'for=127.0.0.1' },
      ];
      for (const headers of claims) {
        const page = await get(headers);
        expect(page.status).toBe(200);
        expect(page.body).toContain('graphiql.min.js');
        expect(page.body).not.toContain(devToken);
        expect(page.body).not.toContain('Bearer');
      }
    });
  });
});

describe('production and the demo webhook secrets', () => {
  let databaseUrl: string;
  let slug: string;

  beforeAll(async () => {
    // The whole database is checked, so this one has a database of its own.
    databaseUrl = await freshDatabase(`switchboard_demo_secret_${process.pid}`);
    const pool = createPool({ connectionString: databaseUrl, max: 1 });
    const db = createDb(pool);
    await migrateToLatest(db);
    const org = await createOrg(db);
    slug = org.slug;
    // What a development seed leaves: the organisation's well-known secret, active.
    await createWebhookSecret(db, org.id, { secret: demoWebhookSecret(slug) });
    await pool.end();
  });

  const production = () =>
    envWith({ NODE_ENV: 'production', DATABASE_URL: databaseUrl, PORT: '0', HOST: '127.0.0.1', JWT_SECRET: SECRET, RECORDINGS_SECRET: SECRET });

  it('refuse to start while one is active, naming the organisation and the command that rotates it; start once it is rotated', async () => {
    const refused = await startServer(production());
    const first = await refused.stop();
    expect(refused.ready).toBe(false);
    expect(first.code).toBe(1);
    expect(first.stderr).toContain(`well-known demo webhook secret is active for ${slug}`);
    expect(first.stderr).toContain(`npm run -s webhook:secret -- --org ${slug} --grace-seconds 0`);
    expect(first.stderr).not.toMatch(STACK_FRAME);

    const rotated = await run('webhookSecret', ['--org', slug, '--grace-seconds', '0'], production());
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toMatch(/^whsec_/);

    const started = await startServer(production());
    const second = await started.stop();
    expect([started.ready, second.stderr]).toEqual([true, '']);
    expect(second.code).toBe(0);
  }, 120_000);
});
