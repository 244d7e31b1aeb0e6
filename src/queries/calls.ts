import { sql, type RawBuilder } from 'kysely';
import type { TenantScope } from '../db/tenant';
import type { CallDirection, CallOutcome, CallRow, CallStatus, Sentiment, TranscriptRow } from '../db/schema';
import { and, finishPage, keysetBounds, scanDirection, type Page, type SortDirection } from '../pagination/keyset';
import type { PageRequest } from '../pagination/pageArgs';
import { AGENT_COLUMNS, agentConditions, type AgentFilterSpec, type AgentListRow } from './agents';
import { CONTACT_LIST_COLUMNS, type ContactListRow } from './contacts';

/**
 * Call queries. Every statement takes the tenant scope first and filters on
 * its organisation; list queries select only the hot columns (no metadata, no
 * transcript).
 */

/** Columns a list of calls reads: everything but the heavy ones. */
export const CALL_LIST_COLUMNS = [
  'id',
  'org_id',
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
  'sentiment',
  'outcome',
  'summary',
  'notes',
  'recording_key',
  'created_at',
  'updated_at',
  // The provider's conversation id, for Call.providerConversation (set by webhook ingestion).
  'provider_call_id',
] as const;
export type CallColumn = (typeof CALL_LIST_COLUMNS)[number];
export type CallListRow = Pick<CallRow, CallColumn>;

const listColumns = CALL_LIST_COLUMNS.map((column) => `c.${column}` as const);

/**
 * What a list of calls reads: which of its columns, and which relations it
 * joins in the same statement. A list reads fewer columns only for rows that
 * go to fields needing no others (the resolver's selection says which); such
 * rows are typed as whole rows but must never be handed to the by-id loader.
 */
export interface CallReadSpec {
  /** Must include `id` and `started_at` (cursors) and `agent_id` / `contact_id` for the joins asked for. */
  columns: readonly CallColumn[];
  agent: boolean;
  contact: boolean;
}

/** Every list column, no joins: what `call(id)` would read. */
export const WHOLE_CALL_ROWS: CallReadSpec = { columns: CALL_LIST_COLUMNS, agent: false, contact: false };

/** A page of calls with the agent and contact rows its statement joined (complete rows, as by-id loads read them). */
export interface CallPage extends Page<CallListRow> {
  agents: AgentListRow[];
  contacts: ContactListRow[];
}

const AGENT_PREFIX = 'agent.';
const CONTACT_PREFIX = 'contact.';

/** `p.<column>` for the calls, `"agent.<column>"` / `"contact.<column>"` for the joined rows, so no name collides. */
function joinedSelections(spec: CallReadSpec): RawBuilder<unknown> {
  const selections: RawBuilder<unknown>[] = spec.columns.map((column) => sql`${sql.ref(`p.${column}`)}`);
  if (spec.agent) for (const column of AGENT_COLUMNS) selections.push(sql`${sql.ref(`a.${column}`)} as ${sql.id(AGENT_PREFIX + column)}`);
  if (spec.contact) for (const column of CONTACT_LIST_COLUMNS) selections.push(sql`${sql.ref(`ct.${column}`)} as ${sql.id(CONTACT_PREFIX + column)}`);
  return sql.join(selections);
}

/**
 * The joins, scoped by the caller's organisation as well as by the composite
 * foreign keys (calls.(org_id, agent_id) → agents.(org_id, id)), so a joined
 * row of another organisation is impossible twice over.
 */
function joins(orgId: string, spec: CallReadSpec): RawBuilder<unknown> {
  const parts: RawBuilder<unknown>[] = [];
  if (spec.agent) parts.push(sql`join agents a on a.org_id = ${orgId}::int8 and a.id = p.agent_id`);
  if (spec.contact) parts.push(sql`left join contacts ct on ct.org_id = ${orgId}::int8 and ct.id = p.contact_id`);
  return sql.join(parts, sql` `);
}

type RawRow = Record<string, unknown>;

const AGENT_KEYS = AGENT_COLUMNS.map((column) => [column, AGENT_PREFIX + column] as const);
const CONTACT_KEYS = CONTACT_LIST_COLUMNS.map((column) => [column, CONTACT_PREFIX + column] as const);

/** The columns of a joined row out of a result row. */
function pick(raw: RawRow, keys: readonly (readonly [string, string])[]): RawRow {
  const row: RawRow = {};
  for (const [column, key] of keys) row[column] = raw[key];
  return row;
}

/**
 * Splits joined rows into calls, distinct agents and distinct contacts. The
 * casts are the statement's contract: its selection lists are built from the
 * same column lists, and pg decodes each column as the unjoined statements do.
 */
function splitJoined(raw: RawRow[], spec: CallReadSpec): { calls: CallListRow[]; agents: AgentListRow[]; contacts: ContactListRow[] } {
  const calls: CallListRow[] = [];
  const agents = new Map<string, AgentListRow>();
  const contacts = new Map<string, ContactListRow>();
  for (const row of raw) {
    // The result row itself is the call row: copying its call columns out cost 3 % of a calls page's CPU
    // (profile). Its extra prefixed keys are invisible to every reader of a call row.
    calls.push(row as CallListRow);
    const agentId = row[`${AGENT_PREFIX}id`];
    if (spec.agent && typeof agentId === 'string' && !agents.has(agentId)) agents.set(agentId, pick(row, AGENT_KEYS) as AgentListRow);
    const contactId = row[`${CONTACT_PREFIX}id`];
    if (spec.contact && typeof contactId === 'string' && !contacts.has(contactId)) {
      contacts.set(contactId, pick(row, CONTACT_KEYS) as ContactListRow);
    }
  }
  return { calls, agents: [...agents.values()], contacts: [...contacts.values()] };
}

export interface CallFilterSpec {
  direction?: CallDirection;
  statuses?: CallStatus[];
  agentId?: string;
  contactId?: string;
  startedAfter?: Date;
  startedBefore?: Date;
  hasRecording?: boolean;
  outcomes?: CallOutcome[];
  sentiments?: Sentiment[];
}

export interface CallOrderSpec {
  direction: SortDirection;
}

/** The ordering name cursors are bound to. */
export function callOrdering(order: CallOrderSpec): string {
  return `calls.started_at.${order.direction}`;
}

function filterConditions(orgId: string, filter: CallFilterSpec): RawBuilder<unknown>[] {
  const conditions: RawBuilder<unknown>[] = [sql`c.org_id = ${orgId}::int8`];
  if (filter.direction) conditions.push(sql`c.direction = ${filter.direction}`);
  // An empty list matches nothing, as "any of no values" should.
  if (filter.statuses) conditions.push(sql`c.status = any(${filter.statuses}::text[])`);
  if (filter.outcomes) conditions.push(sql`c.outcome = any(${filter.outcomes}::text[])`);
  if (filter.sentiments) conditions.push(sql`c.sentiment = any(${filter.sentiments}::text[])`);
  if (filter.agentId) conditions.push(sql`c.agent_id = ${filter.agentId}::int8`);
  if (filter.contactId) conditions.push(sql`c.contact_id = ${filter.contactId}::int8`);
  if (filter.startedAfter) conditions.push(sql`c.started_at >= ${filter.startedAfter}`);
  if (filter.startedBefore) conditions.push(sql`c.started_at < ${filter.startedBefore}`);
  if (filter.hasRecording === true) conditions.push(sql`c.recording_key is not null`);
  if (filter.hasRecording === false) conditions.push(sql`c.recording_key is null`);
  return conditions;
}

export async function findCallsPage(
  { db, orgId }: TenantScope,
  filter: CallFilterSpec,
  order: CallOrderSpec,
  page: PageRequest,
  spec: CallReadSpec = WHOLE_CALL_ROWS,
): Promise<CallPage> {
  const scan = scanDirection(page, order.direction);
  const pageQuery = db
    .selectFrom('calls as c')
    .select(spec.columns.map((column) => `c.${column}` as const))
    .where(and([...filterConditions(orgId, filter), ...keysetBounds('c.started_at', 'c.id', page, order.direction)]))
    .orderBy('c.started_at', scan)
    .orderBy('c.id', scan)
    .limit(page.limit + 1);
  if (!spec.agent && !spec.contact) return { ...finishPage(await pageQuery.execute(), page), agents: [], contacts: [] };
  // The page is cut first (LIMIT inside), so the joins are index lookups for its rows only, whatever the plan for the filter.
  const direction = sql.raw(scan);
  const { rows } = await sql<RawRow>`select ${joinedSelections(spec)} from (${pageQuery}) as p ${joins(orgId, spec)}
    order by p.started_at ${direction}, p.id ${direction}`.execute(db);
  const { calls, agents, contacts } = splitJoined(rows, spec);
  return { ...finishPage(calls, page), agents, contacts };
}

export type CallParent = 'agent_id' | 'contact_id';

export interface ParentPageKey {
  parentId: string;
  page: PageRequest;
}

/**
 * One page of calls for each of many parents (agents or contacts) in ONE
 * statement: the parents and their cursors are unnested into rows and each
 * drives its own index range scan with LIMIT through a LATERAL join. All keys
 * must share filter, order, limit, direction and which cursors they carry (the
 * loader groups them), so the keyset bounds stay index conditions.
 */
export async function findCallsPagesByParent(
  { db, orgId }: TenantScope,
  parent: CallParent,
  keys: readonly ParentPageKey[],
  filter: CallFilterSpec,
  order: CallOrderSpec,
  spec: CallReadSpec = WHOLE_CALL_ROWS,
): Promise<Map<string, CallPage>> {
  const shape = keys[0]?.page;
  const result = new Map<string, CallPage>();
  if (!shape) return result;
  const scan = scanDirection(shape, order.direction);
  const afterOp = order.direction === 'desc' ? sql`<` : sql`>`;
  const beforeOp = order.direction === 'desc' ? sql`>` : sql`<`;
  const row = sql`(c.started_at, c.id)`;
  const bounds: RawBuilder<unknown>[] = [];
  if (shape.after) bounds.push(sql`${row} ${afterOp} (k.after_value, k.after_id)`);
  if (shape.before) bounds.push(sql`${row} ${beforeOp} (k.before_value, k.before_id)`);

  const pageOf = sql`select ${sql.join(spec.columns.map((column) => sql.ref(`c.${column}`)))} from calls c
    where ${and([...filterConditions(orgId, filter), sql`${sql.ref(`c.${parent}`)} = k.parent_id`, ...bounds])}
    order by c.started_at ${sql.raw(scan)}, c.id ${sql.raw(scan)} limit ${shape.limit + 1}`;
  // Ordered by the parent's position, then the scan order: the joins must not be free to reorder a page.
  const { rows } = await sql<RawRow & { parent_id: string }>`select k.parent_id, ${joinedSelections(spec)}
    from unnest(
      ${keys.map((k) => k.parentId)}::int8[],
      ${keys.map((k) => k.page.after?.value ?? null)}::timestamptz[],
      ${keys.map((k) => k.page.after?.id ?? null)}::int8[],
      ${keys.map((k) => k.page.before?.value ?? null)}::timestamptz[],
      ${keys.map((k) => k.page.before?.id ?? null)}::int8[]) with ordinality as k(parent_id, after_value, after_id, before_value, before_id, position)
    cross join lateral (${pageOf}) as p ${joins(orgId, spec)}
    order by k.position, p.started_at ${sql.raw(scan)}, p.id ${sql.raw(scan)}`.execute(db);

  const byParent = new Map<string, RawRow[]>();
  for (const raw of rows) {
    const list = byParent.get(raw.parent_id);
    if (list) list.push(raw);
    else byParent.set(raw.parent_id, [raw]);
  }
  for (const key of keys) {
    const { calls, agents, contacts } = splitJoined(byParent.get(key.parentId) ?? [], spec);
    result.set(key.parentId, { ...finishPage(calls, key.page), agents, contacts });
  }
  return result;
}

/** What every agent of a board reads of its calls: one `calls(...)` field, the same for each agent. */
export interface BoardCallsRequest {
  filter: CallFilterSpec;
  order: CallOrderSpec;
  /** A first page: no cursors, not backward (each agent's page starts at its own newest or oldest call). */
  page: PageRequest;
  read: CallReadSpec;
}

/** A page of agents and, for each agent on it, its first page of calls. */
export interface AgentsBoard {
  agents: Page<AgentListRow>;
  calls: Map<string, CallPage>;
}

const PARENT_PREFIX = 'parent.';
const PARENT_KEYS = AGENT_COLUMNS.map((column) => [column, PARENT_PREFIX + column] as const);

/**
 * The agents board in ONE statement: a page of agents, and each agent's first
 * page of calls (with their contacts when selected). The agents page is cut
 * and numbered first; each agent on it drives its own index range scan with
 * LIMIT through a LATERAL join, as in findCallsPagesByParent. The look-ahead
 * agent (the row that only tells whether there is a next page) reads no calls:
 * its position gates the lateral scan. A call's own agent is its parent row,
 * never joined again. Agents without calls keep one row with null call columns.
 */
export async function findAgentsBoard(
  { db, orgId }: TenantScope,
  agentFilter: AgentFilterSpec,
  agentPage: PageRequest,
  calls: BoardCallsRequest,
): Promise<AgentsBoard> {
  const agentScan = sql.raw(scanDirection(agentPage, 'asc'));
  const scan = sql.raw(scanDirection(calls.page, calls.order.direction));
  const spec: CallReadSpec = { ...calls.read, agent: false };
  const agentsOf = sql`select ${sql.join(AGENT_COLUMNS.map((column) => sql.ref(`a.${column}`)))},
      row_number() over (order by a.name ${agentScan}, a.id ${agentScan}) as position
    from agents a where ${and([...agentConditions(orgId, agentFilter), ...keysetBounds('a.name', 'a.id', agentPage, 'asc')])}
    order by a.name ${agentScan}, a.id ${agentScan} limit ${agentPage.limit + 1}`;
  const callsOf = sql`select ${sql.join(spec.columns.map((column) => sql.ref(`c.${column}`)))} from calls c
    where ${and([...filterConditions(orgId, calls.filter), sql`c.agent_id = a.id`, sql`a.position <= ${agentPage.limit}::int8`])}
    order by c.started_at ${scan}, c.id ${scan} limit ${calls.page.limit + 1}`;
  const parentColumns = sql.join(AGENT_COLUMNS.map((column) => sql`${sql.ref(`a.${column}`)} as ${sql.id(PARENT_PREFIX + column)}`));
  const { rows } = await sql<RawRow>`select ${parentColumns}, ${joinedSelections(spec)}
    from (${agentsOf}) as a left join lateral (${callsOf}) as p on true ${joins(orgId, spec)}
    order by a.position, p.started_at ${scan}, p.id ${scan}`.execute(db);

  const agentRows: AgentListRow[] = [];
  const callRows = new Map<string, RawRow[]>();
  for (const row of rows) {
    const agentId = row[`${PARENT_PREFIX}id`] as string;
    let list = callRows.get(agentId);
    if (!list) {
      agentRows.push(pick(row, PARENT_KEYS) as AgentListRow);
      callRows.set(agentId, (list = []));
    }
    // The left join's row for an agent without calls has no call id.
    if (row.id !== null) list.push(row);
  }
  const agents = finishPage(agentRows, agentPage);
  const pages = new Map<string, CallPage>();
  for (const agent of agents.rows) {
    const { calls: callList, contacts } = splitJoined(callRows.get(agent.id) ?? [], spec);
    pages.set(agent.id, { ...finishPage(callList, calls.page), agents: [], contacts });
  }
  return { agents, calls: pages };
}

export async function countCalls({ db, orgId }: TenantScope, filter: CallFilterSpec): Promise<number> {
  const { count } = await db
    .selectFrom('calls as c')
    .select(sql<number>`count(*)::int`.as('count'))
    .where(and(filterConditions(orgId, filter)))
    .executeTakeFirstOrThrow();
  return count;
}

/** Call counts for many parents in one GROUP BY statement; parents without calls are absent. */
export async function countCallsByParent(
  { db, orgId }: TenantScope,
  parent: CallParent,
  parentIds: readonly string[],
  filter: CallFilterSpec,
): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('calls as c')
    .select([sql<string>`${sql.ref(`c.${parent}`)}`.as('parent_id'), sql<number>`count(*)::int`.as('count')])
    .where(and([...filterConditions(orgId, filter), sql`${sql.ref(`c.${parent}`)} = any(${parentIds}::int8[])`]))
    .groupBy(sql.ref(`c.${parent}`))
    .execute();
  return new Map(rows.map((r) => [r.parent_id, r.count]));
}

export async function findCallsByIds({ db, orgId }: TenantScope, ids: readonly string[]): Promise<CallListRow[]> {
  return db
    .selectFrom('calls as c')
    .select(listColumns)
    .where('c.org_id', '=', orgId)
    .where('c.id', '=', sql<string>`any(${ids}::int8[])`)
    .execute();
}

export async function findCallMetadata(
  { db, orgId }: TenantScope,
  ids: readonly string[],
): Promise<{ id: string; metadata: Record<string, unknown> }[]> {
  return db
    .selectFrom('calls')
    .select(['id', 'metadata'])
    .where('org_id', '=', orgId)
    .where('id', '=', sql<string>`any(${ids}::int8[])`)
    .execute();
}

export type TranscriptListRow = Pick<TranscriptRow, 'call_id' | 'text' | 'segments'>;

export async function findTranscripts({ db, orgId }: TenantScope, callIds: readonly string[]): Promise<TranscriptListRow[]> {
  return db
    .selectFrom('call_transcripts')
    .select(['call_id', 'text', 'segments'])
    .where('org_id', '=', orgId)
    .where('call_id', '=', sql<string>`any(${callIds}::int8[])`)
    .execute();
}

/** The statuses of a call in progress: what live subscriptions (src/live) show. */
export const LIVE_CALL_STATUSES = ['queued', 'ringing', 'in_progress'] as const satisfies readonly CallStatus[];

/**
 * The organisation's calls in progress, and any of `alsoIds` whatever their
 * status: one statement for a live subscription's first state, or for a
 * resync after a bulk write or a lost listener (src/live/hub.ts).
 */
export async function findLiveCalls({ db, orgId }: TenantScope, alsoIds: readonly string[] = []): Promise<CallListRow[]> {
  return db
    .selectFrom('calls as c')
    .select(listColumns)
    .where('c.org_id', '=', orgId)
    .where((eb) => eb.or([eb('c.status', 'in', LIVE_CALL_STATUSES), eb('c.id', '=', sql<string>`any(${alsoIds}::int8[])`)]))
    .execute();
}
