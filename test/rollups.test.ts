import { sql } from 'kysely';
import type { Db } from '../src/db/database';
import { tenantScope } from '../src/db/tenant';
import type { CallOutcome, CallStatus, Sentiment } from '../src/db/schema';
import { Random } from '../src/seed/random';
import { agentFigures } from '../src/stats/agents';
import { analyticsSeries } from '../src/stats/analytics';
import { dashboardFigures } from '../src/stats/dashboard';
import type { RangeSpec } from '../src/stats/periods';
import { rollupDifferences } from '../src/stats/rollupCheck';
import { openTestDb } from './support/db';
import { createAgent, createAppointment, createAppointments, createContact, createOrg, type TestOrg } from './support/factories';

/**
 * Property: whatever writes happen — inserts, updates that move calls between
 * agents, statuses and days, deletes, appointments booked and cancelled — every
 * statistic read through the rollups equals the same statistic computed from
 * the raw rows, in time zones with DST and with half-hour offsets.
 */

const STATUSES: CallStatus[] = ['completed', 'completed', 'completed', 'no_answer', 'busy', 'failed', 'voicemail', 'in_progress'];
const OUTCOMES: CallOutcome[] = ['appointment_booked', 'callback_requested', 'interested', 'not_interested', 'no_outcome'];
const SENTIMENTS: Sentiment[] = ['positive', 'neutral', 'negative'];

/** Instants where bugs hide: local midnights and DST changes in New York and Kolkata. */
const HOT_SPOTS = [
  '2026-03-08T05:00:00Z',
  '2026-03-08T07:00:00Z',
  '2026-03-09T04:00:00Z', // spring forward (23-hour day)
  '2026-11-01T04:00:00Z',
  '2026-11-01T06:00:00Z',
  '2026-11-02T05:00:00Z', // fall back (25-hour day)
  '2026-11-01T18:30:00Z',
  '2026-11-02T18:30:00Z', // Kolkata midnights
].map((iso) => Date.parse(iso));

function randomInstant(random: Random): Date {
  const base = random.pick(HOT_SPOTS);
  return new Date(base + random.int(-180, 180) * 60_000 + random.int(0, 59_999));
}

function randomRanges(random: Random): { range: RangeSpec; now: Date }[] {
  const ranges: { range: RangeSpec; now: Date }[] = [];
  for (const preset of ['today', 'yesterday', 'last_7_days', 'this_month', 'last_month'] as const) {
    ranges.push({ range: { kind: 'preset', preset }, now: randomInstant(random) });
  }
  for (let i = 0; i < 4; i++) {
    const from = randomInstant(random);
    const to = new Date(from.getTime() + random.int(1, 96) * 3_600_000 + random.int(0, 3_599_999));
    ranges.push({ range: { kind: 'explicit', from, to }, now: to });
  }
  return ranges;
}

describe('rollups equal raw aggregation under random writes', () => {
  let db: Db;
  let closeDb: () => Promise<void>;

  beforeAll(() => {
    ({ db, close: closeDb } = openTestDb());
  });
  afterAll(() => closeDb());

  async function randomWrites(random: Random, org: TestOrg, agents: string[], contacts: string[]): Promise<void> {
    const callRow = () => {
      const status = random.pick(STATUSES);
      const completed = status === 'completed';
      return {
        org_id: org.id,
        agent_id: random.pick(agents),
        contact_id: random.chance(0.9) ? random.pick(contacts) : null,
        direction: random.chance(0.6) ? ('outbound' as const) : ('inbound' as const),
        status,
        from_number: '+15550000001',
        to_number: '+15550000002',
        started_at: randomInstant(random),
        duration_seconds: completed ? random.int(5, 900) : random.int(0, 30),
        cost: random.int(0, 20_000) / 10_000,
        sentiment: completed ? random.pick(SENTIMENTS) : null,
        outcome: completed ? random.pick(OUTCOMES) : null,
      };
    };
    // a multi-row insert and a few single-row ones
    await db
      .insertInto('calls')
      .values(Array.from({ length: random.int(5, 40) }, callRow))
      .execute();
    for (let i = 0; i < 3; i++) await db.insertInto('calls').values(callRow()).execute();

    const ids = (await db.selectFrom('calls').select('id').where('org_id', '=', org.id).execute()).map((r) => r.id);
    // single-row updates of every statistic-bearing column
    for (let i = 0; i < 5 && ids.length; i++) {
      await db
        .updateTable('calls')
        .set({
          status: random.pick(STATUSES),
          agent_id: random.pick(agents),
          duration_seconds: random.int(0, 600),
          started_at: randomInstant(random),
          outcome: random.chance(0.5) ? random.pick(OUTCOMES) : null,
          cost: random.int(0, 9999) / 10_000,
        })
        .where('org_id', '=', org.id)
        .where('id', '=', random.pick(ids))
        .execute();
    }
    // a multi-row update that shifts calls across local midnight, and one that changes nothing statistical
    await sql`update calls set started_at = started_at + interval '47 minutes' where org_id = ${org.id}::int8 and id % 5 = ${random.int(0, 4)}`.execute(
      db,
    );
    await sql`update calls set summary = 'touched' where org_id = ${org.id}::int8 and id % 3 = 0`.execute(db);
    // deletes, single and multi-row
    if (ids.length) await db.deleteFrom('calls').where('org_id', '=', org.id).where('id', '=', random.pick(ids)).execute();
    await sql`delete from calls where org_id = ${org.id}::int8 and id % 11 = ${random.int(0, 10)}`.execute(db);

    // appointments: book some, cancel some, delete one
    const callIds = (await db.selectFrom('calls').select('id').where('org_id', '=', org.id).limit(10).execute()).map((r) => r.id);
    for (const callId of callIds.slice(0, 3)) {
      await db
        .insertInto('appointments')
        .values({
          org_id: org.id,
          contact_id: random.pick(contacts),
          call_id: callId,
          agent_id: random.chance(0.8) ? random.pick(agents) : null,
          scheduled_at: randomInstant(random),
          status: 'scheduled',
          value: random.int(50, 600),
          created_at: randomInstant(random),
        })
        .execute();
    }
    await sql`update appointments set status = 'cancelled' where org_id = ${org.id}::int8 and id % 2 = ${random.int(0, 1)}`.execute(db);
    await sql`delete from appointments where org_id = ${org.id}::int8 and id % 7 = ${random.int(0, 6)}`.execute(db);
  }

  async function expectStatisticsAgree(random: Random, org: TestOrg, agents: string[]): Promise<void> {
    expect(await rollupDifferences(db, org.id)).toEqual([]);
    const scope = tenantScope(db, org.id);
    for (const { range, now } of randomRanges(random)) {
      const label = JSON.stringify({ range, now });
      const [viaRollups, viaRaw] = await Promise.all([dashboardFigures(scope, range, now, 'rollups'), dashboardFigures(scope, range, now, 'raw')]);
      expect({ label, figures: viaRollups }).toEqual({ label, figures: viaRaw });
      if (range.kind === 'explicit') {
        const [seriesRollups, seriesRaw] = await Promise.all([
          analyticsSeries(scope, range, 'day', 'agent', now, 'rollups'),
          analyticsSeries(scope, range, 'day', 'agent', now, 'raw'),
        ]);
        expect({ label, series: seriesRollups }).toEqual({ label, series: seriesRaw });
      }
    }
    // agent figures come through the same facts; compare against the dashboard total
    const range: RangeSpec = { kind: 'preset', preset: 'last_month' };
    const now = new Date('2026-12-05T12:00:00Z');
    const perAgent = await agentFigures(scope, agents, range, now);
    const dashboard = await dashboardFigures(scope, range, now, 'raw');
    expect(perAgent.reduce((sum, a) => sum + a.calls, 0)).toBe(dashboard.current.total);
  }

  for (const [timezone, seed] of [
    ['America/New_York', 11],
    ['Asia/Kolkata', 23],
    ['Europe/London', 37],
  ] as const) {
    it(`holds in ${timezone} over 6 rounds of random writes (seed ${seed})`, async () => {
      const random = new Random(seed);
      const org = await createOrg(db, { timezone });
      const agents = await Promise.all([1, 2, 3].map(() => createAgent(db, org.id)));
      const contacts = await Promise.all([1, 2, 3, 4].map(() => createContact(db, org.id)));
      for (let round = 0; round < 6; round++) {
        await randomWrites(random, org, agents, contacts);
        await expectStatisticsAgree(random, org, agents);
      }
    });
  }

  it('an organisation changing time zone has its rollups rebuilt on its new local days', async () => {
    const random = new Random(5);
    const org = await createOrg(db, { timezone: 'America/New_York' });
    const agents = [await createAgent(db, org.id)];
    const contacts = [await createContact(db, org.id)];
    await randomWrites(random, org, agents, contacts);
    await db.updateTable('organisations').set({ timezone: 'Asia/Kolkata' }).where('id', '=', org.id).execute();
    expect(await rollupDifferences(db, org.id)).toEqual([]);
    await expectStatisticsAgree(random, org, agents);
  });

  it.each([
    ['call_daily_agent_rollups', 'calls'],
    ['call_daily_org_rollups', 'cost_sum'],
    ['appointment_daily_rollups', 'appointments'],
    ['appointment_daily_org_rollups', 'value_sum'],
  ])('the check reports %s when its %s was tampered with', async (table, figure) => {
    const org = await createOrg(db);
    const agent = await createAgent(db, org.id);
    await db
      .insertInto('calls')
      .values({
        org_id: org.id,
        agent_id: agent,
        direction: 'inbound',
        status: 'completed',
        from_number: '+15550000001',
        to_number: '+15550000002',
        started_at: new Date('2026-05-05T15:00:00Z'),
      })
      .execute();
    await createAppointment(db, org.id, { contactId: await createContact(db, org.id), agentId: agent, createdAt: new Date('2026-05-05T15:00:00Z') });
    expect(await rollupDifferences(db, org.id)).toEqual([]);
    await sql`update ${sql.table(table)} set ${sql.ref(figure)} = ${sql.ref(figure)} + 1 where org_id = ${org.id}::int8`.execute(db);
    const differences = await rollupDifferences(db, org.id);
    expect(differences).toHaveLength(1);
    expect(differences[0]).toMatchObject({ table, org_id: org.id, day: '2026-05-05' });
  });
});

describe('rollup tables are keyed for replication and sharding', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  beforeAll(() => {
    ({ db, close: closeDb } = openTestDb());
  });
  afterAll(() => closeDb());

  it('every rollup table has a primary key that starts with org_id (docs/scaling.md)', async () => {
    const { rows } = await sql<{ table: string; key: string | null }>`
      select c.relname as table, (select pg_get_constraintdef(k.oid) from pg_constraint k where k.conrelid = c.oid and k.contype = 'p') as key
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = current_schema() and c.relkind = 'r' and c.relname like '%\\_rollups'
      order by 1`.execute(db);
    expect(rows.map((r) => r.table)).toEqual([
      'appointment_daily_org_rollups',
      'appointment_daily_rollups',
      'call_daily_agent_rollups',
      'call_daily_org_rollups',
    ]);
    for (const row of rows)
      expect({ table: row.table, key: row.key }).toEqual({ table: row.table, key: expect.stringMatching(/^PRIMARY KEY \(org_id, /) });
  });
});

describe('bulk writes', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  beforeAll(() => {
    ({ db, close: closeDb } = openTestDb());
  });
  afterAll(() => closeDb());

  it('calls and appointments have only statement-level triggers, so a bulk write pays each trigger once, not once per row', async () => {
    const { rows } = await sql<{ table: string; trigger: string }>`
      select c.relname as table, t.tgname as trigger
      from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = current_schema() and c.relname in ('calls', 'appointments') and not t.tgisinternal
        and t.tgtype & 1 = 1 -- TRIGGER_TYPE_ROW
      order by 1, 2`.execute(db);
    expect(rows).toEqual([]);
  });

  it('10,000 appointments booked in two statements land in the rollups exactly as raw aggregation counts them', async () => {
    const org = await createOrg(db, { timezone: 'America/New_York' });
    const agentId = await createAgent(db, org.id);
    const contactId = await createContact(db, org.id);
    const ids = await createAppointments(
      db,
      org.id,
      Array.from({ length: 10_000 }, (_, i) => ({
        contactId,
        agentId: i % 3 === 0 ? null : agentId,
        status: i % 4 === 0 ? ('cancelled' as const) : ('scheduled' as const),
        value: i % 500,
        createdAt: new Date(Date.UTC(2026, 2, 1) + i * 600_000),
      })),
    );
    expect(new Set(ids).size).toBe(10_000);
    expect(await rollupDifferences(db, org.id)).toEqual([]);
  });
});
