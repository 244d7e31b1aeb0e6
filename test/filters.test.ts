import type { Db } from '../src/db/database';
import type { CallDirection, CallOutcome, CallStatus, ContactStatus, Sentiment } from '../src/db/schema';
import { toGlobalId } from '../src/graphql/globalId';
import { openTestDb } from './support/db';
import { createAgent, createCalls, createContact, createOrg, type TestOrg } from './support/factories';
import { startTestServer, type GraphQLResponse, type TestServer } from './support/server';

/**
 * Filters return exactly the rows they describe: each expectation below is
 * computed from the fixture, so a filter that matches too much or too little fails.
 */

interface CallSpec {
  agent: number;
  contact: 'zephyr' | 'marlowe' | null;
  direction: CallDirection;
  status: CallStatus;
  startedAt: Date;
  recordingKey: string | null;
  outcome: CallOutcome | null;
  sentiment: Sentiment | null;
  durationSeconds: number;
  cost: number;
}
interface CallFixture extends CallSpec {
  gid: string;
}

const STATUSES: CallStatus[] = ['completed', 'in_progress', 'no_answer', 'failed', 'busy', 'voicemail', 'queued', 'ringing'];
const OUTCOMES: (CallOutcome | null)[] = ['appointment_booked', 'no_outcome', 'interested', null, 'not_interested'];
const SENTIMENTS: (Sentiment | null)[] = ['positive', 'neutral', 'negative', null, 'positive', 'neutral', 'negative'];
const base = Date.UTC(2026, 3, 1, 8);

const CONTACTS = {
  zephyr: { name: 'Quincy Aardvark-Zephyr', email: 'q.zephyr@example.org', phone: '+14155550199', leadScore: 39, status: 'qualified' },
  pct: { name: 'Xylo 7%off Ltd', email: null, phone: '+14155550101', leadScore: 40, status: 'new' },
  pctDecoy: { name: 'Xylo 7Xoff Ltd', email: null, phone: '+14155550102', leadScore: 69, status: 'new' },
  under: { name: 'Xylo q_r Ltd', email: null, phone: '+14155550103', leadScore: 70, status: 'contacted' },
  underDecoy: { name: 'Xylo qzr Ltd', email: null, phone: '+14155550104', leadScore: 0, status: 'lost' },
  marlowe: { name: 'Marlowe Brightwater', email: 'Marlowe.B@Example.net', phone: '+14155550105', leadScore: 100, status: 'converted' },
} satisfies Record<string, { name: string; email: string | null; phone: string; leadScore: number; status: ContactStatus }>;
type ContactKey = keyof typeof CONTACTS;

function expectBadUserInput(response: GraphQLResponse): void {
  const errors = response.body.errors ?? [];
  expect(errors.length).toBeGreaterThan(0);
  for (const error of errors) expect(error.extensions?.code).toBe('BAD_USER_INPUT');
}

const idsOf = (connection: { nodes: { id: string }[] }) => connection.nodes.map((node) => node.id).sort();

describe('filters: lists return exactly the rows their filters describe', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let server: TestServer;
  let org: TestOrg;
  let token: string;
  const agentIds: string[] = [];
  const contactIds = {} as Record<ContactKey, string>;
  const calls: CallFixture[] = [];
  let special: { inProgress: CallFixture; noAnswer: CallFixture };
  let foreignAgentId: string;

  beforeAll(async () => {
    ({ db, close: closeDb } = openTestDb());
    server = await startTestServer();
    org = await createOrg(db);
    token = await server.tokenFor(org);
    for (const [name, status] of [
      ['Ada', 'active'],
      ['Bea', 'paused'],
      ['Cy', 'archived'],
    ] as const) {
      agentIds.push(await createAgent(db, org.id, { name, status }));
    }
    for (const [key, contact] of Object.entries(CONTACTS) as [ContactKey, (typeof CONTACTS)[ContactKey]][]) {
      contactIds[key] = await createContact(db, org.id, contact);
    }

    const specs: CallSpec[] = Array.from({ length: 36 }, (_, i) => ({
      agent: i % 3,
      contact: (['zephyr', 'marlowe', null] as const)[Math.floor(i / 3) % 3]!,
      direction: i % 2 === 0 ? 'inbound' : 'outbound',
      status: STATUSES[i % 8]!,
      startedAt: new Date(base + i * 3_600_000),
      recordingKey: i % 4 === 0 ? `rec/${i}.wav` : null,
      outcome: OUTCOMES[i % 5]!,
      sentiment: SENTIMENTS[i % 7]!,
      durationSeconds: 30 + i,
      cost: 0.05 * i,
    }));
    specs.push(
      {
        agent: 1,
        contact: 'zephyr',
        direction: 'inbound',
        status: 'in_progress',
        startedAt: new Date(base - 86_400_000),
        recordingKey: 'rec/special.wav',
        outcome: 'callback_requested',
        sentiment: 'negative',
        durationSeconds: 754,
        cost: 12.3456,
      },
      {
        agent: 2,
        contact: null,
        direction: 'outbound',
        status: 'no_answer',
        startedAt: new Date(base - 2 * 86_400_000),
        recordingKey: null,
        outcome: null,
        sentiment: null,
        durationSeconds: 0,
        cost: 0,
      },
    );
    const ids = await createCalls(
      db,
      org.id,
      specs.map((spec) => ({ ...spec, agentId: agentIds[spec.agent]!, contactId: spec.contact && contactIds[spec.contact] })),
    );
    specs.forEach((spec, i) => calls.push({ ...spec, gid: toGlobalId('Call', ids[i]!) }));
    special = { inProgress: calls[36]!, noAnswer: calls[37]! };

    const other = await createOrg(db);
    foreignAgentId = await createAgent(db, other.id);
    await createCalls(db, other.id, [{ agentId: foreignAgentId, direction: 'inbound', status: 'completed' }]);
  });

  afterAll(async () => {
    await server.close();
    await closeDb();
  });

  const raw = (query: string, variables?: Record<string, unknown>) => server.graphql(query, { token, variables });
  const agentGid = (index: number) => toGlobalId('Agent', agentIds[index]!);
  const contactGid = (key: ContactKey) => toGlobalId('Contact', contactIds[key]);

  /** Asserts the root `calls` list under `filter` is exactly the fixture calls matching `predicate`. */
  async function expectCalls(filter: Record<string, unknown>, predicate: (call: CallFixture) => boolean, options = { empty: false }) {
    const expected = calls
      .filter(predicate)
      .map((call) => call.gid)
      .sort();
    // A filter test is only meaningful when the filter actually excludes something.
    if (options.empty) expect(expected).toHaveLength(0);
    else expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(calls.length);
    const response = await raw('query Q($f: CallFilter) { calls(filter: $f, first: 100) { totalCount nodes { id } } }', { f: filter });
    expect(response.body.errors).toBeUndefined();
    expect(idsOf(response.body.data.calls)).toEqual(expected);
    expect(response.body.data.calls.totalCount).toBe(expected.length);
  }

  describe('calls', () => {
    it('direction INBOUND / OUTBOUND', async () => {
      await expectCalls({ direction: 'INBOUND' }, (c) => c.direction === 'inbound');
      await expectCalls({ direction: 'OUTBOUND' }, (c) => c.direction === 'outbound');
    });

    it('status matches any of the listed statuses', async () => {
      await expectCalls({ status: ['IN_PROGRESS'] }, (c) => c.status === 'in_progress');
      await expectCalls({ status: ['NO_ANSWER', 'BUSY', 'VOICEMAIL'] }, (c) => ['no_answer', 'busy', 'voicemail'].includes(c.status));
    });

    it('an empty status list matches nothing', async () => {
      await expectCalls({ status: [] }, () => false, { empty: true });
    });

    it('agentId and contactId', async () => {
      await expectCalls({ agentId: agentGid(1) }, (c) => c.agent === 1);
      await expectCalls({ contactId: contactGid('marlowe') }, (c) => c.contact === 'marlowe');
    });

    it("another organisation's agent id matches nothing, like an id that does not exist", async () => {
      await expectCalls({ agentId: toGlobalId('Agent', foreignAgentId) }, () => false, { empty: true });
    });

    it('startedAfter is inclusive and startedBefore is exclusive', async () => {
      const at = (i: number) => calls[i]!.startedAt;
      await expectCalls({ startedAfter: at(10).toISOString() }, (c) => c.startedAt >= at(10));
      await expectCalls({ startedBefore: at(20).toISOString() }, (c) => c.startedAt < at(20));
      await expectCalls(
        { startedAfter: at(10).toISOString(), startedBefore: at(20).toISOString() },
        (c) => c.startedAt >= at(10) && c.startedAt < at(20),
      );
      await expectCalls({ startedAfter: at(10).toISOString(), startedBefore: at(10).toISOString() }, () => false, { empty: true });
    });

    it('hasRecording true / false', async () => {
      await expectCalls({ hasRecording: true }, (c) => c.recordingKey !== null);
      await expectCalls({ hasRecording: false }, (c) => c.recordingKey === null);
    });

    it('outcome and sentiment match any of their values (never a null one)', async () => {
      await expectCalls({ outcome: ['APPOINTMENT_BOOKED', 'CALLBACK_REQUESTED'] }, (c) =>
        ['appointment_booked', 'callback_requested'].includes(c.outcome ?? ''),
      );
      await expectCalls({ sentiment: ['NEGATIVE'] }, (c) => c.sentiment === 'negative');
      await expectCalls({ sentiment: ['POSITIVE', 'NEUTRAL'] }, (c) => c.sentiment === 'positive' || c.sentiment === 'neutral');
    });

    it('filters combine with AND', async () => {
      await expectCalls(
        { direction: 'INBOUND', agentId: agentGid(0), status: ['COMPLETED', 'FAILED', 'QUEUED', 'BUSY'] },
        (c) => c.direction === 'inbound' && c.agent === 0 && ['completed', 'failed', 'queued', 'busy'].includes(c.status),
      );
      await expectCalls(
        { contactId: contactGid('zephyr'), hasRecording: false, sentiment: ['NEUTRAL', 'NEGATIVE'], startedAfter: calls[5]!.startedAt },
        (c) =>
          c.contact === 'zephyr' &&
          c.recordingKey === null &&
          ['neutral', 'negative'].includes(c.sentiment ?? '') &&
          c.startedAt >= calls[5]!.startedAt,
      );
    });

    it('a malformed agentId or contactId is BAD_USER_INPUT', async () => {
      const query = 'query Q($f: CallFilter) { calls(filter: $f) { nodes { id } } }';
      expectBadUserInput(await raw(query, { f: { agentId: 'not-a-global-id' } }));
      expectBadUserInput(await raw(query, { f: { agentId: contactGid('zephyr') } }));
      expectBadUserInput(await raw(query, { f: { contactId: agentGid(0) } }));
      expectBadUserInput(await raw(query, { f: { agentId: toGlobalId('Agent', 'abc') } }));
    });

    it('nested Agent.calls and Contact.calls apply the filter within their parent', async () => {
      const response = await raw(
        `query Q($a: ID!, $c: ID!, $z: ID!) {
          agent(id: $a) { calls(filter: { status: [COMPLETED, IN_PROGRESS, NO_ANSWER] }, first: 100) { totalCount nodes { id } } }
          contact(id: $c) { calls(filter: { direction: INBOUND, hasRecording: false }, first: 100) { totalCount nodes { id } } }
          byContact: agent(id: $a) { calls(filter: { contactId: $z, sentiment: [POSITIVE, NEGATIVE] }, first: 100) { nodes { id } } }
          agents(first: 10) { nodes { id calls(filter: { outcome: [INTERESTED] }, first: 100) { totalCount nodes { id } } } }
        }`,
        { a: agentGid(1), c: contactGid('zephyr'), z: contactGid('zephyr') },
      );
      expect(response.body.errors).toBeUndefined();
      const data = response.body.data;
      const expected = (predicate: (c: CallFixture) => boolean) =>
        calls
          .filter(predicate)
          .map((c) => c.gid)
          .sort();
      const agentCalls = expected((c) => c.agent === 1 && ['completed', 'in_progress', 'no_answer'].includes(c.status));
      expect(idsOf(data.agent.calls)).toEqual(agentCalls);
      expect(data.agent.calls.totalCount).toBe(agentCalls.length);
      const contactCalls = expected((c) => c.contact === 'zephyr' && c.direction === 'inbound' && c.recordingKey === null);
      expect(idsOf(data.contact.calls)).toEqual(contactCalls);
      expect(data.contact.calls.totalCount).toBe(contactCalls.length);
      expect(idsOf(data.byContact.calls)).toEqual(
        expected((c) => c.agent === 1 && c.contact === 'zephyr' && (c.sentiment === 'positive' || c.sentiment === 'negative')),
      );
      for (const agent of data.agents.nodes as { id: string; calls: { nodes: { id: string }[] } }[]) {
        const agentIndex = agentIds.findIndex((_, i) => agentGid(i) === agent.id);
        expect(agentIndex).toBeGreaterThanOrEqual(0);
        expect(idsOf(agent.calls)).toEqual(expected((c) => c.agent === agentIndex && c.outcome === 'interested'));
      }
      for (const connection of [data.agent.calls, data.contact.calls]) expect(connection.nodes.length).toBeGreaterThan(0);
    });

    it('a malformed id in a nested filter is BAD_USER_INPUT', async () => {
      expectBadUserInput(
        await raw('query Q($a: ID!) { agent(id: $a) { calls(filter: { contactId: "junk" }) { nodes { id } } } }', { a: agentGid(0) }),
      );
    });
  });

  describe('Call fields', () => {
    const fields = 'id direction status fromNumber toNumber startedAt endedAt durationSeconds cost sentiment outcome hasRecording';

    it('map database values to the schema: upper-case enums, cost as a float, durations and numbers', async () => {
      const response = await raw(`query Q($a: ID!, $b: ID!) { a: call(id: $a) { ${fields} } b: call(id: $b) { ${fields} } }`, {
        a: special.inProgress.gid,
        b: special.noAnswer.gid,
      });
      expect(response.body.errors).toBeUndefined();
      const started = special.inProgress.startedAt;
      expect(response.body.data.a).toEqual({
        id: special.inProgress.gid,
        direction: 'INBOUND',
        status: 'IN_PROGRESS',
        fromNumber: '+15550000001',
        toNumber: '+15550000002',
        startedAt: started.toISOString(),
        endedAt: new Date(started.getTime() + 754_000).toISOString(),
        durationSeconds: 754,
        cost: 12.3456,
        sentiment: 'NEGATIVE',
        outcome: 'CALLBACK_REQUESTED',
        hasRecording: true,
      });
      expect(response.body.data.b).toMatchObject({
        direction: 'OUTBOUND',
        status: 'NO_ANSWER',
        durationSeconds: 0,
        cost: 0,
        sentiment: null,
        outcome: null,
        hasRecording: false,
      });
    });

    it('every status, outcome and sentiment in a list reads back as its upper-case enum', async () => {
      const response = await raw(`{ calls(first: 100) { nodes { ${fields} } } }`);
      expect(response.body.errors).toBeUndefined();
      const byId = new Map((response.body.data.calls.nodes as { id: string }[]).map((node) => [node.id, node]));
      expect(byId.size).toBe(calls.length);
      for (const call of calls) {
        expect(byId.get(call.gid)).toMatchObject({
          status: call.status.toUpperCase(),
          direction: call.direction.toUpperCase(),
          outcome: call.outcome?.toUpperCase() ?? null,
          sentiment: call.sentiment?.toUpperCase() ?? null,
          durationSeconds: call.durationSeconds,
          cost: Number(call.cost.toFixed(4)),
          hasRecording: call.recordingKey !== null,
        });
      }
    });
  });

  describe('contacts', () => {
    async function expectContacts(args: string, keys: ContactKey[]) {
      const response = await raw(`{ contacts(${args} first: 100) { totalCount nodes { id } } }`);
      expect(response.body.errors).toBeUndefined();
      expect(idsOf(response.body.data.contacts)).toEqual(keys.map(contactGid).sort());
      expect(response.body.data.contacts.totalCount).toBe(keys.length);
    }

    it('search matches name, email and phone substrings, case-insensitively', async () => {
      await expectContacts('search: "AARDVARK",', ['zephyr']);
      await expectContacts('search: "b@example.NET",', ['marlowe']);
      await expectContacts('search: "5550102",', ['pctDecoy']);
      await expectContacts('search: "xYlO",', ['pct', 'pctDecoy', 'under', 'underDecoy']);
    });

    it('search with fewer than 3 characters is BAD_USER_INPUT', async () => {
      expectBadUserInput(await raw('{ contacts(search: "ab") { nodes { id } } }'));
    });

    it('% and _ in search are literal characters, not wildcards', async () => {
      await expectContacts('search: "7%off",', ['pct']);
      await expectContacts('search: "q_r",', ['under']);
    });

    it('tier HOT is ≥ 70, WARM is 40–69, COLD is below 40', async () => {
      await expectContacts('tier: HOT,', ['under', 'marlowe']);
      await expectContacts('tier: WARM,', ['pct', 'pctDecoy']);
      await expectContacts('tier: COLD,', ['zephyr', 'underDecoy']);
    });

    it('status, alone and with search and tier', async () => {
      await expectContacts('status: NEW,', ['pct', 'pctDecoy']);
      await expectContacts('status: NEW, tier: WARM, search: "7xo",', ['pctDecoy']);
      await expectContacts('status: ARCHIVED,', []);
    });

    it('Contact.tier reads the boundaries correctly (39 COLD, 40 WARM, 69 WARM, 70 HOT)', async () => {
      const response = await raw('{ contacts(first: 100) { nodes { id leadScore tier } } }');
      expect(response.body.errors).toBeUndefined();
      const tiers = Object.fromEntries(
        (response.body.data.contacts.nodes as { leadScore: number; tier: string }[]).map((c) => [c.leadScore, c.tier]),
      );
      expect(tiers).toEqual({ 0: 'COLD', 39: 'COLD', 40: 'WARM', 69: 'WARM', 70: 'HOT', 100: 'HOT' });
    });
  });

  describe('agents', () => {
    it('filter.status matches any of the listed statuses; an empty list matches nothing', async () => {
      const names = async (filter: string) => {
        const response = await raw(`{ agents(${filter} first: 100) { totalCount nodes { name } } }`);
        expect(response.body.errors).toBeUndefined();
        const { nodes, totalCount } = response.body.data.agents as { nodes: { name: string }[]; totalCount: number };
        expect(totalCount).toBe(nodes.length);
        return nodes.map((node) => node.name);
      };
      expect(await names('')).toEqual(['Ada', 'Bea', 'Cy']);
      expect(await names('filter: { status: [ACTIVE] }')).toEqual(['Ada']);
      expect(await names('filter: { status: [PAUSED, ARCHIVED] }')).toEqual(['Bea', 'Cy']);
      expect(await names('filter: { status: [] }')).toEqual([]);
    });
  });
});
