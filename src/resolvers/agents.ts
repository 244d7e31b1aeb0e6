import { toGlobalId } from '../graphql/globalId';
import type { AgentResolvers, PhoneNumberAssignmentResolvers, QueryAgentsArgs } from '../generated/graphql';
import type { Context } from '../graphql/context';
import { encodeCursor } from '../pagination/cursor';
import { toConnection, type Connection } from '../pagination/connection';
import { parsePageArgs } from '../pagination/pageArgs';
import { AGENT_SORT_KINDS, agentOrdering, countAgents, findAgentsPage, type AgentFilterSpec, type AgentListRow } from '../queries/agents';
import { childCallConnection } from './calls';
import { agentOrderSpec, rangeSpec } from './args';
import { toDbEnum, toGraphQLEnum } from './enums';

export async function rootAgentConnection(ctx: Context, args: QueryAgentsArgs): Promise<Connection<AgentListRow>> {
  const filter: AgentFilterSpec = args.filter?.status ? { statuses: args.filter.status.map(toDbEnum) } : {};
  const order = agentOrderSpec(args.orderBy);
  const ordering = agentOrdering(order);
  const page = parsePageArgs(args, ordering, AGENT_SORT_KINDS[order.field], ctx.limits);
  const result = await findAgentsPage(ctx.scope, filter, order, page);
  for (const row of result.rows) ctx.loaders.agentById.prime(row.id, row);
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
};

export const PhoneNumberAssignment: PhoneNumberAssignmentResolvers = {
  id: (phone) => toGlobalId('PhoneNumberAssignment', phone.id),
  number: (phone) => phone.e164,
  provider: (phone) => phone.provider,
  providerNumberId: (phone) => phone.provider_number_id,
  agent: (phone, _args, ctx) => (phone.agent_id ? ctx.loaders.agentById.load(phone.agent_id) : null),
};
