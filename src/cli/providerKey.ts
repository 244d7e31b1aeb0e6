import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config';
import { locateDatabase } from '../db/connect';
import { createDb, createPool } from '../db/database';
import { migrateToLatest } from '../db/migrate';
import { tenantScope } from '../db/tenant';
import { findOrganisationBySlug } from '../queries/organisations';
import { setProviderApiKey } from '../queries/providerAccounts';
import { runCli } from './run';

const USAGE = 'usage: printf %s "$KEY" | npm run -s provider:key -- --org <slug>';

/**
 * `npm run -s provider:key -- --org acme` stores the organisation's API key
 * at the voice provider, read from stdin (never an argument: those end up in
 * shell history and `ps`), replacing any key it had. Prints nothing of the
 * key back.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { org: { type: 'string' } } });
  if (!values.org) throw new Error(USAGE);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const key = Buffer.concat(chunks).toString('utf8').trim();
  if (key.length < 16) throw new Error(`the API key on stdin must be at least 16 characters (${USAGE})`);

  const config = loadConfig();
  const location = await locateDatabase(config);
  const pool = createPool({ connectionString: location.url, max: 1 });
  const db = createDb(pool);
  try {
    await migrateToLatest(db);
    const organisation = await findOrganisationBySlug(db, values.org);
    if (!organisation) throw new Error(`no organisation with slug "${values.org}"`);
    await setProviderApiKey(tenantScope(db, organisation.id), key);
    process.stderr.write(`provider API key stored for ${organisation.slug}\n`);
  } finally {
    await pool.end();
    await location.release();
  }
}

runCli('provider:key', () => main());
