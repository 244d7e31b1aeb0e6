import { sql } from 'kysely';
import type { Db } from '../db/database';
import type { TenantScope } from '../db/tenant';
import type { OrganisationRow, Role, UserRow } from '../db/schema';

export type OrganisationListRow = Pick<OrganisationRow, 'id' | 'slug' | 'name' | 'timezone' | 'created_at'>;
export type UserListRow = Pick<UserRow, 'id' | 'name' | 'email'>;

/*
 * Organisations by id or slug are global lookups (the webhook route, the
 * development token), so they take a raw `Db`; so does
 * findFirstMember, which picks whom a development token speaks for before
 * any tenant context exists. Members are seen through a tenant scope.
 */

export async function findOrganisationsByIds(db: Db, ids: readonly string[]): Promise<OrganisationListRow[]> {
  return db
    .selectFrom('organisations')
    .select(['id', 'slug', 'name', 'timezone', 'created_at'])
    .where('id', '=', sql<string>`any(${ids}::int8[])`)
    .execute();
}

export async function findOrganisationBySlug(db: Db, slug: string): Promise<OrganisationListRow | undefined> {
  return db.selectFrom('organisations').select(['id', 'slug', 'name', 'timezone', 'created_at']).where('slug', '=', slug).executeTakeFirst();
}

/**
 * The organisation rows a tenant may see: its own, and only if asked for it
 * (another id finds nothing, without a statement). The same statement as
 * findOrganisationsByIds.
 */
export async function findOwnOrganisation({ db, orgId }: TenantScope, ids: readonly string[]): Promise<OrganisationListRow[]> {
  return ids.includes(orgId) ? findOrganisationsByIds(db, [orgId]) : [];
}

/**
 * A user as seen by one organisation: only members of that organisation are
 * visible, so a token can never reveal a user of another tenant.
 */
export async function findMembersByIds({ db, orgId }: TenantScope, userIds: readonly string[]): Promise<UserListRow[]> {
  return db
    .selectFrom('users as u')
    .innerJoin('memberships as m', 'm.user_id', 'u.id')
    .select(['u.id', 'u.name', 'u.email'])
    .where('m.org_id', '=', orgId)
    .where('u.id', '=', sql<string>`any(${userIds}::int8[])`)
    .execute();
}

/** The first admin of an organisation: whom a development token speaks for. */
export async function findFirstMember(db: Db, orgId: string, role: Role): Promise<{ user_id: string } | undefined> {
  return db.selectFrom('memberships').select('user_id').where('org_id', '=', orgId).where('role', '=', role).orderBy('user_id').executeTakeFirst();
}
