import { toGlobalId } from '../graphql/globalId';
import { badUserInput } from '../graphql/errors';
import type { Context } from '../graphql/context';
import type { FieldNode, GraphQLResolveInfo } from 'graphql';
import type { CallEdgeResolvers, CallResolvers, QueryCallsArgs } from '../generated/graphql';
import { connectionNodeSelection, connectionSelectsMore, memoisedBy, type NodeSelection } from '../graphql/selection';
import { encodeCursor } from '../pagination/cursor';
import { toConnection, type Connection } from '../pagination/connection';
import { parsePageArgs } from '../pagination/pageArgs';
import type { AgentListRow } from '../queries/agents';
import {
  CALL_SORTS,
  callOrdering,
  callSortValue,
  countCalls,
  findCallsPage,
  joinsWholeAgents,
  joinsWholeContacts,
  readsWholeRows,
  type CallFilterSpec,
  type CallListRow,
  type CallOrderSpec,
  type CallPage,
  type CallParent,
  type CallReadSpec,
  type CallSearch,
} from '../queries/calls';
import { callPageShape, type CallPageKey } from '../loaders/callPages';
import { callFilterSpec, callOrderSpec } from './args';
import { agentColumnsFor, callColumnsFor, contactColumnsFor } from './columns';
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
function callPageArgs(ctx: Context, args: QueryCallsArgs, order: CallOrderSpec, info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>) {
  const sort = CALL_SORTS[order.field];
  return parsePageArgs(args, callOrdering(order), sort.kind, ctx.limits, connectionSelectsMore(info), sort.nullable);
}

/**
 * What a calls connection's statement reads for the operation's node
 * selection: the columns its fields need, and the agent / contact joins with
 * the columns their own selections need, when those are selected.
 */
export function callReadSpec(selection: NodeSelection): CallReadSpec {
  const { fields, children } = selection;
  const none: ReadonlySet<string> = new Set();
  return {
    columns: callColumnsFor(fields),
    agent: fields.has('agent') ? agentColumnsFor(children.get('agent') ?? none) : null,
    contact: fields.has('contact') ? contactColumnsFor(children.get('contact') ?? none) : null,
  };
}

const selectionReadSpec: (info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>) => CallReadSpec = memoisedBy((info) =>
  callReadSpec(connectionNodeSelection(info.fieldNodes, info.fragments)),
);

/**
 * The read spec of a calls connection given by its field nodes, minus the
 * agent join when the agents cache will answer them (Context.agentsCached).
 */
export function readSpecOf(ctx: Context, info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>): CallReadSpec {
  const read = selectionReadSpec(info);
  return read.agent && ctx.agentsCached ? { ...read, agent: null } : read;
}

/**
 * Whole rows read by a list go to the by-id loaders, so a later `call(id)`,
 * `agent(id)` or `contact(id)` in the same operation finds them in the
 * loader's memo. Narrower rows are never handed on: they hold only what this
 * list's selection reads (the joined ones answer Call.agent / Call.contact
 * from the call row itself).
 */
function primeLoaders(ctx: Context, page: CallPage, read: CallReadSpec): void {
  if (readsWholeRows(read)) for (const row of page.rows) ctx.loaders.callById.prime(row.id, row);
  if (joinsWholeAgents(read)) for (const agent of page.agents) ctx.loaders.agentById.prime(agent.id, agent);
  if (joinsWholeContacts(read)) for (const contact of page.contacts) ctx.loaders.contactById.prime(contact.id, contact);
}

/** The root `calls` list (and the `recentCalls` of later panels). */
export async function rootCallConnection(ctx: Context, args: QueryCallsArgs, info: GraphQLResolveInfo): Promise<CallConnectionModel> {
  const filter = callFilterSpec(args.filter);
  const order = callOrderSpec(args.orderBy, filter);
  const page = callPageArgs(ctx, args, order, info);
  const read = readSpecOf(ctx, info);
  const result = await findCallsPage(ctx.scope, filter, order, page, read);
  primeLoaders(ctx, result, read);
  return { ...toConnection(result, page, callCursor(order), () => countCalls(ctx.scope, filter)), search: filter.search };
}

/**
 * Per request, what each `calls` field asks of its loader apart from the
 * parent: the same for every parent of that field, since its arguments and
 * selection are (keyed by the field's nodes; the variables are the
 * request's). Computed once per field instead of once per agent or contact.
 */
const requestsByField = new WeakMap<Context, Map<readonly FieldNode[], Omit<CallPageKey, 'parentId'>>>();

/**
 * The loader key of `Agent.calls` / `Contact.calls` with these arguments and
 * this selection (`info`: the field's nodes): the parent's own id overrides
 * any agent or contact filter of the same kind. Throws the arguments'
 * validation errors.
 */
export function childCallKey(
  ctx: Context,
  parent: CallParent,
  parentId: string,
  args: QueryCallsArgs,
  info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>,
): CallPageKey {
  let byField = requestsByField.get(ctx);
  if (!byField) requestsByField.set(ctx, (byField = new Map<readonly FieldNode[], Omit<CallPageKey, 'parentId'>>()));
  let request = byField.get(info.fieldNodes);
  if (!request) {
    const filter: CallFilterSpec = callFilterSpec(args.filter);
    if (parent === 'agent_id') delete filter.agentId;
    else delete filter.contactId;
    const order = callOrderSpec(args.orderBy, filter);
    const page = callPageArgs(ctx, args, order, info);
    const read = readSpecOf(ctx, info);
    request = { filter, order, page, read, shape: callPageShape({ filter, order, page, read }) };
    byField.set(info.fieldNodes, request);
  }
  return { parentId, ...request };
}

/** `Agent.calls` / `Contact.calls`: the page comes from the batched loader (or what a board statement primed into it). */
export async function childCallConnection(
  ctx: Context,
  parent: CallParent,
  parentId: string,
  args: QueryCallsArgs,
  info: GraphQLResolveInfo,
): Promise<CallConnectionModel> {
  const key = childCallKey(ctx, parent, parentId, args, info);
  const [pages, counts] =
    parent === 'agent_id' ? [ctx.loaders.callsByAgent, ctx.loaders.callCountByAgent] : [ctx.loaders.callsByContact, ctx.loaders.callCountByContact];
  const result = await pages.load(key);
  primeLoaders(ctx, result, key.read);
  return { ...toConnection(result, key.page, callCursor(key.order), () => counts.load({ parentId, filter: key.filter })), search: key.filter.search };
}

async function agentOfCall(ctx: Context, call: CallListRow): Promise<AgentListRow> {
  const agent = await ctx.loaders.agentById.load(call.agent_id);
  // The composite foreign key guarantees the agent exists in this organisation.
  if (!agent) throw new Error(`call ${call.id} has no agent ${call.agent_id}`);
  return agent;
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
  agent: (call, _args, ctx) => call.joinedAgent ?? agentOfCall(ctx, call),
  contact: (call, _args, ctx) => {
    if (call.joinedContact !== undefined) return call.joinedContact;
    return call.contact_id ? ctx.loaders.contactById.load(call.contact_id) : null;
  },
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
