import { sql } from 'kysely';
import type { Db } from '../src/db/database';
import { openTestDb } from './support/db';
import { createOrg, type TestOrg } from './support/factories';
import { callUpsert } from '../src/webhooks/apply';
import { parseCallEvent } from '../src/webhooks/event';
import { startTestServer, type TestServer } from './support/server';
import { encodeCursor } from '../src/pagination/cursor';
import { callOrdering } from '../src/queries/calls';

/**
 * Every hot operation is served by an index: each SQL statement the server
 * issues for it is EXPLAINed on a dataset big enough for the planner to have a
 * real choice, and a sequential scan of calls, contacts or the rollups fails.
 */

const ORGS = 12;
const CALLS_PER_ORG = 6000;
const CONTACTS_PER_ORG = 600;
const SCANNED_TABLES = [
  'calls',
  'contacts',
  'call_daily_agent_rollups',
  'call_daily_org_rollups',
  'appointments',
  'appointment_daily_rollups',
  'appointment_daily_org_rollups',
  'call_transcripts',
  'phone_numbers',
  'agents',
];

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

/**
 * Indexes that no hot read needs, kept for a stated reason. Any other index
 * that no operation below uses fails the last spec: remove it or use it.
 */
const KEPT_FOR_WRITES: Record<string, string> = {
  memberships_user_idx: 'deleting a user cascades to memberships by user_id',
  // Not an HTTP operation, so not among the plans walked here; test/subscriptions.test.ts exercises it.
  calls_live: "a live subscription's first state and a resync read the organisation's calls in progress (findLiveCalls)",
};

const usedIndexes = new Set<string>();
/** `INDEX_REPORT=1 npx jest test/indexes.test.ts` prints which operation used which index (docs/indexes.md). */
const indexesByOperation = new Map<string, Set<string>>();

function walk(node: PlanNode, visit: (node: PlanNode) => void): void {
  visit(node);
  for (const child of node.Plans ?? []) walk(child, visit);
}

describe('hot queries are served by indexes (EXPLAIN)', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let server: TestServer;
  let org: TestOrg;
  let token: string;
  const ids: { agent?: string; contact?: string; call?: string } = {};
  /** Cursors deep into the sorted orders (row 3000 of 6000): keyset pages at depth. */
  const deep: Record<string, string> = {};

  beforeAll(async () => {
    ({ db, close: closeDb } = openTestDb());
    server = await startTestServer({ clock: () => new Date('2026-06-30T12:00:00Z') });
    const orgs: TestOrg[] = [];
    for (let i = 0; i < ORGS; i++) orgs.push(await createOrg(db, { timezone: i % 2 ? 'Europe/London' : 'America/New_York' }));
    org = orgs[0]!;
    token = await server.tokenFor(org);
    for (const o of orgs) {
      // Set-based fixture generation: agents, contacts and calls spread over 90 days.
      await sql`insert into agents (org_id, name, provider, provider_agent_id)
        select ${o.id}::int8, 'Agent ' || lpad(g::text, 3, '0'), 'retell', 'ag-' || g from generate_series(1, 150) g`.execute(db);
      await sql`insert into phone_numbers (org_id, e164, provider, provider_number_id, agent_id)
        select org_id, '+1212' || lpad((org_id * 100 + row_number() over ())::text, 7, '0'), 'twilio', 'PN' || id, id
        from agents where org_id = ${o.id}::int8`.execute(db);
      await sql`insert into contacts (org_id, name, phone, email, lead_score, created_at)
        select ${o.id}::int8, 'Contact ' || g || ' ' || md5(g::text), '+1555' || lpad(g::text, 7, '0'),
               'c' || g || '@example.com', (g * 37) % 101, timestamptz '2026-01-01' + g * interval '3 hours'
        from generate_series(1, ${CONTACTS_PER_ORG}) g`.execute(db);
      await sql`insert into calls (org_id, agent_id, contact_id, direction, status, from_number, to_number, started_at,
                                   ended_at, duration_seconds, cost, sentiment, outcome, recording_key, summary)
        select ${o.id}::int8, a.ids[1 + g % 20], c.ids[1 + g % ${CONTACTS_PER_ORG}],
               case when g % 5 < 2 then 'inbound' else 'outbound' end,
               (array['completed','completed','completed','no_answer','busy','failed','voicemail'])[1 + g % 7],
               '+1646' || lpad(g::text, 7, '0'), '+15550000002',
               timestamptz '2026-04-01' + (g * 1297 % (90 * 86400)) * interval '1 second',
               case when g % 10 <> 0 then timestamptz '2026-04-01' + (g * 1297 % (90 * 86400) + g % 600) * interval '1 second' end,
               g % 600, (g % 100) / 100.0,
               (array['positive','neutral','negative'])[1 + g % 3],
               (array['appointment_booked','callback_requested','interested','not_interested','no_outcome','do_not_call'])[1 + g % 6],
               case when g % 40 = 0 then 'orgs/' || ${o.id} || '/recordings/r' || g || '.wav' end,
               'Summary ' || md5(g::text)
        from generate_series(1, ${CALLS_PER_ORG}) g,
             (select array_agg(id order by id) ids from agents where org_id = ${o.id}::int8) a,
             (select array_agg(id order by id) ids from contacts where org_id = ${o.id}::int8) c`.execute(db);
      await sql`insert into appointments (org_id, contact_id, call_id, agent_id, scheduled_at, value, created_at)
        select org_id, contact_id, id, agent_id, started_at + interval '2 days', 200, started_at
        from calls where org_id = ${o.id}::int8 and outcome = 'appointment_booked' and contact_id is not null`.execute(db);
      await sql`insert into call_transcripts (org_id, call_id, text)
        select org_id, id, 'transcript ' || id || ' words ' || md5(id::text) from calls where org_id = ${o.id}::int8 and id % 10 = 0`.execute(db);
      await sql`update contacts ct set last_contacted_at = m.last from
        (select contact_id, max(started_at) last from calls where org_id = ${o.id}::int8 group by contact_id) m
        where ct.org_id = ${o.id}::int8 and ct.id = m.contact_id`.execute(db);
    }
    await sql`vacuum analyze`.execute(db);
    ids.agent = (await db.selectFrom('agents').select('id').where('org_id', '=', org.id).executeTakeFirstOrThrow()).id;
    ids.contact = (await db.selectFrom('contacts').select('id').where('org_id', '=', org.id).executeTakeFirstOrThrow()).id;
    ids.call = (await db.selectFrom('calls').select('id').where('org_id', '=', org.id).executeTakeFirstOrThrow()).id;
    for (const field of ['duration_seconds', 'cost', 'ended_at'] as const) {
      const { rows } = await sql<{ id: string; value: string | number | null }>`select id, ${sql.ref(field)} as value from calls
        where org_id = ${org.id}::int8 order by ${sql.ref(field)} desc nulls last, id desc offset 3000 limit 1`.execute(db);
      const row = rows[0]!;
      const value = field === 'ended_at' && row.value !== null ? new Date(row.value) : row.value;
      deep[field] = encodeCursor(callOrdering({ field, direction: 'desc' }), value, row.id);
    }
    const { rows: nullEnded } = await sql<{ id: string }>`select id from calls where org_id = ${org.id}::int8 and ended_at is null
      order by id desc offset 100 limit 1`.execute(db);
    deep.ended_null = encodeCursor(callOrdering({ field: 'ended_at', direction: 'desc' }), null, nullEnded[0]!.id);
  }, 120_000);

  afterAll(async () => {
    await server.close();
    await closeDb();
  });

  const gid = (type: string, id: string) => Buffer.from(`${type}:${id}`).toString('base64url');

  const operations: [string, () => string][] = [
    ['calls page', () => `{ calls(first: 50) { totalCount nodes { id agent { name } contact { name } hasRecording } } }`],
    ['calls by direction', () => `{ calls(first: 50, filter: { direction: INBOUND }) { totalCount nodes { id } } }`],
    ['calls by status', () => `{ calls(first: 50, filter: { status: [FAILED] }) { totalCount nodes { id } } }`],
    ['calls by outcome', () => `{ calls(first: 50, filter: { outcome: [DO_NOT_CALL] }) { totalCount nodes { id } } }`],
    ['calls by sentiment', () => `{ calls(first: 50, filter: { sentiment: [NEGATIVE] }) { totalCount nodes { id } } }`],
    ['calls with recordings', () => `{ calls(first: 50, filter: { hasRecording: true }) { totalCount nodes { id recordingUrl } } }`],
    [
      'calls in a date range',
      () =>
        `{ calls(first: 50, filter: { startedAfter: "2026-05-01T00:00:00Z", startedBefore: "2026-05-03T00:00:00Z" }) { totalCount nodes { id } } }`,
    ],
    ['calls of an agent (filter)', () => `{ calls(first: 50, filter: { agentId: "${gid('Agent', ids.agent!)}" }) { totalCount nodes { id } } }`],
    [
      'calls of a contact (filter)',
      () => `{ calls(first: 50, filter: { contactId: "${gid('Contact', ids.contact!)}" }) { totalCount nodes { id } } }`,
    ],
    [
      'agents with nested call pages',
      () =>
        `{ agents(first: 20) { nodes { phoneNumbers { number } calls(first: 10) { totalCount nodes { id contact { name lastCall { id } } } } } } }`,
    ],
    ['contact search', () => `{ contacts(first: 20, search: "contact 12") { totalCount nodes { id lastCall { id } } } }`],
    ['contacts, default order', () => `{ contacts(first: 20) { nodes { id name } } }`],
    ['contacts by name', () => `{ contacts(first: 20, orderBy: { field: NAME, direction: ASC }) { nodes { id name } } }`],
    [
      'contacts by tier',
      () =>
        `{ contacts(first: 20, tier: HOT, orderBy: { field: LEAD_SCORE, direction: DESC }) { nodes { id calls(first: 5) { nodes { id } } appointments { id } } } }`,
    ],
    [
      'by-id lookups',
      () =>
        `{ call(id: "${gid('Call', ids.call!)}") { id transcript { text } appointment { id } metadata } nodes(ids: ["${gid('Agent', ids.agent!)}", "${gid('Contact', ids.contact!)}"]) { id } }`,
    ],
    ['dashboard, 30 days', () => `{ dashboard(range: { preset: LAST_30_DAYS }) { totalCalls { current previous } callsByStatus { key count } } }`],
    [
      'dashboard, partial days',
      () =>
        `{ dashboard(range: { between: { from: "2026-05-01T13:30:00Z", to: "2026-05-20T08:00:00Z" } }) { totalCalls { current previous } pipelineValue { current } } }`,
    ],
    [
      'analytics, 90 days by day',
      () => `{ analytics(range: { preset: LAST_90_DAYS }, interval: DAY, groupBy: AGENT) { buckets { metrics { calls } } } }`,
    ],
    [
      'analytics, hourly',
      () =>
        `{ analytics(range: { between: { from: "2026-06-01T00:00:00Z", to: "2026-06-08T00:00:00Z" } }, interval: HOUR) { buckets { metrics { calls } } } }`,
    ],
    ['leaderboard', () => `{ agentLeaderboard(range: { preset: LAST_30_DAYS }, metric: CONVERSION_RATE, first: 50) { rank stats { calls } } }`],
    ['agent stats', () => `{ agents(first: 20) { nodes { stats(range: { preset: LAST_7_DAYS }) { calls } } } }`],
    ['contact stats', () => `{ contactStats { hot warm cold newContacts } }`],
    ['calls by duration', () => `{ calls(first: 50, orderBy: { field: DURATION, direction: DESC }) { nodes { id durationSeconds } } }`],
    [
      'calls by duration, deep page',
      () => `{ calls(first: 50, after: "${deep.duration_seconds}", orderBy: { field: DURATION, direction: DESC }) { nodes { id } } }`,
    ],
    [
      'calls by cost, deep page',
      () => `{ calls(first: 50, after: "${deep.cost}", orderBy: { field: COST, direction: DESC }) { nodes { id cost } } }`,
    ],
    [
      'calls by cost, backward',
      () => `{ calls(last: 50, before: "${deep.cost}", orderBy: { field: COST, direction: DESC }) { nodes { id cost agent { name } } } }`,
    ],
    ['calls by end, deep page', () => `{ calls(first: 50, after: "${deep.ended_at}", orderBy: { field: ENDED_AT }) { nodes { id endedAt } } }`],
    ['calls by end, in the unended', () => `{ calls(first: 50, after: "${deep.ended_null}", orderBy: { field: ENDED_AT }) { nodes { id } } }`],
    [
      'agents with nested calls by duration, cost and end',
      () => `{ agents(first: 20) { nodes { d: calls(first: 5, orderBy: { field: DURATION }) { nodes { id } }
        c: calls(first: 5, orderBy: { field: COST, direction: ASC }) { nodes { id } }
        e: calls(first: 5, orderBy: { field: ENDED_AT }) { nodes { id } } } } }`,
    ],
    ['contacts with nested calls by cost', () => `{ contacts(first: 20) { nodes { calls(first: 5, orderBy: { field: COST }) { nodes { id } } } } }`],
    ['agents by creation', () => `{ agents(first: 20, orderBy: { field: CREATED_AT, direction: DESC }) { nodes { id createdAt } } }`],
    ['call search, words', () => `{ calls(first: 20, filter: { search: "transcript 12" }) { totalCount nodes { id } } }`],
    ['call search, a contact', () => `{ calls(first: 20, filter: { search: "contact 12" }) { nodes { id } } }`],
    ['call search, a number', () => `{ calls(first: 20, filter: { search: "(646) 000-123" }, orderBy: { field: STARTED_AT }) { nodes { id } } }`],
  ];

  it.each(operations)('%s: no sequential scan of a large table', async (name, query) => {
    server.operations.length = 0;
    const response = await server.graphql(query(), { token });
    expect(response.body.errors).toBeUndefined();
    const statements = server.operations[0]!.statements.statements!;
    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) {
      const { rows } = await sql<{ 'QUERY PLAN': { Plan: PlanNode }[] }>`explain (format json) ${sql.raw(
        statement.sql.replace(/\$(\d+)/g, (_m, n: string) => literal(statement.parameters[Number(n) - 1])),
      )}`.execute(db);
      const seqScans: string[] = [];
      walk(rows[0]!['QUERY PLAN'][0]!.Plan, (node) => {
        if (node['Index Name']) {
          usedIndexes.add(node['Index Name']);
          indexesByOperation.set(name, (indexesByOperation.get(name) ?? new Set()).add(node['Index Name']));
        }
        if (node['Node Type'] === 'Seq Scan' && SCANNED_TABLES.includes(node['Relation Name'] ?? '')) {
          seqScans.push(node['Relation Name']!);
        }
      });
      expect({ sql: statement.sql, seqScans }).toEqual({ sql: statement.sql, seqScans: [] });
    }
  });

  it('webhook ingestion: the call upsert finds its agent and contact through indexes', async () => {
    const event = parseCallEvent({
      id: 'evt_explain',
      type: 'call.ended',
      occurred_at: '2026-06-01T12:02:00Z',
      provider: 'retell',
      call: {
        id: 'call_explain',
        agent_id: 'ag-1',
        direction: 'inbound',
        from: '+15550000012',
        to: '+12125550100',
        started_at: '2026-06-01T12:00:00Z',
        status: 'completed',
      },
    });
    const compiled = callUpsert(org.id, event).compile(db);
    const { rows } = await sql<{ 'QUERY PLAN': { Plan: PlanNode }[] }>`explain (format json) ${sql.raw(
      compiled.sql.replace(/\$(\d+)/g, (_m, n: string) => literal(compiled.parameters[Number(n) - 1])),
    )}`.execute(db);
    const seqScans: string[] = [];
    const indexes = new Set<string>();
    walk(rows[0]!['QUERY PLAN'][0]!.Plan, (node) => {
      if (node['Index Name']) indexes.add(node['Index Name']);
      if (node['Node Type'] === 'Seq Scan' && SCANNED_TABLES.includes(node['Relation Name'] ?? '')) seqScans.push(node['Relation Name']!);
    });
    expect(seqScans).toEqual([]);
    expect([...indexes]).toContain('contacts_by_phone');
    for (const name of indexes) usedIndexes.add(name);
  });

  it('every non-constraint index is used by a hot operation (or kept for a stated reason)', async () => {
    const { rows } = await sql<{ indexname: string }>`
      select i.indexname from pg_indexes i
      where i.schemaname = 'public'
        and not exists (select 1 from pg_constraint c where c.conname = i.indexname)`.execute(db);
    const unused = rows.map((r) => r.indexname).filter((name) => !usedIndexes.has(name) && !KEPT_FOR_WRITES[name]);
    expect(unused).toEqual([]);
    if (process.env.INDEX_REPORT) {
      for (const [operation, names] of indexesByOperation) console.log(`${operation}: ${[...names].sort().join(', ')}`);
    }
  });
});

/** Inlines a parameter as a SQL literal so EXPLAIN plans the statement exactly as it ran. */
function literal(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value instanceof Date) return `'${value.toISOString()}'`;
  if (Array.isArray(value)) return `array[${value.map(literal).join(', ')}]`;
  if (typeof value === 'number') return String(value);
  const text = typeof value === 'string' || typeof value === 'bigint' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
  return `'${text.replace(/'/g, "''")}'`;
}
