import { parseGlobalId, type NodeType } from '../graphql/globalId';
import { badUserInput } from '../graphql/errors';
import type { Context } from '../graphql/context';
import type { NodeResolvers } from '../generated/graphql';
import type { AgentListRow, PhoneNumberListRow } from '../queries/agents';
import type { AppointmentListRow } from '../queries/appointments';
import type { CallListRow } from '../queries/calls';
import type { ContactListRow } from '../queries/contacts';
import type { OrganisationListRow, UserListRow } from '../queries/organisations';

type NodeRow = CallListRow | AgentListRow | ContactListRow | AppointmentListRow | PhoneNumberListRow | OrganisationListRow | UserListRow;

/**
 * `node(id)` / `nodes(ids)`: decode, then load through the same per-organisation
 * loaders as everything else, so a foreign id is indistinguishable from a
 * missing one. Each row remembers its type for `__resolveType`.
 */
const typeOfRow = new WeakMap<object, NodeType>();

export async function loadNode(ctx: Context, globalId: string): Promise<NodeRow | null> {
  const parsed = parseGlobalId(globalId);
  if (!parsed) return null;
  const { type, localId } = parsed;
  const row = await loadByType(ctx, type, localId);
  if (row) typeOfRow.set(row, type);
  return row;
}

function loadByType(ctx: Context, type: NodeType, id: string): Promise<NodeRow | null> {
  const { loaders } = ctx;
  switch (type) {
    case 'Call':
      return loaders.callById.load(id);
    case 'Agent':
      return loaders.agentById.load(id);
    case 'Contact':
      return loaders.contactById.load(id);
    case 'Appointment':
      return loaders.appointmentById.load(id);
    case 'PhoneNumberAssignment':
      return loaders.phoneNumberById.load(id);
    case 'Organisation':
      // Only the caller's own organisation is a reachable node.
      return id === ctx.orgId ? loaders.organisationById.load(id) : Promise.resolve(null);
    case 'User':
      // Members of the caller's organisation only: the loader joins memberships on it.
      return loaders.memberById.load(id);
  }
}

export const MAX_NODES_PER_REQUEST = 100;

export function checkNodeCount(ids: readonly string[]): void {
  if (ids.length > MAX_NODES_PER_REQUEST) {
    throw badUserInput(`ids must not contain more than ${MAX_NODES_PER_REQUEST} ids`, 'ids');
  }
}

export const Node: NodeResolvers = {
  __resolveType: (row) => typeOfRow.get(row) ?? null,
};
