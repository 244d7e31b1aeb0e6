import type { MutationResolvers } from '../../generated/graphql';
import {
  hasScheduledAppointment,
  insertAppointment,
  lockAppointment,
  lockCallForBooking,
  setAppointmentStatus,
} from '../../queries/appointmentWrites';
import { toGraphQLEnum } from '../enums';
import { requireRole } from './access';
import { money, moneyInput } from './input';
import { InputCheck, refuse, withUserErrors } from './userErrors';
import { write } from './write';

const MAX_VALUE = 1_000_000_000;
const MAX_DAYS_AHEAD = 731;
const DAY_MS = 86_400_000;

export const appointmentMutations: Pick<MutationResolvers, 'bookAppointment' | 'cancelAppointment'> = {
  bookAppointment: async (_root, { input }, ctx) => {
    requireRole(ctx.role, 'records');
    return withUserErrors({ appointment: null, call: null }, async () => {
      const check = new InputCheck();
      const callId = check.id('Call', input.callId, 'input.callId');
      const { scheduledAt } = input;
      if (scheduledAt.getTime() <= ctx.now.getTime()) {
        check.fail('input.scheduledAt', 'OUT_OF_RANGE', 'input.scheduledAt must be in the future');
      } else if (scheduledAt.getTime() > ctx.now.getTime() + MAX_DAYS_AHEAD * DAY_MS) {
        check.fail('input.scheduledAt', 'OUT_OF_RANGE', 'input.scheduledAt must be at most two years ahead');
      }
      // The deprecated float keeps working for clients written before `dealValue`.
      // eslint-disable-next-line @typescript-eslint/no-deprecated
      const legacyValue = input.value;
      let value: number | string = 0;
      if (input.dealValue != null && legacyValue != null) {
        check.fail('input.dealValue', 'CONFLICTING_FIELDS', 'Pass either input.dealValue or input.value (deprecated), not both');
      } else if (input.dealValue != null) {
        value = moneyInput(check, input.dealValue, 'input.dealValue', MAX_VALUE);
      } else if (legacyValue != null) {
        value = money(check, legacyValue, 'input.value', MAX_VALUE);
      }
      check.assertValid();

      const { appointment, call } = await write(ctx, async (tx) => {
        const found = await lockCallForBooking(tx, callId);
        if (!found) throw refuse('input.callId', 'NOT_FOUND', 'Call not found');
        if (found.contact_id === null) {
          throw refuse('input.callId', 'INVALID_STATE', 'input.callId is a call without a contact, so there is no one to book for');
        }
        if (await hasScheduledAppointment(tx, callId)) {
          throw refuse('input.callId', 'INVALID_STATE', 'input.callId already has a scheduled appointment; cancel it first');
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
    });
  },

  cancelAppointment: async (_root, { input }, ctx) => {
    requireRole(ctx.role, 'records');
    return withUserErrors({ appointment: null }, async () => {
      const check = new InputCheck();
      const id = check.id('Appointment', input.id, 'input.id');
      check.assertValid();
      const appointment = await write(ctx, async (tx) => {
        const current = await lockAppointment(tx, id);
        if (!current) throw refuse('input.id', 'NOT_FOUND', 'Appointment not found');
        // A retried cancel succeeds without writing again.
        if (current.status === 'cancelled') return current;
        if (current.status !== 'scheduled') {
          throw refuse('input.id', 'INVALID_STATE', `Only a SCHEDULED appointment can be cancelled; this one is ${toGraphQLEnum(current.status)}`);
        }
        return setAppointmentStatus(tx, id, 'cancelled');
      });
      ctx.loaders.appointmentById.prime(appointment.id, appointment);
      return { appointment };
    });
  },
};
