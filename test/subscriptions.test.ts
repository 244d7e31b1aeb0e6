import { sql } from 'kysely';
import type { Db } from '../src/db/database';
import { toGlobalId } from '../src/graphql/globalId';
import { openTestDb } from './support/db';
import { createAgent, createCall, createCalls, createOrg, createProviderAgent, createWebhookSecret, type TestOrg } from './support/factories';
import { connectLive, type LiveClient } from './support/live';
import { startTestServer, type TestServer } from './support/server';
import { sleep, waitFor } from './support/waiting';
import WebSocket from 'ws';
import { createClient as createSseClient } from 'graphql-sse';
import { callEvent, deliver, newCallScript } from './support/webhooks';

/**
 * Subscriptions over GraphQL over WebSocket (graphql-ws on /graphql): fed by
 * the database's NOTIFY stream, so a write through any instance, a webhook
 * or plain SQL reaches subscribers on every instance; tenant-safe; one
 * statement per organisation per event batch however many subscribe.
 */

const CALLS_IN_PROGRESS = `subscription Live($agentId: ID) {
  callsInProgress(agentId: $agentId) { change call { id status durationSeconds outcome agent { name } } }
}`;
const CALL_UPDATED = `subscription One($id: ID!) { callUpdated(id: $id) { id status hasRecording transcript { text } } }`;

describe('subscriptions over WebSocket', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let serverA: TestServer;
  let serverB: TestServer;
  let org: TestOrg;
  let other: TestOrg;
  const clients: LiveClient[] = [];

  const connect = async (server: TestServer, params: Record<string, unknown> | undefined) => {
    const live = connectLive(server.url, params);
    clients.push(live);
    return live;
  };
  const connectAs = async (server: TestServer, who: TestOrg) => connect(server, { authorization: `Bearer ${await server.tokenFor(who, 'viewer')}` });

  beforeAll(async () => {
    ({ db, close: closeDb } = openTestDb());
    serverA = await startTestServer();
    // The same database, another instance with its own LISTEN connection and its own secret: tokens are per server.
    serverB = await startTestServer({ configure: (config) => ({ ...config, auth: serverA.config.auth }) });
    org = await createOrg(db);
    other = await createOrg(db);
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.dispose()));
  });

  afterAll(async () => {
    await serverA.close();
    await serverB.close();
    await closeDb();
  });

  describe('authentication in connection_init', () => {
    it('closes 4401 without a token, 4403 with an invalid one, 4401 when an expired one arrives', async () => {
      const none = await connect(serverB, undefined);
      expect((await none.closed).code).toBe(4401);
      const forged = await connect(serverB, { authorization: 'Bearer not.a.token' });
      expect(await forged.closed).toEqual({ code: 4403, reason: 'Forbidden: token is not valid' });
      const expired = await connect(serverB, { authorization: `Bearer ${await serverB.tokenFor(org, 'viewer', { expiresInSeconds: -60 })}` });
      expect((await expired.closed).code).toBe(4401);
    });

    it('closes the socket 4401 when the token expires while it is open', async () => {
      const live = await connect(serverB, { token: await serverB.tokenFor(org, 'viewer', { expiresInSeconds: 2 }) });
      await live.connected;
      const started = Date.now();
      expect(await live.closed).toEqual({ code: 4401, reason: 'Unauthorized: token expired' });
      expect(Date.now() - started).toBeGreaterThan(500);
    });
  });

  describe('across instances', () => {
    it('a signed webhook call.started on instance A reaches a subscriber on B, a raw SQL update too, and call.ended ends the call', async () => {
      const agent = await createProviderAgent(db, org.id);
      const secret = await createWebhookSecret(db, org.id);
      const live = await connectAs(serverB, org);
      const subscription = live.subscribe(CALLS_IN_PROGRESS);
      await live.connected;
      await sleep(200); // the subscription's first state (no live calls) is read
      expect(subscription.events).toEqual([]);

      const script = newCallScript(agent);
      const started = await deliver(serverA.url, org.slug, callEvent(script, 'call.started'), { secrets: [secret] });
      expect(started.status).toBe(200);
      const [first] = await subscription.waitForEvents(1);
      expect(first.data.callsInProgress).toMatchObject({ change: 'STARTED', call: { status: 'IN_PROGRESS' } });
      const callId = first.data.callsInProgress.call.id as string;

      const local = (
        await db.selectFrom('calls').select('id').where('org_id', '=', org.id).where('provider_call_id', '=', script.callId).executeTakeFirstOrThrow()
      ).id;
      expect(toGlobalId('Call', local)).toBe(callId);
      await sql`update calls set duration_seconds = 42 where id = ${local}`.execute(db);
      const [, changed] = await subscription.waitForEvents(2);
      expect(changed.data.callsInProgress).toMatchObject({ change: 'CHANGED', call: { id: callId, durationSeconds: 42 } });

      expect((await deliver(serverA.url, org.slug, callEvent(script, 'call.ended'), { secrets: [secret] })).status).toBe(200);
      const [, , ended] = await subscription.waitForEvents(3);
      expect(ended.data.callsInProgress).toMatchObject({ change: 'ENDED', call: { id: callId, status: 'COMPLETED', outcome: 'APPOINTMENT_BOOKED' } });
    });

    it('callUpdated gives the call now, then its recording and transcript as they become ready', async () => {
      const agentId = await createAgent(db, org.id);
      const callId = await createCall(db, org.id, { agentId, status: 'completed' });
      const live = await connectAs(serverB, org);
      const subscription = live.subscribe(CALL_UPDATED, { id: toGlobalId('Call', callId) });
      const [now] = await subscription.waitForEvents(1);
      expect(now.data.callUpdated).toEqual({ id: toGlobalId('Call', callId), status: 'COMPLETED', hasRecording: false, transcript: null });

      await db
        .updateTable('calls')
        .set({ recording_key: `recordings/${callId}.wav` })
        .where('id', '=', callId)
        .execute();
      await subscription.waitForEvents(2);
      expect(subscription.events[1].data.callUpdated).toMatchObject({ hasRecording: true, transcript: null });
      await db
        .insertInto('call_transcripts')
        .values({ org_id: org.id, call_id: callId, text: 'Hello', segments: JSON.stringify([]) })
        .execute();
      await subscription.waitForEvents(3);
      expect(subscription.events[2].data.callUpdated).toMatchObject({ hasRecording: true, transcript: { text: 'Hello' } });
    });

    it("another organisation's call is NOT_FOUND, exactly like one that does not exist", async () => {
      const agentId = await createAgent(db, other.id);
      const theirs = await createCall(db, other.id, { agentId });
      const live = await connectAs(serverB, org);
      const subscription = live.subscribe(CALL_UPDATED, { id: toGlobalId('Call', theirs) });
      await waitFor('the subscription to end', () => subscription.completed || subscription.errors.length > 0);
      // graphql-js answers a failed subscribe with one result carrying the error; graphql-ws then completes.
      expect(subscription.events).toEqual([
        expect.objectContaining({
          errors: [expect.objectContaining({ message: 'Call not found', extensions: { code: 'NOT_FOUND', argument: 'id' } })],
        }),
      ]);
      expect(subscription.events[0].data).toBeUndefined();
    });
  });

  describe('tenant isolation', () => {
    it('subscribers of two organisations each receive exactly their own calls under interleaved writes', async () => {
      const [org, other] = [await createOrg(db), await createOrg(db)];
      const agents = { [org.id]: await createAgent(db, org.id), [other.id]: await createAgent(db, other.id) };
      const mine = [await connectAs(serverA, org), await connectAs(serverB, org)].map((live) => live.subscribe(CALLS_IN_PROGRESS));
      const theirs = [await connectAs(serverA, other), await connectAs(serverB, other)].map((live) => live.subscribe(CALLS_IN_PROGRESS));
      await sleep(300);
      const written: Record<string, string[]> = { [org.id]: [], [other.id]: [] };
      const writes = [];
      for (let round = 0; round < 10; round += 1) {
        for (const who of [org.id, other.id]) {
          writes.push(
            createCalls(db, who, [
              { agentId: agents[who]!, status: 'in_progress' },
              { agentId: agents[who]!, status: 'ringing' },
            ]).then((ids) => void written[who]!.push(...ids)),
          );
        }
      }
      await Promise.all(writes);
      // A call written while a subscription reads its first state comes as STARTED, then CHANGED: ids, not events, are compared.
      const idsOf = (subscription: { events: { data: { callsInProgress: { call: { id: string } } } }[] }) => [
        ...new Set(subscription.events.map((event) => event.data.callsInProgress.call.id)),
      ];
      for (const [subscriptions, who] of [
        [mine, org.id],
        [theirs, other.id],
      ] as const) {
        const expected = written[who]!.map((id) => toGlobalId('Call', id)).sort();
        for (const subscription of subscriptions) {
          await waitFor(`${expected.length} calls`, () => idsOf(subscription).length >= expected.length);
          await sleep(100);
          expect(idsOf(subscription).sort()).toEqual(expected);
        }
      }
    });
  });

  describe('cost per subscriber', () => {
    it('the SQL statements an event batch costs do not grow with the number of subscribers', async () => {
      const org = await createOrg(db);
      const agentId = await createAgent(db, org.id, { name: 'Ada' });
      const callId = await createCall(db, org.id, { agentId, status: 'in_progress' });
      const statementsFor = async (subscribers: number) => {
        const lives = await Promise.all(Array.from({ length: subscribers }, () => connectAs(serverB, org)));
        const subscriptions = lives.map((live) => live.subscribe(CALLS_IN_PROGRESS));
        for (const subscription of subscriptions) await subscription.waitForEvents(1);
        const statements: string[] = [];
        const stop = serverB.services.database.onQuery((event) => void statements.push(event.sql));
        await sql`update calls set duration_seconds = duration_seconds + 1 where id = ${callId}`.execute(db);
        for (const subscription of subscriptions) await subscription.waitForEvents(2);
        await sleep(100);
        stop();
        for (const subscription of subscriptions) {
          expect(subscription.events[1].data.callsInProgress).toMatchObject({ change: 'CHANGED', call: { agent: { name: 'Ada' } } });
        }
        await Promise.all(lives.map((live) => live.dispose()));
        return statements;
      };
      const one = await statementsFor(1);
      const twenty = await statementsFor(20);
      // The changed calls, then their agents: one statement each, for one subscriber or twenty.
      expect(one).toHaveLength(2);
      expect(twenty).toEqual(one);
    });
  });

  describe('figures', () => {
    it('dashboardChanged gives the panel now, then the new values when calls arrive, at most once per second', async () => {
      const org = await createOrg(db);
      const agentId = await createAgent(db, org.id);
      const live = await connectAs(serverB, org);
      const subscription = live.subscribe(`subscription { dashboardChanged(range: { preset: TODAY }) { totalCalls { current } } }`);
      const [now] = await subscription.waitForEvents(1);
      expect(now.data.dashboardChanged.totalCalls.current).toBe(0);

      const startedAt = new Date(Date.now() - 60_000);
      const firstWriteAt = Date.now();
      for (let index = 0; index < 5; index += 1) await createCall(db, org.id, { agentId, startedAt });
      await waitFor('the five calls in the panel', () => subscription.events.at(-1)?.data.dashboardChanged.totalCalls.current === 5, 5000);
      const elapsed = Date.now() - firstWriteAt;
      // Five writes in a row: at most one event per elapsed second (plus the first), never one per write.
      expect(subscription.events.length - 1).toBeLessThanOrEqual(1 + Math.floor(elapsed / 1000));
      expect(subscription.events.length - 1).toBeLessThan(5);
    });
  });

  describe('limits and lifecycle', () => {
    let limited: TestServer;

    beforeAll(async () => {
      limited = await startTestServer({
        configure: (config) => ({
          ...config,
          auth: serverA.config.auth,
          live: { ...config.live, maxConnections: 3, maxSubscriptionsPerConnection: 2, maxSubscriptionsPerOrg: 3, maxQueuedEvents: 5 },
          queryLimits: { ...config.queryLimits, maxDepth: 3 },
        }),
      });
    });

    afterAll(async () => {
      await limited.close();
    });

    const IDLE = `subscription { callsInProgress { change } }`;

    it('refuses a subscription past the per-connection limit, and past the per-organisation limit', async () => {
      const org = await createOrg(db);
      const first = await connectAs(limited, org);
      const own = [first.subscribe(IDLE), first.subscribe(IDLE), first.subscribe(IDLE)];
      await waitFor('the third refused', () => own[2]!.errors.length > 0);
      expect(own[2]!.errors).toEqual([
        [expect.objectContaining({ message: 'At most 2 subscriptions per connection', extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' } })],
      ]);

      const second = await connectAs(limited, org);
      const more = [second.subscribe(IDLE), second.subscribe(IDLE)];
      await waitFor('one of them refused', () => more.some((subscription) => subscription.completed));
      const refused = more.find((subscription) => subscription.completed)!;
      expect(refused.events[0].errors[0].extensions.code).toBe('TOO_MANY_SUBSCRIPTIONS');
      // Another organisation is not affected.
      const elsewhere = (await connectAs(limited, await createOrg(db))).subscribe(IDLE);
      await sleep(200);
      expect(elsewhere.errors).toEqual([]);
      expect(elsewhere.completed).toBe(false);
    });

    it('refuses a connection past the limit with 503 TOO_MANY_CONNECTIONS', async () => {
      const org = await createOrg(db);
      const open = [await connectAs(limited, org), await connectAs(limited, org), await connectAs(limited, org)];
      await Promise.all(open.map((live) => live.connected));
      const refused = await new Promise<{ status: number | undefined; body: string }>((resolve) => {
        const socket = new WebSocket(`${limited.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
        socket.on('unexpected-response', (_request, response) => {
          let body = '';
          response.on('data', (chunk: Buffer) => (body += chunk.toString()));
          response.on('end', () => resolve({ status: response.statusCode, body }));
        });
      });
      expect(refused.status).toBe(503);
      expect(JSON.parse(refused.body)).toEqual({ errors: [{ message: expect.any(String), extensions: { code: 'TOO_MANY_CONNECTIONS' } }] });
    });

    it('applies the depth rule to subscriptions and serves only subscriptions', async () => {
      const live = await connectAs(limited, await createOrg(db));
      const deep = live.subscribe(`subscription { callsInProgress { call { agent { calls { nodes { id } } } } } }`);
      const query = live.subscribe(`{ viewer { role } }`);
      await waitFor('both refused', () => deep.errors.length > 0 && query.errors.length > 0);
      expect(deep.errors[0]).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'QUERY_TOO_DEEP' }) })]);
      expect(query.errors[0]).toEqual([expect.objectContaining({ extensions: { code: 'OPERATION_NOT_SUPPORTED' } })]);
    });

    it('closes a consumer whose events pile up past the limit with 4008, and reports live figures in /metrics', async () => {
      const org = await createOrg(db);
      const agentId = await createAgent(db, org.id);
      const live = await connectAs(limited, org);
      live.subscribe(`subscription { callsInProgress { change call { id } } }`);
      await live.connected;
      await sleep(200);
      const metrics = await (await fetch(`${limited.url}/metrics`)).text();
      expect(metrics).toMatch(/^switchboard_live_connections [1-9]/m);
      expect(metrics).toMatch(/^switchboard_live_subscriptions [1-9]/m);
      expect(metrics).toMatch(/^switchboard_live_delivery_lag_seconds_count/m);
      // Twenty calls at once: more than the five events a subscription may have waiting.
      await createCalls(
        db,
        org.id,
        Array.from({ length: 20 }, () => ({ agentId, status: 'in_progress' as const })),
      );
      expect(await live.closed).toEqual({ code: 4008, reason: 'Slow consumer: events were not read' });
    });

    it('SIGTERM (drain) closes open sockets with 1001', async () => {
      const draining = await startTestServer({ configure: (config) => ({ ...config, auth: serverA.config.auth }) });
      const org = await createOrg(db);
      const live = await connectAs(draining, org);
      live.subscribe(IDLE);
      await live.connected;
      await draining.app.drain(2000);
      expect((await live.closed).code).toBe(1001);
      await draining.close();
    });
  });

  describe('keep-alive (graphql-ws ping/pong)', () => {
    let pinging: TestServer;
    beforeAll(async () => {
      pinging = await startTestServer({
        configure: (config) => ({ ...config, auth: serverA.config.auth, live: { ...config.live, keepAliveMs: 150 } }),
      });
    });
    afterAll(() => pinging.close());

    /** A bare graphql-transport-ws socket, acknowledged, counting the server's pings. */
    const openSocket = async (autoPong: boolean) => {
      const socket = new WebSocket(`${pinging.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws', { autoPong });
      const state = { pings: 0, closed: undefined as number | undefined };
      socket.on('ping', () => void (state.pings += 1));
      socket.on('close', (code) => void (state.closed = code));
      await new Promise((resolve) => socket.once('open', resolve));
      const token = await pinging.tokenFor(org, 'viewer');
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
      await new Promise<void>((resolve) => socket.once('message', () => resolve()));
      return { socket, state };
    };

    it('pings every LIVE_KEEPALIVE_MS and keeps a socket that answers open', async () => {
      const { socket, state } = await openSocket(true);
      try {
        await waitFor('three pings', () => state.pings >= 3, 5000);
        expect(state.closed).toBeUndefined();
        expect(socket.readyState).toBe(WebSocket.OPEN);
      } finally {
        socket.close();
      }
    });

    it('cuts a socket that does not answer a ping by the next one', async () => {
      const { socket, state } = await openSocket(false);
      await waitFor('the silent socket cut', () => state.closed !== undefined, 5000);
      expect(state.pings).toBeGreaterThanOrEqual(1);
      // Terminated, not closed with a handshake: the peer is presumed gone.
      expect(state.closed).toBe(1006);
      expect(socket.readyState).toBe(WebSocket.CLOSED);
    });
  });

  describe('one LISTEN connection per instance', () => {
    /** The instance's backends that LISTEN: its pool never does, so these are its listener connections. */
    const listeningBackends = async (server: TestServer) => {
      const { rows } = await sql<{ pid: number }>`select pid from pg_stat_activity
        where application_name like ${`${server.applicationName}-%`} and query ilike 'listen %'`.execute(db);
      return rows.map((row) => row.pid);
    };

    it('caches and subscribers hear every write through the same one connection, also after it is lost and back', async () => {
      const cached = await startTestServer({ caches: true, configure: (config) => ({ ...config, auth: serverA.config.auth }) });
      try {
        const org = await createOrg(db);
        const agentId = await createAgent(db, org.id);
        const callId = await createCall(db, org.id, { agentId, status: 'in_progress' });
        expect(cached.services.caches.trusted()).toBe(true);
        const [listenerPid] = await listeningBackends(cached);
        expect(listenerPid).toBe(cached.services.caches.listener!.backendPid);

        const live = await connectAs(cached, org);
        const subscriptions = [live.subscribe(CALLS_IN_PROGRESS), live.subscribe(CALL_UPDATED, { id: toGlobalId('Call', callId) })];
        for (const subscription of subscriptions) await subscription.waitForEvents(1);
        expect(await listeningBackends(cached)).toEqual([listenerPid]);

        const generation = cached.services.caches.generationOf(org.id);
        await sql`update calls set duration_seconds = 7 where id = ${callId}`.execute(db);
        for (const subscription of subscriptions) await subscription.waitForEvents(2);
        expect(cached.services.caches.generationOf(org.id)).not.toBe(generation);

        // Lost: both flush or resync, and both come back on the one new connection.
        await sql`select pg_terminate_backend(${listenerPid!})`.execute(db);
        await waitFor('the listener back', () => cached.services.caches.trusted() && cached.services.caches.listener!.connections === 2);
        const backAgain = await listeningBackends(cached);
        expect(backAgain).toHaveLength(1);
        expect(backAgain).not.toEqual([listenerPid]);
        const before = cached.services.caches.generationOf(org.id);
        await sql`update calls set duration_seconds = 8 where id = ${callId}`.execute(db);
        await waitFor('the subscriber to hear it', () =>
          subscriptions[0]!.events.some((event) => event.data?.callsInProgress?.call?.durationSeconds === 8),
        );
        await waitFor('the caches to hear it', () => cached.services.caches.generationOf(org.id) !== before);
        expect(await listeningBackends(cached)).toEqual(backAgain);
      } finally {
        await cached.close();
      }
    });

    it('without caches, the first subscription opens the one connection and later ones share it', async () => {
      const uncached = await startTestServer({ configure: (config) => ({ ...config, auth: serverA.config.auth }) });
      try {
        const org = await createOrg(db);
        await createCall(db, org.id, { agentId: await createAgent(db, org.id), status: 'in_progress' });
        expect(await listeningBackends(uncached)).toEqual([]);
        const first = (await connectAs(uncached, org)).subscribe(CALLS_IN_PROGRESS);
        await first.waitForEvents(1);
        const second = (await connectAs(uncached, org)).subscribe(CALLS_IN_PROGRESS);
        await second.waitForEvents(1);
        expect(await listeningBackends(uncached)).toHaveLength(1);
      } finally {
        await uncached.close();
      }
    });
  });

  describe('over Server-Sent Events (/graphql/stream)', () => {
    /** A raw graphql-sse stream (distinct connections mode), read as it arrives: how it ends is the point. */
    const openStream = async (server: TestServer, token: string, query: string) => {
      const response = await fetch(`${server.url}/graphql/stream`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query }),
      });
      const state = { text: '', ended: undefined as 'done' | 'cut' | undefined };
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      void (async () => {
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) return void (state.ended = 'done');
            state.text += decoder.decode(value, { stream: true });
          }
        } catch {
          state.ended = 'cut';
        }
      })();
      return { response, state, cancel: () => reader.cancel().catch(() => {}) };
    };

    it('ends the stream when the token expires while it is open', async () => {
      const token = await serverB.tokenFor(org, 'viewer', { expiresInSeconds: 2 });
      const started = Date.now();
      const { response, state, cancel } = await openStream(serverB, token, `subscription { callsInProgress { change } }`);
      try {
        expect(response.status).toBe(200);
        await waitFor('the stream to end', () => state.ended !== undefined, 5000);
        expect(state.ended).toBe('done');
        expect(Date.now() - started).toBeGreaterThan(500);
      } finally {
        await cancel();
      }
    });

    it('cuts a consumer whose events pile up past the limit', async () => {
      const bounded = await startTestServer({
        configure: (config) => ({ ...config, auth: serverA.config.auth, live: { ...config.live, maxQueuedEvents: 5 } }),
      });
      try {
        const org = await createOrg(db);
        const agentId = await createAgent(db, org.id);
        const { state, cancel } = await openStream(
          bounded,
          await bounded.tokenFor(org, 'viewer'),
          `subscription { callsInProgress { change call { id } } }`,
        );
        await waitFor('the subscription to start', () => bounded.services.live.count === 1);
        // Twenty calls at once: more than the five events a subscription may have waiting.
        await createCalls(
          db,
          org.id,
          Array.from({ length: 20 }, () => ({ agentId, status: 'in_progress' as const })),
        );
        await waitFor('the stream cut', () => state.ended !== undefined, 5000);
        await cancel();
        expect(state.ended).toBe('cut');
        expect(state.text.split('event: next').length - 1).toBeLessThan(20);
        await waitFor('the subscriber gone from the hub', () => bounded.services.live.count === 0);
      } finally {
        await bounded.close();
      }
    });

    it('the same subscription reaches a graphql-sse client; a missing token is a 401', async () => {
      const org = await createOrg(db);
      const agentId = await createAgent(db, org.id);
      const token = await serverB.tokenFor(org, 'viewer');
      const client = createSseClient({ url: `${serverB.url}/graphql/stream`, headers: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
      const received: unknown[] = [];
      const stop = client.subscribe(
        { query: CALLS_IN_PROGRESS },
        { next: (value) => void received.push(value), error: (error) => void received.push({ failed: error }), complete: () => {} },
      );
      try {
        await sleep(300);
        const callId = await createCall(db, org.id, { agentId, status: 'ringing' });
        await waitFor('the call over SSE', () => received.length > 0);
        expect(received[0]).toMatchObject({
          data: { callsInProgress: { change: 'STARTED', call: { id: toGlobalId('Call', callId), status: 'RINGING' } } },
        });
      } finally {
        stop();
        client.dispose();
      }

      const anonymous = await fetch(`${serverB.url}/graphql/stream`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({ query: CALLS_IN_PROGRESS }),
      });
      expect(anonymous.status).toBe(401);
      expect(await anonymous.json()).toEqual({ errors: [{ message: 'A valid bearer token is required', extensions: { code: 'UNAUTHENTICATED' } }] });
    });
  });
});
