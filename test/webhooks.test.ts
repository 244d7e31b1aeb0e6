import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { sql } from 'kysely';
import type { Db } from '../src/db/database';
import { tenantScope } from '../src/db/tenant';
import { Random } from '../src/seed/random';
import { dashboardFigures } from '../src/stats/dashboard';
import { rollupDifferences } from '../src/stats/rollupCheck';
import { signPayload, signatureHeader } from '../src/webhooks/signature';
import { openTestDb, testDatabaseUrl } from './support/db';
import { countRows, createContact, createOrg, createProviderAgent, createWebhookSecret, type ProviderAgent, type TestOrg } from './support/factories';
import { startTestServer, type TestServer } from './support/server';
import { callEvent, deliver, inParallel, newCallScript, type CallScript, type Delivery, type EventType } from './support/webhooks';

/**
 * POST /webhooks/calls/{org}: the voice provider reports calls. Only a
 * delivery signed with an active secret of that organisation gets in; each
 * event takes effect exactly once however often and in whatever order it
 * arrives; every call converges to the same final row; statistics stay exact.
 */

const BODY_LIMIT = 64 * 1024;
const EVENT_TYPES: EventType[] = ['call.started', 'call.ended', 'call.recording_ready', 'call.transcript_ready'];

describe('call-report webhooks', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let server: TestServer;
  let org: TestOrg;
  let secret: string;
  let agent: ProviderAgent;

  beforeAll(async () => {
    ({ db, close: closeDb } = openTestDb());
    server = await startTestServer({ overrides: { bodyLimitBytes: BODY_LIMIT } });
    org = await createOrg(db);
    secret = await createWebhookSecret(db, org.id);
    agent = await createProviderAgent(db, org.id);
  });

  afterAll(async () => {
    await server.close();
    await closeDb();
  });

  const send = (body: string | Buffer | object, options: Partial<Parameters<typeof deliver>[3]> = {}, slug = org.slug) =>
    deliver(server.url, slug, body, { secrets: [secret], ...options });

  /** The promises every reply keeps: JSON, no stack trace, no SQL. */
  function expectCleanJson(reply: Delivery): void {
    expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
    expect(reply.text).not.toMatch(/select |insert |node_modules|\bat \S+ \(|\.(ts|js):\d+:\d+/i);
  }

  async function eventRows(orgId: string, eventId: string) {
    return db
      .selectFrom('webhook_events')
      .select(['event_id', 'type', 'outcome', 'deliveries', 'call_id', 'payload'])
      .where('org_id', '=', orgId)
      .where('event_id', '=', eventId)
      .execute();
  }

  async function callsOf(orgId: string, providerCallId: string) {
    return db
      .selectFrom('calls')
      .select([
        'id',
        'agent_id',
        'contact_id',
        'direction',
        'status',
        'from_number',
        'to_number',
        'started_at',
        'ended_at',
        'duration_seconds',
        'cost',
        'outcome',
        'sentiment',
        'summary',
        'recording_key',
      ])
      .where('org_id', '=', orgId)
      .where('provider_call_id', '=', providerCallId)
      .execute();
  }

  async function transcriptOf(orgId: string, callId: string) {
    return db
      .selectFrom('call_transcripts')
      .select(['text', 'segments'])
      .where('org_id', '=', orgId)
      .where('call_id', '=', callId)
      .executeTakeFirst();
  }

  async function webhookEventCount(orgId: string): Promise<number> {
    const { count } = await db
      .selectFrom('webhook_events')
      .select(sql<number>`count(*)::int`.as('count'))
      .where('org_id', '=', orgId)
      .executeTakeFirstOrThrow();
    return count;
  }

  describe('a valid delivery', () => {
    it('creates the call with its agent, numbers and contact, stores the event, and answers 200 applied', async () => {
      const contact = await createContact(db, org.id, { phone: '+16465550001' });
      const script = newCallScript(agent, { from: '+16465550001' });
      const event = callEvent(script, 'call.started');

      const reply = await send(event);

      expectCleanJson(reply);
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({ status: 'applied', event_id: event.id });
      const [call, ...others] = await callsOf(org.id, script.callId);
      expect(others).toEqual([]);
      expect(call).toMatchObject({
        agent_id: agent.id,
        contact_id: contact,
        direction: 'inbound',
        status: 'in_progress',
        from_number: '+16465550001',
        to_number: '+12125550100',
        started_at: script.startedAt.toISOString(),
        ended_at: null,
        duration_seconds: 0,
      });
      const [stored] = await eventRows(org.id, event.id as string);
      expect(stored).toMatchObject({ type: 'call.started', outcome: 'applied', deliveries: 1, call_id: call!.id, payload: event });
    });

    it('links an outbound call by the number it dialled, and leaves an unknown number unlinked', async () => {
      const contact = await createContact(db, org.id, { phone: '+16465550002' });
      const dialled = newCallScript(agent, { direction: 'outbound', from: '+12125550100', to: '+16465550002' });
      const stranger = newCallScript(agent, { from: '+16465559999' });
      expect((await send(callEvent(dialled, 'call.started'))).status).toBe(200);
      expect((await send(callEvent(stranger, 'call.started'))).status).toBe(200);
      expect((await callsOf(org.id, dialled.callId))[0]!.contact_id).toBe(contact);
      expect((await callsOf(org.id, stranger.callId))[0]!.contact_id).toBeNull();
      expect(await countRows(db, 'contacts', org.id)).toBe(2); // no contact is created for a stranger
    });

    it('a call.ended carries the report; recording and transcript events attach to the same call', async () => {
      const script = newCallScript(agent);
      for (const type of EVENT_TYPES) expect((await send(callEvent(script, type))).body.status).toBe('applied');
      const [call] = await callsOf(org.id, script.callId);
      expect(call).toMatchObject({
        status: 'completed',
        ended_at: new Date(script.startedAt.getTime() + 120_000).toISOString(),
        duration_seconds: 120,
        cost: 0.25,
        outcome: 'appointment_booked',
        sentiment: 'positive',
        summary: 'Booked a cleaning for Tuesday.',
        // the provider's key, inside this organisation's namespace
        recording_key: `orgs/${org.id}/recordings/${script.callId}.wav`,
      });
      expect(await transcriptOf(org.id, call!.id)).toEqual({
        text: 'Agent: Hello! Caller: I would like a cleaning.',
        segments: [
          { speaker: 'agent', startMs: 0, text: 'Hello!' },
          { speaker: 'contact', startMs: 1200, text: 'I would like a cleaning.' },
        ],
      });
    });

    it('fields the event format does not know are ignored, and kept in the stored payload', async () => {
      const event = callEvent(newCallScript(agent), 'call.started', { top: { provider_metadata: { region: 'us-east' } } });
      const reply = await send(event);
      expect(reply.status).toBe(200);
      const [stored] = await eventRows(org.id, event.id as string);
      expect(stored!.payload).toMatchObject({ provider_metadata: { region: 'us-east' } });
    });

    it('the call is visible through the GraphQL API at once', async () => {
      const script = newCallScript(agent);
      await send(callEvent(script, 'call.ended'));
      const [call] = await callsOf(org.id, script.callId);
      const token = await server.tokenFor(org);
      const gid = Buffer.from(`Call:${call!.id}`).toString('base64url');
      const response = await server.graphql(`{ call(id: "${gid}") { status durationSeconds outcome } }`, { token });
      expect(response.body.data.call).toEqual({ status: 'COMPLETED', durationSeconds: 120, outcome: 'APPOINTMENT_BOOKED' });
    });
  });

  describe('signatures: anything not signed by an active secret of the organisation is a 401 and writes nothing', () => {
    let before: { calls: number; events: number };
    beforeEach(async () => {
      before = { calls: await countRows(db, 'calls', org.id), events: await webhookEventCount(org.id) };
    });
    afterEach(async () => {
      expect({ calls: await countRows(db, 'calls', org.id), events: await webhookEventCount(org.id) }).toEqual(before);
    });

    const unsigned = () => callEvent(newCallScript(agent), 'call.started');

    async function expect401(reply: Delivery, code: string): Promise<void> {
      expectCleanJson(reply);
      expect(reply.status).toBe(401);
      expect(reply.body.error?.code).toBe(code);
      expect(reply.body.error?.message).toEqual(expect.any(String));
    }

    it('a missing Switchboard-Signature header', async () => {
      await expect401(await send(unsigned(), { signature: null }), 'SIGNATURE_MISSING');
    });

    it.each([
      ['no v1 signature', 't=1700000000'],
      ['no timestamp', `v1=${'a'.repeat(64)}`],
      ['a signature that is not 64 hex digits', `t=${Math.floor(Date.now() / 1000)},v1=abc`],
      ['two timestamps', `t=1,t=2,v1=${'a'.repeat(64)}`],
      ['garbage', 'Bearer hello'],
    ])('a malformed header (%s)', async (_label, header) => {
      await expect401(await send(unsigned(), { signature: header }), 'SIGNATURE_MALFORMED');
    });

    it('a signature made with a secret the organisation does not have', async () => {
      await expect401(await send(unsigned(), { secrets: ['whsec_some_other_secret_entirely'] }), 'SIGNATURE_MISMATCH');
    });

    it('a body changed after signing', async () => {
      const event = unsigned();
      const raw = JSON.stringify(event);
      const timestamp = Math.floor(Date.now() / 1000);
      const header = signatureHeader([secret], timestamp, raw);
      const tampered = raw.replace('"inbound"', '"outbound"');
      expect(tampered).not.toBe(raw);
      await expect401(await send(tampered, { signature: header }), 'SIGNATURE_MISMATCH');
    });

    it('a timestamp signed for another moment than the one in the header', async () => {
      const event = unsigned();
      const raw = JSON.stringify(event);
      const now = Math.floor(Date.now() / 1000);
      await expect401(await send(raw, { signature: `t=${now},v1=${signPayload(secret, now - 1, raw)}` }), 'SIGNATURE_MISMATCH');
    });

    it('a stale timestamp, correctly signed, outside the replay window', async () => {
      const tolerance = server.config.webhookToleranceSeconds;
      await expect401(await send(unsigned(), { timestamp: Math.floor(Date.now() / 1000) - tolerance - 60 }), 'TIMESTAMP_OUT_OF_TOLERANCE');
    });

    it('a timestamp in the future beyond the window', async () => {
      const tolerance = server.config.webhookToleranceSeconds;
      await expect401(await send(unsigned(), { timestamp: Math.floor(Date.now() / 1000) + tolerance + 60 }), 'TIMESTAMP_OUT_OF_TOLERANCE');
    });

    it('an expired secret no longer verifies', async () => {
      const other = await createOrg(db);
      const old = await createWebhookSecret(db, other.id, { expiresAt: new Date(Date.now() - 1000) });
      await createWebhookSecret(db, other.id);
      const reply = await deliver(server.url, other.slug, callEvent(newCallScript(agent), 'call.started'), { secrets: [old] });
      await expect401(reply, 'SIGNATURE_MISMATCH');
    });

    it('an unknown organisation is answered byte for byte like a wrong secret', async () => {
      const wrongSecret = await send(unsigned(), { secrets: ['whsec_some_other_secret_entirely'] });
      const unknownOrg = await send(unsigned(), {}, 'no-such-organisation');
      const malformedSlug = await send(unsigned(), {}, '%E0%A4%A');
      const noSlug = await deliver(server.url, '', unsigned(), { secrets: [secret] });
      for (const reply of [unknownOrg, malformedSlug, noSlug]) {
        expect({ status: reply.status, text: reply.text }).toEqual({ status: wrongSecret.status, text: wrongSecret.text });
      }
    });

    it('an organisation without any secret is answered like a wrong secret', async () => {
      const bare = await createOrg(db);
      const reply = await deliver(server.url, bare.slug, unsigned(), { secrets: [secret] });
      await expect401(reply, 'SIGNATURE_MISMATCH');
    });
  });

  describe('secret rotation', () => {
    it('while old and new secrets are both active, a delivery signed with either, or both, is accepted', async () => {
      const rotating = await createOrg(db);
      const rotatingAgent = await createProviderAgent(db, rotating.id);
      const oldSecret = await createWebhookSecret(db, rotating.id, { expiresAt: new Date(Date.now() + 3_600_000) });
      const newSecret = await createWebhookSecret(db, rotating.id);
      for (const secrets of [
        [oldSecret, newSecret],
        [newSecret, oldSecret],
        [oldSecret],
        [newSecret],
        ['whsec_unrelated_secret_value_x', newSecret],
      ]) {
        const reply = await deliver(server.url, rotating.slug, callEvent(newCallScript(rotatingAgent), 'call.started'), { secrets });
        expect({ secrets: secrets.length, status: reply.status }).toEqual({ secrets: secrets.length, status: 200 });
      }
    });
  });

  describe('bodies: a signed delivery that is not a valid event is a 400 naming the problem, and writes nothing', () => {
    let before: { calls: number; events: number };
    beforeEach(async () => {
      before = { calls: await countRows(db, 'calls', org.id), events: await webhookEventCount(org.id) };
    });
    afterEach(async () => {
      expect({ calls: await countRows(db, 'calls', org.id), events: await webhookEventCount(org.id) }).toEqual(before);
    });

    it.each([
      ['not JSON at all', 'call ended, please record'],
      ['truncated JSON', '{"id": "evt_1", "type": "call.'],
      ['an empty body', ''],
    ])('malformed JSON (%s) is MALFORMED_JSON', async (_label, body) => {
      const reply = await send(body);
      expectCleanJson(reply);
      expect(reply.status).toBe(400);
      expect(reply.body.error?.code).toBe('MALFORMED_JSON');
    });

    const script = () => newCallScript(agent);
    const cases: [string, () => unknown, string][] = [
      ['a JSON array', () => [callEvent(script(), 'call.started')], 'body'],
      ['an unknown event type', () => callEvent(script(), 'call.started', { top: { type: 'call.exploded' } }), 'type'],
      ['no event id', () => callEvent(script(), 'call.started', { top: { id: undefined } }), 'id'],
      ['an event id with spaces', () => callEvent(script(), 'call.started', { eventId: 'evt 1' }), 'id'],
      ['an unparsable occurred_at', () => callEvent(script(), 'call.started', { top: { occurred_at: 'yesterday' } }), 'occurred_at'],
      ['an impossible date', () => callEvent(script(), 'call.started', { top: { occurred_at: '2026-02-30T10:00:00Z' } }), 'occurred_at'],
      ['no call object', () => callEvent(script(), 'call.started', { top: { call: undefined } }), 'call'],
      ['no agent id', () => callEvent(script(), 'call.started', { call: { agent_id: undefined } }), 'call.agent_id'],
      ['a number that is not E.164', () => callEvent(script(), 'call.started', { call: { from: '555-0100' } }), 'call.from'],
      ['an unknown direction', () => callEvent(script(), 'call.started', { call: { direction: 'sideways' } }), 'call.direction'],
      ['a final status on call.started', () => callEvent(script(), 'call.started', { call: { status: 'completed' } }), 'call.status'],
      ['call.ended without a final status', () => callEvent(script(), 'call.ended', { call: { status: 'ringing' } }), 'call.status'],
      ['a negative duration', () => callEvent(script(), 'call.ended', { call: { duration_seconds: -5 } }), 'call.duration_seconds'],
      ['a cost that is a string', () => callEvent(script(), 'call.ended', { call: { cost: '0.25' } }), 'call.cost'],
      ['an unknown outcome', () => callEvent(script(), 'call.ended', { call: { outcome: 'sold_a_boat' } }), 'call.outcome'],
      ['an end before the start', () => callEvent(script(), 'call.ended', { call: { ended_at: '2000-01-01T00:00:00Z' } }), 'call.ended_at'],
      [
        'a recording key escaping its folder',
        () => callEvent(script(), 'call.recording_ready', { top: { recording: { key: '../../orgs/1/secret.wav' } } }),
        'recording.key',
      ],
      [
        'an absolute recording key',
        () => callEvent(script(), 'call.recording_ready', { top: { recording: { key: '/orgs/1/x.wav' } } }),
        'recording.key',
      ],
      [
        'a transcript segment without a speaker',
        () => callEvent(script(), 'call.transcript_ready', { top: { transcript: { text: 'x', segments: [{ text: 'hi' }] } } }),
        'transcript.segments[0].speaker',
      ],
      ['a NUL character in the summary', () => callEvent(script(), 'call.ended', { call: { summary: 'bad\u0000byte' } }), 'call.summary'],
      ['a lone surrogate in an unknown field', () => callEvent(script(), 'call.started', { top: { extra: { note: '\ud800' } } }), 'extra.note'],
    ];

    it.each(cases)('%s', async (_label, build, field) => {
      const reply = await send(JSON.stringify(build()));
      expectCleanJson(reply);
      expect(reply.status).toBe(400);
      expect(reply.body.error).toMatchObject({ code: 'INVALID_EVENT', field });
      expect(reply.body.error!.message.startsWith(`${field}: `)).toBe(true);
    });

    it('a body nested deeper than anyone needs is refused, not a stack overflow', async () => {
      const deep = `{"id":"evt_deep","extra":${'['.repeat(5000)}${']'.repeat(5000)}}`;
      const reply = await send(deep);
      expect(reply.status).toBe(400);
      expect(reply.body.error?.code).toBe('INVALID_EVENT');
    });

    it('a body over the size limit is a 413, before any signature work', async () => {
      const huge = callEvent(script(), 'call.transcript_ready', { top: { transcript: { text: 'x'.repeat(BODY_LIMIT + 1) } } });
      const reply = await send(huge);
      expectCleanJson(reply);
      expect(reply.status).toBe(413);
      expect(reply.body.error?.code).toBe('PAYLOAD_TOO_LARGE');
    });

    it('a method other than POST is a 405', async () => {
      const reply = await send('', { method: 'GET' });
      expect(reply.status).toBe(405);
      expect(reply.headers.get('allow')).toBe('POST');
    });
  });

  describe('idempotency: one event id, one effect', () => {
    it('a sequential redelivery answers duplicate and changes nothing', async () => {
      const script = newCallScript(agent);
      const event = callEvent(script, 'call.ended');
      expect((await send(event)).body.status).toBe('applied');
      const after = await callsOf(org.id, script.callId);

      const again = await send(event);
      expect(again.status).toBe(200);
      expect(again.body).toEqual({ status: 'duplicate', event_id: event.id });
      expect(await callsOf(org.id, script.callId)).toEqual(after);
      const stored = await eventRows(org.id, event.id as string);
      expect(stored).toHaveLength(1);
      expect(stored[0]).toMatchObject({ outcome: 'applied', deliveries: 2 });
    });

    it('a redelivery of the same event id with a different body does not apply the new body', async () => {
      const script = newCallScript(agent);
      const first = callEvent(script, 'call.ended', { eventId: `evt_same_${script.callId}` });
      const altered = callEvent(script, 'call.ended', { eventId: `evt_same_${script.callId}`, call: { status: 'failed', cost: 9 } });
      await send(first);
      expect((await send(altered)).body.status).toBe('duplicate');
      expect((await callsOf(org.id, script.callId))[0]).toMatchObject({ status: 'completed', cost: 0.25 });
    });

    it('twelve concurrent deliveries of one event: exactly one applied, one call row, one stored event', async () => {
      const script = newCallScript(agent);
      const event = callEvent(script, 'call.ended');
      const replies = await Promise.all(Array.from({ length: 12 }, () => send(event)));
      expect(replies.map((r) => r.status)).toEqual(Array(12).fill(200));
      expect(replies.filter((r) => r.body.status === 'applied')).toHaveLength(1);
      expect(replies.filter((r) => r.body.status === 'duplicate')).toHaveLength(11);
      expect(await callsOf(org.id, script.callId)).toHaveLength(1);
      const stored = await eventRows(org.id, event.id as string);
      expect(stored).toHaveLength(1);
      expect(stored[0]).toMatchObject({ outcome: 'applied', deliveries: 12 });
    });

    it('different events of one new call delivered at the same moment create one call', async () => {
      const script = newCallScript(agent);
      const replies = await Promise.all(EVENT_TYPES.flatMap((type) => [callEvent(script, type), callEvent(script, type)]).map((e) => send(e)));
      expect(replies.every((r) => r.body.status === 'applied')).toBe(true);
      const calls = await callsOf(org.id, script.callId);
      expect(calls).toHaveLength(1);
      expect(calls[0]).toMatchObject({ status: 'completed', duration_seconds: 120, recording_key: expect.stringContaining(script.callId) });
    });
  });

  describe('out-of-order delivery converges to the same final call', () => {
    function permutations<T>(items: T[]): T[][] {
      if (items.length <= 1) return [items];
      return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
    }

    it('all 24 orders of started, ended, recording_ready and transcript_ready end in the complete call', async () => {
      const contact = await createContact(db, org.id, { phone: '+16465550024' });
      const finals: unknown[] = [];
      for (const order of permutations(EVENT_TYPES)) {
        const script = newCallScript(agent, { from: '+16465550024' });
        for (const type of order) expect((await send(callEvent(script, type))).body.status).toBe('applied');
        const [call, ...others] = await callsOf(org.id, script.callId);
        expect(others).toEqual([]);
        const { id, recording_key, ...rest } = call!;
        expect(recording_key).toBe(`orgs/${org.id}/recordings/${script.callId}.wav`);
        expect(await transcriptOf(org.id, id)).toMatchObject({ text: expect.stringContaining('cleaning') });
        finals.push({ order: order.join(' > '), call: { ...rest, started_at: Date.parse(rest.started_at) - script.startedAt.getTime() } });
      }
      const expected = {
        agent_id: agent.id,
        contact_id: contact,
        direction: 'inbound',
        status: 'completed',
        from_number: '+16465550024',
        to_number: '+12125550100',
        started_at: 0,
        ended_at: expect.any(String),
        duration_seconds: 120,
        cost: 0.25,
        outcome: 'appointment_booked',
        sentiment: 'positive',
        summary: 'Booked a cleaning for Tuesday.',
      };
      for (const final of finals as { order: string }[]) expect(final).toEqual({ order: final.order, call: expected });
    });

    it('a final status is never overwritten by a live one, even a later-stamped one', async () => {
      const script = newCallScript(agent);
      await send(callEvent(script, 'call.ended', { call: { status: 'no_answer', duration_seconds: 0 } }));
      await send(callEvent(script, 'call.started', { secondsIn: 500, call: { status: 'ringing' } }));
      expect((await callsOf(org.id, script.callId))[0]).toMatchObject({ status: 'no_answer', ended_at: expect.any(String) });
    });

    it('a later call.ended corrects an earlier one; the earlier one arriving last changes nothing', async () => {
      for (const order of [
        ['early', 'late'],
        ['late', 'early'],
      ]) {
        const script = newCallScript(agent);
        const early = callEvent(script, 'call.ended', { secondsIn: 100, call: { status: 'completed', cost: 0.2, outcome: 'interested' } });
        const late = callEvent(script, 'call.ended', {
          secondsIn: 130,
          call: { status: 'voicemail', cost: 0.3, outcome: 'voicemail_left', summary: null },
        });
        for (const which of order) await send(which === 'early' ? early : late);
        expect({ order, call: (await callsOf(org.id, script.callId))[0] }).toMatchObject({
          order,
          call: { status: 'voicemail', cost: 0.3, outcome: 'voicemail_left', summary: null, duration_seconds: 130 },
        });
      }
    });

    it('a later transcript replaces an earlier one, in either order', async () => {
      for (const order of [
        ['early', 'late'],
        ['late', 'early'],
      ]) {
        const script = newCallScript(agent);
        const early = callEvent(script, 'call.transcript_ready', { secondsIn: 200, top: { transcript: { text: 'draft' } } });
        const late = callEvent(script, 'call.transcript_ready', { secondsIn: 300, top: { transcript: { text: 'final' } } });
        for (const which of order) await send(which === 'early' ? early : late);
        const [call] = await callsOf(org.id, script.callId);
        expect({ order, transcript: await transcriptOf(org.id, call!.id) }).toEqual({ order, transcript: { text: 'final', segments: [] } });
      }
    });
  });

  describe('unknown agents', () => {
    it('an event naming an agent the organisation does not have is a 422, stored unapplied, and applied when redelivered after the agent exists', async () => {
      const missing: ProviderAgent = { id: '0', provider: 'retell', providerAgentId: `agent_later_${Date.now()}` };
      const script = newCallScript(missing);
      const event = callEvent(script, 'call.ended');

      const first = await send(event);
      expectCleanJson(first);
      expect(first.status).toBe(422);
      expect(first.body.error).toMatchObject({ code: 'UNKNOWN_AGENT', field: 'call.agent_id' });
      expect(await callsOf(org.id, script.callId)).toEqual([]);
      expect((await eventRows(org.id, event.id as string))[0]).toMatchObject({ outcome: 'unknown_agent', call_id: null });

      const created = await createProviderAgent(db, org.id, { providerAgentId: missing.providerAgentId });
      const again = await send(event);
      expect(again.body.status).toBe('applied');
      expect((await callsOf(org.id, script.callId))[0]).toMatchObject({ agent_id: created.id, status: 'completed' });
      expect((await eventRows(org.id, event.id as string))[0]).toMatchObject({ outcome: 'applied', deliveries: 2 });
    });

    it('the same provider agent id under another provider is not the same agent', async () => {
      const script = newCallScript({ ...agent, provider: 'vapi' });
      expect((await send(callEvent(script, 'call.started'))).status).toBe(422);
    });
  });

  describe('tenancy: one organisation can never write into another', () => {
    let other: TestOrg;
    let otherSecret: string;
    let otherAgent: ProviderAgent;

    beforeAll(async () => {
      other = await createOrg(db);
      otherSecret = await createWebhookSecret(db, other.id);
      otherAgent = await createProviderAgent(db, other.id);
    });

    it("org A's secret cannot deliver to org B's endpoint", async () => {
      const before = { calls: await countRows(db, 'calls', other.id), events: await webhookEventCount(other.id) };
      const reply = await deliver(server.url, other.slug, callEvent(newCallScript(otherAgent), 'call.started'), { secrets: [secret] });
      expect(reply.status).toBe(401);
      expect(reply.body.error?.code).toBe('SIGNATURE_MISMATCH');
      expect({ calls: await countRows(db, 'calls', other.id), events: await webhookEventCount(other.id) }).toEqual(before);
    });

    it("an event in org A naming org B's agent is an unknown agent", async () => {
      const reply = await send(callEvent(newCallScript(otherAgent), 'call.started'));
      expect(reply.status).toBe(422);
      expect(reply.body.error?.code).toBe('UNKNOWN_AGENT');
    });

    it("org A reusing org B's provider call id and event id gets its own call; org B's call is untouched", async () => {
      const theirs = newCallScript(otherAgent);
      const theirEvent = callEvent(theirs, 'call.ended');
      expect((await deliver(server.url, other.slug, theirEvent, { secrets: [otherSecret] })).body.status).toBe('applied');
      const theirCall = await callsOf(other.id, theirs.callId);

      const ours = newCallScript(agent, { callId: theirs.callId });
      const ourEvent = callEvent(ours, 'call.ended', { eventId: theirEvent.id as string, call: { status: 'failed', cost: 7 } });
      const reply = await send(ourEvent);
      expect(reply.body.status).toBe('applied'); // not "duplicate": event ids are per organisation
      expect(await callsOf(other.id, theirs.callId)).toEqual(theirCall);
      expect((await callsOf(org.id, theirs.callId))[0]).toMatchObject({ agent_id: agent.id, status: 'failed', cost: 7 });
    });

    it("a call from a number that is org B's contact is not linked to it", async () => {
      await createContact(db, other.id, { phone: '+16465550077' });
      const script = newCallScript(agent, { from: '+16465550077' });
      await send(callEvent(script, 'call.started'));
      expect((await callsOf(org.id, script.callId))[0]!.contact_id).toBeNull();
    });

    it("a recording key cannot point into org B's recordings", async () => {
      const script = newCallScript(agent);
      await send(callEvent(script, 'call.recording_ready', { top: { recording: { key: `orgs/${other.id}/recordings/theirs.wav` } } }));
      expect((await callsOf(org.id, script.callId))[0]!.recording_key).toBe(`orgs/${org.id}/orgs/${other.id}/recordings/theirs.wav`);
    });
  });

  describe('statistics stay exact under concurrent ingestion', () => {
    it('many deliveries in parallel — duplicates, out-of-order pairs, corrections — leave rollups equal to raw rows and the dashboard equal to raw counts', async () => {
      const stats = await createOrg(db, { timezone: 'America/New_York' });
      const statsSecret = await createWebhookSecret(db, stats.id);
      const agents = [
        await createProviderAgent(db, stats.id),
        await createProviderAgent(db, stats.id),
        await createProviderAgent(db, stats.id, { provider: 'vapi' }),
      ];
      for (let i = 0; i < 5; i++) await createContact(db, stats.id, { phone: `+1646555${String(1000 + i)}` });

      const random = new Random(20260302);
      const now = Date.now();
      const finalStatuses = ['completed', 'completed', 'completed', 'no_answer', 'busy', 'failed', 'voicemail'];
      const expected = new Map<string, { status: string; cost: number; duration: number }>();
      const events: Record<string, unknown>[] = [];
      const scripts: CallScript[] = [];
      for (let i = 0; i < 40; i++) {
        // Spread over four local days, across midnights: whole days come from rollups, the edges from raw rows.
        const script = newCallScript(random.pick(agents), {
          startedAt: new Date(now - random.int(3_600, 3.5 * 86_400) * 1000 - random.int(0, 999)),
          direction: random.chance(0.5) ? 'inbound' : 'outbound',
          from: `+1646555${String(1000 + random.int(0, 9))}`,
          to: '+12125550100',
        });
        scripts.push(script);
        const liveStatus = random.pick(['queued', 'ringing', 'in_progress']);
        events.push(callEvent(script, 'call.started', { call: { status: liveStatus } }));
        if (random.chance(0.15)) {
          expected.set(script.callId, { status: liveStatus, cost: 0, duration: 0 });
          continue; // a call still live: no end report
        }
        const endings = random.chance(0.3) ? 2 : 1; // sometimes a correction follows
        let last = { status: '', cost: 0, duration: 0 };
        for (let e = 0; e < endings; e++) {
          const duration = random.int(5, 900);
          last = { status: random.pick(finalStatuses), cost: random.int(0, 9999) / 10_000, duration };
          // a correction is stamped later than the report it corrects
          events.push(
            callEvent(script, 'call.ended', {
              secondsIn: 1000 + e * 10,
              call: { status: last.status, cost: last.cost, duration_seconds: duration, outcome: random.pick(['interested', 'no_outcome', null]) },
            }),
          );
        }
        expected.set(script.callId, last);
        if (random.chance(0.5)) events.push(callEvent(script, 'call.recording_ready', { secondsIn: 2000 }));
        if (random.chance(0.5)) events.push(callEvent(script, 'call.transcript_ready', { secondsIn: 2100 }));
      }
      // Every event delivered one to three times, all shuffled: pairs arrive out of order and duplicates race.
      const deliveries = random.shuffle(events.flatMap((event) => Array.from({ length: random.int(1, 3) }, () => event)));
      const replies = await inParallel(
        deliveries.map((event) => () => deliver(server.url, stats.slug, event, { secrets: [statsSecret] })),
        12,
      );

      expect(replies.filter((r) => r.status !== 200).map((r) => r.text)).toEqual([]);
      expect(replies.filter((r) => r.body.status === 'applied')).toHaveLength(events.length);
      expect(await webhookEventCount(stats.id)).toBe(events.length);
      expect(await countRows(db, 'calls', stats.id)).toBe(scripts.length);
      const finals = await db
        .selectFrom('calls')
        .select(['provider_call_id', 'status', 'cost', 'duration_seconds'])
        .where('org_id', '=', stats.id)
        .execute();
      for (const row of finals) {
        const want = expected.get(row.provider_call_id!)!;
        expect({ call: row.provider_call_id, status: row.status, cost: row.cost, duration: row.duration_seconds }).toEqual({
          call: row.provider_call_id,
          ...want,
        });
      }

      // The rollups (kept by the triggers inside every delivery's transaction) equal a fresh aggregation.
      expect(await rollupDifferences(db, stats.id)).toEqual([]);

      const from = new Date(now - 4 * 86_400_000);
      const to = new Date(now);
      const range = { kind: 'explicit' as const, from, to };
      const scope = tenantScope(db, stats.id);
      expect(await dashboardFigures(scope, range, to, 'rollups')).toEqual(await dashboardFigures(scope, range, to, 'raw'));

      const {
        rows: [raw],
      } = await sql<{ total: number; completed: number; cost: number; inbound: number }>`
        select count(*)::int as total, (count(*) filter (where status = 'completed'))::int as completed,
               coalesce(sum(cost), 0)::float8 as cost, (count(*) filter (where direction = 'inbound'))::int as inbound
        from calls where org_id = ${stats.id}::int8 and started_at >= ${from} and started_at < ${to}`.execute(db);
      const token = await server.tokenFor(stats);
      const response = await server.graphql(
        `query ($from: DateTime!, $to: DateTime!) { dashboard(range: { between: { from: $from, to: $to } }) {
           totalCalls { current } completedCalls { current } inboundCalls { current } totalCost { current } } }`,
        { token, variables: { from: from.toISOString(), to: to.toISOString() } },
      );
      expect(response.body.errors).toBeUndefined();
      const dashboard = response.body.data.dashboard;
      expect(raw!.total).toBe(scripts.length);
      expect({
        total: dashboard.totalCalls.current,
        completed: dashboard.completedCalls.current,
        inbound: dashboard.inboundCalls.current,
        cost: Number(dashboard.totalCost.current.toFixed(4)),
      }).toEqual({ total: raw!.total, completed: raw!.completed, inbound: raw!.inbound, cost: Number(raw!.cost.toFixed(4)) });
    }, 60_000);
  });

  describe('metrics', () => {
    it('/metrics counts deliveries by result, with no tenant in any label', async () => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      const lines = text.split('\n').filter((line) => line.startsWith('switchboard_webhook_deliveries_total{'));
      const counts = Object.fromEntries(lines.map((line) => [/result="([a-z_]+)"/.exec(line)![1], Number(line.split(' ').pop())]));
      for (const result of ['applied', 'duplicate', 'unknown_agent', 'unauthorized', 'invalid', 'too_large']) {
        expect({ result, counted: (counts[result] ?? 0) > 0 }).toEqual({ result, counted: true });
      }
      for (const line of lines) expect(line).toMatch(/^switchboard_webhook_deliveries_total\{result="[a-z_]+"\} \d+$/);
    });
  });

  describe('npm run webhook:secret', () => {
    const TSX = path.join(__dirname, '..', 'node_modules', '.bin', 'tsx');
    const CLI = path.join(__dirname, '..', 'src', 'cli', 'webhookSecret.ts');
    const run = (...args: string[]) => spawnSync(TSX, [CLI, ...args], { env: { ...process.env, DATABASE_URL: testDatabaseUrl() }, encoding: 'utf8' });

    it('prints only a new secret that verifies; rotating keeps the old one for the grace period, --grace-seconds 0 revokes it', async () => {
      const cliOrg = await createOrg(db);
      const cliAgent = await createProviderAgent(db, cliOrg.id);
      const post = (secrets: string[]) => deliver(server.url, cliOrg.slug, callEvent(newCallScript(cliAgent), 'call.started'), { secrets });

      const first = run('--org', cliOrg.slug);
      expect(first.status).toBe(0);
      expect(first.stdout).toMatch(/^whsec_[A-Za-z0-9_-]{32}\n$/);
      const firstSecret = first.stdout.trim();
      expect((await post([firstSecret])).status).toBe(200);

      const second = run('--org', cliOrg.slug);
      const secondSecret = second.stdout.trim();
      expect(second.stderr).toMatch(/1 older secret\(s\) stop verifying at/);
      expect((await post([firstSecret])).status).toBe(200); // within the default one-day grace
      expect((await post([secondSecret])).status).toBe(200);

      const third = run('--org', cliOrg.slug, '--grace-seconds', '0');
      const thirdSecret = third.stdout.trim();
      expect((await post([firstSecret])).status).toBe(401);
      expect((await post([secondSecret])).status).toBe(401);
      expect((await post([thirdSecret])).status).toBe(200);

      const listing = run('--org', cliOrg.slug, '--list');
      expect(
        listing.stdout
          .trim()
          .split('\n')
          .map((line) => line.split('\t').pop()),
      ).toEqual(['expired', 'expired', 'active']);
      expect(listing.stdout).not.toContain(thirdSecret);
    }, 60_000);

    it('an unknown organisation is an error on stderr and exit 1', () => {
      const result = run('--org', 'no-such-organisation');
      expect(result.status).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain('no organisation with slug "no-such-organisation"');
    });
  });
});
