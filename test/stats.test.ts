import type { Db } from '../src/db/database';
import { openTestDb } from './support/db';
import { createAgent, createAppointment, createCalls, createContact, createOrg, type TestOrg } from './support/factories';
import { startTestServer, type TestServer } from './support/server';

/**
 * Statistics panels: exact figures, computed by PostgreSQL in one statement per
 * panel, in the organisation's local days — including DST days of 23 and 25 hours.
 */

// 2026-11-01 is the autumn DST change in New York (25-hour day); 2026-03-08 the spring one (23 hours).
const NOW = new Date('2026-11-03T17:00:00Z'); // Tuesday 3 Nov 2026, 12:00 in New York
const at = (iso: string) => new Date(iso);

describe('statistics panels', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let server: TestServer;
  let org: TestOrg;
  let token: string;
  let agents: string[];

  beforeAll(async () => {
    ({ db, close: closeDb } = openTestDb());
    server = await startTestServer({ clock: () => NOW });
    org = await createOrg(db, { timezone: 'America/New_York' });
    token = await server.tokenFor(org);
    agents = [
      await createAgent(db, org.id, { name: 'Ava' }),
      await createAgent(db, org.id, { name: 'Ben' }),
      await createAgent(db, org.id, { name: 'Cy', status: 'archived' }),
    ];
    const contact = await createContact(db, org.id);
    const calls = await createCalls(db, org.id, [
      // Today (3 Nov, local): 3 calls, 2 completed
      {
        agentId: agents[0]!,
        startedAt: at('2026-11-03T14:00:00Z'),
        status: 'completed',
        durationSeconds: 100,
        cost: 0.5,
        direction: 'inbound',
        outcome: 'appointment_booked',
        sentiment: 'positive',
        contactId: contact,
      },
      {
        agentId: agents[0]!,
        startedAt: at('2026-11-03T15:00:00Z'),
        status: 'completed',
        durationSeconds: 300,
        cost: 1.5,
        direction: 'outbound',
        outcome: 'interested',
        sentiment: 'neutral',
      },
      {
        agentId: agents[1]!,
        startedAt: at('2026-11-03T16:00:00Z'),
        status: 'no_answer',
        durationSeconds: 0,
        cost: 0,
        direction: 'outbound',
        outcome: null,
        sentiment: null,
      },
      // Just after local midnight today (04:30Z = 23:30 on 2 Nov local? no: EST is UTC-5, so 05:30Z = 00:30 local 3 Nov)
      {
        agentId: agents[1]!,
        startedAt: at('2026-11-03T05:30:00Z'),
        status: 'completed',
        durationSeconds: 200,
        cost: 1,
        direction: 'inbound',
        outcome: 'callback_requested',
        sentiment: 'positive',
      },
      // Yesterday late evening local (2 Nov 23:30 EST = 3 Nov 04:30Z)
      {
        agentId: agents[0]!,
        startedAt: at('2026-11-03T04:30:00Z'),
        status: 'completed',
        durationSeconds: 60,
        cost: 0.25,
        direction: 'outbound',
        outcome: 'not_interested',
        sentiment: 'negative',
      },
      // 1 Nov (25-hour day): 01:30 EDT (05:30Z) and 01:30 EST (06:30Z) are both on 1 Nov local
      { agentId: agents[0]!, startedAt: at('2026-11-01T05:30:00Z'), status: 'completed', durationSeconds: 120, cost: 0.5 },
      { agentId: agents[0]!, startedAt: at('2026-11-01T06:30:00Z'), status: 'busy', durationSeconds: 0, cost: 0 },
    ]);
    await createAppointment(db, org.id, {
      contactId: contact,
      callId: calls[0]!,
      agentId: agents[0]!,
      value: 400,
      createdAt: at('2026-11-03T14:05:00Z'),
    });
  });

  afterAll(async () => {
    await server.close();
    await closeDb();
  });

  async function run(query: string, variables: Record<string, unknown> = {}) {
    server.operations.length = 0;
    const response = await server.graphql(query, { token, variables });
    expect(response.body.errors).toBeUndefined();
    return { data: response.body.data, statements: server.operations[0]!.statements.count };
  }

  it('the dashboard for TODAY counts the local day, compares with yesterday, in one statement', async () => {
    const { data, statements } = await run(`{
      dashboard(range: { preset: TODAY }) {
        range { from to } previousRange { from to }
        totalCalls { current previous change }
        completedCalls { current previous }
        answeredRate { current }
        inboundCalls { current } outboundCalls { current }
        averageDurationSeconds { current }
        totalCost { current }
        appointmentsBooked { current } conversionRate { current } pipelineValue { current }
        callsByStatus { key count } callsByOutcome { key count } callsBySentiment { key count }
      }
    }`);
    const d = data.dashboard;
    expect(d.range).toEqual({ from: '2026-11-03T05:00:00.000Z', to: '2026-11-04T05:00:00.000Z' });
    expect(d.previousRange).toEqual({ from: '2026-11-02T05:00:00.000Z', to: '2026-11-03T05:00:00.000Z' });
    expect(d.totalCalls).toEqual({ current: 4, previous: 1, change: 3 });
    expect(d.completedCalls).toEqual({ current: 3, previous: 1 });
    expect(d.answeredRate.current).toBe(0.75);
    expect(d.inboundCalls.current).toBe(2);
    expect(d.outboundCalls.current).toBe(2);
    expect(d.averageDurationSeconds.current).toBe(200);
    expect(d.totalCost.current).toBe(3);
    expect(d.callsByStatus).toEqual([
      { key: 'completed', count: 3 },
      { key: 'no_answer', count: 1 },
    ]);
    expect(d.callsBySentiment).toEqual([
      { key: 'positive', count: 2 },
      { key: 'neutral', count: 1 },
      { key: 'none', count: 1 },
    ]);
    expect(statements).toBe(1);
  });

  it('daily analytics zero-fills empty days and has a 25-hour bucket on the autumn DST day', async () => {
    const { data, statements } = await run(`{
      analytics(range: { between: { from: "2026-10-31T04:00:00Z", to: "2026-11-04T05:00:00Z" } }, interval: DAY) {
        buckets { label start end metrics { calls completed } }
      }
    }`);
    const buckets = data.analytics.buckets as { label: string; start: string; end: string; metrics: { calls: number } }[];
    expect(buckets.map((b) => b.label)).toEqual(['2026-10-31', '2026-11-01', '2026-11-02', '2026-11-03']);
    expect(buckets.map((b) => b.metrics.calls)).toEqual([0, 2, 1, 4]);
    const hours = (b: { start: string; end: string }) => (Date.parse(b.end) - Date.parse(b.start)) / 3_600_000;
    expect(buckets.map(hours)).toEqual([24, 25, 24, 24]);
    expect(statements).toBe(1);
  });

  it('hourly analytics over the autumn DST day has 25 buckets, the repeated hour twice', async () => {
    const { data } = await run(`{
      analytics(range: { between: { from: "2026-11-01T04:00:00Z", to: "2026-11-02T05:00:00Z" } }, interval: HOUR) {
        buckets { label start metrics { calls } }
      }
    }`);
    const buckets = data.analytics.buckets as { label: string; start: string; metrics: { calls: number } }[];
    expect(buckets).toHaveLength(25);
    const oneThirty = buckets.filter((b) => b.label === '2026-11-01T01:00');
    expect(oneThirty.map((b) => [b.start, b.metrics.calls])).toEqual([
      ['2026-11-01T05:00:00.000Z', 1],
      ['2026-11-01T06:00:00.000Z', 1],
    ]);
  });

  it('analytics grouped by agent lists every agent seen in the range in every bucket', async () => {
    const { data } = await run(`{
      analytics(range: { preset: LAST_7_DAYS }, interval: DAY, groupBy: AGENT) {
        buckets { label groups { key agent { name } metrics { calls appointments } } }
      }
    }`);
    const buckets = data.analytics.buckets as {
      label: string;
      groups: { agent: { name: string }; metrics: { calls: number; appointments: number } }[];
    }[];
    expect(buckets).toHaveLength(7);
    for (const bucket of buckets) expect(bucket.groups.map((g) => g.agent.name)).toEqual(['Ava', 'Ben']);
    const today = buckets.find((b) => b.label === '2026-11-03')!;
    expect(today.groups.map((g) => g.metrics)).toEqual([
      { calls: 2, appointments: 1 },
      { calls: 2, appointments: 0 },
    ]);
  });

  it('agent stats for a page of agents are one statement, and the leaderboard ranks by the metric', async () => {
    const { data, statements } = await run(`{
      agents(first: 10) { nodes { name stats(range: { preset: TODAY }) { calls completed averageDurationSeconds appointments conversionRate } } }
    }`);
    expect(data.agents.nodes).toEqual([
      { name: 'Ava', stats: { calls: 2, completed: 2, averageDurationSeconds: 200, appointments: 1, conversionRate: 0.5 } },
      { name: 'Ben', stats: { calls: 2, completed: 1, averageDurationSeconds: 200, appointments: 0, conversionRate: 0 } },
      { name: 'Cy', stats: { calls: 0, completed: 0, averageDurationSeconds: null, appointments: 0, conversionRate: null } },
    ]);
    expect(statements).toBe(2); // the agents page, then all their stats

    const board = await run(`{ agentLeaderboard(range: { preset: LAST_7_DAYS }, metric: COMPLETED) { rank agent { name } stats { completed } } }`);
    expect(board.data.agentLeaderboard).toEqual([
      { rank: 1, agent: { name: 'Ava' }, stats: { completed: 4 } },
      { rank: 2, agent: { name: 'Ben' }, stats: { completed: 1 } },
    ]);
  });

  it('contact stats count tiers and coverage', async () => {
    const { data, statements } = await run(`{ contactStats { total hot warm cold newContacts contacted neverContacted } }`);
    expect(data.contactStats).toMatchObject({ total: 1, warm: 1, contacted: 0, neverContacted: 1 });
    expect(statements).toBe(1);
  });

  it('rejects ranges that are inverted, too long, or ambiguous', async () => {
    for (const range of [
      '{ between: { from: "2026-11-02T00:00:00Z", to: "2026-11-01T00:00:00Z" } }',
      '{ between: { from: "2024-01-01T00:00:00Z", to: "2026-01-01T00:00:00Z" } }',
      '{ preset: TODAY, between: { from: "2026-11-01T00:00:00Z", to: "2026-11-02T00:00:00Z" } }',
      '{ between: { from: "2026-11-01T00:00:00Z" } }',
      '{ }',
      '{ preset: null }',
    ]) {
      const response = await server.graphql(`{ dashboard(range: ${range}) { totalCalls { current } } }`, { token });
      expect(response.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
  });

  it('rejects explicit ranges outside 1900..9999 before PostgreSQL has to do arithmetic on them', async () => {
    const panels = [
      (range: string) => `{ dashboard(range: ${range}) { range { from } previousRange { from } totalCalls { current } } }`,
      (range: string) => `{ analytics(range: ${range}) { buckets { start } } }`,
      (range: string) => `{ agentLeaderboard(range: ${range}) { rank } }`,
    ];
    const ranges: [string, string][] = [
      ['{ between: { from: "0000-01-01T00:00:00Z", to: "0000-01-31T00:00:00Z" } }', 'range.between.from'],
      ['{ between: { from: "1899-12-01T00:00:00Z", to: "1900-01-02T00:00:00Z" } }', 'range.between.from'],
      ['{ between: { from: "9998-12-31T00:00:00Z", to: "9999-01-02T00:00:00Z" } }', 'range.between.to'],
    ];
    for (const panel of panels) {
      for (const [range, argument] of ranges) {
        const response = await server.graphql(panel(range), { token });
        expect(response.body.errors).toEqual([expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT', argument } })]);
      }
    }
    // The edges themselves are fine.
    await run(panels[1]!('{ between: { from: "1900-01-01T00:00:00Z", to: "1900-01-03T00:00:00Z" } }'));
  });
});
