import os from 'node:os';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { signToken } from '../src/auth/tokens';
import { cachesOff } from '../src/config/caches';
import { loadConfig, type Config } from '../src/config/config';
import { openDatabase } from '../src/db/database';
import { startEmbeddedPostgres } from '../src/db/embedded';
import { migrateToLatest } from '../src/db/migrate';
import { tenantScope } from '../src/db/tenant';
import { createLogger } from '../src/logger';
import { LocalProvider } from '../src/provider/local/server';
import { setProviderApiKey } from '../src/queries/providerAccounts';
import { createServer } from '../src/server/server';
import { createServices } from '../src/server/services';
import { percentile } from './percentile';

/**
 * The provider fields under latency and with the provider down (issue 17):
 * `agents(first: 20)` without provider fields, with `configuration` while the
 * local provider adds LATENCY ms to every answer (provider cache off, so
 * every request goes to the provider; and on, warm), and with the provider
 * failing and the organisation's circuit open. Sequential requests, so each
 * figure is one request's latency; the scenarios alternate in rounds so
 * machine noise spreads over all of them.
 *
 *   npm run bench:provider -- [--requests 100] [--rounds 3] [--latency 50]
 *
 * A throwaway embedded PostgreSQL on BENCH_PG_PORT (default 62010).
 */
const { values: args } = parseArgs({
  options: { requests: { type: 'string', default: '100' }, rounds: { type: 'string', default: '3' }, latency: { type: 'string', default: '50' } },
});
const REQUESTS = Number(args.requests);
const ROUNDS = Number(args.rounds);
const LATENCY = Number(args.latency);
const log = (line: string) => process.stderr.write(`[bench:provider] ${line}\n`);

const PLAIN = `{ agents(first: 20) { edges { node { id name status } } } }`;
const WITH_CONFIGURATION = `{ agents(first: 20) { edges { node { id name status configuration { voiceName model language firstMessage stale } } } } }`;

async function main(): Promise<void> {
  const embedded = await startEmbeddedPostgres({
    dir: mkdtempSync(path.join(os.tmpdir(), 'switchboard-provider-bench-')),
    port: Number(process.env.BENCH_PG_PORT ?? 62010),
    persistent: false,
  });
  const provider = new LocalProvider({ faults: [{ latencyMs: LATENCY }] });
  const providerUrl = await provider.listen();
  const logger = createLogger({ level: 'warn' });
  const stops: (() => Promise<void>)[] = [];
  try {
    const seeding = openDatabase({ connectionString: embedded.url, max: 2, statementTimeoutMs: 0 });
    await migrateToLatest(seeding.db);
    const orgIds: Record<'healthy' | 'down', string> = { healthy: '', down: '' };
    for (const name of ['healthy', 'down'] as const) {
      const org = await seeding.db
        .insertInto('organisations')
        .values({ slug: `bench-${name}`, name, timezone: 'UTC' })
        .returning('id')
        .executeTakeFirstOrThrow();
      orgIds[name] = org.id;
      await setProviderApiKey(tenantScope(seeding.db, org.id), `xi_bench_${name}_${randomBytes(8).toString('hex')}`);
      await seeding.db
        .insertInto('agents')
        .values(
          Array.from({ length: 20 }, (_, i) => ({
            org_id: org.id,
            name: `Agent ${i}`,
            provider: 'elevenlabs',
            provider_agent_id: `${name}_agent_${i}`,
          })),
        )
        .execute();
    }
    await seeding.close();

    const secret = randomBytes(32);
    const start = async (cacheOn: boolean) => {
      const base = loadConfig({
        databaseUrl: embedded.url,
        auth: { kind: 'hs256', secret, issuer: 'switchboard', audience: 'switchboard-api' },
        poolSize: 5,
      });
      const config: Config = {
        ...base,
        caches: cachesOff(base.caches),
        // The open circuit stays open for the whole run: the breaker-open scenario measures refusals, not probes.
        provider: { ...base.provider, url: providerUrl, breakerHalfOpenMs: 3_600_000, cacheMaxStaleMs: cacheOn ? 3_600_000 : 0 },
      };
      const services = await createServices(config, logger, { database: openDatabase({ connectionString: embedded.url, max: 5 }) });
      const server = await createServer(services);
      const { port } = await server.listen(0, '127.0.0.1');
      stops.push(async () => {
        await server.close();
        await services.close();
      });
      return `http://127.0.0.1:${port}/graphql`;
    };
    const uncached = await start(false);
    const cached = await start(true);
    const token = async (orgId: string) =>
      signToken(secret, { issuer: 'switchboard', audience: 'switchboard-api' }, { userId: '1', orgId, role: 'admin' });
    const tokens = { healthy: await token(orgIds.healthy), down: await token(orgIds.down) };

    const send = async (url: string, bearer: string, query: string): Promise<{ ms: number; errors: number; body: string }> => {
      const started = performance.now();
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
        body: JSON.stringify({ query }),
      });
      const body = await response.text();
      const ms = performance.now() - started;
      return { ms, errors: (JSON.parse(body) as { errors?: unknown[] }).errors?.length ?? 0, body };
    };

    // The `down` organisation's agents all fail; open its circuit before measuring.
    provider.setFaults([{ match: 'down_agent', status: 500 }, { latencyMs: LATENCY }]);
    for (let i = 0; i < 10; i += 1) await send(uncached, tokens.down, WITH_CONFIGURATION);
    const probe = await send(uncached, tokens.down, WITH_CONFIGURATION);
    if (!probe.body.includes('breaker_open')) throw new Error(`the circuit did not open: ${probe.body.slice(0, 300)}`);

    const scenarios = [
      { name: 'no provider fields', url: uncached, token: tokens.healthy, query: PLAIN, expectErrors: false },
      {
        name: `configuration, provider +${LATENCY} ms, cache off`,
        url: uncached,
        token: tokens.healthy,
        query: WITH_CONFIGURATION,
        expectErrors: false,
      },
      { name: 'configuration, provider cache warm', url: cached, token: tokens.healthy, query: WITH_CONFIGURATION, expectErrors: false },
      { name: 'configuration, provider down, circuit open', url: uncached, token: tokens.down, query: WITH_CONFIGURATION, expectErrors: true },
    ];
    const samples = new Map<string, number[]>(scenarios.map((s) => [s.name, []]));
    for (const scenario of scenarios) for (let i = 0; i < 10; i += 1) await send(scenario.url, scenario.token, scenario.query);
    provider.resetStats();
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const scenario of scenarios) {
        for (let i = 0; i < REQUESTS; i += 1) {
          const result = await send(scenario.url, scenario.token, scenario.query);
          if (result.errors > 0 !== scenario.expectErrors) throw new Error(`${scenario.name}: unexpected answer ${result.body.slice(0, 300)}`);
          samples.get(scenario.name)?.push(result.ms);
        }
      }
      log(`round ${round + 1}/${ROUNDS} done`);
    }
    const downRequests = provider.requestsTo('down_agent').length;
    process.stdout.write(
      `\nprovider latency ${LATENCY} ms, ${ROUNDS} rounds × ${REQUESTS} sequential requests per scenario, ${os.cpus().length} cores\n\n`,
    );
    process.stdout.write('| scenario | p50 ms | p90 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|\n');
    for (const [name, values] of samples) {
      const sorted = [...values].sort((a, b) => a - b);
      const f = (p: number) => percentile(sorted, p).toFixed(1);
      process.stdout.write(`| ${name} | ${f(50)} | ${f(90)} | ${f(99)} | ${(sorted[sorted.length - 1] ?? 0).toFixed(1)} |\n`);
    }
    process.stdout.write(`\nprovider requests for the down organisation while its circuit was open: ${downRequests}\n`);
  } finally {
    for (const stop of stops) await stop();
    await provider.close();
    await embedded.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench:provider: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
