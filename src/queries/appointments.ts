import { sql } from 'kysely';
import type { TenantScope } from '../db/tenant';
import type { AppointmentRow } from '../db/schema';

export const APPOINTMENT_COLUMNS = ['id', 'org_id', 'contact_id', 'call_id', 'agent_id', 'scheduled_at', 'status', 'value', 'created_at'] as const;
export type AppointmentListRow = Pick<AppointmentRow, (typeof APPOINTMENT_COLUMNS)[number]>;

export async function findAppointmentsByIds({ db, orgId }: TenantScope, ids: readonly string[]): Promise<AppointmentListRow[]> {
  return db
    .selectFrom('appointments')
    .select(APPOINTMENT_COLUMNS)
    .where('org_id', '=', orgId)
    .where('id', '=', sql<string>`any(${ids}::int8[])`)
    .execute();
}

/** The latest appointment per call (a call books at most one in practice). */
export async function findAppointmentsByCalls({ db, orgId }: TenantScope, callIds: readonly string[]): Promise<AppointmentListRow[]> {
  return db
    .selectFrom('appointments')
    .distinctOn('call_id')
    .select(APPOINTMENT_COLUMNS)
    .where('org_id', '=', orgId)
    .where('call_id', '=', sql<string>`any(${callIds}::int8[])`)
    .orderBy('call_id')
    .orderBy('created_at', 'desc')
    .execute();
}

export async function findAppointmentsByContacts({ db, orgId }: TenantScope, contactIds: readonly string[]): Promise<AppointmentListRow[]> {
  return db
    .selectFrom('appointments')
    .select(APPOINTMENT_COLUMNS)
    .where('org_id', '=', orgId)
    .where('contact_id', '=', sql<string>`any(${contactIds}::int8[])`)
    .orderBy('scheduled_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
}
