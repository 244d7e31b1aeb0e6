import { toGlobalId } from '../graphql/globalId';
import { badUserInput } from '../graphql/errors';
import type { Context } from '../graphql/context';
import type { GraphQLResolveInfo } from 'graphql';
import type { CallEdgeResolvers, CallResolvers, QueryCallsArgs } from '../generated/graphql';
import { connectionNodeSelection, memoisedBy } from '../graphql/selection';
import { encodeCursor } from '../pagination/cursor';
import { toConnection, type Connection } from '../pagination/connection';
import { parsePageArgs } from '../pagination/pageArgs';
import {
  CALL_LIST_COLUMNS,
  CALL_SORTS,
  callOrdering,
  callSortValue,
  countCalls,
  findCallsPage,
  type CallColumn,
  type CallFilterSpec,
  type CallListRow,
  type CallOrderSpec,
  type CallPage,
  type CallParent,
  type CallReadSpec,
  type CallSearch,
} from '../queries/calls';
import type { CallPageKey } from '../loaders/callPages';
import { callFilterSpec, callOrderSpec } from './args';
import { toGraphQLEnum, toGraphQLEnumOrNull } from './enums';
import { COST_DECIMALS, usd } from './money';
import { fromProvider } from './provider';

/** A calls connection and the search that produced it (for `CallEdge.highlight`). */
export type CallConnectionModel = Connection<CallListRow> & { search?: CallSearch };
export interface CallEdgeModel {
  cursor: string;
  node: CallListRow;
  search: CallSearch | undefined;
}

export const CallEdge: CallEdgeResolvers = {
  cursor: (edge) => edge.cursor,
  node: (edge) => edge.node,
  highlight: (edge, _args, ctx) =>
    edge.search?.kind === 'text' ? ctx.loaders.searchHighlight.load({ callId: edge.node.id, tsquery: edge.search.tsquery }) : null,
};

export function callCursor(order: CallOrderSpec) {
  const ordering = callOrdering(order);
  return (row: CallListRow) => encodeCursor(ordering, callSortValue(row, order.field), row.id);
}

/** The page request for a calls connection: cursors decoded for the order's sort key. */
function callPageArgs(ctx: Context, args: QueryCallsArgs, order: CallOrderSpec) {
  const sort = CALL_SORTS[order.field];
  return parsePageArgs(args, callOrdering(order), sort.kind, ctx.limits, sort.nullable);
}

/**
 * The columns each Call field's resolver reads (below). Every field of the
 * type must be listed — the type fails to compile otherwise — so a list
 * statement that reads only its selection's columns can never starve a field.
 */
const CALL_FIELD_COLUMNS: Record<Exclude<keyof CallResolvers, '__isTypeOf'>, readonly CallColumn[]> = {
  id: [],
  direction: ['direction'],
  status: ['status'],
  fromNumber: ['from_number'],
  toNumber: ['to_number'],
  startedAt: ['started_at'],
  endedAt: ['ended_at'],
  durationSeconds: ['duration_seconds'],
  cost: ['cost'],
  sentiment: ['sentiment'],
  outcome: ['outcome'],
  summary: ['summary'],
  notes: ['notes'],
  updatedAt: ['updated_at'],
  agent: ['agent_id'],
  contact: ['contact_id'],
  appointment: [],
  hasRecording: ['recording_key'],
  recordingUrl: ['recording_key'],
  transcript: [],
  metadata: [],
  providerCost: ['cost'],
  providerConversation: ['provider_call_id'],
};

/** `id` is every row's identity; the query adds the order's sort column (cursors). */
const ALWAYS_READ: readonly CallColumn[] = ['id'];

/**
 * What a calls connection's statement reads for the operation's node
 * selection: the columns its fields need (in list order, so equal selections
 * give equal statements) and the agent / contact joins when those are selected.
 */
export function callReadSpec(fields: ReadonlySet<string>): CallReadSpec {
  const needed = new Set<CallColumn>(ALWAYS_READ);
  for (const field of fields) {
    const columns: readonly CallColumn[] | undefined = (CALL_FIELD_COLUMNS as Partial<Record<string, readonly CallColumn[]>>)[field];
    if (columns) for (const column of columns) needed.add(column);
  }
  return {
    columns: CALL_LIST_COLUMNS.filter((column) => needed.has(column)),
    agent: fields.has('agent'),
    contact: fields.has('contact'),
  };
}

const selectionReadSpec: (info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>) => CallReadSpec = memoisedBy((info) =>
  callReadSpec(connectionNodeSelection(info.fieldNodes, info.fragments).fields),
);

/**
 * The read spec of a calls connection given by its field nodes, minus the
 * agent join when the agents cache will answer them (Context.agentsCached).
 */
export function readSpecOf(ctx: Context, info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>): CallReadSpec {
  const read = selectionReadSpec(info);
  return read.agent && ctx.agentsCached ? { ...read, agent: false } : read;
}

/**
 * Rows read by a list go to the by-id loaders: whole call rows are the rows
 * `call(id)` would read (narrower ones are not handed on), and the joined
 * agents and contacts are complete rows, so their field resolvers find them
 * in the loader's memo instead of running a statement.
 */
function primeLoaders(ctx: Context, page: CallPage, read: CallReadSpec): void {
  if (read.columns.length === CALL_LIST_COLUMNS.length) for (const row of page.rows) ctx.loaders.callById.prime(row.id, row);
  for (const agent of page.agents) ctx.loaders.agentById.prime(agent.id, agent);
  for (const contact of page.contacts) ctx.loaders.contactById.prime(contact.id, contact);
}

/** The root `calls` list (and the `recentCalls` of later panels). */
export async function rootCallConnection(ctx: Context, args: QueryCallsArgs, info: GraphQLResolveInfo): Promise<CallConnectionModel> {
  const filter = callFilterSpec(args.filter);
  const order = callOrderSpec(args.orderBy, filter);
  const page = callPageArgs(ctx, args, order);
  const read = readSpecOf(ctx, info);
  const result = await findCallsPage(ctx.scope, filter, order, page, read);
  primeLoaders(ctx, result, read);
  return { ...toConnection(result, page, callCursor(order), () => countCalls(ctx.scope, filter)), search: filter.search };
}

/**
 * The loader key of `Agent.calls` / `Contact.calls` with these arguments: the
 * parent's own id overrides any agent or contact filter of the same kind.
 * Throws the arguments' validation errors.
 */
export function childCallKey(ctx: Context, parent: CallParent, parentId: string, args: QueryCallsArgs, read: CallReadSpec): CallPageKey {
  const filter: CallFilterSpec = callFilterSpec(args.filter);
  if (parent === 'agent_id') delete filter.agentId;
  else delete filter.contactId;
  const order = callOrderSpec(args.orderBy, filter);
  const page = callPageArgs(ctx, args, order);
  return { parentId, filter, order, page, read };
}

/** `Agent.calls` / `Contact.calls`: the page comes from the batched loader (or what a board statement primed into it). */
export async function childCallConnection(
  ctx: Context,
  parent: CallParent,
  parentId: string,
  args: QueryCallsArgs,
  info: GraphQLResolveInfo,
): Promise<CallConnectionModel> {
  const key = childCallKey(ctx, parent, parentId, args, readSpecOf(ctx, info));
  const [pages, counts] =
    parent === 'agent_id' ? [ctx.loaders.callsByAgent, ctx.loaders.callCountByAgent] : [ctx.loaders.callsByContact, ctx.loaders.callCountByContact];
  const result = await pages.load(key);
  primeLoaders(ctx, result, key.read);
  return { ...toConnection(result, key.page, callCursor(key.order), () => counts.load({ parentId, filter: key.filter })), search: key.filter.search };
}

const MIN_URL_TTL = 60;
const MAX_URL_TTL = 86_400;

export const Call: CallResolvers = {
  id: (call) => toGlobalId('Call', call.id),
  direction: (call) => toGraphQLEnum(call.direction),
  status: (call) => toGraphQLEnum(call.status),
  fromNumber: (call) => call.from_number,
  toNumber: (call) => call.to_number,
  startedAt: (call) => call.started_at,
  endedAt: (call) => call.ended_at,
  durationSeconds: (call) => call.duration_seconds,
  cost: (call) => call.cost,
  sentiment: (call) => toGraphQLEnumOrNull(call.sentiment),
  outcome: (call) => toGraphQLEnumOrNull(call.outcome),
  summary: (call) => call.summary,
  notes: (call) => call.notes,
  updatedAt: (call) => call.updated_at,
  agent: async (call, _args, ctx) => {
    const agent = await ctx.loaders.agentById.load(call.agent_id);
    // The composite foreign key guarantees the agent exists in this organisation.
    if (!agent) throw new Error(`call ${call.id} has no agent ${call.agent_id}`);
    return agent;
  },
  contact: (call, _args, ctx) => (call.contact_id ? ctx.loaders.contactById.load(call.contact_id) : null),
  appointment: (call, _args, ctx) => ctx.loaders.appointmentByCallId.load(call.id),
  hasRecording: (call) => call.recording_key !== null,
  recordingUrl: async (call, { expiresInSeconds }, ctx) => {
    const ttl = expiresInSeconds ?? ctx.recordingUrlTtlSeconds;
    // Checked before looking at the call, so a bad argument fails the same way on every row.
    if (ttl < MIN_URL_TTL || ttl > MAX_URL_TTL) {
      throw badUserInput(`expiresInSeconds must be between ${MIN_URL_TTL} and ${MAX_URL_TTL}`, 'expiresInSeconds');
    }
    if (call.recording_key === null) return null;
    return ctx.signer.sign({ orgId: ctx.orgId, key: call.recording_key, expiresInSeconds: ttl, origin: ctx.origin });
  },
  transcript: (call, _args, ctx) => ctx.loaders.transcriptByCallId.load(call.id),
  metadata: async (call, _args, ctx) => (await ctx.loaders.callMetadataById.load(call.id))?.metadata ?? {},
  providerCost: (call) => usd(call.cost, COST_DECIMALS),
  providerConversation: (call, _args, ctx) => {
    const conversationId = call.provider_call_id;
    return conversationId ? fromProvider(() => ctx.provider.conversation.load(conversationId)) : null;
  },
};
