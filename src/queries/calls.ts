import { sql, type RawBuilder } from 'kysely';
import { CompiledShapes, slot } from '../db/compiledShapes';
import { PREPARED } from '../db/database';
import type { TenantScope } from '../db/tenant';
import type { CallDirection, CallOutcome, CallRow, CallStatus, Sentiment, TranscriptRow } from '../db/schema';
import type { CursorPosition, SortValue, SortValueKind } from '../pagination/cursor';
import {
  and,
  cursorShape,
  finishPage,
  keysetBounds,
  keysetSegments,
  scanDirection,
  type KeysetBound,
  type Page,
  type SortDirection,
} from '../pagination/keyset';
import { scanLimit, type PageRequest } from '../pagination/pageArgs';
import { AGENT_COLUMNS, agentConditions, type AgentColumn, type AgentFilterSpec, type AgentListRow, type AgentOrderSpec } from './agents';
import { CONTACT_JSON_KINDS, CONTACT_LIST_COLUMNS, type ContactColumn, type ContactListRow } from './contacts';
import { jsonRowReader, jsonValues, type JsonColumnKind } from './jsonRows';

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
/**
 * `search_rank`: only on rows of a searched list (the RELEVANCE sort key).
 * `joinedAgent` / `joinedContact`: the rows a list statement joined for this
 * call, with the columns its selection of `agent` / `contact` reads
 * (CallReadSpec), so Call.agent and Call.contact answer without a load.
 */
export type CallListRow = Pick<CallRow, CallColumn> & { search_rank?: number; joinedAgent?: AgentListRow; joinedContact?: ContactListRow | null };

const listColumns = CALL_LIST_COLUMNS.map((column) => `c.${column}` as const);

/**
 * What a list of calls reads: which of its columns, and which relations it
 * joins in the same statement with which of theirs. A list reads fewer
 * columns only for rows that go to fields needing no others (the resolver's
 * selection says which, src/resolvers/columns.ts); such rows, and calls
 * carrying such joined rows, are typed as whole rows but must never be
 * handed to a by-id loader.
 */
export interface CallReadSpec {
  /** Must include `id` (the sort column is added for cursors) and `agent_id` / `contact_id` for the joins asked for. */
  columns: readonly CallColumn[];
  /** The joined agent's columns (with `id`), or null for no join. */
  agent: readonly AgentColumn[] | null;
  /** The joined contact's columns (with `id`), or null for no join. */
  contact: readonly ContactColumn[] | null;
}

/** Every list column, no joins: what `call(id)` would read. */
export const WHOLE_CALL_ROWS: CallReadSpec = { columns: CALL_LIST_COLUMNS, agent: null, contact: null };

/** Whether the agents a list read this way joins are whole rows, which the by-id loader may keep. */
export function joinsWholeAgents(spec: CallReadSpec): boolean {
  return spec.agent?.length === AGENT_COLUMNS.length;
}

/** Whether the contacts a list read this way joins are whole rows, which the by-id loader may keep. */
export function joinsWholeContacts(spec: CallReadSpec): boolean {
  return spec.contact?.length === CONTACT_LIST_COLUMNS.length;
}

/** Whether a list read this way gives call rows a by-id loader may keep: whole, and any joined rows they carry whole too. */
export function readsWholeRows(spec: CallReadSpec): boolean {
  return (
    spec.columns.length === CALL_LIST_COLUMNS.length &&
    (spec.agent === null || joinsWholeAgents(spec)) &&
    (spec.contact === null || joinsWholeContacts(spec))
  );
}

/** A page of calls with the distinct agent and contact rows its statement joined (with the spec's columns). */
export interface CallPage extends Page<CallListRow> {
  agents: AgentListRow[];
  contacts: ContactListRow[];
}

const AGENT_PREFIX = 'agent.';
const CONTACT_PREFIX = 'contact.';

/** `p.<column>` for the calls, `"agent.<column>"` / `"contact.<column>"` for the joined rows, so no name collides. */
function joinedSelections(spec: CallReadSpec, filter: CallFilterSpec): RawBuilder<unknown> {
  const selections: RawBuilder<unknown>[] = spec.columns.map((column) => sql`${sql.ref(`p.${column}`)}`);
  if (filter.search) selections.push(sql`p.search_rank`);
  if (spec.agent) for (const column of spec.agent) selections.push(sql`${sql.ref(`a.${column}`)} as ${sql.id(AGENT_PREFIX + column)}`);
  if (spec.contact) for (const column of spec.contact) selections.push(sql`${sql.ref(`ct.${column}`)} as ${sql.id(CONTACT_PREFIX + column)}`);
  return sql.join(selections);
}

/**
 * The joins, scoped by the caller's organisation as well as by the composite
 * foreign keys (calls.(org_id, agent_id) → agents.(org_id, id)), so a joined
 * row of another organisation is impossible twice over.
 *
 * Each is a LATERAL lookup with LIMIT 1, which the planner cannot flatten
 * into a plain join: a primary-key probe per row of the page, whatever the
 * organisation's size. As plain joins, a narrow selection (a contact's id and
 * name) fits an index, and the generic plan of a prepared page then hashed
 * the whole organisation's contacts, read index-only, to join 51 rows
 * (2,000 contacts: 1.2 ms against 0.2 ms; it grows with the organisation).
 */
function joins(orgId: string, spec: CallReadSpec): RawBuilder<unknown> {
  const parts: RawBuilder<unknown>[] = [];
  const columns = (alias: string, list: readonly string[]) => sql.join(list.map((column) => sql.ref(`${alias}.${column}`)));
  if (spec.agent) {
    parts.push(sql`cross join lateral (select ${columns('a', spec.agent)} from agents a
      where a.org_id = ${orgId}::int8 and a.id = p.agent_id limit 1) as a`);
  }
  if (spec.contact) {
    parts.push(sql`left join lateral (select ${columns('ct', spec.contact)} from contacts ct
      where ct.org_id = ${orgId}::int8 and ct.id = p.contact_id limit 1) as ct on true`);
  }
  return sql.join(parts, sql` `);
}

type RawRow = Record<string, unknown>;

/** Each joined column with its key in a result row. */
function prefixedKeys(columns: readonly string[], prefix: string): (readonly [string, string])[] {
  return columns.map((column) => [column, prefix + column] as const);
}

/** The columns of a joined row out of a result row. */
function pick(raw: RawRow, keys: readonly (readonly [string, string])[]): RawRow {
  const row: RawRow = {};
  for (const [column, key] of keys) row[column] = raw[key];
  return row;
}

/**
 * Splits joined rows into calls, each carrying its joined agent and contact,
 * and the distinct agents and contacts. The casts are the statement's
 * contract: its selection lists are built from the spec's column lists, and
 * pg decodes each column as the unjoined statements do.
 */
function splitJoined(raw: RawRow[], spec: CallReadSpec): { calls: CallListRow[]; agents: AgentListRow[]; contacts: ContactListRow[] } {
  const calls: CallListRow[] = [];
  const agents = new Map<string, AgentListRow>();
  const contacts = new Map<string, ContactListRow>();
  const agentKeys = spec.agent && prefixedKeys(spec.agent, AGENT_PREFIX);
  const contactKeys = spec.contact && prefixedKeys(spec.contact, CONTACT_PREFIX);
  for (const row of raw) {
    // The result row itself is the call row: copying its call columns out cost 3 % of a calls page's CPU
    // (profile). Its extra prefixed keys are invisible to every reader of a call row.
    const call = row as CallListRow;
    calls.push(call);
    if (agentKeys) {
      const id = row[`${AGENT_PREFIX}id`] as string;
      let agent = agents.get(id);
      if (!agent) agents.set(id, (agent = pick(row, agentKeys) as AgentListRow));
      call.joinedAgent = agent;
    }
    if (contactKeys) {
      const id = row[`${CONTACT_PREFIX}id`];
      // A left join: a call without a contact has null columns.
      if (typeof id !== 'string') call.joinedContact = null;
      else {
        let contact = contacts.get(id);
        if (!contact) contacts.set(id, (contact = pick(row, contactKeys) as ContactListRow));
        call.joinedContact = contact;
      }
    }
  }
  return { calls, agents: [...agents.values()], contacts: [...contacts.values()] };
}

/**
 * What `filter.search` looks for, decided by the resolver from the text: words
 * (full-text over transcripts and summaries, prefix-matched, and the contact's
 * name/email/phone when `contactLike` is set) or a phone number (digits,
 * matched anywhere in the from/to numbers).
 */
export type CallSearch = { kind: 'text'; tsquery: string; contactLike?: string } | { kind: 'number'; digits: string };

export interface CallFilterSpec {
  direction?: CallDirection;
  statuses?: CallStatus[];
  agentId?: string;
  agentIds?: string[];
  contactId?: string;
  startedAfter?: Date;
  startedBefore?: Date;
  hasRecording?: boolean;
  outcomes?: CallOutcome[];
  sentiments?: Sentiment[];
  search?: CallSearch;
  durationMin?: number;
  durationMax?: number;
  costMin?: number;
  costMax?: number;
  hasTranscript?: boolean;
  hasAppointment?: boolean;
  contactTag?: string;
}

export type CallSortField = 'started_at' | 'duration_seconds' | 'cost' | 'ended_at' | 'relevance';

export interface CallOrderSpec {
  field: CallSortField;
  direction: SortDirection;
}

interface CallSort {
  kind: SortValueKind;
  /** The SQL type a cursor's value is compared as. */
  type: string;
  /** Only ended_at: NULLS LAST in both directions (keysetSegments). */
  nullable: boolean;
  /** The sort value's name in a page row. */
  key: 'started_at' | 'duration_seconds' | 'cost' | 'ended_at' | 'search_rank';
}

export const CALL_SORTS: Record<CallSortField, CallSort> = {
  started_at: { kind: 'timestamp', type: 'timestamptz', nullable: false, key: 'started_at' },
  duration_seconds: { kind: 'integer', type: 'int4', nullable: false, key: 'duration_seconds' },
  cost: { kind: 'numeric', type: 'numeric', nullable: false, key: 'cost' },
  ended_at: { kind: 'timestamp', type: 'timestamptz', nullable: true, key: 'ended_at' },
  relevance: { kind: 'float', type: 'float8', nullable: false, key: 'search_rank' },
};

/** The ordering name cursors are bound to: a cursor of one order is refused by every other. */
export function callOrdering(order: CallOrderSpec): string {
  return `calls.${order.field}.${order.direction}`;
}

/** A row's value of the order's sort key (what its cursor carries). */
export function callSortValue(row: CallListRow, field: CallSortField): SortValue | null {
  const key = CALL_SORTS[field].key;
  if (key === 'search_rank') return row.search_rank ?? 0;
  return row[key];
}

function sortExpression(field: CallSortField): RawBuilder<unknown> {
  return field === 'relevance' ? sql`m.rank` : sql.ref(`c.${field}`);
}

/** The spec plus the sort column: a page must read what its cursors carry. */
function withSortColumn(spec: CallReadSpec, order: CallOrderSpec): CallReadSpec {
  const key = CALL_SORTS[order.field].key;
  if (key === 'search_rank' || spec.columns.includes(key)) return spec;
  return { ...spec, columns: [...spec.columns, key] };
}

/** Drops the characters LIKE treats specially. */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (ch) => `\\${ch}`);
}

/**
 * The calls a search matches, each with a rank, as a CTE the page joins.
 * Every branch is an index read scoped to the organisation: the GIN indexes
 * lead with org_id (btree_gin), so a common word in other tenants' calls costs
 * nothing here. Rank: the transcript's and the summary's ts_rank added; a
 * contact or number match counts 1, above any text rank.
 *
 * With `window`, only the newest `window` matching calls (by id, i.e. by when
 * they were recorded) are matched and ranked: ranking every match costs one
 * ts_rank per match, and a common word matches a third of an organisation's
 * calls (about 240 ms for 50,000 matches). Each branch then reads its newest
 * matches through an index in id order and stops after `window` of them.
 */
function searchMatches(orgId: string, search: CallSearch, window?: number): RawBuilder<unknown> {
  const branches = searchBranches(orgId, search);
  if (window === undefined) {
    const ranked = branches.map((branch) => sql`select ${branch.id} as id, ${branch.rank} as rank from ${branch.from} where ${branch.where}`);
    return sql`select id, sum(rank)::float8 as rank from (${sql.join(ranked, sql` union all `)}) s group by id`;
  }
  // Exact for every call in the window: a call among the `window` newest matches has fewer than `window` newer
  // matches in any one branch, so each branch's own newest `window` rows hold every rank it adds to that call.
  const newest = branches.map(
    (branch) => sql`(select ${branch.id} as id, ${branch.rank} as rank from ${branch.from} where ${branch.where}
      order by ${branch.id} desc limit ${window})`,
  );
  return sql`select id, sum(rank)::float8 as rank from (${sql.join(newest, sql` union all `)}) s
    group by id order by id desc limit ${window}`;
}

/** One way a call can match a search: its id and rank expressions over `from`, where `where` holds. */
interface SearchBranch {
  id: RawBuilder<unknown>;
  rank: RawBuilder<unknown>;
  from: RawBuilder<unknown>;
  where: RawBuilder<unknown>;
}

function searchBranches(orgId: string, search: CallSearch): SearchBranch[] {
  if (search.kind === 'number') {
    return [
      {
        id: sql`c.id`,
        rank: sql`1::float8`,
        from: sql`calls c`,
        where: sql`c.org_id = ${orgId}::int8 and ${CALL_NUMBER_DIGITS} like ${`%${search.digits}%`}`,
      },
    ];
  }
  const query = sql`to_tsquery('simple', ${search.tsquery})`;
  const branches: SearchBranch[] = [
    {
      id: sql`t.call_id`,
      rank: sql`ts_rank(t.search_vector, ${query})`,
      from: sql`call_transcripts t`,
      where: sql`t.org_id = ${orgId}::int8 and t.search_vector @@ ${query}`,
    },
    {
      id: sql`c.id`,
      rank: sql`ts_rank(${CALL_SUMMARY_VECTOR}, ${query})`,
      from: sql`calls c`,
      where: sql`c.org_id = ${orgId}::int8 and ${CALL_SUMMARY_VECTOR} @@ ${query}`,
    },
  ];
  if (search.contactLike) {
    branches.push({
      id: sql`c.id`,
      rank: sql`1::real`,
      from: sql`contacts sc join calls c on c.org_id = ${orgId}::int8 and c.contact_id = sc.id`,
      where: sql`sc.org_id = ${orgId}::int8 and sc.search_text like ${`%${escapeLike(search.contactLike)}%`}`,
    });
  }
  return branches;
}

/** How many of the newest matches a RELEVANCE-ordered list ranks (docs/search: what RELEVANCE means). */
export const RELEVANCE_WINDOW = 1000;

/**
 * The expressions the search indexes of migration 0011 are built on; queries
 * must repeat them exactly for the planner to use the indexes. Expression
 * indexes rather than stored columns: a tsvector on every call row would widen
 * the hottest heap that every list scans.
 */
export const CALL_SUMMARY_VECTOR = sql`to_tsvector('simple'::regconfig, coalesce(c.summary, ''))`;
export const CALL_NUMBER_DIGITS = sql`(regexp_replace(c.from_number, '\\D', '', 'g') || ' ' || regexp_replace(c.to_number, '\\D', '', 'g'))`;

/**
 * An organisation's plain list (no filter: the dashboard's default views) runs
 * as a named prepared statement where the pool allows it (PG_PREPARED_STATEMENTS):
 * PostgreSQL then skips parsing and planning it (a third of the board
 * statement's time), and its generic plan is the same index range for every
 * organisation. A filtered list stays unnamed: a generic plan chosen for one
 * filter value could be the wrong index for a rarer one.
 */
function isUnfiltered(filter: CallFilterSpec | AgentFilterSpec): boolean {
  // The specs hold only the conditions given (see callFilterSpec); a key left undefined is no condition either, as
  // the shape keys of compiled statements (JSON, which drops it) see it.
  return Object.values(filter).every((value) => value === undefined);
}

function preparedIfUnfiltered(filter: CallFilterSpec): RawBuilder<unknown> {
  return isUnfiltered(filter) ? PREPARED : sql``;
}

/** `with search_matches as …` when searching, else nothing; `window` bounds it to the newest matches. */
function withSearch(orgId: string, filter: CallFilterSpec, window?: number): RawBuilder<unknown> {
  return filter.search ? sql`with search_matches as materialized (${searchMatches(orgId, filter.search, window)}) ` : sql``;
}

function callsFrom(filter: CallFilterSpec): RawBuilder<unknown> {
  return filter.search ? sql`calls c join search_matches m on m.id = c.id` : sql`calls c`;
}

function filterConditions(orgId: string, filter: CallFilterSpec): RawBuilder<unknown>[] {
  const conditions: RawBuilder<unknown>[] = [sql`c.org_id = ${orgId}::int8`];
  if (filter.direction) conditions.push(sql`c.direction = ${filter.direction}`);
  // An empty list matches nothing, as "any of no values" should.
  if (filter.statuses) conditions.push(sql`c.status = any(${filter.statuses}::text[])`);
  if (filter.outcomes) conditions.push(sql`c.outcome = any(${filter.outcomes}::text[])`);
  if (filter.sentiments) conditions.push(sql`c.sentiment = any(${filter.sentiments}::text[])`);
  if (filter.agentId) conditions.push(sql`c.agent_id = ${filter.agentId}::int8`);
  if (filter.agentIds) conditions.push(sql`c.agent_id = any(${filter.agentIds}::int8[])`);
  if (filter.contactId) conditions.push(sql`c.contact_id = ${filter.contactId}::int8`);
  if (filter.startedAfter) conditions.push(sql`c.started_at >= ${filter.startedAfter}`);
  if (filter.startedBefore) conditions.push(sql`c.started_at < ${filter.startedBefore}`);
  if (filter.hasRecording === true) conditions.push(sql`c.recording_key is not null`);
  if (filter.hasRecording === false) conditions.push(sql`c.recording_key is null`);
  if (filter.durationMin !== undefined) conditions.push(sql`c.duration_seconds >= ${filter.durationMin}::int4`);
  if (filter.durationMax !== undefined) conditions.push(sql`c.duration_seconds <= ${filter.durationMax}::int4`);
  if (filter.costMin !== undefined) conditions.push(sql`c.cost >= ${String(filter.costMin)}::numeric`);
  if (filter.costMax !== undefined) conditions.push(sql`c.cost <= ${String(filter.costMax)}::numeric`);
  if (filter.hasTranscript !== undefined) {
    const exists = sql`exists (select 1 from call_transcripts ht where ht.org_id = ${orgId}::int8 and ht.call_id = c.id)`;
    conditions.push(filter.hasTranscript ? exists : sql`not ${exists}`);
  }
  if (filter.hasAppointment !== undefined) {
    const exists = sql`exists (select 1 from appointments ha where ha.org_id = ${orgId}::int8 and ha.call_id = c.id)`;
    conditions.push(filter.hasAppointment ? exists : sql`not ${exists}`);
  }
  if (filter.contactTag !== undefined) {
    conditions.push(sql`exists (select 1 from contacts tc where tc.org_id = ${orgId}::int8 and tc.id = c.contact_id
      and tc.tags @> array[${filter.contactTag}]::text[])`);
  }
  return conditions;
}

/** The page's own columns, plus the rank when searching. */
function pageSelections(spec: CallReadSpec, filter: CallFilterSpec): RawBuilder<unknown> {
  const selections: RawBuilder<unknown>[] = spec.columns.map((column) => sql`${sql.ref(`c.${column}`)}`);
  if (filter.search) selections.push(sql`m.rank as search_rank`);
  return sql.join(selections);
}

interface PageStatement {
  orgId: string;
  filter: CallFilterSpec;
  order: CallOrderSpec;
  spec: CallReadSpec;
  backward: boolean;
  /** Rows to read: the page's, and its look-ahead row when asked for (scanLimit). */
  scanLimit: number;
  /** Extra conditions (the parent of a nested page). */
  extra: RawBuilder<unknown>[];
  after: KeysetBound | undefined;
  before: KeysetBound | undefined;
}

/**
 * One page of calls in scan order, LIMIT inside: a single index range, or for
 * a nullable order up to two (keysetSegments), each limited, concatenated in
 * order by an outer sort of at most 2 × scanLimit rows.
 */
function pageSql(p: PageStatement): RawBuilder<unknown> {
  const scan = sql.raw(scanDirection({ backward: p.backward }, p.order.direction));
  const sort = CALL_SORTS[p.order.field];
  const expression = sortExpression(p.order.field);
  const segments = keysetSegments(expression, sql`c.id`, sort.nullable, p.order.direction, p.backward, p.after, p.before);
  const conditions = [...filterConditions(p.orgId, p.filter), ...p.extra];
  const one = (extra: RawBuilder<unknown>[]) => sql`select ${pageSelections(p.spec, p.filter)} from ${callsFrom(p.filter)}
    where ${and([...conditions, ...extra])} order by ${expression} ${scan}, c.id ${scan} limit ${p.scanLimit}`;
  const [first, second] = segments;
  if (!first) return one([sql`false`]);
  if (!second) return one(first.conditions);
  return sql`select * from ((${one(first.conditions)}) union all (${one(second.conditions)})) as u
    order by ${sql.ref(`u.${sort.key}`)} ${scan} ${outerNulls(p.order, p.backward)}, u.id ${scan} limit ${p.scanLimit}`;
}

/** NULLS LAST in the requested order is NULLS FIRST when scanning it backwards; only the nullable order needs saying. */
function outerNulls(order: CallOrderSpec, backward: boolean): RawBuilder<unknown> {
  if (!CALL_SORTS[order.field].nullable) return sql``;
  return backward ? sql`nulls first` : sql`nulls last`;
}

function pageOrder(alias: string, order: CallOrderSpec, backward: boolean): RawBuilder<unknown> {
  const scan = sql.raw(scanDirection({ backward }, order.direction));
  return sql`${sql.ref(`${alias}.${CALL_SORTS[order.field].key}`)} ${scan} ${outerNulls(order, backward)}, ${sql.ref(`${alias}.id`)} ${scan}`;
}

/** A cursor's sort value as its statement parameter: numbers travel as text, cast to the sort's type. */
function cursorValue(position: CursorPosition | undefined): Exclude<SortValue, number> | null | undefined {
  if (!position) return undefined;
  return typeof position.value === 'number' ? String(position.value) : position.value;
}

const PAGE_STATEMENTS = new CompiledShapes<RawRow>({ capacity: 500 });

export async function findCallsPage(
  { db, orgId }: TenantScope,
  filter: CallFilterSpec,
  order: CallOrderSpec,
  page: PageRequest,
  readSpec: CallReadSpec = WHOLE_CALL_ROWS,
): Promise<CallPage> {
  const spec = withSortColumn(readSpec, order);
  // Everything but the organisation and the cursors' values decides the text (compiledShapes.ts).
  const shape = JSON.stringify([filter, order, page.limit, page.backward, page.lookAhead, cursorShape(page), spec]);
  const values = {
    orgId,
    afterValue: cursorValue(page.after),
    afterId: page.after?.id,
    beforeValue: cursorValue(page.before),
    beforeId: page.before?.id,
  };
  const statement = PAGE_STATEMENTS.statement(db, shape, values, () => {
    const org = slot<string>('orgId');
    const type = sql.raw(CALL_SORTS[order.field].type);
    const bound = (position: CursorPosition | undefined, side: 'after' | 'before'): KeysetBound | undefined =>
      position && {
        value: sql`${slot(`${side}Value`)}::${type}`,
        id: sql`${slot(`${side}Id`)}::int8`,
        isNull: position.value === null,
      };
    const inner = pageSql({
      orgId: org,
      filter,
      order,
      spec,
      backward: page.backward,
      scanLimit: scanLimit(page),
      extra: [],
      after: bound(page.after, 'after'),
      before: bound(page.before, 'before'),
    });
    // A relevance-ordered list ranks the newest matches only; any other order pages through every match.
    const search = withSearch(org, filter, order.field === 'relevance' ? RELEVANCE_WINDOW : undefined);
    // The page is cut first (LIMIT inside), so the joins are index lookups for its rows only, whatever the plan for the filter.
    return !spec.agent && !spec.contact
      ? sql<RawRow>`${preparedIfUnfiltered(filter)}${search}${inner}`
      : sql<RawRow>`${preparedIfUnfiltered(filter)}${search}select ${joinedSelections(spec, filter)} from (${inner}) as p ${joins(org, spec)}
    order by ${pageOrder('p', order, page.backward)}`;
  });
  const { rows } = await db.executeQuery(statement);
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
 * must share filter, order, limit, direction and which cursors they carry,
 * null or not (the loader groups them), so the keyset bounds stay index conditions.
 */
export async function findCallsPagesByParent(
  { db, orgId }: TenantScope,
  parent: CallParent,
  keys: readonly ParentPageKey[],
  filter: CallFilterSpec,
  order: CallOrderSpec,
  readSpec: CallReadSpec = WHOLE_CALL_ROWS,
): Promise<Map<string, CallPage>> {
  const shape = keys[0]?.page;
  const result = new Map<string, CallPage>();
  if (!shape) return result;
  const spec = withSortColumn(readSpec, order);
  const type = sql.raw(CALL_SORTS[order.field].type);
  const bound = (position: CursorPosition | undefined, side: 'after' | 'before'): KeysetBound | undefined =>
    position && { value: sql.ref(`k.${side}_value`), id: sql.ref(`k.${side}_id`), isNull: position.value === null };
  const pageOf = pageSql({
    orgId,
    filter,
    order,
    spec,
    backward: shape.backward,
    scanLimit: scanLimit(shape),
    extra: [sql`${sql.ref(`c.${parent}`)} = k.parent_id`],
    after: bound(shape.after, 'after'),
    before: bound(shape.before, 'before'),
  });
  const valueOf = (position: CursorPosition | undefined) => cursorValue(position) ?? null;
  // Ordered by the parent's position, then the scan order: the joins must not be free to reorder a page.
  const { rows } = await sql<RawRow & { parent_id: string }>`${withSearch(orgId, filter)}select k.parent_id, ${joinedSelections(spec, filter)}
    from unnest(
      ${keys.map((k) => k.parentId)}::int8[],
      ${keys.map((k) => valueOf(k.page.after))}::${type}[],
      ${keys.map((k) => k.page.after?.id ?? null)}::int8[],
      ${keys.map((k) => valueOf(k.page.before))}::${type}[],
      ${keys.map((k) => k.page.before?.id ?? null)}::int8[]) with ordinality as k(parent_id, after_value, after_id, before_value, before_id, position)
    cross join lateral (${pageOf}) as p ${joins(orgId, spec)}
    order by k.position, ${pageOrder('p', order, shape.backward)}`.execute(db);

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
  /** The request's shape key (callPageShape, src/loaders/callPages.ts): it decides the calls part of the statement. */
  shape: string;
}

/** A page of agents and, for each agent on it, its first page of calls. */
export interface AgentsBoard {
  agents: Page<AgentListRow>;
  calls: Map<string, CallPage>;
}

/** How each list column travels in a JSON-built row (src/queries/jsonRows.ts). */
const CALL_JSON_KINDS: Record<CallColumn, JsonColumnKind> = {
  id: 'int8',
  org_id: 'int8',
  agent_id: 'int8',
  contact_id: 'int8',
  direction: 'plain',
  status: 'plain',
  from_number: 'plain',
  to_number: 'plain',
  started_at: 'timestamptz',
  ended_at: 'timestamptz',
  duration_seconds: 'plain',
  cost: 'plain',
  sentiment: 'plain',
  outcome: 'plain',
  summary: 'plain',
  notes: 'plain',
  recording_key: 'plain',
  created_at: 'timestamptz',
  updated_at: 'timestamptz',
  provider_call_id: 'plain',
};

/**
 * The agents board in ONE statement: a page of agents, and each agent's first
 * page of calls (with their contacts when selected). Each agent on the page
 * drives its own index range scan with LIMIT, as in findCallsPagesByParent;
 * the look-ahead agent (the row that only tells whether there is a next page)
 * reads no calls. Each agent's calls come back as one JSON array of arrays
 * built by PostgreSQL, so pg decodes one value per agent (with the native
 * JSON.parse) instead of a wide row per call repeating the agent's columns.
 */
type BoardRow = AgentListRow & { calls: unknown[][] };
const BOARD_STATEMENTS = new CompiledShapes<BoardRow>({ capacity: 200 });

export async function findAgentsBoard(
  { db, orgId }: TenantScope,
  agentFilter: AgentFilterSpec,
  agentOrder: AgentOrderSpec,
  agentPage: PageRequest,
  calls: BoardCallsRequest,
  /** The agents' columns: fewer than all only for rows that are never primed into a by-id loader. */
  agentColumnList: readonly AgentColumn[] = AGENT_COLUMNS,
): Promise<AgentsBoard> {
  const spec: CallReadSpec = withSortColumn({ ...calls.read, agent: null }, calls.order);
  // Everything but the organisation and the agents' cursor values decides the text (compiledShapes.ts).
  const shape = JSON.stringify([
    agentFilter,
    agentOrder,
    agentColumnList,
    [agentPage.limit, agentPage.backward, agentPage.lookAhead, !!agentPage.after, !!agentPage.before],
    calls.shape,
  ]);
  const values = {
    orgId,
    afterValue: agentPage.after?.value,
    afterId: agentPage.after?.id,
    beforeValue: agentPage.before?.value,
    beforeId: agentPage.before?.id,
  };
  const statement = BOARD_STATEMENTS.statement(db, shape, values, () => {
    const org = slot<string>('orgId');
    const slotted: PageRequest = {
      ...agentPage,
      after: agentPage.after && { value: slot<SortValue>('afterValue'), id: slot<string>('afterId') },
      before: agentPage.before && { value: slot<SortValue>('beforeValue'), id: slot<string>('beforeId') },
    };
    const agentScan = sql.raw(scanDirection(agentPage, agentOrder.direction));
    const agentOrderBy = sql`${sql.ref(`a.${agentOrder.field}`)} ${agentScan}, a.id ${agentScan}`;
    const agentColumns = sql.join(agentColumnList.map((column) => sql.ref(`a.${column}`)));
    const agentWhere = and([...agentConditions(org, agentFilter), ...keysetBounds(`a.${agentOrder.field}`, 'a.id', slotted, agentOrder.direction)]);
    const scan = sql.raw(scanDirection(calls.page, calls.order.direction));
    const callsOf = sql`select ${sql.join(spec.columns.map((column) => sql.ref(`c.${column}`)))} from calls c
      where ${and([...filterConditions(org, calls.filter), sql`c.agent_id = a.id`, ...(agentPage.lookAhead ? [sql`a.position <= ${agentPage.limit}::int8`] : [])])}
      order by c.started_at ${scan}, c.id ${scan} limit ${scanLimit(calls.page)}`;
    // Each call one JSON array: its columns, then its contact's. ARRAY(... ORDER BY) keeps the order by definition.
    const contactValues = spec.contact ? sql`, ${jsonValues('ct', spec.contact, CONTACT_JSON_KINDS)}` : sql``;
    const callsJson = sql`array_to_json(array(select json_build_array(${jsonValues('p', spec.columns, CALL_JSON_KINDS)}${contactValues})
      from (${callsOf}) as p ${joins(org, spec)} order by p.started_at ${scan}, p.id ${scan}))`;
    const prepared = isUnfiltered(calls.filter) && isUnfiltered(agentFilter) ? PREPARED : sql``;
    // With a look-ahead agent (the row that only says whether a next page exists), the page is numbered first and
    // the position gates each agent's scan, so that agent reads no calls; without one, nothing needs numbering.
    return agentPage.lookAhead
      ? sql<BoardRow>`${prepared}select ${agentColumns}, ${callsJson} as calls
      from (select ${agentColumns}, row_number() over (order by ${agentOrderBy}) as position
        from agents a where ${agentWhere} order by ${agentOrderBy} limit ${scanLimit(agentPage)}) as a order by a.position`
      : sql<BoardRow>`${prepared}select ${agentColumns}, ${callsJson} as calls
      from agents a where ${agentWhere} order by ${agentOrderBy} limit ${agentPage.limit}`;
  });
  const { rows } = await db.executeQuery(statement);

  const agentRows: AgentListRow[] = [];
  const callsOfAgent = new Map<string, unknown[][]>();
  for (const { calls: callValues, ...agent } of rows) {
    agentRows.push(agent);
    callsOfAgent.set(agent.id, callValues);
  }
  // The look-ahead agent is cut here, and with it its (empty) calls.
  const agents = finishPage(agentRows, agentPage);
  const readCall = jsonRowReader(spec.columns, CALL_JSON_KINDS);
  const readContact = spec.contact && jsonRowReader(spec.contact, CONTACT_JSON_KINDS, spec.columns.length);
  const contactIdAt = spec.columns.length + (spec.contact?.indexOf('id') ?? 0);
  const pages = new Map<string, CallPage>();
  for (const agent of agents.rows) {
    const callList: CallListRow[] = [];
    const contacts = new Map<string, ContactListRow>();
    for (const values of callsOfAgent.get(agent.id) ?? []) {
      // The casts are the statement's contract: the arrays are built from these very column lists.
      const call = readCall(values) as CallListRow;
      if (readContact) {
        const id = values[contactIdAt];
        // A left join: a call without a contact has null values.
        if (typeof id !== 'string') call.joinedContact = null;
        else {
          let contact = contacts.get(id);
          if (!contact) contacts.set(id, (contact = readContact(values) as ContactListRow));
          call.joinedContact = contact;
        }
      }
      callList.push(call);
    }
    pages.set(agent.id, { ...finishPage(callList, calls.page), agents: [], contacts: [...contacts.values()] });
  }
  return { agents, calls: pages };
}

export async function countCalls({ db, orgId }: TenantScope, filter: CallFilterSpec): Promise<number> {
  const { rows } = await sql<{ count: number }>`${withSearch(orgId, filter)}select count(*)::int as count from ${callsFrom(filter)}
    where ${and(filterConditions(orgId, filter))}`.execute(db);
  return rows[0]?.count ?? 0;
}

/** Call counts for many parents in one GROUP BY statement; parents without calls are absent. */
export async function countCallsByParent(
  { db, orgId }: TenantScope,
  parent: CallParent,
  parentIds: readonly string[],
  filter: CallFilterSpec,
): Promise<Map<string, number>> {
  const column = sql.ref(`c.${parent}`);
  const { rows } = await sql<{ parent_id: string; count: number }>`${withSearch(orgId, filter)}
    select ${column} as parent_id, count(*)::int as count from ${callsFrom(filter)}
    where ${and([...filterConditions(orgId, filter), sql`${column} = any(${parentIds}::int8[])`])}
    group by ${column}`.execute(db);
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

/**
 * The passages of each call that match a text search, for `CallEdge.highlight`:
 * from the transcript when it matches, else from the summary when that does,
 * else null. HTML-escaped first, so the only markup is the `<mark>` around
 * matches. ts_headline re-parses the text, so it runs only for the page's
 * rows and only when the field is selected.
 */
export async function findSearchHighlights(
  { db, orgId }: TenantScope,
  tsquery: string,
  callIds: readonly string[],
): Promise<{ id: string; highlight: string | null }[]> {
  const query = sql`to_tsquery('simple', ${tsquery})`;
  const escaped = (text: RawBuilder<unknown>) => sql`replace(replace(replace(${text}, '&', '&amp;'), '<', '&lt;'), '>', '&gt;')`;
  const headline = (text: RawBuilder<unknown>) =>
    sql`ts_headline('simple', ${escaped(text)}, ${query}, 'StartSel=<mark>, StopSel=</mark>, MaxFragments=2, MaxWords=24, MinWords=8, FragmentDelimiter=" … "')`;
  const { rows } = await sql<{ id: string; highlight: string | null }>`select c.id,
      case when t.search_vector @@ ${query} then ${headline(sql`t.text`)}
           when ${CALL_SUMMARY_VECTOR} @@ ${query} then ${headline(sql`c.summary`)} end as highlight
    from calls c left join call_transcripts t on t.org_id = ${orgId}::int8 and t.call_id = c.id
    where c.org_id = ${orgId}::int8 and c.id = any(${callIds}::int8[])`.execute(db);
  return rows;
}

/**
 * Every call of the filter in the order's sort, no page: the body of an
 * export (src/queries/exports.ts). The same conditions, search and sort key as
 * a page, so an export is what paging through the API would read; nulls of
 * ENDED_AT last, as in pages. `selections` may use `c`, `a` (the agent) and
 * `ct` (the contact, left-joined).
 */
export function callListStatement(orgId: string, filter: CallFilterSpec, order: CallOrderSpec, selections: RawBuilder<unknown>): RawBuilder<unknown> {
  const direction = sql.raw(order.direction);
  const nulls = CALL_SORTS[order.field].nullable ? sql`nulls last` : sql``;
  return sql`${withSearch(orgId, filter)}select ${selections} from ${callsFrom(filter)}
    join agents a on a.org_id = ${orgId}::int8 and a.id = c.agent_id
    left join contacts ct on ct.org_id = ${orgId}::int8 and ct.id = c.contact_id
    where ${and(filterConditions(orgId, filter))}
    order by ${sortExpression(order.field)} ${direction} ${nulls}, c.id ${direction}`;
}
