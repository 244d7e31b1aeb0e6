import { readFileSync } from 'node:fs';
import http from 'node:http';
import pg from 'pg';
// The same name switchboard gives a marked statement: the ceiling prepares what switchboard prepares.
import { preparedStatementName } from '../src/db/database';

/**
 * The raw-SQL ceiling: a minimal HTTP handler that runs exactly the SQL
 * statements switchboard issued for a scenario (recorded by the benchmark)
 * with `pg`, all at once on the same pool size, and returns the rows as JSON.
 * No GraphQL, no loaders, no resolvers: what is left is the database and
 * the wire, the best the GraphQL layer could possibly do.
 *
 * Usage: node dist/bench/ceiling.js <statements.json>, with DATABASE_URL and PORT.
 */
interface RecordedStatement {
  sql: string;
  parameters: unknown[];
}

const statementsFile = process.argv[2];
if (!statementsFile) throw new Error('usage: node dist/bench/ceiling.js <statements.json>');
const statements = JSON.parse(readFileSync(statementsFile, 'utf8')) as Record<string, RecordedStatement[]>;
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.PG_POOL_SIZE ?? 10) });

const server = http.createServer((req, res) => {
  const name = (req.url ?? '').replace(/^\/scenario\//, '');
  const scenario = statements[name];
  if (req.url === '/health/live') {
    res.end('{"status":"ok"}');
    return;
  }
  if (!scenario) {
    res.writeHead(404).end();
    return;
  }
  req.resume();
  req.on('end', () => {
    Promise.all(
      scenario.map((s) => pool.query<Record<string, unknown>>({ text: s.sql, values: s.parameters, name: preparedStatementName(s.sql) })),
    ).then(
      (results) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ data: results.map((r) => r.rows) }));
      },
      (error: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: String(error) }));
      },
    );
  });
});
server.listen(Number(process.env.PORT), '127.0.0.1');
