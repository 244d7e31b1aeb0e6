import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import { sql } from 'kysely';
import type { Db } from '../src/db/database';
import { signatureHeader } from '../src/webhooks/signature';

/**
 * The cached configuration under a realistic mix: the dashboard's read
 * operations in rotation while the voice provider reports calls by webhook
 * at a fixed rate. Every call event invalidates the organisation's cached
 * answers (through the database's NOTIFY), so the hit rate measured here is
 * what a busy organisation would get, not the 100% of a read-only loop.
 */
export interface MixedResult {
  requestsPerSecond: number;
  latency: { p50: number; p90: number; p99: number; max: number };
  errors: number;
  non2xx: number;
  writes: number;
  writesPerSecond: number;
  writeFailures: number;
  responseCache: { hits: number; misses: number; hitRatePercent: number | null };
}

export interface MixedRequest {
  method: 'POST';
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface MixedOptions {
  db: Db;
  orgId: string;
  orgSlug: string;
  baseUrl: string;
  reads: MixedRequest[];
  connections: number;
  durationSeconds: number;
  writesPerSecond: number;
}

/** Response-cache hit and miss counters from the server's own /metrics. */
async function responseCacheCounters(baseUrl: string): Promise<{ hits: number; misses: number }> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name}\\{cache="response"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { hits: value('switchboard_cache_hits_total'), misses: value('switchboard_cache_misses_total') };
}

export async function measureMixed(options: MixedOptions): Promise<MixedResult> {
  const { db, orgId, baseUrl } = options;
  const secret = `whsec_bench_${randomBytes(16).toString('hex')}`;
  await db.insertInto('webhook_secrets').values({ org_id: orgId, secret, expires_at: null }).execute();
  const agents = await db
    .selectFrom('agents')
    .select(['provider', 'provider_agent_id'])
    .where('org_id', '=', orgId)
    .where('status', '=', 'active')
    .orderBy('id')
    .limit(20)
    .execute();
  if (agents.length === 0) throw new Error('the bench organisation has no active agent to report calls for');

  // Each call is reported twice (started, then ended one tick later), like a provider does.
  let sent = 0;
  let failures = 0;
  const deliver = async (n: number) => {
    const agent = agents[n % agents.length];
    if (!agent) throw new Error('unreachable: agents is not empty');
    const callId = `bench-mixed-${Math.floor(n / 2)}-${process.pid}`;
    const startedAt = new Date(Date.now() - 60_000).toISOString();
    const ended = n % 2 === 1;
    const body = JSON.stringify({
      id: `evt-bench-${n}-${process.pid}`,
      type: ended ? 'call.ended' : 'call.started',
      occurred_at: new Date().toISOString(),
      provider: agent.provider,
      call: {
        id: callId,
        agent_id: agent.provider_agent_id,
        direction: 'inbound',
        from: '+15550001234',
        to: '+15550009876',
        started_at: startedAt,
        status: ended ? 'completed' : 'in_progress',
        ...(ended ? { ended_at: new Date().toISOString(), duration_seconds: 60, cost: 0.1, outcome: 'interested', sentiment: 'positive' } : {}),
      },
    });
    const response = await fetch(`${baseUrl}/webhooks/calls/${options.orgSlug}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'switchboard-signature': signatureHeader([secret], Math.floor(Date.now() / 1000), body) },
      body,
    }).catch(() => undefined);
    if (response?.status === 200) sent += 1;
    else failures += 1;
    await response?.arrayBuffer();
  };

  // Warm-up, reads only: the run then starts from a warm cache, as a server that has been up a while does.
  await autocannon({ url: baseUrl, requests: options.reads, connections: options.connections, duration: Math.min(2, options.durationSeconds) });

  const before = await responseCacheCounters(baseUrl);
  let writing = true;
  // A named function, not an IIFE: TypeScript follows an IIFE's control flow inline and would
  // take `writing` to be always true, though the `finally` below turns it off.
  const writeUntilStopped = async () => {
    const interval = 1000 / options.writesPerSecond;
    for (let n = 0; writing; n += 1) {
      const tick = Date.now();
      await deliver(n);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, interval - (Date.now() - tick))));
    }
  };
  const writer = writeUntilStopped();
  const started = Date.now();
  let result: autocannon.Result;
  try {
    result = await autocannon({
      url: baseUrl,
      requests: options.reads,
      connections: options.connections,
      duration: options.durationSeconds,
      maxOverallRequests: 200_000,
    });
  } finally {
    writing = false;
    await writer;
  }
  const seconds = (Date.now() - started) / 1000;
  const after = await responseCacheCounters(baseUrl);
  // The bench's own calls and secret go, so the dataset stays the seeded one.
  await sql`delete from calls where org_id = ${orgId}::int8 and provider_call_id like 'bench-mixed-%'`.execute(db);
  await sql`delete from webhook_events where org_id = ${orgId}::int8 and event_id like 'evt-bench-%'`.execute(db);
  await db.deleteFrom('webhook_secrets').where('org_id', '=', orgId).where('secret', '=', secret).execute();

  const hits = after.hits - before.hits;
  const misses = after.misses - before.misses;
  return {
    requestsPerSecond: Math.round(result.requests.average * 10) / 10,
    latency: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    writes: sent,
    writesPerSecond: Math.round((sent / seconds) * 10) / 10,
    writeFailures: failures,
    responseCache: { hits, misses, hitRatePercent: hits + misses > 0 ? Math.round((hits / (hits + misses)) * 1000) / 10 : null },
  };
}
