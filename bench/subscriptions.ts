import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { signToken } from '../src/auth/tokens';
import { cachesOff } from '../src/config/caches';
import { loadConfig } from '../src/config/config';
import { openDatabase } from '../src/db/database';
import { startEmbeddedPostgres } from '../src/db/embedded';
import { migrateToLatest } from '../src/db/migrate';
import { createLogger } from '../src/logger';
import { createServer } from '../src/server/server';
import { createServices } from '../src/server/services';
import { createOrg, createProviderAgent, createWebhookSecret, type ProviderAgent, type TestOrg } from '../test/support/factories';
import { callEvent, deliver, newCallScript } from '../test/support/webhooks';
import { percentile } from './percentile';

/**
 * `npm run bench:live`: SUBSCRIBERS WebSocket subscribers (callsInProgress)
 * across ORGS organisations, in a child process; the server in this one.
 * Signed call.started webhooks at RATE per second, round robin over the
 * organisations, for SECONDS. Reports delivery latency from the webhook's 2xx
 * to receipt (p50/p99 over every delivery), server CPU and RSS, and SQL
 * statements per event (the server's own statement hook).
 *
 * Env: LIVE_SUBSCRIBERS (1000), LIVE_ORGS (10), LIVE_RATE (20), LIVE_SECONDS (15),
 * BENCH_DATABASE_URL (else an embedded cluster in .data/bench-live-postgres on BENCH_LIVE_PG_PORT, 61010).
 */

const SUBSCRIBERS = Number(process.env.LIVE_SUBSCRIBERS ?? 1000);
const ORGS = Number(process.env.LIVE_ORGS ?? 10);
const RATE = Number(process.env.LIVE_RATE ?? 20);
const SECONDS = Number(process.env.LIVE_SECONDS ?? 15);
const QUERY = `subscription { callsInProgress { change call { id fromNumber status agent { name } } } }`;

/** Wall-clock ms with sub-ms precision, comparable across the two processes. */
const wallNow = () => performance.timeOrigin + performance.now();

interface ClientsMessage {
  kind: 'ready' | 'receipts';
  /** fromNumber -> receipt times */
  receipts?: Record<string, number[]>;
}

async function runClients(): Promise<void> {
  // A thousand tokens are too long for argv: they come over IPC.
  const { url, tokens } = await new Promise<{ url: string; tokens: string[] }>((resolve) =>
    process.once('message', (message: { url: string; tokens: string[] }) => resolve(message)),
  );
  const receipts: Record<string, number[]> = {};
  let subscribed = 0;
  const clients = tokens.map((token) => {
    const client = createClient({
      url: url.replace(/^http/, 'ws') + '/graphql',
      webSocketImpl: WebSocket,
      connectionParams: { token },
      lazy: false,
      retryAttempts: 0,
    });
    client.subscribe<{ callsInProgress: { change: string; call: { fromNumber: string } } }>(
      { query: QUERY },
      {
        next: (value) => {
          const at = wallNow();
          const from = value.data?.callsInProgress.call.fromNumber;
          if (from) (receipts[from] ??= []).push(at);
        },
        error: (error) => console.error('subscriber error', error),
        complete: () => {},
      },
    );
    client.on('connected', () => {
      subscribed += 1;
      if (subscribed === tokens.length) process.send?.({ kind: 'ready' } satisfies ClientsMessage);
    });
    return client;
  });
  process.on('message', (message: string) => {
    if (message !== 'report') return;
    process.send?.({ kind: 'receipts', receipts } satisfies ClientsMessage, () => {
      for (const client of clients) void client.dispose();
      process.exit(0);
    });
  });
}

async function main(): Promise<void> {
  let base = process.env.BENCH_DATABASE_URL;
  let stopPostgres = async () => {};
  if (!base) {
    const embedded = await startEmbeddedPostgres({
      dir: path.join(loadConfig().dataDir, 'bench-live-postgres'),
      port: Number(process.env.BENCH_LIVE_PG_PORT ?? 61010),
      persistent: true,
      database: 'postgres',
    });
    base = embedded.url;
    stopPostgres = () => embedded.stop();
  }
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query('drop database if exists switchboard_bench_live');
  await admin.query('create database switchboard_bench_live');
  await admin.end();
  const url = new URL(base);
  url.pathname = '/switchboard_bench_live';

  const secret = new TextEncoder().encode(randomBytes(32).toString('base64url'));
  const config = loadConfig({ databaseUrl: url.toString(), auth: { kind: 'hs256', secret, issuer: 'switchboard', audience: 'switchboard-api' } });
  const database = openDatabase({ connectionString: url.toString(), max: 10 });
  await migrateToLatest(database.db);
  const orgs: { org: TestOrg; agent: ProviderAgent; secret: string }[] = [];
  for (let index = 0; index < ORGS; index += 1) {
    const org = await createOrg(database.db);
    orgs.push({ org, agent: await createProviderAgent(database.db, org.id), secret: await createWebhookSecret(database.db, org.id) });
  }
  const pick = (index: number) => {
    const entry = orgs[index % ORGS];
    if (!entry) throw new Error('no organisation');
    return entry;
  };
  const services = await createServices({ ...config, caches: cachesOff(config.caches) }, createLogger({ level: 'warn' }), { database });
  const server = await createServer(services);
  const address = await server.listen(0, '127.0.0.1');
  const baseUrl = `http://127.0.0.1:${address.port}`;
  const tokens = await Promise.all(
    Array.from({ length: SUBSCRIBERS }, (_, index) => {
      const { org } = pick(index);
      return signToken(secret, config.auth, { userId: org.users.viewer, orgId: org.id, role: 'viewer' });
    }),
  );

  const rssBefore = process.memoryUsage().rss;
  const child = fork(__filename, ['--clients'], { execArgv: ['--import', 'tsx'] });
  child.send({ url: baseUrl, tokens });
  const fromChild = new Promise<Record<string, number[]>>((resolve) => {
    child.on('message', (message: ClientsMessage) => {
      if (message.kind === 'ready') console.log(`${SUBSCRIBERS} subscribers connected across ${ORGS} organisations`);
      if (message.kind === 'receipts') resolve(message.receipts ?? {});
    });
  });
  await new Promise<void>((resolve) => child.on('message', (message: ClientsMessage) => message.kind === 'ready' && resolve()));
  // Every subscription has read its first state.
  await new Promise((resolve) => setTimeout(resolve, 2000));

  const statements = new Map<string, number>();
  const stopCounting = services.database.onQuery((event) => {
    const key = event.sql.replace(/\s+/g, ' ').slice(0, 90);
    statements.set(key, (statements.get(key) ?? 0) + 1);
  });
  const sent: { from: string; okAt: number }[] = [];
  const cpuBefore = process.cpuUsage();
  const startedAt = performance.now();
  const total = RATE * SECONDS;
  const deliveries: Promise<void>[] = [];
  for (let index = 0; index < total; index += 1) {
    const due = startedAt + (index * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const { org, agent, secret: webhookSecret } = pick(index);
    const from = `+1646${String(1_000_000 + index).padStart(7, '0')}`;
    const script = newCallScript(agent, { from, startedAt: new Date() });
    deliveries.push(
      deliver(baseUrl, org.slug, callEvent(script, 'call.started'), { secrets: [webhookSecret] }).then((reply) => {
        const okAt = wallNow();
        if (reply.status !== 200) throw new Error(`webhook answered ${reply.status}: ${reply.text}`);
        sent.push({ from, okAt });
      }),
    );
  }
  await Promise.all(deliveries);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const cpu = process.cpuUsage(cpuBefore);
  const elapsedS = (performance.now() - startedAt) / 1000;
  stopCounting();
  const rssAfter = process.memoryUsage().rss;
  child.send('report');
  const receipts = await fromChild;

  const latencies: number[] = [];
  let missing = 0;
  const perOrg = SUBSCRIBERS / ORGS;
  for (const { from, okAt } of sent) {
    const times = receipts[from] ?? [];
    missing += Math.max(0, perOrg - times.length);
    for (const at of times) latencies.push(at - okAt);
  }
  latencies.sort((a, b) => a - b);
  const perEvent = Object.fromEntries(
    [...statements].sort((a, b) => b[1] - a[1]).map(([text, count]) => [text, round(count / Math.max(1, sent.length))]),
  );
  console.log(
    JSON.stringify(
      {
        subscribers: SUBSCRIBERS,
        orgs: ORGS,
        ratePerSecond: RATE,
        events: sent.length,
        deliveries: latencies.length,
        missingDeliveries: missing,
        latencyMs: {
          p50: round(percentile(latencies, 50)),
          p99: round(percentile(latencies, 99)),
          max: round(latencies.at(-1) ?? NaN),
          min: round(latencies[0] ?? NaN),
        },
        serverCpuPercent: round(((cpu.user + cpu.system) / 1000 / (elapsedS * 1000)) * 100),
        rssMb: { beforeSubscribers: round(rssBefore / 2 ** 20), after: round(rssAfter / 2 ** 20) },
        // Everything the server ran in the window, by statement (first 90 characters): the webhook's own work and the subscriptions'.
        statementsPerEvent: perEvent,
      },
      null,
      2,
    ),
  );
  await server.close();
  await services.close();
  await stopPostgres();
}

const round = (value: number) => Math.round(value * 100) / 100;

if (process.argv[2] === '--clients') void runClients();
else
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
