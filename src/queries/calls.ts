import { sql, type RawBuilder } from 'kysely';
import type { TenantScope } from '../db/tenant';
import type { CallDirection, CallOutcome, CallRow, CallStatus, Sentiment, TranscriptRow } from '../db/schema';
import { and, finishPage, keysetBounds, scanDirection, type Page, type SortDirection } from '../pagination/keyset';
import type { PageRequest } from '../pagination/pageArgs';

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
] as const;
export type CallListRow = Pick<CallRow, (typeof CALL_LIST_COLUMNS)[number]>;

const listColumns = CALL_LIST_COLUMNS.map((column) => `c.${column}` as const);

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
): Promise<Page<CallListRow>> {
  const scan = scanDirection(page, order.direction);
  const rows = await db
    .selectFrom('calls as c')
    .select(listColumns)
    .where(and([...filterConditions(orgId, filter), ...keysetBounds('c.started_at', 'c.id', page, order.direction)]))
    .orderBy('c.started_at', scan)
    .orderBy('c.id', scan)
    .limit(page.limit + 1)
    .execute();
  return finishPage(rows, page);
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
): Promise<Map<string, Page<CallListRow>>> {
  const shape = keys[0]?.page;
  const result = new Map<string, Page<CallListRow>>();
  if (!shape) return result;
  const scan = scanDirection(shape, order.direction);
  const afterOp = order.direction === 'desc' ? sql`<` : sql`>`;
  const beforeOp = order.direction === 'desc' ? sql`>` : sql`<`;
  const row = sql`(c.started_at, c.id)`;
  const bounds: RawBuilder<unknown>[] = [];
  if (shape.after) bounds.push(sql`${row} ${afterOp} (k.after_value, k.after_id)`);
  if (shape.before) bounds.push(sql`${row} ${beforeOp} (k.before_value, k.before_id)`);

  const keyTable = sql<{ parent_id: string }>`unnest(
      ${keys.map((k) => k.parentId)}::int8[],
      ${keys.map((k) => k.page.after?.value ?? null)}::timestamptz[],
      ${keys.map((k) => k.page.after?.id ?? null)}::int8[],
      ${keys.map((k) => k.page.before?.value ?? null)}::timestamptz[],
      ${keys.map((k) => k.page.before?.id ?? null)}::int8[])`.as<'k'>(sql`k(parent_id, after_value, after_id, before_value, before_id)`);

  const rows = await db
    .selectFrom(keyTable)
    .crossJoinLateral((eb) =>
      eb
        .selectFrom('calls as c')
        .select(listColumns)
        .where(and([...filterConditions(orgId, filter), sql`${sql.ref(`c.${parent}`)} = k.parent_id`, ...bounds]))
        .orderBy('c.started_at', scan)
        .orderBy('c.id', scan)
        .limit(shape.limit + 1)
        .as('p'),
    )
    .select(['k.parent_id', ...CALL_LIST_COLUMNS.map((column) => `p.${column}` as const)])
    .execute();

  const byParent = new Map<string, CallListRow[]>();
  for (const { parent_id, ...call } of rows) {
    const list = byParent.get(parent_id) ?? [];
    list.push(call);
    byParent.set(parent_id, list);
  }
  for (const key of keys) result.set(key.parentId, finishPage(byParent.get(key.parentId) ?? [], key.page));
  return result;
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
