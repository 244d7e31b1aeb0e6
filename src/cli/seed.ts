import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config';
import { locateDatabase } from '../db/connect';
import { createDb, createPool } from '../db/database';
import { migrateToLatest } from '../db/migrate';
import { seedScale } from '../seed/scale';
import { runCli } from './run';

const USAGE = `usage: npm run seed -- [--orgs 20] [--calls 1000000] [--contacts-per-org 2000] [--agents-per-org 50]
                       [--days 90] [--prefix scale] [--skew 0.4] [--seed 1] [--parallel 2] [--reset]`;

/**
 * `npm run seed`: a large benchmark dataset, generated inside PostgreSQL.
 * Progress and per-phase timings go to stderr, one summary line to stdout.
 * An existing dataset of the same prefix and size is reused (exit 0).
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      orgs: { type: 'string', default: '20' },
      calls: { type: 'string', default: '1000000' },
      'contacts-per-org': { type: 'string' },
      'agents-per-org': { type: 'string' },
      days: { type: 'string' },
      prefix: { type: 'string' },
      skew: { type: 'string' },
      seed: { type: 'string' },
      parallel: { type: 'string' },
      reset: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const number = (name: string, raw: string | undefined): number | undefined => {
    if (raw === undefined) return undefined;
    const value = Number(raw.replace(/_/g, ''));
    if (!Number.isFinite(value)) throw new Error(`--${name} must be a number, got "${raw}"\n${USAGE}`);
    return value;
  };

  const parallel = number('parallel', values.parallel) ?? 2;
  const config = loadConfig();
  const location = await locateDatabase(config, (line) => console.error(line));
  // One connection per organisation seeded at once; bulk statements run for seconds: no statement timeout.
  const pool = createPool({ connectionString: location.migrationUrl, max: parallel, statementTimeoutMs: 0 });
  try {
    const db = createDb(pool);
    await migrateToLatest(db, { appRole: config.pgAppRole });
    const result = await seedScale(db, {
      orgs: number('orgs', values.orgs) ?? 20,
      calls: number('calls', values.calls) ?? 1_000_000,
      contactsPerOrg: number('contacts-per-org', values['contacts-per-org']),
      agentsPerOrg: number('agents-per-org', values['agents-per-org']),
      days: number('days', values.days),
      prefix: values.prefix,
      skew: number('skew', values.skew),
      seed: number('seed', values.seed),
      parallel,
      reset: values.reset,
      log: (line) => console.error(line),
    });
    const counts =
      `${result.organisations.length} orgs, ${result.calls} calls, ${result.contacts} contacts, ` +
      `${result.agents} agents, ${result.appointments} appointments`;
    console.log(
      result.reused
        ? `seed: dataset "${result.prefix}" exists (${counts}); nothing to do`
        : `seed: "${result.prefix}" ${counts} in ${result.seconds.toFixed(1)}s`,
    );
  } finally {
    await pool.end();
    await location.release();
  }
}

runCli('seed', () => main());
