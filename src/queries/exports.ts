import pg from 'pg';
import { sql, type RawBuilder } from 'kysely';
import type { TenantScope } from '../db/tenant';
import { and } from '../pagination/keyset';
import { callListStatement, type CallFilterSpec, type CallOrderSpec } from './calls';
import { contactConditions, type ContactFilterSpec, type ContactOrderSpec } from './contacts';

/**
 * Exports are `COPY (query) TO STDOUT`: PostgreSQL formats every row and the
 * server only passes the bytes on (src/server/routes/exports.ts), so an export
 * of any size streams in constant memory at the database's speed.
 *
 * Cells are the API's values: global ids, ISO 8601 UTC timestamps with
 * milliseconds, enums in upper case, cost as a plain number. CSV is RFC 4180
 * (COPY's CSV: quoted when needed, "" inside quotes, CRLF-free values kept
 * inside quotes) with a header row; a text cell that a spreadsheet would run
 * as a formula (first character = + - @, tab or CR) gets a leading `'`.
 * NDJSON is one JSON object per line with the same names as the header.
 */
export type ExportFormat = 'csv' | 'ndjson';

interface ExportColumn {
  name: string;
  value: RawBuilder<unknown>;
  /** Free text (names, numbers, summaries): escaped against formula injection in CSV. */
  text?: boolean;
}

/** toGlobalId in SQL: base64url of `Type:id`, no padding. */
const globalId = (type: string, id: RawBuilder<unknown>) =>
  sql`translate(encode(convert_to(${sql.lit(`${type}:`)} || ${id}, 'UTF8'), 'base64'), '+/=', '-_')`;
/** Date.prototype.toISOString in SQL. */
const iso = (column: RawBuilder<unknown>) => sql`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const upper = (column: RawBuilder<unknown>) => sql`upper(${column})`;

const CALL_COLUMNS: ExportColumn[] = [
  { name: 'id', value: globalId('Call', sql`c.id`) },
  { name: 'startedAt', value: iso(sql`c.started_at`) },
  { name: 'endedAt', value: iso(sql`c.ended_at`) },
  { name: 'direction', value: upper(sql`c.direction`) },
  { name: 'status', value: upper(sql`c.status`) },
  { name: 'fromNumber', value: sql`c.from_number`, text: true },
  { name: 'toNumber', value: sql`c.to_number`, text: true },
  { name: 'durationSeconds', value: sql`c.duration_seconds` },
  { name: 'cost', value: sql`c.cost::float8` },
  { name: 'sentiment', value: upper(sql`c.sentiment`) },
  { name: 'outcome', value: upper(sql`c.outcome`) },
  { name: 'agentId', value: globalId('Agent', sql`a.id`) },
  { name: 'agentName', value: sql`a.name`, text: true },
  { name: 'contactId', value: sql`case when ct.id is not null then ${globalId('Contact', sql`ct.id`)} end` },
  { name: 'contactName', value: sql`ct.name`, text: true },
  { name: 'summary', value: sql`c.summary`, text: true },
];

const CONTACT_COLUMNS: ExportColumn[] = [
  { name: 'id', value: globalId('Contact', sql`ct.id`) },
  { name: 'name', value: sql`ct.name`, text: true },
  { name: 'phone', value: sql`ct.phone`, text: true },
  { name: 'email', value: sql`ct.email`, text: true },
  { name: 'leadScore', value: sql`ct.lead_score` },
  { name: 'tier', value: sql`case when ct.lead_score >= 70 then 'HOT' when ct.lead_score >= 40 then 'WARM' else 'COLD' end` },
  { name: 'status', value: upper(sql`ct.status`) },
  { name: 'tags', value: sql`array_to_string(ct.tags, ';')`, text: true },
  { name: 'createdAt', value: iso(sql`ct.created_at`) },
  { name: 'lastContactedAt', value: iso(sql`ct.last_contacted_at`) },
];

/** OWASP's CSV injection advice: a leading quote makes a spreadsheet read the cell as text. */
const formulaSafe = (value: RawBuilder<unknown>) =>
  sql`case when left(${value}, 1) in ('=', '+', '-', '@', E'\t', E'\r') then '''' || ${value} else ${value} end`;

function selections(columns: ExportColumn[], format: ExportFormat): RawBuilder<unknown> {
  if (format === 'ndjson') {
    return sql`json_build_object(${sql.join(columns.map((column) => sql`${sql.lit(column.name)}, ${column.value}`))})::text`;
  }
  return sql.join(columns.map((column) => sql`${column.text ? formulaSafe(column.value) : column.value} as ${sql.id(column.name)}`));
}

/**
 * COPY's options: CSV with a header, or — for NDJSON — CSV with quote and
 * delimiter bytes no JSON text contains raw (json escapes every control
 * character), so each row's one value comes out exactly as PostgreSQL wrote it.
 */
function copyOptions(format: ExportFormat): string {
  return format === 'csv' ? `(format csv, header true, encoding 'UTF8')` : `(format csv, quote e'\\x01', delimiter e'\\x02', encoding 'UTF8')`;
}

export function callExportSql({ db, orgId }: TenantScope, filter: CallFilterSpec, order: CallOrderSpec, format: ExportFormat): string {
  return copyStatement(db, callListStatement(orgId, filter, order, selections(CALL_COLUMNS, format)), format);
}

export function contactExportSql({ db, orgId }: TenantScope, filter: ContactFilterSpec, order: ContactOrderSpec, format: ExportFormat): string {
  const direction = sql.raw(order.direction);
  const statement = sql`select ${selections(CONTACT_COLUMNS, format)} from contacts ct where ${and(contactConditions(orgId, filter))}
    order by ${sql.ref(`ct.${order.field}`)} ${direction}, ct.id ${direction}`;
  return copyStatement(db, statement, format);
}

function copyStatement(db: TenantScope['db'], statement: RawBuilder<unknown>, format: ExportFormat): string {
  const compiled = statement.compile(db);
  return `copy (${inlineParameters(compiled.sql, compiled.parameters)}) to stdout with ${copyOptions(format)}`;
}

/**
 * COPY takes no bind parameters, so the statement's parameters are written in
 * as literals: only the kinds the query modules pass (strings, finite numbers,
 * booleans, dates, arrays of them), strings quoted by pg's escapeLiteral. Any
 * other value is a bug and throws rather than reaching SQL.
 */
export function inlineParameters(text: string, parameters: readonly unknown[]): string {
  return text.replace(/\$(\d+)/g, (_match, index: string) => literal(parameters[Number(index) - 1]));
}

function literal(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return pg.escapeLiteral(value);
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value instanceof Date && !Number.isNaN(value.getTime())) return pg.escapeLiteral(value.toISOString());
  if (Array.isArray(value)) return `array[${value.map(literal).join(', ')}]`;
  throw new Error(`cannot inline a parameter of type ${typeof value}`);
}
