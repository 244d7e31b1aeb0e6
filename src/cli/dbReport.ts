import pg from 'pg';
import { loadConfig } from '../config/config';
import { locateDatabase } from '../db/connect';
import { cacheHitRatio, indexUsage, tableScans, topStatements } from '../db/report';
import { runCli } from './run';

/**
 * `npm run db:report [-- --limit N]`: the top statements by total time from
 * pg_stat_statements (calls, mean and total time), index and table scan
 * counts, and the cache hit ratio, for the configured database.
 */
async function main(args: string[]): Promise<void> {
  const limit = limitFrom(args);
  const config = loadConfig();
  const location = await locateDatabase(config);
  const client = new pg.Client({ connectionString: location.migrationUrl, application_name: 'switchboard-db-report' });
  await client.connect();
  try {
    const top = await topStatements(client, limit);
    console.log(`Top ${limit} statements by total time (pg_stat_statements)`);
    if (top.available) {
      printTable(
        ['calls', 'mean ms', 'total ms', 'rows', 'query'],
        top.statements.map((s) => [String(s.calls), s.meanMs.toFixed(2), s.totalMs.toFixed(1), String(s.rows), oneLine(s.query, 120)]),
        4,
      );
    } else {
      console.log(`  unavailable: ${top.reason}`);
      console.log('  To enable it: add pg_stat_statements to shared_preload_libraries, restart PostgreSQL, and run');
      console.log('  `create extension pg_stat_statements` as a user allowed to (the embedded server preloads it).');
    }

    console.log('\nIndex usage (pg_stat_user_indexes; 0 scans = unused since the statistics were reset)');
    printTable(
      ['scans', 'size', 'table', 'index'],
      (await indexUsage(client)).map((i) => [String(i.scans), kib(i.sizeBytes), i.table, i.index]),
      2,
    );

    console.log('\nTable scans (pg_stat_user_tables)');
    printTable(
      ['seq scans', 'index scans', 'live rows', 'table'],
      (await tableScans(client)).map((t) => [String(t.seqScans), String(t.indexScans), String(t.liveRows), t.table]),
      3,
    );

    const cache = await cacheHitRatio(client);
    console.log(`\nCache hit ratio: ${percent(cache.overall)} overall (tables ${percent(cache.tables)}, indexes ${percent(cache.indexes)})`);
  } finally {
    await client.end();
    await location.release();
  }
}

function limitFrom(args: string[]): number {
  const at = args.indexOf('--limit');
  if (at === -1) return 10;
  const value = Number(args[at + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error('--limit must be a positive integer');
  return value;
}

/** The first `numeric` columns are right-aligned figures; the rest are names, left-aligned. */
function printTable(headers: string[], rows: string[][], numeric: number): void {
  if (rows.length === 0) {
    console.log('  (none)');
    return;
  }
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const pad = (cell: string, i: number, last: boolean) => (i < numeric ? cell.padStart(widths[i] ?? 0) : last ? cell : cell.padEnd(widths[i] ?? 0));
  const line = (cells: string[]) => '  ' + cells.map((cell, i) => pad(cell, i, i === cells.length - 1)).join('  ');
  console.log(line(headers));
  for (const row of rows) console.log(line(row));
}

const oneLine = (text: string, max: number) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};
const kib = (bytes: number) => `${Math.round(bytes / 1024)} kB`;
const percent = (ratio: number | null) => (ratio === null ? 'n/a' : `${(ratio * 100).toFixed(2)}%`);

runCli('db:report', () => main(process.argv.slice(2)));
