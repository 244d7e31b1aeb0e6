import { sql } from 'kysely';
import type { Db } from '../../db/database';

/**
 * Gives every organisation without a provider API key a well-known demo key
 * (`xi_demo_<slug>_local_provider_only`, meaningless to a real provider), so the
 * local provider answers them at once. Only `npm start` in development calls
 * it, and only while it runs the local provider; an organisation that has a
 * key keeps it.
 */
export async function giveDemoProviderKeys(db: Db): Promise<void> {
  await sql`
    insert into provider_accounts (org_id, api_key)
    select id, 'xi_demo_' || slug || '_local_provider_only' from organisations
    on conflict (org_id) do nothing`.execute(db);
}
