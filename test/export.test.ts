import { sql } from 'kysely';
import type { Db } from '../src/db/database';
import { toGlobalId } from '../src/graphql/globalId';
import { openTestDb } from './support/db';
import { createAgent, createCalls, createContact, createOrg, createTranscript, type TestOrg } from './support/factories';
import { startTestServer, type TestServer } from './support/server';
import { waitFor } from './support/waiting';

/**
 * Exports: GET /export/{calls,contacts}.{csv,ndjson} stream what the API
 * would list for the same arguments, straight from PostgreSQL's COPY, to
 * members and admins of the token's organisation only; a client that goes
 * away stops the query.
 */

/** RFC 4180: quoted fields, "" inside quotes, CRLF or LF row ends. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  return rows;
}

/** CSV rows as objects by the header; the formula guard's leading quote taken off again. */
function csvObjects(text: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(text);
  return rows.map((row) => Object.fromEntries(header!.map((name, i) => [name, row[i]!.replace(/^'(?=[=+\-@\t\r])/, '')])));
}

interface ApiCall {
  id: string;
  startedAt: string;
  endedAt: string | null;
  direction: string;
  fromNumber: string;
  durationSeconds: number;
  cost: number;
  sentiment: string | null;
  summary: string | null;
  agent: { id: string; name: string };
  contact: { id: string; name: string } | null;
}

describe('exports', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let server: TestServer;
  let org: TestOrg;
  let other: TestOrg;
  let big: TestOrg;
  let agent = '';

  const get = (path: string, token?: string, signal?: AbortSignal) =>
    fetch(`${server.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {}, ...(signal ? { signal } : {}) });

  beforeAll(async () => {
    ({ db, close: closeDb } = openTestDb());
    server = await startTestServer({ applicationName: `switchboard-export-${process.pid}` });
    [org, other, big] = [await createOrg(db), await createOrg(db), await createOrg(db)];
    agent = await createAgent(db, org.id, { name: '=cmd|calc' });
    const second = await createAgent(db, org.id, { name: 'Plain, "quoted" agent' });
    const contact = await createContact(db, org.id, { name: '@SUM(A1)\nsecond line' });
    const ids = await createCalls(
      db,
      org.id,
      Array.from({ length: 40 }, (_, k) => ({
        agentId: k % 3 ? agent : second,
        contactId: k % 2 ? contact : null,
        durationSeconds: [10, 600, 45][k % 3]!,
        cost: [0.1, 0.25, 1.5, 0][k % 4]!,
        sentiment: k % 5 ? ('positive' as const) : null,
        summary: k % 4 ? `Summary ${k}: "quotes", commas, ünïcode 😀` : '-1 +1',
      })),
    );
    await sql`update calls set ended_at = null where org_id = ${org.id}::int8 and id = any(${ids.filter((_, k) => k % 7 === 0)}::int8[])`.execute(db);
    await createTranscript(db, org.id, ids[3]!, 'export me');
    const theirAgent = await createAgent(db, other.id);
    await createCalls(db, other.id, [{ agentId: theirAgent, summary: 'theirs' }]);

    // 100,000 calls for the streaming specs, set-based.
    const bigAgent = await createAgent(db, big.id);
    for (let chunk = 0; chunk < 20; chunk++) {
      await sql`insert into calls (org_id, agent_id, direction, status, from_number, to_number, started_at, ended_at, duration_seconds, cost, summary)
        select ${big.id}::int8, ${bigAgent}::int8, 'outbound', 'completed', '+15550000001', '+15550000002',
               timestamptz '2026-01-01' + g * interval '1 minute', timestamptz '2026-01-01' + g * interval '1 minute' + interval '30 seconds',
               g % 900, (g % 1000) / 100.0, 'A summary of call ' || g || ' with some words in it to make the row a realistic size'
        from generate_series(${chunk * 5000 + 1}::int, ${(chunk + 1) * 5000}::int) g`.execute(db);
    }
  }, 120_000);

  afterAll(async () => {
    await server.close();
    await closeDb();
  });

  /** Every call the API lists for the arguments, paging through. */
  async function apiCalls(token: string, args: string): Promise<ApiCall[]> {
    const calls: ApiCall[] = [];
    let after: string | null = null;
    for (;;) {
      const response: { body: { data?: { calls: { nodes: ApiCall[]; pageInfo: { hasNextPage: boolean; endCursor: string } } }; errors?: unknown } } =
        await server.graphql(
          `query($after: String) { calls(first: 100, after: $after, ${args}) {
            nodes { id startedAt endedAt direction fromNumber durationSeconds cost sentiment summary agent { id name } contact { id name } }
            pageInfo { hasNextPage endCursor } } }`,
          { token, variables: { after } },
        );
      expect(response.body.errors).toBeUndefined();
      calls.push(...response.body.data!.calls.nodes);
      if (!response.body.data!.calls.pageInfo.hasNextPage) return calls;
      after = response.body.data!.calls.pageInfo.endCursor;
    }
  }

  const asExported = (call: ApiCall) => ({
    id: call.id,
    startedAt: call.startedAt,
    endedAt: call.endedAt,
    direction: call.direction,
    fromNumber: call.fromNumber,
    durationSeconds: call.durationSeconds,
    cost: call.cost,
    sentiment: call.sentiment,
    summary: call.summary,
    agentId: call.agent.id,
    agentName: call.agent.name,
    contactId: call.contact?.id ?? null,
    contactName: call.contact?.name ?? null,
  });

  it.each([
    [
      'filter={"durationMin":20}&orderBy={"field":"DURATION","direction":"DESC"}',
      'filter: { durationMin: 20 }, orderBy: { field: DURATION, direction: DESC }',
    ],
    ['orderBy={"field":"ENDED_AT","direction":"ASC"}', 'orderBy: { field: ENDED_AT, direction: ASC }'],
    [
      'filter={"startedAfter":"2026-01-01T00:10:00Z","hasTranscript":false}',
      'filter: { startedAfter: "2026-01-01T00:10:00Z", hasTranscript: false }',
    ],
  ])('calls CSV of %s equals the API read of the same range', async (query, args) => {
    const token = await server.tokenFor(org, 'member');
    const response = await get(`/export/calls.csv?${query}`, token);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const rows = csvObjects(await response.text()).map((row) => ({
      id: row.id,
      startedAt: row.startedAt,
      endedAt: row.endedAt || null,
      direction: row.direction,
      fromNumber: row.fromNumber,
      durationSeconds: Number(row.durationSeconds),
      cost: Number(row.cost),
      sentiment: row.sentiment || null,
      summary: row.summary || null,
      agentId: row.agentId,
      agentName: row.agentName,
      contactId: row.contactId || null,
      contactName: row.contactName || null,
    }));
    const expected = (await apiCalls(token, args)).map(asExported);
    expect(expected.length).toBeGreaterThan(5);
    expect(rows).toEqual(expected);
  });

  it('calls NDJSON equals the API read, one JSON object per line', async () => {
    const token = await server.tokenFor(org, 'admin');
    const response = await get(`/export/calls.ndjson?orderBy=${encodeURIComponent('{"field":"COST","direction":"ASC"}')}`, token);
    expect(response.status).toBe(200);
    const text = await response.text();
    const lines = text.split('\n').filter((line) => line !== '');
    const rows = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const expected = (await apiCalls(token, 'orderBy: { field: COST, direction: ASC }')).map(asExported);
    expect(
      rows.map((row) => ({
        ...asExported({ ...(row as unknown as ApiCall), agent: { id: '', name: '' }, contact: null }),
        agentId: row.agentId,
        agentName: row.agentName,
        contactId: row.contactId,
        contactName: row.contactName,
      })),
    ).toEqual(expected);
  });

  it('CSV cells are RFC 4180 and a spreadsheet never runs one as a formula', async () => {
    const token = await server.tokenFor(org, 'member');
    const text = await (await get('/export/calls.csv?orderBy={"field":"STARTED_AT","direction":"ASC"}', token)).text();
    const [header, first] = parseCsv(text);
    expect(header).toEqual([
      'id',
      'startedAt',
      'endedAt',
      'direction',
      'status',
      'fromNumber',
      'toNumber',
      'durationSeconds',
      'cost',
      'sentiment',
      'outcome',
      'agentId',
      'agentName',
      'contactId',
      'contactName',
      'summary',
    ]);
    const raw = Object.fromEntries(header!.map((name, i) => [name, first![i]]));
    expect(raw.summary).toBe("'-1 +1");
    expect(raw.agentName).toBe('Plain, "quoted" agent');
    expect(raw.fromNumber).toBe("'+15550000001");
    expect(text).toContain('"Plain, ""quoted"" agent"');
    const second = Object.fromEntries(header!.map((name, i) => [name, parseCsv(text)[2]![i]]));
    expect(second.agentName).toBe("'=cmd|calc");
    expect(second.contactName).toBe("'@SUM(A1)\nsecond line");
    expect(second.summary).toBe('Summary 1: "quotes", commas, ünïcode 😀');
  });

  it('contacts export as CSV and NDJSON', async () => {
    const token = await server.tokenFor(org, 'member');
    const csv = csvObjects(await (await get('/export/contacts.csv', token)).text());
    expect(csv).toEqual([expect.objectContaining({ name: '@SUM(A1)\nsecond line', tier: 'WARM', status: 'NEW' })]);
    const ndjson = (await (await get('/export/contacts.ndjson?tier=WARM', token)).text()).trim().split('\n');
    expect(ndjson.map((line) => (JSON.parse(line) as { name: string }).name)).toEqual(['@SUM(A1)\nsecond line']);
    expect(await (await get('/export/contacts.ndjson?tier=HOT', token)).text()).toBe('');
  });

  it('a viewer, a missing or bad token and bad arguments are refused, in the one error shape', async () => {
    const viewer = await get('/export/calls.csv', await server.tokenFor(org, 'viewer'));
    expect(viewer.status).toBe(403);
    expect(await viewer.json()).toEqual({ error: { code: 'FORBIDDEN', message: expect.any(String) } });
    expect((await get('/export/calls.csv')).status).toBe(401);
    expect((await get('/export/calls.csv', 'not-a-token')).status).toBe(401);
    const token = await server.tokenFor(org, 'member');
    for (const query of [
      'filter={nope',
      'filter={"search":"a"}',
      'filter={"status":["LOST"]}',
      'orderBy={"field":"RELEVANCE"}',
      'filter={"durationMin":-1}',
    ]) {
      const response = await get(`/export/calls.csv?${query}`, token);
      expect({ query, status: response.status }).toEqual({ query, status: 400 });
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('BAD_USER_INPUT');
    }
    expect((await get('/export/agents.csv', token)).status).toBe(404);
  });

  it("an export holds only the token's organisation, whatever the filter names", async () => {
    const token = await server.tokenFor(other, 'admin');
    const mine = csvObjects(await (await get('/export/calls.csv', token)).text());
    expect(mine.map((row) => row.summary)).toEqual(['theirs']);
    const filtered = await get(`/export/calls.csv?filter=${encodeURIComponent(JSON.stringify({ agentId: toGlobalId('Agent', agent) }))}`, token);
    expect(filtered.status).toBe(200);
    expect(csvObjects(await filtered.text())).toEqual([]);
  });

  it('100,000 calls stream through with bounded memory', async () => {
    const token = await server.tokenFor(big, 'member');
    const response = await get('/export/calls.csv', token);
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const start = process.memoryUsage().rss;
    let peak = start;
    let bytes = 0;
    let lines = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const chunk = value as Uint8Array;
      bytes += chunk.length;
      for (const byte of chunk) if (byte === 10) lines++;
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    expect(lines).toBe(100_001);
    expect(bytes).toBeGreaterThan(20_000_000);
    // Server and client share this process. The budget for the server's growth is 50 MB at 500k rows
    // (a buffered 500k-row body is ~120 MB); RSS moves with GC timing, so this bound is the budget, not a ratio.
    expect(peak - start).toBeLessThan(50_000_000);
  }, 60_000);

  it('a client that goes away stops the query in PostgreSQL', async () => {
    const token = await server.tokenFor(big, 'member');
    const abort = new AbortController();
    const response = await get('/export/calls.ndjson', token, abort.signal);
    const reader = response.body!.getReader();
    await reader.read();
    // The reader stops reading: PostgreSQL is held by backpressure, mid-COPY.
    const running = async () => {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
        where application_name = ${server.applicationName} and query like 'copy (%'
          and state = 'active'`.execute(db);
      return rows[0]!.n;
    };
    await waitFor('the COPY to be running', async () => (await running()) === 1, 10_000);
    abort.abort();
    await waitFor('the COPY to be gone', async () => (await running()) === 0, 10_000);
    // The pool is whole again: the next export works.
    expect((await get('/export/contacts.csv', await server.tokenFor(org, 'member'))).status).toBe(200);
  }, 30_000);
});
