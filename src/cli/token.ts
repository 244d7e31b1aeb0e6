import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config';
import { locateDatabase } from '../db/connect';
import { createDb, createPool } from '../db/database';
import type { Role } from '../db/schema';
import { devTokenFor } from './devToken';
import { runCli } from './run';

/**
 * `npm run -s token -- --org <slug> [--role admin|member|viewer] [--expires-in seconds]`
 * Prints only the token on stdout, so `$(npm run -s token -- --org acme)` works.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { org: { type: 'string' }, role: { type: 'string', default: 'admin' }, 'expires-in': { type: 'string' } },
  });
  if (!values.org) throw new Error('usage: npm run -s token -- --org <slug> [--role admin|member|viewer] [--expires-in seconds]');
  const role = values.role as Role;
  if (!['admin', 'member', 'viewer'].includes(role)) throw new Error('--role must be admin, member or viewer');
  const expiresIn = values['expires-in'] ? Number(values['expires-in']) : undefined;
  if (expiresIn !== undefined && !(Number.isInteger(expiresIn) && expiresIn > 0))
    throw new Error('--expires-in must be a positive number of seconds');

  const config = loadConfig();
  const location = await locateDatabase(config);
  const pool = createPool({ connectionString: location.url, max: 1 });
  try {
    process.stdout.write((await devTokenFor(config, createDb(pool), values.org, role, expiresIn)) + '\n');
  } finally {
    await pool.end();
    await location.release();
  }
}

runCli('token', () => main());
