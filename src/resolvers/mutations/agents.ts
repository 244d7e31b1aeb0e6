import type { MutationResolvers } from '../../generated/graphql';
import type { Context } from '../../graphql/context';
import type { AgentListRow } from '../../queries/agents';
import {
  lockAgentForAssignment,
  lockPhoneNumber,
  releasePhoneNumbers,
  setPhoneNumberAgent,
  updateAgent,
  type AgentPatch,
} from '../../queries/agentWrites';
import { toDbEnum } from '../enums';
import { requireRole } from './access';
import { notNull, requireSomeField, text } from './input';
import { InputCheck, refuse, withUserErrors } from './userErrors';
import { write } from './write';

const MAX_NAME = 100;

/** Agents named by a payload, through the by-id loader: one statement for all of them. */
async function loadAgent(ctx: Context, id: string): Promise<AgentListRow> {
  const agent = await ctx.loaders.agentById.load(id);
  // Committed a moment ago in this organisation, and agents are never deleted.
  if (!agent) throw new Error(`agent ${id} vanished after a write`);
  return agent;
}

export const agentMutations: Pick<MutationResolvers, 'updateAgent' | 'assignPhoneNumber' | 'unassignPhoneNumber'> = {
  updateAgent: async (_root, { input }, ctx) => {
    requireRole(ctx.role, 'configuration');
    return withUserErrors({ agent: null, releasedPhoneNumbers: [] }, async () => {
      const check = new InputCheck();
      const id = check.id('Agent', input.id, 'input.id');
      const patch: AgentPatch = {};
      const name = notNull(check, input.name, 'input.name');
      if (name !== undefined) patch.name = text(check, name, 'input.name', { max: MAX_NAME });
      const status = notNull(check, input.status, 'input.status');
      if (status !== undefined) patch.status = toDbEnum(status);
      requireSomeField(check, patch, 'name, status');
      check.assertValid();

      const { agent, released } = await write(ctx, async (tx) => {
        const updated = await updateAgent(tx, id, patch);
        if (!updated) throw refuse('input.id', 'NOT_FOUND', 'Agent not found');
        // An archived agent answers no calls, so it holds no numbers (the demo
        // data follows the same rule); its numbers become free to reassign.
        const freed = updated.status === 'archived' ? await releasePhoneNumbers(tx, id) : [];
        return { agent: updated, released: freed };
      });
      ctx.loaders.agentById.prime(agent.id, agent);
      if (agent.status === 'archived') ctx.loaders.phoneNumbersByAgentId.prime(agent.id, []);
      for (const phoneNumber of released) ctx.loaders.phoneNumberById.prime(phoneNumber.id, phoneNumber);
      return { agent, releasedPhoneNumbers: released };
    });
  },

  assignPhoneNumber: async (_root, { input }, ctx) => {
    requireRole(ctx.role, 'configuration');
    return withUserErrors({ phoneNumber: null, agent: null, previousAgent: null }, async () => {
      const check = new InputCheck();
      const phoneNumberId = check.id('PhoneNumberAssignment', input.phoneNumberId, 'input.phoneNumberId');
      const agentId = check.id('Agent', input.agentId, 'input.agentId');
      check.assertValid();

      const { phoneNumber, previousAgentId } = await write(ctx, async (tx) => {
        // Agent first, then the number: the lock order archiving uses too.
        const agent = await lockAgentForAssignment(tx, agentId);
        if (!agent) throw refuse('input.agentId', 'NOT_FOUND', 'Agent not found');
        if (agent.status === 'archived') {
          throw refuse('input.agentId', 'INVALID_STATE', 'input.agentId is an archived agent, and archived agents hold no phone numbers');
        }
        const current = await lockPhoneNumber(tx, phoneNumberId);
        if (!current) throw refuse('input.phoneNumberId', 'NOT_FOUND', 'Phone number not found');
        return {
          phoneNumber: await setPhoneNumberAgent(tx, phoneNumberId, agentId),
          previousAgentId: current.agent_id !== agentId ? current.agent_id : null,
        };
      });
      ctx.loaders.phoneNumberById.prime(phoneNumber.id, phoneNumber);
      const [agent, previousAgent] = await Promise.all([loadAgent(ctx, agentId), previousAgentId ? loadAgent(ctx, previousAgentId) : null]);
      return { phoneNumber, agent, previousAgent };
    });
  },

  unassignPhoneNumber: async (_root, { input }, ctx) => {
    requireRole(ctx.role, 'configuration');
    return withUserErrors({ phoneNumber: null, previousAgent: null }, async () => {
      const check = new InputCheck();
      const phoneNumberId = check.id('PhoneNumberAssignment', input.phoneNumberId, 'input.phoneNumberId');
      check.assertValid();

      const { phoneNumber, previousAgentId } = await write(ctx, async (tx) => {
        const current = await lockPhoneNumber(tx, phoneNumberId);
        if (!current) throw refuse('input.phoneNumberId', 'NOT_FOUND', 'Phone number not found');
        return {
          phoneNumber: await setPhoneNumberAgent(tx, phoneNumberId, null),
          previousAgentId: current.agent_id,
        };
      });
      ctx.loaders.phoneNumberById.prime(phoneNumber.id, phoneNumber);
      return { phoneNumber, previousAgent: previousAgentId ? await loadAgent(ctx, previousAgentId) : null };
    });
  },
};
