import { sql } from 'kysely';
import type { TenantScope } from '../db/tenant';
import type { ContactStatus } from '../db/schema';
import { CONTACT_LIST_COLUMNS, type ContactListRow } from './contacts';

/**
 * Contact writes. Each statement carries the organisation in its WHERE clause
 * (or its inserted row), and returns the same columns the readers select, so
 * the result can be handed to the by-id loader as is.
 */

export interface NewContact {
  name: string;
  phone: string;
  email: string | null;
  leadScore: number;
  status: ContactStatus;
  tags: string[];
}

export type ContactPatch = Partial<NewContact>;

export async function insertContact({ db, orgId }: TenantScope, contact: NewContact): Promise<ContactListRow> {
  return db
    .insertInto('contacts')
    .values({
      org_id: orgId,
      name: contact.name,
      phone: contact.phone,
      email: contact.email,
      lead_score: contact.leadScore,
      status: contact.status,
      tags: contact.tags,
    })
    .returning(CONTACT_LIST_COLUMNS)
    .executeTakeFirstOrThrow();
}

/** Applies the given fields; undefined when the contact is not in the organisation. */
export async function updateContact({ db, orgId }: TenantScope, id: string, patch: ContactPatch): Promise<ContactListRow | undefined> {
  return db
    .updateTable('contacts')
    .set({
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.phone !== undefined ? { phone: patch.phone } : {}),
      ...(patch.email !== undefined ? { email: patch.email } : {}),
      ...(patch.leadScore !== undefined ? { lead_score: patch.leadScore } : {}),
      ...(patch.status !== undefined ? { status: patch.status } : {}),
      ...(patch.tags !== undefined ? { tags: patch.tags } : {}),
      updated_at: sql`now()`,
    })
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .returning(CONTACT_LIST_COLUMNS)
    .executeTakeFirst();
}

/**
 * Archives a contact. Archiving an archived contact is a no-op that still
 * returns it, and keeps its updated_at: nothing changed.
 */
export async function archiveContact({ db, orgId }: TenantScope, id: string): Promise<ContactListRow | undefined> {
  return db
    .updateTable('contacts')
    .set({
      status: 'archived',
      updated_at: sql`case when status = 'archived' then updated_at else now() end`,
    })
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .returning(CONTACT_LIST_COLUMNS)
    .executeTakeFirst();
}
