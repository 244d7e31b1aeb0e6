import { sql } from 'kysely';
import type { Db } from '../db/database';
import { durableTransaction } from '../db/durable';
import { generateWebhookSecret } from './signature';

/** Organisation slugs as migration 0001 allows them; anything else cannot exist and skips the lookup. */
const SLUG = /^[a-z0-9][a-z0-9-]{1,62}$/;

export interface OrgSecrets {
  orgId: string | undefined;
  secrets: string[];
}

/**
 * The organisation named by `slug` and its active secrets, in one statement.
 * An unknown slug and an organisation without secrets both come back with no
 * secrets, and the caller answers both exactly like a wrong signature.
 */
export async function activeSecrets(db: Db, slug: string): Promise<OrgSecrets> {
  if (!SLUG.test(slug)) return { orgId: undefined, secrets: [] };
  const rows = await db
    .selectFrom('organisations as o')
    .leftJoin('webhook_secrets as s', (join) =>
      join.onRef('s.org_id', '=', 'o.id').on((eb) => eb.or([eb('s.expires_at', 'is', null), eb('s.expires_at', '>', sql<string>`now()`)])),
    )
    .select(['o.id as org_id', 's.secret'])
    .where('o.slug', '=', slug)
    .execute();
  return {
    orgId: rows[0]?.org_id,
    secrets: rows.flatMap((row) => (row.secret === null ? [] : [row.secret])),
  };
}

export interface RotatedSecret {
  id: string;
  secret: string;
  /** Older secrets that now expire at `expiresAt` (they were active, with no earlier expiry). */
  expiring: number;
  expiresAt: Date;
}

/**
 * Adds a new secret and gives every other active secret of the organisation
 * `graceSeconds` more to live (0: they stop verifying now), so a provider can
 * switch over without a window in which its deliveries fail. One durable
 * transaction: the secret printed to the operator is on disk.
 */
export async function rotateWebhookSecret(db: Db, orgId: string, graceSeconds: number, secret = generateWebhookSecret()): Promise<RotatedSecret> {
  return durableTransaction(db, async (trx) => {
    const expiresAt = new Date(Date.now() + graceSeconds * 1000);
    const expired = await trx
      .updateTable('webhook_secrets')
      .set({ expires_at: expiresAt })
      .where('org_id', '=', orgId)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', expiresAt.toISOString())]))
      .executeTakeFirst();
    const { id } = await trx.insertInto('webhook_secrets').values({ org_id: orgId, secret }).returning('id').executeTakeFirstOrThrow();
    return { id, secret, expiring: Number(expired.numUpdatedRows), expiresAt };
  });
}

export interface SecretListing {
  id: string;
  /** The first characters only: enough to tell secrets apart, useless to forge with. */
  prefix: string;
  created_at: string;
  expires_at: string | null;
  active: boolean;
}

export async function listWebhookSecrets(db: Db, orgId: string): Promise<SecretListing[]> {
  const rows = await db
    .selectFrom('webhook_secrets')
    .select(['id', 'secret', 'created_at', 'expires_at', sql<boolean>`expires_at is null or expires_at > now()`.as('active')])
    .where('org_id', '=', orgId)
    .orderBy('id')
    .execute();
  return rows.map(({ secret, ...row }) => ({ ...row, prefix: `${secret.slice(0, 10)}…` }));
}

/**
 * The demo organisations' webhook secret, printed in README and docs/webhooks.md
 * so a developer can sign a test delivery at once. Known to everyone, so
 * development only: production never seeds, refuses to start while one is
 * active (`activeDemoSecrets`), and `npm run webhook:secret` rotates it away.
 */
export function demoWebhookSecret(slug: string): string {
  return `whsec_demo_${slug}_not_for_production`;
}

/**
 * Slugs of the organisations whose well-known demo secret (above) still
 * verifies deliveries: a database seeded in development and later served in
 * production would accept anyone's forged call reports for them.
 */
export async function activeDemoSecrets(db: Db): Promise<string[]> {
  const rows = await db
    .selectFrom('webhook_secrets as s')
    .innerJoin('organisations as o', 'o.id', 's.org_id')
    .select(['o.slug', 's.secret'])
    // `_` is LIKE's wildcard, escaped here to match literally; each row's exact secret is compared below.
    .where('s.secret', 'like', 'whsec\\_demo\\_%')
    .where((eb) => eb.or([eb('s.expires_at', 'is', null), eb('s.expires_at', '>', sql<string>`now()`)]))
    .orderBy('o.slug')
    .execute();
  return [...new Set(rows.filter((row) => row.secret === demoWebhookSecret(row.slug)).map((row) => row.slug))];
}
