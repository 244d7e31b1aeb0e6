import pg from 'pg';
import { INVALIDATION_CHANNEL, parseInvalidation, type Invalidation } from '../../src/cache/listener';
import { testDatabaseUrl } from './db';
import type { TestServer } from './server';

/**
 * Helpers for the cache specs: writes from "another process" (a connection of
 * its own, raw SQL), waiting for an instance to hear of them, and a settable
 * clock for TTLs.
 */

/** Runs raw SQL on a fresh connection that no server shares, then closes it. */
export async function writeElsewhere(text: string, values: unknown[] = []): Promise<void> {
  const client = new pg.Client({ connectionString: testDatabaseUrl() });
  await client.connect();
  try {
    await client.query(text, values);
  } finally {
    await client.end();
  }
}

/** Resolves once `condition` holds; fails naming `what` after timeoutMs. */
export async function eventually(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Performs a write and waits until every given server has heard its NOTIFY
 * (the organisation's cache generation moved): the stated bound on staleness
 * for writes an instance did not serve itself.
 */
export async function afterInvalidation<T>(servers: TestServer[], orgId: string, write: () => Promise<T>): Promise<T> {
  const before = servers.map((server) => server.services.caches.generationOf(orgId));
  const result = await write();
  await eventually('every instance to hear the invalidation', () =>
    servers.every((server, index) => server.services.caches.generationOf(orgId) !== before[index]),
  );
  return result;
}

/** afterInvalidation for raw SQL from a connection of its own. */
export function writeAndAwaitInvalidation(servers: TestServer[], orgId: string, text: string, values: unknown[] = []): Promise<void> {
  return afterInvalidation(servers, orgId, () => writeElsewhere(text, values));
}

/** A LISTEN connection of the test's own, collecting every invalidation published. */
export async function listenForInvalidations(): Promise<{ received: Invalidation[]; close: () => Promise<void> }> {
  const client = new pg.Client({ connectionString: testDatabaseUrl() });
  await client.connect();
  const received: Invalidation[] = [];
  client.on('notification', (message) => {
    const invalidation = parseInvalidation(message.payload);
    if (invalidation) received.push(invalidation);
  });
  await client.query(`LISTEN ${INVALIDATION_CHANNEL}`);
  return { received, close: () => client.end() };
}

/** A clock the test moves by hand (cache TTLs). */
export function manualClock(start = 1_000_000): { now(): number; advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    advance(ms) {
      now += ms;
    },
  };
}

/** The value of a counter sample in Prometheus text, 0 when absent. */
export async function metricValue(server: TestServer, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line ? Number(line.split(' ').pop()) : 0;
}
