import type { Config } from '../config/config';
import type { Db } from '../db/database';
import type { Role } from '../db/schema';
import { signToken } from '../auth/tokens';
import { findFirstMember, findOrganisationBySlug } from '../queries/organisations';

/**
 * A token for a member of the organisation `slug` with `role` — what
 * `npm run token` prints and what development mode pre-fills in GraphiQL.
 * Only possible with a local HS256 secret; JWKS deployments mint tokens elsewhere.
 */
export async function devTokenFor(config: Config, db: Db, slug: string, role: Role, expiresInSeconds?: number): Promise<string> {
  if (config.auth.kind !== 'hs256') throw new Error('tokens can only be minted locally with an HS256 secret (JWKS_URL is set)');
  const organisation = await findOrganisationBySlug(db, slug);
  if (!organisation) throw new Error(`no organisation with slug "${slug}"`);
  const member = (await findFirstMember(db, organisation.id, role)) ?? (await findFirstMember(db, organisation.id, 'admin'));
  if (!member) throw new Error(`organisation "${slug}" has no members`);
  return signToken(config.auth.secret, config.auth, {
    userId: member.user_id,
    orgId: organisation.id,
    role,
    ...(expiresInSeconds ? { expiresInSeconds } : {}),
  });
}
