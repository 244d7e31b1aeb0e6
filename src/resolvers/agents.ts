import { toGlobalId } from '../graphql/globalId';
import { GraphQLError, isObjectType, type FieldNode, type GraphQLResolveInfo } from 'graphql';
import { getArgumentValues } from 'graphql/execution/values';
import type { AgentCallsArgs, AgentResolvers, PhoneNumberAssignmentResolvers, QueryAgentsArgs } from '../generated/graphql';
import type { Context } from '../graphql/context';
import { encodeCursor } from '../pagination/cursor';
import { toConnection, type Connection } from '../pagination/connection';
import { parsePageArgs } from '../pagination/pageArgs';
import {
  AGENT_COLUMNS,
  AGENT_SORT_KINDS,
  agentOrdering,
  countAgents,
  findAgentsPage,
  type AgentColumn,
  type AgentFilterSpec,
  type AgentListRow,
} from '../queries/agents';
import { findAgentsBoard, type BoardCallsRequest } from '../queries/calls';
import type { Page } from '../pagination/keyset';
import { connectionNodeFields, connectionNodeSelection, connectionSelectsMore, memoisedBy } from '../graphql/selection';
import { agentColumnsFor } from './columns';
import { childCallConnection, childCallKey } from './calls';
import { agentOrderSpec, rangeSpec } from './args';
import { toDbEnum, toGraphQLEnum } from './enums';
import { fromProvider } from './provider';

/**
 * The agents list's nested `calls` field, when every agent on the page asks
 * the same of it: one response key (so the same arguments, by validation) and
 * no cursors. Structural, so memoised per document; null otherwise.
 */
const nestedCallsField = memoisedBy((info): { first: FieldNode; fieldNodes: FieldNode[]; fragments: GraphQLResolveInfo['fragments'] } | null => {
  const fieldNodes = connectionNodeFields(info.fieldNodes, info.fragments).get('calls');
  const first = fieldNodes?.[0];
  if (!fieldNodes || !first) return null;
  if (fieldNodes.some((node) => responseKey(node) !== responseKey(first))) return null;
  return { first, fieldNodes, fragments: info.fragments };
});

function responseKey(node: FieldNode): string {
  return node.alias?.value ?? node.name.value;
}

/**
 * What each agent's `calls` field will ask its loader for, so one board
 * statement can answer it for every agent on the page. Undefined when the
 * field is absent, pages by cursor or `last`, or has arguments the field
 * itself will reject: then it loads (and fails) on its own, as it would
 * without a board.
 */
function boardCalls(ctx: Context, info: GraphQLResolveInfo): BoardCallsRequest | undefined {
  const nested = nestedCallsField(info);
  if (!nested) return undefined;
  const agentType = info.schema.getType('Agent');
  const definition = isObjectType(agentType) ? agentType.getFields().calls : undefined;
  if (!definition) return undefined;
  try {
    // Coerced against the field's own definition, as the executor coerces them for the field's resolver.
    const args = getArgumentValues(definition, nested.first, info.variableValues) as AgentCallsArgs;
    if (args.after != null || args.before != null || args.last != null) return undefined;
    const { parentId: _none, ...request } = childCallKey(ctx, 'agent_id', '', args, nested);
    // The board statement pages each agent's calls by start time; other orders and searches load per field.
    if (request.order.field !== 'started_at' || request.filter.search) return undefined;
    return request;
  } catch (error) {
    if (error instanceof GraphQLError) return undefined;
    throw error;
  }
}

/**
 * The agent columns a board reads for its agents' selection (src/resolvers/columns.ts), or
 * null for whole rows: when its calls select their agent, that agent comes from the by-id
 * loader, which the board primes, and only whole rows may be primed.
 */
const boardAgentColumns = memoisedBy((info): readonly AgentColumn[] | null => {
  const nested = nestedCallsField(info);
  if (nested && connectionNodeFields(nested.fieldNodes, nested.fragments).has('agent')) return null;
  return agentColumnsFor(connectionNodeSelection(info.fieldNodes, info.fragments).fields);
});

/**
 * The root `agents` list. When its agents select their calls (the agents
 * board), the page and every agent's calls come from ONE statement, and each
 * agent's page is primed into the calls loader under the very key its
 * `calls` field will load.
 */
export async function rootAgentConnection(ctx: Context, args: QueryAgentsArgs, info: GraphQLResolveInfo): Promise<Connection<AgentListRow>> {
  const filter: AgentFilterSpec = args.filter?.status ? { statuses: args.filter.status.map(toDbEnum) } : {};
  const order = agentOrderSpec(args.orderBy);
  const ordering = agentOrdering(order);
  const page = parsePageArgs(args, ordering, AGENT_SORT_KINDS[order.field], ctx.limits, connectionSelectsMore(info));
  const calls = boardCalls(ctx, info);
  let result: Page<AgentListRow>;
  let whole = true;
  if (calls) {
    const needed = boardAgentColumns(info);
    // The sort column goes into each agent's cursor.
    const columns = needed ? AGENT_COLUMNS.filter((column) => needed.includes(column) || column === order.field) : AGENT_COLUMNS;
    whole = columns.length === AGENT_COLUMNS.length;
    const board = await findAgentsBoard(ctx.scope, filter, order, page, calls, columns);
    for (const [parentId, callPage] of board.calls) ctx.loaders.callsByAgent.prime({ parentId, ...calls }, callPage);
    result = board.agents;
  } else {
    result = await findAgentsPage(ctx.scope, filter, order, page);
  }
  // Narrower rows hold only what this list's selection reads: never handed to the by-id loader.
  if (whole) for (const row of result.rows) ctx.loaders.agentById.prime(row.id, row);
  return toConnection(
    result,
    page,
    (row) => encodeCursor(ordering, row[order.field], row.id),
    () => countAgents(ctx.scope, filter),
  );
}

export const Agent: AgentResolvers = {
  id: (agent) => toGlobalId('Agent', agent.id),
  name: (agent) => agent.name,
  status: (agent) => toGraphQLEnum(agent.status),
  provider: (agent) => agent.provider,
  providerAgentId: (agent) => agent.provider_agent_id,
  language: (agent) => agent.language,
  createdAt: (agent) => agent.created_at,
  updatedAt: (agent) => agent.updated_at,
  phoneNumbers: (agent, _args, ctx) => ctx.loaders.phoneNumbersByAgentId.load(agent.id),
  calls: (agent, args, ctx, info) => childCallConnection(ctx, 'agent_id', agent.id, args, info),
  stats: async (agent, { range }, ctx) => {
    const figures = await ctx.loaders.agentStats.load({ agentId: agent.id, range: rangeSpec(range) });
    // The agent was loaded from this organisation, so its figures exist; anything else is a bug.
    if (!figures) throw new Error(`no figures for agent ${agent.id}`);
    return figures;
  },
  configuration: (agent, _args, ctx) => fromProvider(() => ctx.provider.agentConfiguration.load(agent.provider_agent_id)),
};

export const PhoneNumberAssignment: PhoneNumberAssignmentResolvers = {
  id: (phone) => toGlobalId('PhoneNumberAssignment', phone.id),
  number: (phone) => phone.e164,
  provider: (phone) => phone.provider,
  providerNumberId: (phone) => phone.provider_number_id,
  agent: (phone, _args, ctx) => (phone.agent_id ? ctx.loaders.agentById.load(phone.agent_id) : null),
};
