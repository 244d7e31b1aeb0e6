import { sql } from 'kysely';
import type { TenantScope } from '../db/tenant';
import type { AppointmentStatus } from '../db/schema';
import { APPOINTMENT_COLUMNS, type AppointmentListRow } from './appointments';
import { CALL_LIST_COLUMNS, type CallListRow } from './calls';

/**
 * Appointment writes, each scoped by org_id in the statement. The rollup
 * triggers (0002) count a booking, and move its value out of the pipeline
 * when it is cancelled, in the same transaction.
 */

/**
 * The call a booking derives its contact and agent from, as the readers see
 * it, locked (FOR NO KEY UPDATE: it does not block inserts that merely
 * reference the call) so that concurrent bookings on one call queue up.
 */
export async function lockCallForBooking({ db, orgId }: TenantScope, callId: string): Promise<CallListRow | undefined> {
  return db
    .selectFrom('calls as c')
    .select(CALL_LIST_COLUMNS.map((column) => `c.${column}` as const))
    .where('c.org_id', '=', orgId)
    .where('c.id', '=', callId)
    .forNoKeyUpdate()
    .executeTakeFirst();
}

/**
 * Whether the call has a SCHEDULED appointment. A statement of its own, run
 * after lockCallForBooking: under READ COMMITTED each statement sees what was
 * committed when it started, so a booking that waited for the lock sees the
 * appointment the one before it committed (a subquery inside the locking
 * statement would still see the world from before the wait).
 */
export async function hasScheduledAppointment({ db, orgId }: TenantScope, callId: string): Promise<boolean> {
  const row = await db
    .selectFrom('appointments')
    .select('id')
    .where('org_id', '=', orgId)
    .where('call_id', '=', callId)
    .where('status', '=', 'scheduled')
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

export interface NewAppointment {
  contactId: string;
  callId: string;
  agentId: string;
  scheduledAt: Date;
  /** Dollars: a number, or the exact decimal string a MoneyInput gave. */
  value: number | string;
}

export async function insertAppointment({ db, orgId }: TenantScope, appointment: NewAppointment): Promise<AppointmentListRow> {
  return db
    .insertInto('appointments')
    .values({
      org_id: orgId,
      contact_id: appointment.contactId,
      call_id: appointment.callId,
      agent_id: appointment.agentId,
      scheduled_at: appointment.scheduledAt,
      value: appointment.value,
    })
    .returning(APPOINTMENT_COLUMNS)
    .executeTakeFirstOrThrow();
}

/** The appointment as the readers see it, locked until the transaction ends. */
export async function lockAppointment({ db, orgId }: TenantScope, id: string): Promise<AppointmentListRow | undefined> {
  return db
    .selectFrom('appointments')
    .select(APPOINTMENT_COLUMNS)
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .forNoKeyUpdate()
    .executeTakeFirst();
}

export async function setAppointmentStatus({ db, orgId }: TenantScope, id: string, status: AppointmentStatus): Promise<AppointmentListRow> {
  return db
    .updateTable('appointments')
    .set({ status, updated_at: sql`now()` })
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .returning(APPOINTMENT_COLUMNS)
    .executeTakeFirstOrThrow();
}
