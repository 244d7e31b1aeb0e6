import { performance } from 'node:perf_hooks';
import { sql, type Transaction } from 'kysely';
import type { Db } from '../db/database';
import type { Database } from '../db/schema';

/**
 * Scale data for benchmarks: N organisations and up to millions of calls,
 * generated INSIDE PostgreSQL by set-based `insert … select … generate_series`.
 * Node only sends a few dozen statements, so 1M calls take about a minute.
 *
 * Randomness is a hash of (row key, salt) — `hashint8extended` — not
 * `random()`: every value depends only on its row, the seed and `now`, never
 * on plan, chunking or evaluation order. Call times come from per-org (day,
 * hour) slots whose call counts follow weekday rhythm, growth and business
 * hours in the organisation's local zone; a slot's calls are spread evenly
 * with jitter, so rows come out in started_at order without a sort. Weighted
 * agent choice joins a 1024-bucket table per (org, direction, business hours,
 * period), which is how paused/archived/new agents and the after-hours line
 * get their calls in the right times. Contacts are created at times monotonic
 * in their index (an inverted CDF), so a call picks among contacts that
 * existed by then with arithmetic alone.
 *
 * Organisations, users, agents and contacts are one transaction; each
 * organisation's calls (with appointments, via the insert's RETURNING) and
 * contact activity another, two at a time (one per core). Triggers and
 * constraints stay on: rollups are checked against raw rows at the end, and a
 * failed run deletes what it wrote. Measured on a 2-core machine: 1M calls
 * take ~100 CPU-seconds of PostgreSQL, of which the three foreign-key checks
 * per call are ~40% and the rollup trigger ~17%.
 */

export interface ScaleOptions {
  orgs: number;
  calls: number;
  contactsPerOrg?: number;
  agentsPerOrg?: number;
  days?: number;
  /** Organisation slugs are `<prefix>-1 … <prefix>-N`. */
  prefix?: string;
  /** Share of all calls (0–1) the first organisation gets; default an even split. */
  skew?: number;
  /** Delete the prefix's organisations (and their users) first. */
  reset?: boolean;
  seed?: number;
  /** Organisations seeded at once, each on its own connection; default 2. */
  parallel?: number;
  now?: Date;
  log?: (line: string) => void;
}

export interface ScaleResult {
  prefix: string;
  /** True when a matching dataset already existed and nothing was written. */
  reused: boolean;
  organisations: { id: string; slug: string; timezone: string; calls: number }[];
  calls: number;
  contacts: number;
  agents: number;
  appointments: number;
  phases: { phase: string; seconds: number }[];
  seconds: number;
}

type Trx = Transaction<Database>;
/** SQL for a pseudo-random value keyed by a row expression (bigint) and a salt. */
type Draw = (key: string, salt: number) => string;

/** [zone, city, calling code, national digits, language]: real IANA zones, one per organisation. */
const ZONES: readonly (readonly [string, string, string, number, string])[] = [
  ['America/New_York', 'New York', '1', 10, 'en-US'],
  ['Europe/London', 'London', '44', 10, 'en-GB'],
  ['America/Los_Angeles', 'Los Angeles', '1', 10, 'en-US'],
  ['Europe/Berlin', 'Berlin', '49', 10, 'de-DE'],
  ['Asia/Kolkata', 'Kolkata', '91', 10, 'en-IN'],
  ['Australia/Sydney', 'Sydney', '61', 9, 'en-AU'],
  ['America/Chicago', 'Chicago', '1', 10, 'en-US'],
  ['Asia/Tokyo', 'Tokyo', '81', 10, 'ja-JP'],
  ['Europe/Paris', 'Paris', '33', 9, 'fr-FR'],
  ['America/Sao_Paulo', 'São Paulo', '55', 11, 'pt-BR'],
  ['Asia/Singapore', 'Singapore', '65', 8, 'en-SG'],
  ['Africa/Johannesburg', 'Johannesburg', '27', 9, 'en-ZA'],
  ['America/Denver', 'Denver', '1', 10, 'en-US'],
  ['Europe/Madrid', 'Madrid', '34', 9, 'es-ES'],
  ['Asia/Dubai', 'Dubai', '971', 9, 'en-AE'],
  ['America/Toronto', 'Toronto', '1', 10, 'en-CA'],
  ['Pacific/Auckland', 'Auckland', '64', 9, 'en-NZ'],
  ['Europe/Stockholm', 'Stockholm', '46', 9, 'sv-SE'],
  ['America/Mexico_City', 'Mexico City', '52', 10, 'es-MX'],
  ['Asia/Seoul', 'Seoul', '82', 10, 'ko-KR'],
  ['Europe/Dublin', 'Dublin', '353', 9, 'en-IE'],
  ['America/Phoenix', 'Phoenix', '1', 10, 'en-US'],
  ['Asia/Manila', 'Manila', '63', 10, 'en-PH'],
  ['Europe/Warsaw', 'Warsaw', '48', 9, 'pl-PL'],
];
const BUSINESSES = [
  'Dental Group',
  'Realty',
  'Auto Care',
  'Insurance Brokers',
  'Solar',
  'Legal Services',
  'Home Services',
  'Veterinary Clinics',
  'Fitness Clubs',
  'Mortgage Advisers',
  'Physiotherapy',
  'Movers',
];
const FIRST_NAMES = [
  'James',
  'Mary',
  'Robert',
  'Patricia',
  'John',
  'Jennifer',
  'Michael',
  'Linda',
  'David',
  'Sarah',
  'Daniel',
  'Lisa',
  'José',
  'María',
  'Luis',
  'Wei',
  'Mei',
  'Raj',
  'Priya',
  'Aaliyah',
  'Jamal',
  'Sofia',
  'Diego',
  'Hannah',
  'Oliver',
  'Amelia',
  'George',
  'Isla',
  'Freya',
  'Mohammed',
  'Aisha',
  'Yuki',
  'Kenji',
  'Lena',
  'Felix',
  'Chloe',
  'Noah',
  'Grace',
  'Omar',
  'Zofia',
];
const LAST_NAMES = [
  'Smith',
  'Johnson',
  'Williams',
  'Brown',
  'Jones',
  'Garcia',
  'Miller',
  'Davis',
  'Rodriguez',
  'Martinez',
  'Wilson',
  'Anderson',
  'Taylor',
  'Moore',
  'Lee',
  'Nguyen',
  'Patel',
  'Kim',
  'Chen',
  'Cohen',
  "O'Brien",
  'Murphy',
  'Rossi',
  'Kowalski',
  'Okafor',
  'Khan',
  'Singh',
  'Müller',
  'Schmidt',
  'Dubois',
  'Tanaka',
  'Sato',
  'Silva',
  'Santos',
  'Evans',
  'Hughes',
  'Fraser',
  'Novak',
  'Larsen',
  'Haddad',
];
const AGENT_NAMES = [
  'Ava',
  'Max',
  'Nora',
  'Leo',
  'Zoe',
  'Ivy',
  'Otto',
  'Harriet',
  'Oliver',
  'Priya',
  'George',
  'Isla',
  'Freddie',
  'Amelia',
  'Sofía',
  'Mateo',
  'Yuki',
  'Kai',
  'Lena',
  'Felix',
  'Aisha',
  'Omar',
  'Mia',
  'Noah',
  'Ella',
  'Hugo',
  'Inès',
  'Ravi',
  'Tara',
  'Jonas',
];
const ROLES = {
  both: ['Bookings', 'Customer Care', 'Front Desk'],
  inbound: ['Inbound Reception', 'Billing Questions', 'Support Line', 'Lead Intake'],
  outbound: ['Appointment Reminders', 'Recall Outreach', 'Lead Follow-up', 'Renewals', 'Survey Calls'],
};
const TAGS = ['family-plan', 'follow-up', 'hot-lead', 'insurance', 'investor', 'new-customer', 'referral', 'spanish-speaking', 'vip'];
const SOURCES: Weighted = [
  ['web_form', 5],
  ['referral', 3],
  ['google_ads', 3],
  ['walk_in', 1],
  ['import', 2],
];

type Weighted = readonly (readonly [string, number])[];
// Same distributions as the demo seeder (src/seed/demo.ts): completed ≈ 62% overall.
const OUTBOUND_STATUSES: Weighted = [
  ['completed', 47],
  ['no_answer', 23],
  ['voicemail', 17],
  ['busy', 8],
  ['failed', 5],
];
const INBOUND_STATUSES: Weighted = [
  ['completed', 86],
  ['no_answer', 7],
  ['busy', 3],
  ['failed', 4],
];
const OUTCOMES: Weighted = [
  ['appointment_booked', 12],
  ['callback_requested', 14],
  ['interested', 16],
  ['not_interested', 18],
  ['wrong_number', 4],
  ['do_not_call', 3],
  ['transferred', 10],
  ['no_outcome', 23],
];
/** outcome → [median seconds, log spread, [positive, neutral, negative], summaries]. */
const OUTCOME_SHAPE: Record<string, readonly [number, number, readonly [number, number, number], readonly string[]]> = {
  appointment_booked: [
    260,
    0.45,
    [75, 22, 3],
    ['{first} booked an appointment; confirmation sent by SMS.', 'Booked {first} in for next week; details confirmed.'],
  ],
  callback_requested: [110, 0.5, [40, 50, 10], ['{first} asked for a call back tomorrow morning.', '{first} was busy and requested a call back.']],
  interested: [200, 0.5, [60, 35, 5], ['{first} is interested and wants prices by email.', '{first} wants to check their schedule first.']],
  not_interested: [70, 0.5, [5, 50, 45], ['{first} is not interested at the moment.', '{first} declined; already with another provider.']],
  wrong_number: [35, 0.3, [5, 70, 25], ['Wrong number: the person who answered does not know {first}.']],
  do_not_call: [40, 0.35, [2, 28, 70], ['{first} asked not to be called again. Added to the do-not-call list.']],
  transferred: [
    150,
    0.6,
    [30, 50, 20],
    ['Transferred {first} to a colleague with a billing question.', '{first} asked to speak to a person; transferred.'],
  ],
  no_outcome: [90, 0.7, [15, 60, 25], ['{first} asked about opening hours; no follow-up needed.', 'Short call with {first}; no clear next step.']],
};
const WEEKDAY_HOURS = [0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1.5, 5, 8, 9, 9, 6, 7, 9, 9, 8, 6, 4, 2, 1.2, 0.8, 0.5, 0.3];
const WEEKEND_HOURS = [0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.6, 2, 5, 7, 7, 6, 5, 4, 3, 1.5, 1, 0.8, 0.6, 0.5, 0.4, 0.3, 0.2];
const WEEKDAY_FACTOR = [0.15, 1, 1.05, 1, 1, 0.9, 0.35]; // Sunday … Saturday
/** Rows per calls INSERT: big enough that the statement-level rollup trigger runs rarely. */
const CHUNK = 250_000;
const BUCKETS = 1024;

// ------------------------------------------------------------ SQL builders

const lit = (value: string): string => `'${value.replace(/'/g, "''")}'`;
const textArray = (values: readonly string[]): string => `array[${values.map(lit).join(', ')}]::text[]`;
const floatArray = (values: readonly number[]): string => `array[${values.join(', ')}]::float8[]`;
/** One element of a constant list, chosen by the uniform draw `u`. */
const element = (values: readonly string[], u: string): string => `(${textArray(values)})[1 + floor(${u} * ${values.length})::int]`;
/** A weighted choice among constants by the uniform draw `u` (a column, evaluated once per WHEN). */
function pick(u: string, entries: Weighted): string {
  const total = entries.reduce((sum, [, weight]) => sum + weight, 0);
  let cumulative = 0;
  const whens = entries.slice(0, -1).map(([value, weight]) => `when ${u} < ${(cumulative += weight) / total} then ${lit(value)}`);
  return `case ${whens.join(' ')} else ${lit(entries[entries.length - 1]?.[0] ?? '')} end`;
}
/** Standard normal from two uniform draws (Box–Muller); 1 - u avoids ln(0). */
const normal = (u1: string, u2: string): string => `(sqrt(-2 * ln(1 - ${u1})) * cos(2 * pi() * ${u2}))`;
/** `count` random digits, the first non-zero: valid E.164 after a calling code. */
const digits = (count: string, u1: string, u2: string): string =>
  `(2 + floor(${u1} * 8))::int::text || lpad(floor(${u2} * (10::float8 ^ (${count} - 1)))::bigint::text, ${count} - 1, '0')`;

interface OrgSpec {
  ord: number;
  slug: string;
  name: string;
  tz: string;
  cc: string;
  nlen: number;
  lang: string;
  calls: number;
}

/** What every SQL builder needs: the seeded draws and the shape of the dataset. */
interface Gen {
  /** A uniform float in [0, 1). */
  u: Draw;
  /** A uniform bigint. */
  hash: Draw;
  now: Date;
  days: number;
  contacts: number;
  agents: number;
  log: (line: string) => void;
}

const run = (trx: Trx, text: string) => sql.raw(text).execute(trx);

/** Bulk work: no per-statement timeout (the API pool sets 5 s), no wait for the WAL flush at commit. */
const bulkSettings = (trx: Trx) => run(trx, `set local statement_timeout = 0; set local synchronous_commit = off; set local work_mem = '64MB'`);

/**
 * Builds the dataset, or returns the existing one (`reused`) when organisations
 * `<prefix>-N` already hold roughly `calls` calls. Organisations, users, agents
 * and contacts are written in one transaction; then each organisation's calls,
 * appointments and contact activity in its own transaction, `parallel` at a
 * time (default 2: one per core). A failure deletes the prefix's partial data.
 */
export async function seedScale(db: Db, options: ScaleOptions): Promise<ScaleResult> {
  const started = performance.now();
  const prefix = options.prefix ?? 'scale';
  const seed = (options.seed ?? 1) * 1000;
  // Salts give independent draws; the top 53 bits of the hash make an exact float8.
  const hash: Draw = (key, salt) => `hashint8extended(${key}, ${seed + salt})`;
  const g: Gen = {
    hash,
    u: (key, salt) => `((${hash(key, salt)} & 9007199254740991)::float8 / 9007199254740992.0)`,
    now: new Date(Math.floor((options.now ?? new Date()).getTime())),
    days: options.days ?? 90,
    contacts: options.contactsPerOrg ?? 2000,
    agents: options.agentsPerOrg ?? 50,
    log: options.log ?? (() => {}),
  };
  validate(options, prefix, g);
  const phases: ScaleResult['phases'] = [];
  const phase = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const value = await work();
    const seconds = Math.round(performance.now() - t0) / 1000;
    phases.push({ phase: name, seconds });
    g.log(`${name}: ${seconds.toFixed(1)}s`);
    return value;
  };
  const specs = splitCalls(options.calls, options.orgs, options.skew).map((calls, i): OrgSpec => {
    const [tz, city, cc, nlen, lang] = ZONES[i % ZONES.length] as (typeof ZONES)[number];
    return { ord: i + 1, slug: `${prefix}-${i + 1}`, name: `${city} ${BUSINESSES[i % BUSINESSES.length]}`, tz, cc, nlen, lang, calls };
  });
  const finish = (found: Summary, reused: boolean): ScaleResult => ({
    ...found,
    prefix,
    reused,
    phases,
    seconds: Math.round(performance.now() - started) / 1000,
  });

  const existing = await db.transaction().execute(async (trx) => {
    await bulkSettings(trx);
    // Two seeders of one prefix: the second waits here, then finds the organisations (and stops if their
    // calls are still being written: the lock covers only this transaction, so it holds no extra connection).
    await sql`select pg_advisory_xact_lock(hashtextextended(${`switchboard-scale:${prefix}`}, 0))`.execute(trx);
    if (options.reset) {
      await phase('reset', () => deletePrefix(trx, prefix));
    } else {
      const found = await summary(trx, prefix);
      if (found.organisations.length > 0) {
        if (matches(found.calls, options.calls)) return found;
        throw new Error(`organisations ${prefix}-* exist with ${found.calls} calls (asked for ${options.calls}); reset them first`);
      }
    }
    await phase('organisations, users, agents', () => setupOrganisations(trx, g, specs));
    await phase('contacts', () => insertContacts(trx, g));
    return undefined;
  });
  if (existing) return finish(existing, true);

  try {
    const parallel = options.parallel ?? 2;
    await phase(`calls, appointments, contact activity (${parallel} at a time)`, () => seedAllCalls(db, g, specs, parallel));
    await phase('verify rollups', () =>
      db.transaction().execute(async (trx) => {
        await bulkSettings(trx);
        await verify(trx, prefix, specs);
      }),
    );
  } catch (error) {
    g.log(`failed: deleting the partial dataset ${prefix}-*`);
    await db
      .transaction()
      .execute(async (trx) => {
        await bulkSettings(trx);
        await deletePrefix(trx, prefix);
      })
      .catch(() => {});
    throw error;
  }
  // Outside any transaction (VACUUM cannot run in one): fresh statistics, and a visibility map
  // so the covering indexes give index-only scans from the first benchmark query.
  await phase('vacuum analyze', () =>
    db.connection().execute(async (conn) => {
      await sql`set statement_timeout = 0`.execute(conn);
      await sql`vacuum (analyze) organisations, users, memberships, agents, phone_numbers, contacts, calls, appointments,
      call_daily_org_rollups, call_daily_agent_rollups, appointment_daily_rollups, appointment_daily_org_rollups`.execute(conn);
      await sql`reset statement_timeout`.execute(conn);
    }),
  );
  return finish(await summary(db, prefix), false);
}

async function deletePrefix(trx: Trx, prefix: string): Promise<void> {
  // Cascades to everything the organisations own, rollups included; users belong to no organisation.
  await sql`delete from organisations where slug ~ ${slugPattern(prefix)}`.execute(trx);
  await sql`delete from users where email ~ ${`@${prefix}-[0-9]+\\.example$`}`.execute(trx);
}

/** Per-transaction `scale_orgs`: the organisations' specs with their ids; every later statement reads it. */
async function createOrgTable(trx: Trx, g: Gen, specs: readonly OrgSpec[]): Promise<void> {
  await run(
    trx,
    `create temp table scale_orgs (ord int, org_id bigint, slug text, tz text, cc text, nlen int, lang text,
    calls bigint, contacts int, agents int, days int, now timestamptz) on commit drop`,
  );
  await sql`
    insert into scale_orgs
    select s.ord, o.id, s.slug, s.tz, s.cc, s.nlen, s.lang, s.calls, ${g.contacts}::int, ${g.agents}::int, ${g.days}::int,
           ${g.now}::timestamptz
    from jsonb_to_recordset(${JSON.stringify(specs)}::jsonb)
           as s(ord int, slug text, tz text, cc text, nlen int, lang text, calls bigint)
    join organisations o on o.slug = s.slug`.execute(trx);
}

async function setupOrganisations(trx: Trx, g: Gen, specs: readonly OrgSpec[]): Promise<void> {
  const { u } = g;
  await sql`
    insert into organisations (slug, name, timezone, created_at)
    select slug, name, tz, ${g.now}::timestamptz - make_interval(days => ${2 * g.days + 30}::int)
    from jsonb_to_recordset(${JSON.stringify(specs)}::jsonb) as s(ord int, slug text, name text, tz text)
    order by ord`.execute(trx);
  await createOrgTable(trx, g, specs);
  await run(
    trx,
    `
    with ins as (
      insert into users (email, name, created_at)
      select r.role || '@' || o.slug || '.example', ${element(FIRST_NAMES, u('o.ord * 8 + r.n', 1))} || ' '
             || ${element(LAST_NAMES, u('o.ord * 8 + r.n', 2))}, o.now - make_interval(days => 2 * o.days + 30)
      from scale_orgs o cross join (values (1, 'admin'), (2, 'member'), (3, 'viewer')) r(n, role)
      returning id, email, created_at)
    insert into memberships (org_id, user_id, role, created_at)
    select o.org_id, i.id, split_part(i.email, '@', 1), i.created_at
    from ins i join scale_orgs o on o.slug || '.example' = split_part(i.email, '@', 2)`,
  );
  await run(trx, `create temp table scale_agents on commit drop as ${agentSpec(g)}`);
  await run(
    trx,
    `
    insert into agents (org_id, name, status, provider, provider_agent_id, language, created_at, updated_at)
    select org_id,
           first_name || ' — ' || case when after_hours then 'After-hours Line'
             when handles = 'both' then (${textArray(ROLES.both)})[1 + floor(role_draw * ${ROLES.both.length})::int]
             when handles = 'inbound' then (${textArray(ROLES.inbound)})[1 + floor(role_draw * ${ROLES.inbound.length})::int]
             else (${textArray(ROLES.outbound)})[1 + floor(role_draw * ${ROLES.outbound.length})::int] end
             || case when j > ${AGENT_NAMES.length} then ' ' || 1 + (j - 1) / ${AGENT_NAMES.length} else '' end,
           case lifecycle when 'archived' then 'archived' when 'paused' then 'paused' else 'active' end,
           provider, provider_agent_id, lang,
           now - make_interval(days => case lifecycle when 'new' then days / 2 + 3 else 2 * days + 10 end),
           now - make_interval(days => case lifecycle when 'archived' then days / 2 when 'paused' then 7 else 1 end)
    from scale_agents order by org_id, j`,
  );
  // An archived agent's number stays in the inventory, unassigned.
  await run(
    trx,
    `
    insert into phone_numbers (org_id, e164, provider, provider_number_id, agent_id, created_at)
    select s.org_id, s.e164, case when s.j % 5 = 0 then 'telnyx' else 'twilio' end, 'PN' || md5(s.provider_agent_id),
           case when s.lifecycle = 'archived' then null else a.id end, s.now - make_interval(days => 2 * s.days + 10)
    from scale_agents s join agents a on a.org_id = s.org_id and a.provider_agent_id = s.provider_agent_id
    order by s.org_id, s.j`,
  );
}

/**
 * Agents' generated attributes (also those the table has no column for: who
 * takes which calls, when, how often). Pure in (org, j), so a later session
 * rebuilds exactly the same. Agent 1 handles both directions and agent 2 is
 * the after-hours line: every (direction, hours, period) has an agent.
 */
function agentSpec({ u }: Gen): string {
  const key = '(o.ord::bigint << 20) + j';
  return `
    select *, case lifecycle when 'archived' then 0 when 'paused' then 1 else 2 end as live_to,
           case lifecycle when 'new' then 1 else 0 end as live_from
    from (
      select o.org_id, o.slug, o.lang, o.now, o.days, j, j = 2 as after_hours,
             case when j = 1 or j % 3 = 1 then 'both' when j % 3 = 2 then 'inbound' else 'outbound' end as handles,
             case when j <= 2 then 'full' when ${u(key, 10)} < 0.05 then 'archived' when ${u(key, 10)} < 0.10 then 'paused'
                  when ${u(key, 10)} < 0.16 then 'new' else 'full' end as lifecycle,
             0.5 + 4.5 * ${u(key, 11)} ^ 2 as weight, round((0.07 + 0.05 * ${u(key, 12)})::numeric, 3) as rate,
             ${pick(u(key, 13), [
               ['retell', 45],
               ['vapi', 35],
               ['elevenlabs', 20],
             ])} as provider,
             'agent_' || substr(md5(o.slug || ':' || j), 1, 24) as provider_agent_id,
             '+' || o.cc || left(${digits('o.nlen', u('o.ord', 16), u('o.ord', 17))}, o.nlen - 4) || lpad(j::text, 4, '0') as e164,
             (${textArray(AGENT_NAMES)})[1 + (j - 1 + o.ord * 7) % ${AGENT_NAMES.length}] as first_name, ${u(key, 15)} as role_draw
      from scale_orgs o cross join lateral generate_series(1, o.agents) j
    ) a`;
}

/**
 * Contacts are created over 2×days: 70% evenly, 30% in the last third. That CDF
 * F(s) (s = days since the window opened) is piecewise linear, so contact n is
 * created at F⁻¹((n - 1 + jitter) / C), and at time t exactly C·F(t) exist.
 */
function contactCurve(days: number) {
  const span = 2 * days;
  const recent = span / 3;
  const bend = (0.7 * (span - recent)) / span;
  const slope = 0.7 / span + 0.3 / recent;
  return {
    span,
    inverseCdf: (p: string) =>
      `(case when ${p} <= ${bend} then ${p} * ${span / 0.7} else (${p} + ${(0.3 * (span - recent)) / recent}) / ${slope} end)`,
    // Clamped at both ends: "21 days before the call" may be before the window opened (short --days).
    cdf: (s: string) => `least(1.0, ${0.7 / span} * greatest(0.0, ${s}) + ${0.3 / recent} * greatest(0.0, ${s} - ${span - recent}))`,
  };
}

async function insertContacts(trx: Trx, g: Gen): Promise<void> {
  const { u } = g;
  const { span, inverseCdf } = contactCurve(g.days);
  const key = '(o.ord::bigint << 32) + n';
  const tags = TAGS.map((tag, i) => `case when ${u(key, 30 + i)} < 0.12 then ${lit(tag)} end`).join(', ');
  const orgs = await sql<{ org_id: string }>`select org_id from scale_orgs order by ord`.execute(trx);
  for (const { org_id } of orgs.rows) {
    await run(
      trx,
      `
      insert into contacts (org_id, name, phone, email, lead_score, status, tags, metadata, created_at, updated_at)
      select org_id, first || ' ' || last, phone,
             case when email_draw < 0.86 then regexp_replace(lower(first), '[^a-z]', '', 'g') || '.'
               || regexp_replace(lower(last), '[^a-z]', '', 'g') || n || '@example.' || (array['com', 'net', 'org'])[1 + n % 3] end,
             greatest(0, least(100, round(35 + 15 * score_z)))::int, 'new', tags, metadata, created_at, created_at
      from (
        select o.org_id, n, ${element(FIRST_NAMES, u(key, 20))} as first, ${element(LAST_NAMES, u(key, 21))} as last,
               '+' || o.cc || ${digits('o.nlen', u(key, 22), u(key, 23))} as phone, ${u(key, 24)} as email_draw,
               ${normal(u(key, 25), u(key, 26))} as score_z, array_remove(array[${tags}], null) as tags,
               jsonb_build_object('source', ${pick(u(key, 27), SOURCES)}) as metadata,
               o.now - make_interval(days => ${span}) + make_interval(secs => 86400 * least(${span},
                 ${inverseCdf(`((n - 1 + ${u(key, 28)}) / o.contacts)`)})) as created_at
        from scale_orgs o cross join lateral generate_series(1, o.contacts) n
        where o.org_id = ${org_id} offset 0
      ) c order by n`,
    );
  }
}

/** Organisations in parallel transactions, biggest first; the first failure stops the rest. */
async function seedAllCalls(db: Db, g: Gen, specs: readonly OrgSpec[], parallel: number): Promise<void> {
  const queue = [...specs].sort((a, b) => b.calls - a.calls);
  let failed = false;
  const worker = async () => {
    for (let spec = queue.shift(); spec && !failed; spec = queue.shift()) {
      const org = spec;
      try {
        await db.transaction().execute((trx) => seedOrganisationCalls(trx, g, org));
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.max(1, Math.min(parallel, specs.length)) }, worker));
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}

/** One organisation's calls (with their appointments) and its contacts' activity, in one transaction. */
async function seedOrganisationCalls(trx: Trx, g: Gen, spec: OrgSpec): Promise<void> {
  const t0 = performance.now();
  await bulkSettings(trx);
  await createOrgTable(trx, g, [spec]);
  const org = await sql<{ org_id: string }>`select org_id from scale_orgs`.execute(trx);
  const orgId = org.rows[0]?.org_id;
  if (orgId === undefined) throw new Error(`organisation ${spec.slug} not found`);
  // Session-local lookups, rebuilt per transaction (milliseconds): agent buckets, contacts by index, time slots.
  await run(
    trx,
    `create temp table scale_agents on commit drop as
    select s.*, a.id from (${agentSpec(g)}) s join agents a on a.org_id = s.org_id and a.provider_agent_id = s.provider_agent_id`,
  );
  await run(trx, agentPickTable());
  await run(
    trx,
    `create temp table scale_contacts on commit drop as
    select org_id, (row_number() over (order by id) - 1)::int as k, id, phone, split_part(name, ' ', 1) as first_name
    from contacts where org_id = ${orgId};
    analyze scale_contacts`,
  );
  await run(trx, slotsTable(g));
  const t1 = performance.now();
  for (let lo = 0; lo < spec.calls; lo += CHUNK) {
    await run(
      trx,
      `
      with inserted as (${insertCalls(g, orgId, lo, lo + CHUNK)}
        returning org_id, id, contact_id, agent_id, started_at, duration_seconds, outcome)
      ${insertAppointments(g, 'inserted')}`,
    );
  }
  const t2 = performance.now();
  await run(trx, updateContacts(g, orgId));
  const seconds = (from: number, to: number) => ((to - from) / 1000).toFixed(1);
  g.log(
    `  ${spec.slug}: ${spec.calls} calls + appointments ${seconds(t1, t2)}s, contacts ${seconds(t2, performance.now())}s, ` +
      `lookups ${seconds(t0, t1)}s`,
  );
}

/**
 * Weighted agent choice as a lookup: each (org, direction, business hours,
 * period) splits ${BUCKETS} buckets among its eligible agents by weight, so a call
 * picks an agent with a hash join on a uniform bucket number.
 */
function agentPickTable(): string {
  return `create temp table scale_agent_pick on commit drop as
    with weighted as (
      select a.org_id, d.direction, b.biz, p.period, a.id as agent_id, a.e164, a.rate,
             round(1000 * a.weight * case when not a.after_hours then 1 when b.biz then 0.2 else 60 end)::bigint as w
      from scale_agents a cross join (values ('inbound'), ('outbound')) d(direction)
      cross join (values (true), (false)) b(biz) cross join generate_series(0, 2) p(period)
      where a.handles in ('both', d.direction) and p.period between a.live_from and a.live_to
    ), cumulative as (
      select *, (sum(w) over (partition by org_id, direction, biz, period order by agent_id))::bigint as cum,
             (sum(w) over (partition by org_id, direction, biz, period))::bigint as total
      from weighted
    )
    select org_id, direction, biz, period, bucket, agent_id, e164, rate
    from cumulative cross join lateral generate_series(${BUCKETS} * (cum - w) / total, ${BUCKETS} * cum / total - 1) bucket;
    analyze scale_agent_pick`;
}

/**
 * (Local day, hour) slots with how many calls each gets: weekday rhythm, growth
 * towards today, day-to-day noise, and the hour curve, in the org's zone. Only
 * slots whose calls have all ended by `now`. Integer prefix sums make the
 * counts add up to the org's total exactly.
 */
function slotsTable({ u }: Gen): string {
  const dayKey = '(o.ord::bigint << 20) + d';
  return `create temp table scale_slots on commit drop as
    with days as (
      select o.*, d, (o.now at time zone o.tz)::date - d as local_day,
             greatest(0.6, least(1.4, 1 + 0.12 * ${normal(u(dayKey, 40), u(dayKey, 41))}))
               * (0.7 + 0.6 * (1 - d::float8 / greatest(1, o.days - 1))) as day_weight
      from scale_orgs o cross join lateral generate_series(0, o.days - 1) d
    ), hours as (
      select days.*, h, extract(isodow from local_day) >= 6 as weekend,
             (local_day + make_interval(hours => h)) at time zone tz as slot_start,
             round(1000 * day_weight * (${floatArray(WEEKDAY_FACTOR)})[extract(dow from local_day)::int + 1]
               * case when extract(isodow from local_day) >= 6 then (${floatArray(WEEKEND_HOURS)})[h + 1]
                      else (${floatArray(WEEKDAY_HOURS)})[h + 1] end)::bigint as w
      from days cross join generate_series(0, 23) h
    ), cumulative as (
      -- bigint sums (sum() would give numeric), so the divisions below are integer divisions
      select *, (sum(w) over (partition by org_id order by d desc, h))::bigint as cum,
             (sum(w) over (partition by org_id))::bigint as total
      from hours where slot_start + interval '75 minutes' <= now -- a call lasts at most 15 minutes
    )
    select org_id, ord, cc, nlen, contacts, now, slot_start,
           case when weekend then h between 9 and 16 else h between 8 and 18 end as biz,
           case when d < 7 then 2 when d < days / 2 then 1 else 0 end as period,
           calls * (cum - w) / total as base, calls * cum / total - calls * (cum - w) / total as n
    from cumulative where total > 0 and calls * cum / total > calls * (cum - w) / total
    order by org_id, d desc, h;
    analyze scale_slots`;
}

/** One chunk of an organisation's calls: the slots whose first call index is in [lo, hi). */
function insertCalls(g: Gen, orgId: string, lo: number, hi: number): string {
  const { u } = g;
  const { span, cdf } = contactCurve(g.days);
  const completed = pick('x.u_outcome', OUTCOMES);
  const shape = (i: 0 | 1) =>
    `case x.outcome ${Object.entries(OUTCOME_SHAPE)
      .map(([k, v]) => `when ${lit(k)} then ${v[i]}`)
      .join(' ')} end`;
  const sentiment = `case x.outcome ${Object.entries(OUTCOME_SHAPE)
    .map(
      ([k, [, , [p, n, neg]]]) =>
        `when ${lit(k)} then ${pick('x.u_sentiment', [
          ['positive', p],
          ['neutral', n],
          ['negative', neg],
        ])}`,
    )
    .join(' ')} end`;
  const summary = `case x.outcome ${Object.entries(OUTCOME_SHAPE)
    .map(([k, [, , , texts]]) => `when ${lit(k)} then ${element(texts, 'x.u_summary')}`)
    .join(' ')} end`;
  const draws = [
    'direction',
    'status',
    'agent',
    'unknown',
    'fresh',
    'contact',
    'outcome',
    'z1',
    'z2',
    'short',
    'sentiment',
    'summary',
    'recording',
    'caller1',
    'caller2',
    'error',
  ]
    .map((name, i) => `${u('g.key', 50 + i)} as u_${name}`)
    .join(', ');
  // Each layer is fenced (offset 0) so the planner does not inline a column's CASE into every use.
  return `
    insert into calls (org_id, agent_id, contact_id, direction, status, from_number, to_number, started_at, ended_at,
                       duration_seconds, cost, sentiment, outcome, summary, recording_key, metadata, created_at, updated_at)
    select y.org_id, p.agent_id, c.id, y.direction, y.status,
           case when y.direction = 'inbound' then coalesce(c.phone, y.caller) else p.e164 end,
           case when y.direction = 'inbound' then p.e164 else coalesce(c.phone, y.caller) end,
           y.started_at, y.started_at + make_interval(secs => y.duration), y.duration,
           round(y.duration * p.rate / 60, 4), y.sentiment, y.outcome,
           replace(y.summary, '{first}', coalesce(c.first_name, 'The caller')),
           -- 5% of completed calls; u_recording < 0.05 also picks which of the 6 demo files
           case when y.status = 'completed' and y.u_recording < 0.05
             then 'orgs/' || y.org_id || '/recordings/demo-call-' || (1 + floor(y.u_recording * 120)::int) || '.wav' end,
           case when y.status = 'failed'
             then jsonb_build_object('provider_call_id', y.provider_call_id, 'error',
                    ${element(['sip_503', 'sip_480', 'carrier_rejected', 'llm_timeout'], 'y.u_error')})
             else jsonb_build_object('provider_call_id', y.provider_call_id) end,
           y.started_at, y.started_at + make_interval(secs => y.duration)
    from (
      select x.*,
             case when x.status = 'completed' then greatest(30, least(900, round(${shape(0)} * exp(${shape(1)} * ${normal('x.u_z1', 'x.u_z2')}))))::int
                  when x.status = 'voicemail' then 12 + floor(x.u_short * 29)::int
                  when x.status = 'no_answer' then 15 + floor(x.u_short * 26)::int
                  else floor(x.u_short * 5)::int end as duration,
             case when x.status = 'completed' then ${sentiment} end as sentiment,
             case when x.status = 'completed' then ${summary} end as summary
      from (
        select x.*,
               case when x.status = 'voicemail' then 'voicemail_left' when x.status <> 'completed' then null
                    when x.contact_k is null and ${completed} = 'appointment_booked' then 'interested'
                    else ${completed} end as outcome
        from (
          select x.*, case when x.direction = 'outbound' then ${pick('x.u_status', OUTBOUND_STATUSES)}
                           else ${pick('x.u_status', INBOUND_STATUSES)} end as status,
                 case when x.direction = 'inbound' and x.u_unknown < 0.125 or x.hi < 1 then null
                      when x.u_fresh < 0.45 and x.hi > x.lo then x.lo + floor(x.u_contact * (x.hi - x.lo))::int
                      else floor(x.u_contact * x.hi)::int end as contact_k
          from (
            select x.*, case when x.biz then (case when x.u_direction < 0.64 then 'outbound' else 'inbound' end)
                             else (case when x.u_direction < 0.1 then 'outbound' else 'inbound' end) end as direction,
                   floor(x.contacts * ${cdf('x.age')})::int as hi, floor(x.contacts * ${cdf('(x.age - 21)')})::int as lo,
                   floor(x.u_agent * ${BUCKETS})::int as bucket,
                   '+' || x.cc || ${digits('x.nlen', 'x.u_caller1', 'x.u_caller2')} as caller,
                   'call_' || lpad(to_hex(${g.hash('x.key', 99)}), 16, '0') as provider_call_id
            from (
              select g.*, ${draws}, ${span} + date_part('epoch', g.started_at - g.now) / 86400 as age
              from (
                select s.org_id, s.cc, s.nlen, s.contacts, s.now, s.biz, s.period, (s.ord::bigint << 40) + s.base + k as key,
                       (s.slot_start + ((k - 1 + ${u('(s.ord::bigint << 40) + s.base + k', 49)}) / s.n) * interval '1 hour')::timestamptz(3) as started_at
                from scale_slots s cross join lateral generate_series(1, s.n::int) k
                where s.org_id = ${orgId} and s.base >= ${lo} and s.base < ${hi}
              ) g offset 0
            ) x offset 0
          ) x offset 0
        ) x offset 0
      ) x offset 0
    ) y
    join scale_agent_pick p on p.org_id = y.org_id and p.direction = y.direction and p.biz = y.biz
      and p.period = y.period and p.bucket = y.bucket
    left join scale_contacts c on c.org_id = y.org_id and c.k = y.contact_k`;
}

/** One appointment per booking call in `source`: a slot 1–10 local days later in opening hours, created when the call ended. */
function insertAppointments({ u }: Gen, source: string): string {
  return `
    insert into appointments (org_id, contact_id, call_id, agent_id, scheduled_at, status, value, created_at, updated_at)
    select org_id, contact_id, call_id, agent_id, scheduled_at, status, value, created_at,
           case status when 'scheduled' then created_at
             when 'cancelled' then least(now, created_at + (scheduled_at - created_at) * u_update)
             else least(now, scheduled_at + make_interval(mins => 30 + floor(u_update * 90)::int)) end
    from (
      select a.*, case when scheduled_at < now then ${pick('u_status', [
        ['completed', 72],
        ['no_show', 12],
        ['cancelled', 16],
      ])}
                       else ${pick('u_status', [
                         ['scheduled', 88],
                         ['cancelled', 12],
                       ])} end as status
      from (
        select b.*, (day + make_interval(hours => case when extract(isodow from day) = 6 then 9 + floor(u_hour * 4)::int
                                                       else 8 + floor(u_hour * 10)::int end,
                                         mins => 15 * floor(u_minute * 4)::int)) at time zone tz as scheduled_at
        from (
          select c.*, day0 + (extract(isodow from day0) = 7)::int as day -- closed on Sundays
          from (
            select c.org_id, c.contact_id, c.id as call_id, c.agent_id, o.now, o.tz,
                   c.started_at + make_interval(secs => c.duration_seconds) as created_at,
                   (c.started_at at time zone o.tz)::date + 1 + floor(${u('c.id', 70)} * 10)::int as day0,
                   ${u('c.id', 71)} as u_hour, ${u('c.id', 72)} as u_minute, ${u('c.id', 73)} as u_status,
                   ${u('c.id', 74)} as u_update, (16 + floor(${u('c.id', 75)} * 105)) * 5 as value
            from ${source} c join scale_orgs o on o.org_id = c.org_id
            where c.outcome = 'appointment_booked' offset 0
          ) c offset 0
        ) b
      ) a
    ) x
    order by org_id, created_at`;
}

/** last_contacted_at from the org's calls, and a status (and score) that agrees with what the calls achieved. */
function updateContacts({ u }: Gen, orgId: string): string {
  const scores: Record<string, readonly [number, number]> = {
    contacted: [45, 15],
    qualified: [68, 12],
    converted: [84, 9],
    lost: [15, 10],
    archived: [22, 12],
  };
  const score = (i: 0 | 1) =>
    `case a.status ${Object.entries(scores)
      .map(([k, v]) => `when ${lit(k)} then ${v[i]}`)
      .join(' ')} end`;
  return `
    update contacts ct
    set last_contacted_at = a.last_at, updated_at = greatest(ct.created_at, a.last_at), status = a.status,
        lead_score = greatest(0, least(100, round(${score(0)} + ${score(1)} * ${normal(u('ct.id', 80), u('ct.id', 81))})))::int
    from (
      select b.*, case when ${u('b.contact_id', 82)} < 0.03 then 'archived'
                       when b.blocked and ${u('b.contact_id', 83)} < 0.12 then 'lost'
                       when b.booked and ${u('b.contact_id', 83)} < 0.30 then 'converted'
                       when (b.booked or b.engaged) and ${u('b.contact_id', 83)} < 0.55 then 'qualified'
                       when ${u('b.contact_id', 83)} < 0.90 then 'contacted' else 'lost' end as status
      from (
        select org_id, contact_id, max(started_at) as last_at,
               bool_or(outcome = 'appointment_booked') as booked,
               bool_or(outcome in ('interested', 'callback_requested', 'transferred')) as engaged,
               bool_or(outcome in ('do_not_call', 'wrong_number', 'not_interested')) as blocked
        from calls where org_id = ${orgId} and contact_id is not null
        group by org_id, contact_id
      ) b
    ) a
    where ct.org_id = a.org_id and ct.id = a.contact_id`;
}

/** Rollups must agree with the raw rows exactly (count, duration, cost, value): the triggers stayed on. */
async function verify(trx: Trx, prefix: string, specs: readonly OrgSpec[]): Promise<void> {
  const { rows } = await sql<{
    slug: string;
    calls: string;
    rolled_calls: string;
    rolled_agent_calls: string;
    appointments: string;
    rolled_appointments: string;
  }>`
    with orgs as (select id, slug from organisations where slug ~ ${slugPattern(prefix)}),
    calls as (select org_id, count(*) || '/' || sum(duration_seconds) || '/' || sum(cost) as figures
              from calls where org_id in (select id from orgs) group by org_id),
    rolled_calls as (select org_id, sum(calls) || '/' || sum(duration_sum) || '/' || sum(cost_sum) as figures
                     from call_daily_org_rollups where org_id in (select id from orgs) group by org_id),
    rolled_agent_calls as (select org_id, sum(calls) || '/' || sum(duration_sum) || '/' || sum(cost_sum) as figures
                           from call_daily_agent_rollups where org_id in (select id from orgs) group by org_id),
    appointments as (select org_id, count(*) || '/' || sum(value) as figures
                     from appointments where org_id in (select id from orgs) group by org_id),
    rolled_appointments as (select org_id, sum(appointments) || '/' || sum(value_sum) as figures
                            from appointment_daily_rollups where org_id in (select id from orgs) group by org_id)
    select o.slug, coalesce(c.figures, '0/0/0') as calls, coalesce(rc.figures, '0/0/0') as rolled_calls,
           coalesce(rac.figures, '0/0/0') as rolled_agent_calls,
           coalesce(a.figures, '0/0') as appointments, coalesce(ra.figures, '0/0') as rolled_appointments
    from orgs o left join calls c on c.org_id = o.id left join rolled_calls rc on rc.org_id = o.id
    left join rolled_agent_calls rac on rac.org_id = o.id
    left join appointments a on a.org_id = o.id left join rolled_appointments ra on ra.org_id = o.id`.execute(trx);
  for (const spec of specs) {
    const row = rows.find((r) => r.slug === spec.slug);
    if (
      !row ||
      row.calls !== row.rolled_calls ||
      row.calls !== row.rolled_agent_calls ||
      row.appointments !== row.rolled_appointments ||
      row.calls.split('/')[0] !== String(spec.calls)
    ) {
      throw new Error(
        `${spec.slug}: rollups disagree with raw rows (calls ${row?.calls} vs ${row?.rolled_calls} / ${row?.rolled_agent_calls}, ` +
          `expected ${spec.calls}; appointments ${row?.appointments} vs ${row?.rolled_appointments})`,
      );
    }
  }
}

type Summary = Pick<ScaleResult, 'organisations' | 'calls' | 'contacts' | 'agents' | 'appointments'>;

/** What exists for a prefix, counting calls and appointments from the rollups (cheap, and exact by construction). */
async function summary(db: Db | Trx, prefix: string): Promise<Summary> {
  const { rows } = await sql<{ id: string; slug: string; timezone: string; calls: string; contacts: string; agents: string; appointments: string }>`
    select o.id, o.slug, o.timezone,
           (select coalesce(sum(calls), 0) from call_daily_org_rollups r where r.org_id = o.id) as calls,
           (select count(*) from contacts c where c.org_id = o.id) as contacts,
           (select count(*) from agents a where a.org_id = o.id) as agents,
           (select coalesce(sum(appointments), 0) from appointment_daily_rollups r where r.org_id = o.id) as appointments
    from organisations o where o.slug ~ ${slugPattern(prefix)}
    order by o.id`.execute(db);
  const total = (key: 'calls' | 'contacts' | 'agents' | 'appointments') => rows.reduce((sum, row) => sum + Number(row[key]), 0);
  return {
    organisations: rows.map((r) => ({ id: r.id, slug: r.slug, timezone: r.timezone, calls: Number(r.calls) })),
    calls: total('calls'),
    contacts: total('contacts'),
    agents: total('agents'),
    appointments: total('appointments'),
  };
}

const matches = (actual: number, requested: number): boolean => Math.abs(actual - requested) <= Math.max(1, requested * 0.02);
const slugPattern = (prefix: string): string => `^${prefix}-[0-9]+$`;

/** Calls per organisation: an even split, or `skew` of them to the first and the rest evenly. */
function splitCalls(total: number, orgs: number, skew: number | undefined): number[] {
  const first = skew === undefined || orgs === 1 ? undefined : Math.round(total * skew);
  const rest = first === undefined ? total : total - first;
  const others = first === undefined ? orgs : orgs - 1;
  const even = Array.from({ length: others }, (_, i) => Math.floor((rest * (i + 1)) / others) - Math.floor((rest * i) / others));
  return first === undefined ? even : [first, ...even];
}

function validate(options: ScaleOptions, prefix: string, g: Gen): void {
  const int = (name: string, value: number, min: number, max: number) => {
    if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${name} must be an integer in [${min}, ${max}], got ${value}`);
  };
  int('orgs', options.orgs, 1, 1000);
  int('calls', options.calls, 0, 500_000_000);
  int('contacts per org', g.contacts, 1, 10_000_000);
  int('agents per org', g.agents, 1, 9999); // the last four digits of an agent's number
  int('days', g.days, 2, 3650); // today alone may have no finished hour yet
  int('seed', options.seed ?? 1, 0, 1_000_000);
  int('parallel', options.parallel ?? 2, 1, 16);
  if (!/^[a-z0-9][a-z0-9-]{0,40}$/.test(prefix)) throw new Error(`prefix must match [a-z0-9][a-z0-9-]*, got "${prefix}"`);
  if (options.skew !== undefined && !(options.skew > 0 && options.skew < 1)) throw new Error(`skew must be in (0, 1), got ${options.skew}`);
}
