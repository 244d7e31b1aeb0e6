import type { Db } from '../../src/db/database';
import { parseGlobalId, toGlobalId } from '../../src/graphql/globalId';
import { rollupDifferences } from '../../src/stats/rollupCheck';
import { openTestDb } from '../support/db';
import { createAgent, createAppointment, createCall, createCalls, createContact, createOrg, type TestOrg } from '../support/factories';
import { orgSnapshot } from '../support/snapshot';
import { startTestServer, type TestServer } from '../support/server';
import { expectUserError, USER_ERRORS } from '../support/userErrors';

/**
 * Calls and appointments: members correct a call's outcome, sentiment,
 * summary and notes, and book and cancel appointments from calls. Statistics
 * follow every such write at once, exactly.
 */
describe('mutations: calls and appointments', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let server: TestServer;
  let org: TestOrg;
  let member: string;
  let agent: string;
  let contact: string;

  const DAY = 86_400_000;
  const inDays = (days: number) => new Date(Date.now() + days * DAY).toISOString();

  const UPDATE_CALL = `mutation ($input: UpdateCallInput!) { updateCall(input: $input) { call { id outcome sentiment summary notes updatedAt } ${USER_ERRORS} } }`;
  const BOOK = `mutation ($input: BookAppointmentInput!) {
    bookAppointment(input: $input) {
      appointment { id status scheduledAt value contact { id } agent { id } call { id } }
      call { id appointment { id status } }
      ${USER_ERRORS}
    } }`;
  const CANCEL = `mutation ($input: CancelAppointmentInput!) { cancelAppointment(input: $input) { appointment { id status value } ${USER_ERRORS} } }`;

  beforeAll(async () => {
    ({ db, close: closeDb } = openTestDb());
    server = await startTestServer();
    org = await createOrg(db);
    member = await server.tokenFor(org, 'member');
    agent = await createAgent(db, org.id);
    contact = await createContact(db, org.id);
  });

  afterAll(async () => {
    await server.close();
    await closeDb();
  });

  const send = (query: string, input: Record<string, unknown>) => server.graphql(query, { token: member, variables: { input } });
  const newCall = async (overrides: Partial<Parameters<typeof createCall>[2]> = {}) =>
    toGlobalId('Call', await createCall(db, org.id, { agentId: agent, contactId: contact, summary: 'AI summary', ...overrides }));

  describe('updateCall', () => {
    it('sets outcome, sentiment, summary and notes; the call reads back the same by id and in lists', async () => {
      const id = await newCall({ outcome: 'no_outcome', sentiment: 'neutral' });
      const response = await send(UPDATE_CALL, {
        id,
        outcome: 'CALLBACK_REQUESTED',
        sentiment: 'POSITIVE',
        summary: ' Wants a call back on Friday ',
        notes: 'Prefers mornings.',
      });
      expect(response.body.errors).toBeUndefined();
      const call = response.body.data.updateCall.call;
      expect(call).toEqual({
        id,
        outcome: 'CALLBACK_REQUESTED',
        sentiment: 'POSITIVE',
        summary: 'Wants a call back on Friday',
        notes: 'Prefers mornings.',
        updatedAt: expect.any(String),
      });
      const read = await server.graphql(
        `query ($id: ID!) { call(id: $id) { id outcome sentiment summary notes updatedAt }
           calls(filter: { outcome: [CALLBACK_REQUESTED] }) { nodes { id notes } } }`,
        { token: member, variables: { id } },
      );
      expect(read.body.data.call).toEqual(call);
      expect(read.body.data.calls.nodes).toContainEqual({ id, notes: 'Prefers mornings.' });
    });

    it('omitted fields keep their value; null, or text that is blank once trimmed, clears one', async () => {
      const id = await newCall({ outcome: 'interested', sentiment: 'positive' });
      await send(UPDATE_CALL, { id, notes: 'first note' });
      const response = await send(UPDATE_CALL, { id, sentiment: null, summary: '   ' });
      expect(response.body.errors).toBeUndefined();
      expect(response.body.data.updateCall.call).toMatchObject({ outcome: 'INTERESTED', sentiment: null, summary: null, notes: 'first note' });
    });

    it.each([
      ['notes over 10,000 characters', 'input.notes', 'TOO_LONG', { notes: 'n'.repeat(10_001) }, /at most 10000/],
      ['a summary over 10,000 characters', 'input.summary', 'TOO_LONG', { summary: 's'.repeat(10_001) }, /at most 10000/],
      ['no field to change', null, 'NOTHING_TO_CHANGE', {}, /at least one of outcome, sentiment, summary, notes/],
    ])('refuses %s as a userError at %s (%s), and writes nothing', async (_case, argument, code, override, message) => {
      const id = await newCall();
      const before = await orgSnapshot(db, org.id);
      expectUserError(await send(UPDATE_CALL, { id, ...override }), 'updateCall', code, argument, message);
      expect(await orgSnapshot(db, org.id)).toEqual(before);
    });

    it('an unknown outcome is refused before execution', async () => {
      const response = await send(UPDATE_CALL, { id: await newCall(), outcome: 'SOLD' });
      expect(response.status).toBe(400);
      expect(response.body.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    });

    it('a nonexistent call is NOT_FOUND; a malformed id or an Agent id INVALID_ID', async () => {
      expectUserError(
        await send(UPDATE_CALL, { id: toGlobalId('Call', '987654321987'), notes: 'x' }),
        'updateCall',
        'NOT_FOUND',
        'input.id',
        /^Call not found$/,
      );
      expectUserError(await send(UPDATE_CALL, { id: '', notes: 'x' }), 'updateCall', 'INVALID_ID', 'input.id', /not a valid Call id/);
      expectUserError(await send(UPDATE_CALL, { id: toGlobalId('Agent', agent), notes: 'x' }), 'updateCall', 'INVALID_ID', 'input.id');
    });
  });

  describe('bookAppointment', () => {
    it("books from a call: the call's contact and agent, SCHEDULED, and the call now shows it", async () => {
      const callId = await newCall();
      const scheduledAt = inDays(7);
      const response = await send(BOOK, { callId, scheduledAt, value: 1250.5 });
      expect(response.body.errors).toBeUndefined();
      const { appointment, call } = response.body.data.bookAppointment;
      expect(appointment).toEqual({
        id: expect.any(String),
        status: 'SCHEDULED',
        scheduledAt,
        value: 1250.5,
        contact: { id: toGlobalId('Contact', contact) },
        agent: { id: toGlobalId('Agent', agent) },
        call: { id: callId },
      });
      expect(call).toEqual({ id: callId, appointment: { id: appointment.id, status: 'SCHEDULED' } });
      const read = await server.graphql(`query ($id: ID!) { node(id: $id) { ... on Appointment { status value } } }`, {
        token: member,
        variables: { id: appointment.id },
      });
      expect(read.body.data.node).toEqual({ status: 'SCHEDULED', value: 1250.5 });
    });

    it('dealValue takes an exact decimal string in USD, and reads back as Money beside the deprecated float', async () => {
      const response = await send(BOOK, { callId: await newCall(), scheduledAt: inDays(2), dealValue: { amount: '1234567.89', currency: 'USD' } });
      expect(response.body.data.bookAppointment.userErrors).toEqual([]);
      const read = await server.graphql(`query ($id: ID!) { node(id: $id) { ... on Appointment { value dealValue { amount currency } } } }`, {
        token: member,
        variables: { id: response.body.data.bookAppointment.appointment.id },
      });
      expect(read.body.data.node).toEqual({ value: 1234567.89, dealValue: { amount: '1234567.89', currency: 'USD' } });
    });

    it('a currency that is not an ISO 4217 code is refused by the Currency scalar before execution', async () => {
      const response = await send(BOOK, { callId: await newCall(), scheduledAt: inDays(2), dealValue: { amount: '1', currency: 'DOLLARS' } });
      expect(response.status).toBe(400);
      expect(response.body.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
      expect(response.body.errors![0]!.message).toContain('input.dealValue.currency');
    });

    it('value defaults to 0', async () => {
      const response = await send(BOOK, { callId: await newCall(), scheduledAt: inDays(1) });
      expect(response.body.data.bookAppointment.appointment.value).toBe(0);
    });

    it.each([
      ['a time in the past', 'input.scheduledAt', 'OUT_OF_RANGE', { scheduledAt: inDays(-1) }, /in the future/],
      ['a time more than two years ahead', 'input.scheduledAt', 'OUT_OF_RANGE', { scheduledAt: inDays(800) }, /two years/],
      ['a negative value', 'input.value', 'OUT_OF_RANGE', { value: -1 }, /from 0 to 1000000000/],
      ['a value with fractions of a cent', 'input.value', 'INVALID_FORMAT', { value: 10.005 }, /at most 2 decimals/],
      ['a value over a billion', 'input.value', 'OUT_OF_RANGE', { value: 1_000_000_000.01 }, /from 0 to 1000000000/],
      [
        'a deal value with fractions of a cent',
        'input.dealValue.amount',
        'INVALID_FORMAT',
        { value: undefined, dealValue: { amount: '10.005', currency: 'USD' } },
        /at most 2 decimals/,
      ],
      [
        'a deal value over a billion',
        'input.dealValue.amount',
        'OUT_OF_RANGE',
        { value: undefined, dealValue: { amount: '1000000000.01', currency: 'USD' } },
        /from 0 to 1000000000/,
      ],
      [
        'a deal value of a thousand digits',
        'input.dealValue.amount',
        'OUT_OF_RANGE',
        { value: undefined, dealValue: { amount: '9'.repeat(1000), currency: 'USD' } },
        /from 0/,
      ],
      [
        'a negative deal value',
        'input.dealValue.amount',
        'INVALID_FORMAT',
        { value: undefined, dealValue: { amount: '-1', currency: 'USD' } },
        /decimal number/,
      ],
      [
        'a deal value in exponent notation',
        'input.dealValue.amount',
        'INVALID_FORMAT',
        { value: undefined, dealValue: { amount: '1e3', currency: 'USD' } },
        /decimal number/,
      ],
      [
        'a deal value in euros',
        'input.dealValue.currency',
        'UNSUPPORTED_CURRENCY',
        { value: undefined, dealValue: { amount: '10', currency: 'EUR' } },
        /must be USD/,
      ],
      ['both value and dealValue', 'input.dealValue', 'CONFLICTING_FIELDS', { dealValue: { amount: '10', currency: 'USD' } }, /not both/],
    ])('refuses %s as a userError at %s (%s), and writes nothing', async (_case, argument, code, override, message) => {
      const callId = await newCall();
      const before = await orgSnapshot(db, org.id);
      const response = await send(BOOK, { callId, scheduledAt: inDays(3), value: 100, ...override });
      expectUserError(response, 'bookAppointment', code, argument, message);
      expect(await orgSnapshot(db, org.id)).toEqual(before);
    });

    it('refuses a call without a contact, and a call that already has a scheduled appointment', async () => {
      const orphan = await newCall({ contactId: null });
      const before = await orgSnapshot(db, org.id);
      expectUserError(
        await send(BOOK, { callId: orphan, scheduledAt: inDays(2) }),
        'bookAppointment',
        'INVALID_STATE',
        'input.callId',
        /without a contact/,
      );
      expect(await orgSnapshot(db, org.id)).toEqual(before);

      const callId = await newCall();
      expect((await send(BOOK, { callId, scheduledAt: inDays(2) })).body.errors).toBeUndefined();
      const booked = await orgSnapshot(db, org.id);
      expectUserError(await send(BOOK, { callId, scheduledAt: inDays(4) }), 'bookAppointment', 'INVALID_STATE', 'input.callId', /cancel it first/);
      expect(await orgSnapshot(db, org.id)).toEqual(booked);
    });

    it('a malformed date is refused before execution; a nonexistent call is NOT_FOUND; a Contact id INVALID_ID', async () => {
      const callId = await newCall();
      const before = await orgSnapshot(db, org.id);
      const malformed = await send(BOOK, { callId, scheduledAt: 'next tuesday' });
      expect(malformed.status).toBe(400);
      expect(malformed.body.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
      expect(malformed.body.errors![0]!.message).toContain('scheduledAt');
      expectUserError(
        await send(BOOK, { callId: toGlobalId('Call', '987654321987'), scheduledAt: inDays(2) }),
        'bookAppointment',
        'NOT_FOUND',
        'input.callId',
        /^Call not found$/,
      );
      expectUserError(
        await send(BOOK, { callId: toGlobalId('Contact', contact), scheduledAt: inDays(2) }),
        'bookAppointment',
        'INVALID_ID',
        'input.callId',
      );
      expect(await orgSnapshot(db, org.id)).toEqual(before);
    });

    it('concurrent bookings on one call: exactly one wins, the others are told to cancel it first', async () => {
      const callId = await newCall();
      const responses = await Promise.all(Array.from({ length: 6 }, (_, i) => send(BOOK, { callId, scheduledAt: inDays(2 + i), value: 10 })));
      const won = responses.filter((r) => r.body.data?.bookAppointment?.userErrors?.length === 0);
      const lost = responses.filter((r) => r !== won[0]);
      expect(won).toHaveLength(1);
      for (const response of lost) expectUserError(response, 'bookAppointment', 'INVALID_STATE', 'input.callId', /cancel it first/);
      // count(*) is int8, which pg returns as a string.
      const { count } = await db
        .selectFrom('appointments')
        .select((eb) => eb.fn.countAll<string>().as('count'))
        .where('org_id', '=', org.id)
        .where('call_id', '=', parseGlobalId(callId)!.localId)
        .executeTakeFirstOrThrow();
      expect(Number(count)).toBe(1);
    });
  });

  describe('cancelAppointment', () => {
    it('cancels a scheduled appointment; cancelling again changes nothing; the call can then be booked again', async () => {
      const callId = await newCall();
      const booked = (await send(BOOK, { callId, scheduledAt: inDays(5), value: 80 })).body.data.bookAppointment.appointment;
      const response = await send(CANCEL, { id: booked.id });
      expect(response.body.errors).toBeUndefined();
      expect(response.body.data.cancelAppointment.appointment).toEqual({ id: booked.id, status: 'CANCELLED', value: 80 });

      const before = await orgSnapshot(db, org.id);
      const again = await send(CANCEL, { id: booked.id });
      expect(again.body.data.cancelAppointment.appointment).toEqual({ id: booked.id, status: 'CANCELLED', value: 80 });
      expect(await orgSnapshot(db, org.id)).toEqual(before);

      const rebooked = await send(BOOK, { callId, scheduledAt: inDays(6) });
      expect(rebooked.body.errors).toBeUndefined();
      expect(rebooked.body.data.bookAppointment.call.appointment.status).toBe('SCHEDULED');
    });

    it.each(['completed', 'no_show'] as const)('refuses to cancel a %s appointment, and writes nothing', async (status) => {
      const id = toGlobalId('Appointment', await createAppointment(db, org.id, { contactId: contact, status }));
      const before = await orgSnapshot(db, org.id);
      expectUserError(
        await send(CANCEL, { id }),
        'cancelAppointment',
        'INVALID_STATE',
        'input.id',
        new RegExp(`this one is ${status.toUpperCase()}`),
      );
      expect(await orgSnapshot(db, org.id)).toEqual(before);
    });

    it('a nonexistent appointment is NOT_FOUND; a malformed id INVALID_ID', async () => {
      expectUserError(
        await send(CANCEL, { id: toGlobalId('Appointment', '987654321987') }),
        'cancelAppointment',
        'NOT_FOUND',
        'input.id',
        /^Appointment not found$/,
      );
      expectUserError(await send(CANCEL, { id: 'QXBwb2ludG1lbnQ6LTE' }), 'cancelAppointment', 'INVALID_ID', 'input.id');
    });
  });

  describe('statistics follow writes at once', () => {
    it('a new outcome, a booking and a cancellation show in dashboard and analytics with exact figures', async () => {
      const statsOrg = await createOrg(db, { timezone: 'Asia/Kolkata' });
      const token = await server.tokenFor(statsOrg, 'member');
      const statsAgent = await createAgent(db, statsOrg.id);
      const statsContact = await createContact(db, statsOrg.id);
      // Two days ago: whole local days, so the presets read them from the rollups.
      const startedAt = new Date(Date.now() - 2 * DAY);
      const [interested, undecided] = await createCalls(db, statsOrg.id, [
        {
          agentId: statsAgent,
          contactId: statsContact,
          startedAt,
          status: 'completed',
          outcome: 'interested',
          sentiment: 'neutral',
          durationSeconds: 120,
        },
        {
          agentId: statsAgent,
          contactId: statsContact,
          startedAt,
          status: 'completed',
          outcome: 'no_outcome',
          sentiment: 'neutral',
          durationSeconds: 60,
        },
        { agentId: statsAgent, contactId: statsContact, startedAt, status: 'no_answer', outcome: null, sentiment: null, durationSeconds: 0 },
      ]);
      const PANELS = `{
        dashboard(range: { preset: LAST_7_DAYS }) {
          totalCalls { current } completedCalls { current } appointmentsBooked { current }
          conversionRate { current } pipelineValue { current }
          callsByOutcome { key count } callsBySentiment { key count }
        }
        byOutcome: analytics(range: { preset: LAST_7_DAYS }, groupBy: OUTCOME) { buckets { groups { key metrics { calls } } } }
        overall: analytics(range: { preset: LAST_7_DAYS }) { buckets { metrics { calls appointments } } }
        agentLeaderboard(range: { preset: LAST_7_DAYS }, metric: APPOINTMENTS) { stats { appointments conversionRate } }
      }`;
      interface Panels {
        dashboard: Record<string, unknown>;
        byOutcome: { buckets: { groups: { key: string | null; metrics: { calls: number } }[] }[] };
        overall: { buckets: { metrics: { calls: number; appointments: number } }[] };
        agentLeaderboard: { stats: { appointments: number; conversionRate: number | null } }[];
      }
      const panels = async () => {
        const response = await server.graphql<Panels>(PANELS, { token });
        expect(response.body.errors).toBeUndefined();
        const data = response.body.data!;
        const outcomes: Record<string, number> = {};
        for (const bucket of data.byOutcome.buckets) {
          for (const group of bucket.groups) outcomes[group.key ?? 'none'] = (outcomes[group.key ?? 'none'] ?? 0) + group.metrics.calls;
        }
        const sum = (pick: (m: { calls: number; appointments: number }) => number) =>
          data.overall.buckets.reduce((total, bucket) => total + pick(bucket.metrics), 0);
        return {
          dashboard: data.dashboard,
          analyticsOutcomes: outcomes,
          analyticsCalls: sum((m) => m.calls),
          analyticsAppointments: sum((m) => m.appointments),
          leaderboard: data.agentLeaderboard[0]!.stats,
        };
      };

      expect(await panels()).toEqual({
        dashboard: {
          totalCalls: { current: 3 },
          completedCalls: { current: 2 },
          appointmentsBooked: { current: 0 },
          conversionRate: { current: 0 },
          pipelineValue: { current: 0 },
          callsByOutcome: [
            { key: 'interested', count: 1 },
            { key: 'no_outcome', count: 1 },
            { key: 'none', count: 1 },
          ],
          callsBySentiment: [
            { key: 'neutral', count: 2 },
            { key: 'none', count: 1 },
          ],
        },
        analyticsOutcomes: { interested: 1, no_outcome: 1, none: 1 },
        analyticsCalls: 3,
        analyticsAppointments: 0,
        leaderboard: { appointments: 0, conversionRate: 0 },
      });

      const send = (query: string, input: Record<string, unknown>) => server.graphql(query, { token, variables: { input } });
      const outcome = await send(UPDATE_CALL, { id: toGlobalId('Call', undecided!), outcome: 'APPOINTMENT_BOOKED', sentiment: 'POSITIVE' });
      expect(outcome.body.errors).toBeUndefined();
      const booking = await send(BOOK, { callId: toGlobalId('Call', undecided!), scheduledAt: inDays(3), value: 1250.5 });
      expect(booking.body.errors).toBeUndefined();
      const booking2 = await send(BOOK, { callId: toGlobalId('Call', interested!), scheduledAt: inDays(4), value: 99.99 });
      expect(booking2.body.errors).toBeUndefined();

      expect(await panels()).toEqual({
        dashboard: {
          totalCalls: { current: 3 },
          completedCalls: { current: 2 },
          appointmentsBooked: { current: 2 },
          conversionRate: { current: 1 },
          pipelineValue: { current: 1350.49 },
          callsByOutcome: [
            { key: 'appointment_booked', count: 1 },
            { key: 'interested', count: 1 },
            { key: 'none', count: 1 },
          ],
          callsBySentiment: [
            { key: 'neutral', count: 1 },
            { key: 'none', count: 1 },
            { key: 'positive', count: 1 },
          ],
        },
        analyticsOutcomes: { appointment_booked: 1, interested: 1, none: 1 },
        analyticsCalls: 3,
        analyticsAppointments: 2,
        leaderboard: { appointments: 2, conversionRate: 1 },
      });

      const cancel = await send(CANCEL, { id: booking2.body.data.bookAppointment.appointment.id });
      expect(cancel.body.errors).toBeUndefined();
      const afterCancel = await panels();
      // Still booked in the range, whatever its status since; no longer in the pipeline.
      expect(afterCancel.dashboard).toMatchObject({ appointmentsBooked: { current: 2 }, pipelineValue: { current: 1250.5 } });
      expect(afterCancel.analyticsAppointments).toBe(2);

      // And the rollups agree with a recount from the raw rows.
      expect(await rollupDifferences(db, statsOrg.id)).toEqual([]);
    });
  });
});
