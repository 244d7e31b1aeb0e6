import { readFileSync } from 'node:fs';
import http from 'node:http';
import pg from 'pg';

/**
 * The raw-SQL floor (issue 12): for each operation of the PostGraphile
 * comparison, ONE hand-written SQL statement that builds the whole JSON answer
 * in PostgreSQL (json_agg/json_build_object), behind a bare node:http handler
 * on the same pool size. The server only copies the text to the socket.
 *
 * Not the same thing as the ceiling (bench/ceiling.ts): the ceiling replays
 * the statements Switchboard itself issued, so it moves with Switchboard's SQL;
 * the floor is what the database can do for the operation at all, the least
 * work any server could get away with.
 *
 * Usage: node dist/bench/floor.js <facts.json>, with DATABASE_URL, PORT and PG_POOL_SIZE.
 */
interface FloorFacts {
  orgId: string;
  /** The keyset position of row 5,000 (newest first) for the deep page. */
  row5000: { startedAt: string; id: string };
}

/** The statements, by scenario name; parameters are listed per statement. */
const FLOOR_STATEMENTS: Record<string, { text: string; values: (facts: FloorFacts) => unknown[] }> = {
  'calls-page': {
    text: `
      with page as (
        select c.id, c.started_at, c.direction, c.status, c.duration_seconds, c.outcome,
               c.recording_key is not null as has_recording, c.agent_id, c.contact_id
        from calls c where c.org_id = $1::int8
        order by c.started_at desc, c.id desc limit 51
      ), numbered as (select page.*, row_number() over (order by started_at desc, id desc) as n from page)
      select json_build_object(
        'edges', coalesce(json_agg(json_build_object(
          'cursor', p.started_at || '/' || p.id,
          'node', json_build_object(
            'id', p.id, 'startedAt', p.started_at, 'direction', p.direction, 'status', p.status,
            'durationSeconds', p.duration_seconds, 'outcome', p.outcome, 'hasRecording', p.has_recording,
            'agent', json_build_object('id', a.id, 'name', a.name),
            'contact', case when ct.id is null then null else json_build_object('id', ct.id, 'name', ct.name, 'phone', ct.phone) end))
          order by p.started_at desc, p.id desc) filter (where p.n <= 50), '[]'),
        'hasNextPage', count(*) > 50)::text as body
      from numbered p
      join agents a on a.org_id = $1::int8 and a.id = p.agent_id
      left join contacts ct on ct.org_id = $1::int8 and ct.id = p.contact_id`,
    values: (facts) => [facts.orgId],
  },
  'agents-board-10x5': {
    text: `
      select coalesce(json_agg(json_build_object('id', a.id, 'name', a.name, 'status', a.status, 'calls', recent.calls)
        order by a.name, a.id), '[]')::text as body
      from (select id, name, status from agents where org_id = $1::int8 order by name, id limit 10) a
      cross join lateral (
        select coalesce(json_agg(json_build_object('id', c.id, 'startedAt', c.started_at, 'status', c.status,
          'contact', case when ct.id is null then null else json_build_object('id', ct.id, 'name', ct.name) end)
          order by c.started_at desc, c.id desc), '[]') as calls
        from (select id, started_at, status, contact_id from calls
              where org_id = $1::int8 and agent_id = a.id order by started_at desc, id desc limit 5) c
        left join contacts ct on ct.org_id = $1::int8 and ct.id = c.contact_id
      ) recent`,
    values: (facts) => [facts.orgId],
  },
  'deep-cursor-5000': {
    text: `
      with page as (
        select c.id, c.started_at, c.status, c.agent_id, c.contact_id,
               row_number() over (order by c.started_at desc, c.id desc) as n
        from (select * from calls c where c.org_id = $1::int8 and (c.started_at, c.id) < ($2::timestamptz, $3::int8)
              order by c.started_at desc, c.id desc limit 51) c
      )
      select json_build_object(
        'edges', coalesce(json_agg(json_build_object(
          'cursor', p.started_at || '/' || p.id,
          'node', json_build_object('id', p.id, 'startedAt', p.started_at, 'status', p.status,
            'agent', json_build_object('name', a.name),
            'contact', case when ct.id is null then null else json_build_object('name', ct.name) end))
          order by p.started_at desc, p.id desc) filter (where p.n <= 50), '[]'),
        'hasNextPage', count(*) > 50)::text as body
      from page p
      join agents a on a.org_id = $1::int8 and a.id = p.agent_id
      left join contacts ct on ct.org_id = $1::int8 and ct.id = p.contact_id`,
    values: (facts) => [facts.orgId, facts.row5000.startedAt, facts.row5000.id],
  },
};

const factsFile = process.argv[2];
if (!factsFile) throw new Error('usage: node dist/bench/floor.js <facts.json>');
const facts = JSON.parse(readFileSync(factsFile, 'utf8')) as FloorFacts;
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.PG_POOL_SIZE ?? 10) });
const server = http.createServer((req, res) => {
  if (req.url === '/health/live') {
    res.end('{"status":"ok"}');
    return;
  }
  const name = (req.url ?? '').replace(/^\/scenario\//, '');
  const statement = FLOOR_STATEMENTS[name];
  if (!statement) {
    res.writeHead(404).end();
    return;
  }
  req.resume();
  req.on('end', () => {
    pool.query<{ body: string }>({ text: statement.text, values: statement.values(facts), name: `floor-${name}` }).then(
      (result) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(`{"data":${result.rows[0]?.body ?? 'null'}}`);
      },
      (error: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: String(error) }));
      },
    );
  });
});
server.listen(Number(process.env.PORT), '127.0.0.1');
