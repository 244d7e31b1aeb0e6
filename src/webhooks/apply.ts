import { sql, type RawBuilder } from 'kysely';
import { durableTenantTransaction, type TenantScope } from '../db/tenant';
import type { CallEvent } from './event';

export type IngestResult = { status: 'applied'; callId: string } | { status: 'duplicate' } | { status: 'unknown_agent' };

/**
 * Stores a verified event and applies it to the organisation's call, in one
 * transaction, with exactly one effect per event id:
 *
 * 1. The event row is inserted `ON CONFLICT (org_id, event_id)`. A concurrent
 *    delivery of the same event waits on that row until the first commits,
 *    then sees it applied and answers "duplicate". An event stored earlier
 *    without effect (unknown agent) is tried again.
 * 2. One upsert statement merges the event into the call keyed by
 *    (org_id, provider_call_id); every field group only moves forward (see
 *    `callUpsert`), so any delivery order ends in the same row.
 * 3. A transcript is upserted the same way; the event row records the outcome.
 *
 * The rollup triggers run inside the same transaction: statistics see the
 * call exactly when it exists. The commit is durable before this returns:
 * the provider never resends an event it got a 200 for.
 */
export async function ingestCallEvent(scope: TenantScope, event: CallEvent, payload: unknown): Promise<IngestResult> {
  return durableTenantTransaction(scope, async (tx) => {
    const { db: trx, orgId } = tx;
    const stored = await recordEvent(tx, event, payload);
    if (stored.outcome === 'applied') return { status: 'duplicate' } as const;

    const call = (await callUpsert(orgId, event).execute(trx)).rows[0];
    if (call && event.type === 'call.transcript_ready') {
      await sql`
        insert into call_transcripts as t (org_id, call_id, text, segments, reported_at)
        values (${orgId}::int8, ${call.id}::int8, ${event.transcript.text},
                ${JSON.stringify(event.transcript.segments)}::jsonb, ${event.occurredAt}::timestamptz)
        on conflict (org_id, call_id) do update
          set text = excluded.text, segments = excluded.segments, reported_at = excluded.reported_at
          where excluded.reported_at > coalesce(t.reported_at, '-infinity')`.execute(trx);
    }
    await trx
      .updateTable('webhook_events')
      .set({
        outcome: call ? 'applied' : 'unknown_agent',
        applied_at: call ? sql<string>`now()` : null,
        call_id: call?.id ?? null,
      })
      .where('org_id', '=', orgId)
      .where('id', '=', stored.id)
      .execute();
    return call ? ({ status: 'applied', callId: call.id } as const) : ({ status: 'unknown_agent' } as const);
  });
}

async function recordEvent({ db: trx, orgId }: TenantScope, event: CallEvent, payload: unknown): Promise<{ id: string; outcome: string }> {
  const { rows } = await sql<{ id: string; outcome: string }>`
    insert into webhook_events as e (org_id, event_id, type, payload)
    values (${orgId}::int8, ${event.id}, ${event.type}, ${JSON.stringify(payload)}::jsonb)
    on conflict on constraint webhook_events_event_key do update
      set deliveries = e.deliveries + 1,
          last_received_at = now(),
          -- An event that never took effect is retried with what was just delivered.
          type = case when e.outcome = 'applied' then e.type else excluded.type end,
          payload = case when e.outcome = 'applied' then e.payload else excluded.payload end
    returning id, outcome`.execute(trx);
  const [row] = rows;
  // An upsert with RETURNING yields its row whether it inserted or updated.
  if (!row) throw new Error('webhook event upsert returned no row');
  return row;
}

/**
 * The single statement that merges one event into its call. Every event
 * carries the call's identity, so whichever arrives first inserts the row;
 * on conflict each field group is replaced only by a newer report:
 *
 * - identity (agent, contact, direction, numbers, started_at): the event with
 *   the latest `occurred_at` wins (`identity_at`);
 * - status: highest precedence wins — queued < ringing < in_progress < any
 *   final status — then the latest `occurred_at` (`status_at`), then the
 *   status name, a total order, so the result is the same in any delivery
 *   order. A final status is never overwritten by a live one. An event
 *   without a status counts as in_progress at the earliest instant;
 * - the end report (ended_at, duration, cost, outcome, sentiment, summary):
 *   from the latest call.ended (`report_at`);
 * - recording_key: from the latest call.recording_ready (`recording_at`).
 *
 * The agent is looked up inside the statement: an unknown (or another
 * organisation's) agent id inserts and updates nothing. The contact is the
 * organisation's oldest contact with the other party's number, if any.
 * Exported so test/indexes.test.ts can EXPLAIN the exact statement.
 */
export function callUpsert(orgId: string, event: CallEvent): RawBuilder<{ id: string }> {
  const { call } = event;
  const counterpart = call.direction === 'inbound' ? call.from : call.to;
  const report = event.type === 'call.ended' ? event.report : undefined;
  const recordingKey = event.type === 'call.recording_ready' ? `orgs/${orgId}/${event.recording.key}` : null;
  const newer = (column: 'identity_at' | 'report_at' | 'recording_at') => sql.raw(`excluded.${column} > coalesce(c.${column}, '-infinity')`);
  const identity = newer('identity_at');
  const reported = newer('report_at');
  const recorded = newer('recording_at');
  const statusWins = sql.raw(`(call_status_rank(excluded.status), coalesce(excluded.status_at, '-infinity'), excluded.status)
    > (call_status_rank(c.status), coalesce(c.status_at, '-infinity'), c.status)`);
  return sql<{ id: string }>`
    insert into calls as c (
      org_id, provider_call_id, agent_id, contact_id, direction, status, from_number, to_number, started_at,
      ended_at, duration_seconds, cost, outcome, sentiment, summary, recording_key,
      identity_at, status_at, report_at, recording_at)
    select a.org_id, ${call.id}, a.id,
           (select ct.id from contacts ct where ct.org_id = a.org_id and ct.phone = ${counterpart} order by ct.id limit 1),
           ${call.direction}, ${call.status ?? 'in_progress'}, ${call.from}, ${call.to}, ${call.startedAt}::timestamptz,
           ${report?.endedAt ?? null}::timestamptz, ${report?.durationSeconds ?? 0}::int4, ${report?.cost ?? 0}::numeric,
           ${report?.outcome ?? null}::text, ${report?.sentiment ?? null}::text, ${report?.summary ?? null}::text,
           ${recordingKey}::text,
           ${event.occurredAt}::timestamptz, ${call.status ? event.occurredAt : null}::timestamptz,
           ${report ? event.occurredAt : null}::timestamptz, ${recordingKey ? event.occurredAt : null}::timestamptz
    from agents a
    where a.org_id = ${orgId}::int8 and a.provider = ${event.provider} and a.provider_agent_id = ${call.agentId}
    on conflict (org_id, provider_call_id) do update set
      agent_id = case when ${identity} then excluded.agent_id else c.agent_id end,
      contact_id = case when ${identity} then excluded.contact_id else c.contact_id end,
      direction = case when ${identity} then excluded.direction else c.direction end,
      from_number = case when ${identity} then excluded.from_number else c.from_number end,
      to_number = case when ${identity} then excluded.to_number else c.to_number end,
      started_at = case when ${identity} then excluded.started_at else c.started_at end,
      identity_at = greatest(c.identity_at, excluded.identity_at),
      status = case when ${statusWins} then excluded.status else c.status end,
      status_at = case when ${statusWins} then excluded.status_at else c.status_at end,
      ended_at = case when ${reported} then excluded.ended_at else c.ended_at end,
      duration_seconds = case when ${reported} then excluded.duration_seconds else c.duration_seconds end,
      cost = case when ${reported} then excluded.cost else c.cost end,
      outcome = case when ${reported} then excluded.outcome else c.outcome end,
      sentiment = case when ${reported} then excluded.sentiment else c.sentiment end,
      summary = case when ${reported} then excluded.summary else c.summary end,
      report_at = greatest(c.report_at, excluded.report_at),
      recording_key = case when ${recorded} then excluded.recording_key else c.recording_key end,
      recording_at = greatest(c.recording_at, excluded.recording_at),
      updated_at = now()
    returning id`;
}
