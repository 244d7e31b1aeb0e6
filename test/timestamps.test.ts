import { sql } from 'kysely';
import type { Db } from '../src/db/database';
import { timestamptzToIso } from '../src/db/types';
import { isoFromJsonTimestamp } from '../src/queries/jsonRows';
import { DateTime } from '../src/graphql/dateTime';
import { openTestDb } from './support/db';

/**
 * timestamptz is decoded to the text the API prints, without a Date: the
 * same instant, in Date.prototype.toISOString's form, whatever the session.
 */
describe('timestamps: decoded to RFC 3339 text', () => {
  let db: Db;
  let close: () => Promise<void>;

  beforeAll(() => {
    ({ db, close } = openTestDb(1));
  });

  afterAll(() => close());

  it.each([
    ['2026-06-01 09:30:00+00', '2026-06-01T09:30:00.000Z'],
    ['2026-06-01 09:30:00.5+00', '2026-06-01T09:30:00.500Z'],
    ['2026-06-01 09:30:00.57+00', '2026-06-01T09:30:00.570Z'],
    ['2026-06-01 09:30:00.123456+00', '2026-06-01T09:30:00.123Z'],
    ['2026-06-01 09:30:00.999999+00', '2026-06-01T09:30:00.999Z'],
    ['0099-01-01 00:00:00+00', '0099-01-01T00:00:00.000Z'],
    // Another session time zone: the general parser, the same form.
    ['2026-06-01 11:30:00.25+02', '2026-06-01T09:30:00.250Z'],
    ['2026-05-31 23:00:00-10:30', '2026-06-01T09:30:00.000Z'],
  ])('%s reads as %s', (text, iso) => {
    expect(timestamptzToIso(text)).toBe(iso);
  });

  it('reads PostgreSQL’s JSON text of every precision as its text protocol reads the same instant', async () => {
    const { rows } = await sql<{ json: { at: string }; at: string }>`
      select json_build_object('at', t) as json, t as at
      from unnest(array['2026-06-01T09:30:00Z', '2026-06-01T09:30:00.5Z', '2026-06-01T09:30:00.123456Z', '0099-01-01T00:00:00Z',
                        '1999-12-31T23:59:59.999999Z']::timestamptz[]) t`.execute(db);
    for (const row of rows) expect(isoFromJsonTimestamp(row.json.at)).toBe(row.at);
    expect(isoFromJsonTimestamp('2026-06-01T11:30:00.25+02:00')).toBe('2026-06-01T09:30:00.250Z');
    expect(isoFromJsonTimestamp('infinity')).toBe('infinity');
  });

  it('hands infinity on as written, for the DateTime scalar to refuse', () => {
    expect(timestamptzToIso('infinity')).toBe('infinity');
    expect(() => DateTime.serialize('infinity')).toThrow();
  });

  it("the server's sessions run in UTC and read every precision as Date would print it", async () => {
    const { rows } = await sql<{ zone: string; at: string; text: string }>`
      select current_setting('TimeZone') as zone, t as at, t::text as text
      from unnest(array['2026-06-01T09:30:00Z', '2026-06-01T09:30:00.1Z', '2026-06-01T09:30:00.123456Z', '1999-12-31T23:59:59.999999Z']::timestamptz[]) t`.execute(
      db,
    );
    expect(rows.map((row) => row.zone)).toEqual(['UTC', 'UTC', 'UTC', 'UTC']);
    expect(rows.map((row) => row.at)).toEqual([
      '2026-06-01T09:30:00.000Z',
      '2026-06-01T09:30:00.100Z',
      '2026-06-01T09:30:00.123Z',
      '1999-12-31T23:59:59.999Z',
    ]);
  });

  it('a session in another time zone reads the same instants', async () => {
    const at = await db.transaction().execute(async (trx) => {
      await sql`set local time zone 'Asia/Kolkata'`.execute(trx);
      const { rows } = await sql<{ at: string }>`select timestamptz '2026-06-01T09:30:00.123Z' as at`.execute(trx);
      return rows[0]!.at;
    });
    expect(at).toBe('2026-06-01T09:30:00.123Z');
  });

  it('the DateTime scalar prints decoded text as it is, and Dates as before', () => {
    expect(DateTime.serialize('2026-06-01T09:30:00.123Z')).toBe('2026-06-01T09:30:00.123Z');
    expect(JSON.stringify(DateTime.serialize(new Date('2026-06-01T09:30:00.123Z')))).toBe('"2026-06-01T09:30:00.123Z"');
  });
});
