import { toGlobalId } from '../graphql/globalId';
import type { AppointmentResolvers } from '../generated/graphql';
import { toGraphQLEnum } from './enums';
import { usd, VALUE_DECIMALS } from './money';

export const Appointment: AppointmentResolvers = {
  id: (appointment) => toGlobalId('Appointment', appointment.id),
  scheduledAt: (appointment) => appointment.scheduled_at,
  status: (appointment) => toGraphQLEnum(appointment.status),
  value: (appointment) => appointment.value,
  createdAt: (appointment) => appointment.created_at,
  dealValue: (appointment) => usd(appointment.value, VALUE_DECIMALS),
  contact: async (appointment, _args, ctx) => {
    const contact = await ctx.loaders.contactById.load(appointment.contact_id);
    if (!contact) throw new Error(`appointment ${appointment.id} has no contact ${appointment.contact_id}`);
    return contact;
  },
  call: (appointment, _args, ctx) => (appointment.call_id ? ctx.loaders.callById.load(appointment.call_id) : null),
  agent: (appointment, _args, ctx) => (appointment.agent_id ? ctx.loaders.agentById.load(appointment.agent_id) : null),
};
