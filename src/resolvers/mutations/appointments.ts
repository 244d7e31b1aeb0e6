import type { MutationResolvers } from '../../generated/graphql';
import { badUserInput, notFound } from '../../graphql/errors';
import { localIdOf } from '../../graphql/globalId';
import {
  hasScheduledAppointment,
  insertAppointment,
  lockAppointment,
  lockCallForBooking,
  setAppointmentStatus,
} from '../../queries/appointmentWrites';
import { toGraphQLEnum } from '../enums';
import { requireRole } from './access';
import { money } from './input';
import { write } from './write';

const MAX_VALUE = 1_000_000_000;
const MAX_DAYS_AHEAD = 731;
const DAY_MS = 86_400_000;

export const appointmentMutations: Pick<MutationResolvers, 'bookAppointment' | 'cancelAppointment'> = {
  bookAppointment: async (_root, { input }, ctx) => {
    requireRole(ctx.role, 'records');
    const callId = localIdOf('Call', input.callId, 'input.callId');
    const { scheduledAt } = input;
    if (scheduledAt.getTime() <= ctx.now.getTime()) {
      throw badUserInput('input.scheduledAt must be in the future', 'input.scheduledAt');
    }
    if (scheduledAt.getTime() > ctx.now.getTime() + MAX_DAYS_AHEAD * DAY_MS) {
      throw badUserInput('input.scheduledAt must be at most two years ahead', 'input.scheduledAt');
    }
    const value = money(input.value ?? 0, 'input.value', MAX_VALUE);

    const { appointment, call } = await write(ctx, async (tx) => {
      const found = await lockCallForBooking(tx, callId);
      if (!found) throw notFound('Call', 'input.callId');
      if (found.contact_id === null) {
        throw badUserInput('input.callId is a call without a contact, so there is no one to book for', 'input.callId');
      }
      if (await hasScheduledAppointment(tx, callId)) {
        throw badUserInput('input.callId already has a scheduled appointment; cancel it first', 'input.callId');
      }
      const booked = await insertAppointment(tx, {
        contactId: found.contact_id,
        callId,
        agentId: found.agent_id,
        scheduledAt,
        value,
      });
      return { appointment: booked, call: found };
    });
    ctx.loaders.appointmentById.prime(appointment.id, appointment);
    ctx.loaders.appointmentByCallId.prime(call.id, appointment);
    ctx.loaders.callById.prime(call.id, call);
    return { appointment, call };
  },

  cancelAppointment: async (_root, { input }, ctx) => {
    requireRole(ctx.role, 'records');
    const id = localIdOf('Appointment', input.id, 'input.id');
    const appointment = await write(ctx, async (tx) => {
      const current = await lockAppointment(tx, id);
      if (!current) throw notFound('Appointment', 'input.id');
      // A retried cancel succeeds without writing again.
      if (current.status === 'cancelled') return current;
      if (current.status !== 'scheduled') {
        throw badUserInput(`Only a SCHEDULED appointment can be cancelled; this one is ${toGraphQLEnum(current.status)}`, 'input.id');
      }
      return setAppointmentStatus(tx, id, 'cancelled');
    });
    ctx.loaders.appointmentById.prime(appointment.id, appointment);
    return { appointment };
  },
};
