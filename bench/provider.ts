import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { signToken } from '../src/auth/tokens';
import { openDatabase } from '../src/db/database';
import { startEmbeddedPostgres } from '../src/db/embedded';
import { migrateToLatest } from '../src/db/migrate';
import { tenantScope } from '../src/db/tenant';
import type { FaultRule } from '../src/provider/local/server';
import { setProviderApiKey } from '../src/queries/providerAccounts';
import { percentile } from './percentile';
import { freePort, untilLive } from './processes';

/**
 * The provider fields under latency and with the provider down (issue 17):
 * `agents(first: 20)` without provider fields, with `configuration` while the
 * local provider adds LATENCY ms to every answer (provider cache off, so
 * every request goes to the provider; and on, warm), and with the provider
 * failing and the organisation's circuit open. Sequential requests, so each
 * figure is one request's latency; the scenarios alternate in rounds so
 * machine noise spreads over all of them.
 *
 * Everything runs as production does, each in a process of its own: the
 * built server (`node dist/src/cli/start.js`, NODE_ENV=production, response
 * and entity caches off) twice (provider cache off / on), and the local
 * provider (bench/localProvider.ts). Only the client is in this process.
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
  log('building (npm run build)');
  if (spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' }).status !== 0) throw new Error('build failed');
  const children: ChildProcess[] = [];
  try {
    const provider = await startLocalProvider(children);
    await provider.setFaults([{ latencyMs: LATENCY }]);
    const owner = decodeURIComponent(new URL(embedded.url).username);
    const seeding = openDatabase({ connectionString: embedded.url, max: 2, statementTimeoutMs: 0 });
    // The bench serves as the owner (as bench/run.ts does): no runtime role to create.
    await migrateToLatest(seeding.db, { appRole: owner });
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

    const secret = randomBytes(32).toString('base64url');
    const start = (cacheOn: boolean) =>
      startServer(children, {
        DATABASE_URL: embedded.url,
        PG_APP_ROLE: owner,
        JWT_SECRET: secret,
        RECORDINGS_SECRET: secret,
        PG_POOL_SIZE: '5',
        RESPONSE_CACHE: 'off',
        ENTITY_CACHE: 'off',
        PROVIDER_URL: provider.url,
        // The open circuit stays open for the whole run: the breaker-open scenario measures refusals, not probes.
        PROVIDER_BREAKER_HALF_OPEN_MS: '3600000',
        PROVIDER_CACHE_MAX_STALE_SECONDS: cacheOn ? '3600' : '0',
      });
    const uncached = await start(false);
    const cached = await start(true);
    const token = async (orgId: string) =>
      signToken(new TextEncoder().encode(secret), { issuer: 'switchboard', audience: 'switchboard-api' }, { userId: '1', orgId, role: 'admin' });
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
    await provider.setFaults([{ match: 'down_agent', status: 500 }, { latencyMs: LATENCY }]);
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
    await provider.resetStats();
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
    const downRequests = (await provider.requests()).filter((request) => request.path.includes('down_agent')).length;
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
    for (const child of children) {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
    }
    await embedded.stop();
  }
}

interface ProviderProcess {
  url: string;
  setFaults(rules: FaultRule[]): Promise<void>;
  resetStats(): Promise<void>;
  requests(): Promise<{ path: string }[]>;
}

/** bench/localProvider.ts in a child process, driven over its control endpoints. */
async function startLocalProvider(children: ChildProcess[]): Promise<ProviderProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/localProvider.ts'], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split('\n')[0];
      if (output.includes('\n') && line) resolve(line.trim());
    });
    child.once('exit', (code) => reject(new Error(`the local provider exited with ${code}`)));
  });
  const control = async (action: string, method: string, body?: unknown): Promise<unknown> => {
    const response = await fetch(`${url}/__control/${action}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    if (!response.ok) throw new Error(`local provider ${action}: ${response.status}`);
    return response.json();
  };
  let faults: FaultRule[] = [];
  return {
    url,
    setFaults: async (rules) => {
      faults = rules;
      await control('faults', 'PUT', rules);
    },
    resetStats: async () => {
      // `reset` also drops the faults: put them back.
      await control('reset', 'POST');
      await control('faults', 'PUT', faults);
    },
    requests: async () => ((await control('stats', 'GET')) as { requests: { path: string }[] }).requests,
  };
}

/** The built server, as production runs it, on a free port; its /graphql URL once it is live. */
async function startServer(children: ChildProcess[], env: Record<string, string>): Promise<string> {
  const port = await freePort();
  const child = spawn(process.execPath, ['dist/src/cli/start.js'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, ...env, NODE_ENV: 'production', PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
  });
  children.push(child);
  await untilLive(child, port, 'the server');
  return `http://127.0.0.1:${port}/graphql`;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench:provider: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
