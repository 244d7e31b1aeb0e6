import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config';
import { locateDatabase } from '../db/connect';
import { createDb, createPool } from '../db/database';
import { migrateToLatest } from '../db/migrate';
import { findOrganisationBySlug } from '../queries/organisations';
import { listWebhookSecrets, rotateWebhookSecret } from '../webhooks/secrets';
import { runCli } from './run';

const USAGE = 'usage: npm run -s webhook:secret -- --org <slug> [--grace-seconds 86400] | --org <slug> --list';

/**
 * `npm run -s webhook:secret -- --org acme` creates a new webhook secret for
 * the organisation and prints only the secret on stdout, so
 * `SECRET=$(npm run -s webhook:secret -- --org acme)` works. The organisation's
 * other active secrets keep verifying for `--grace-seconds` (default one day)
 * while the provider switches over; `--grace-seconds 0` revokes them now.
 * `--list` shows the secrets' ids, prefixes and expiry, never a whole secret.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { org: { type: 'string' }, 'grace-seconds': { type: 'string', default: '86400' }, list: { type: 'boolean', default: false } },
  });
  if (!values.org) throw new Error(USAGE);
  const grace = Number(values['grace-seconds']);
  if (!Number.isSafeInteger(grace) || grace < 0) throw new Error('--grace-seconds must be a whole number of seconds, 0 or more');

  const config = loadConfig();
  const location = await locateDatabase(config);
  const pool = createPool({ connectionString: location.migrationUrl, max: 1 });
  const db = createDb(pool);
  try {
    await migrateToLatest(db, { appRole: config.pgAppRole });
    const organisation = await findOrganisationBySlug(db, values.org);
    if (!organisation) throw new Error(`no organisation with slug "${values.org}"`);
    if (values.list) {
      for (const secret of await listWebhookSecrets(db, organisation.id)) {
        process.stdout.write(
          `${secret.id}\t${secret.prefix}\tcreated ${secret.created_at}\t` +
            `${secret.expires_at ? `expires ${secret.expires_at}` : 'no expiry'}\t${secret.active ? 'active' : 'expired'}\n`,
        );
      }
      return;
    }
    const rotated = await rotateWebhookSecret(db, organisation.id, grace);
    process.stdout.write(`${rotated.secret}\n`);
    process.stderr.write(
      `webhook secret ${rotated.id} created for ${organisation.slug}` +
        (rotated.expiring > 0 ? `; ${rotated.expiring} older secret(s) stop verifying at ${rotated.expiresAt.toISOString()}\n` : '\n'),
    );
  } finally {
    await pool.end();
    await location.release();
  }
}

runCli('webhook:secret', () => main());
