import { toGlobalId } from '../graphql/globalId';
import { badUserInput } from '../graphql/errors';
import type { Context } from '../graphql/context';
import type { CallResolvers, QueryCallsArgs } from '../generated/graphql';
import { encodeCursor } from '../pagination/cursor';
import { toConnection, type Connection } from '../pagination/connection';
import { parsePageArgs } from '../pagination/pageArgs';
import {
  callOrdering,
  countCalls,
  findCallsPage,
  type CallFilterSpec,
  type CallListRow,
  type CallOrderSpec,
  type CallParent,
} from '../queries/calls';
import { callFilterSpec, callOrderSpec } from './args';
import { toGraphQLEnum, toGraphQLEnumOrNull } from './enums';

export function callCursor(order: CallOrderSpec) {
  const ordering = callOrdering(order);
  return (row: CallListRow) => encodeCursor(ordering, row.started_at, row.id);
}

/** Rows read by a list are the same rows `call(id)` would read: hand them to the by-id loader. */
function primeCalls(ctx: Context, rows: CallListRow[]): void {
  for (const row of rows) ctx.loaders.callById.prime(row.id, row);
}

/** The root `calls` list (and the `recentCalls` of later panels). */
export async function rootCallConnection(ctx: Context, args: QueryCallsArgs): Promise<Connection<CallListRow>> {
  const filter = callFilterSpec(args.filter);
  const order = callOrderSpec(args.orderBy);
  const page = parsePageArgs(args, callOrdering(order), 'timestamp', ctx.limits);
  const result = await findCallsPage(ctx.scope, filter, order, page);
  primeCalls(ctx, result.rows);
  return toConnection(result, page, callCursor(order), () => countCalls(ctx.scope, filter));
}

/**
 * `Agent.calls` / `Contact.calls`: the parent's own id overrides any agent or
 * contact filter of the same kind, and the page comes from the batched loader.
 */
export async function childCallConnection(
  ctx: Context,
  parent: CallParent,
  parentId: string,
  args: QueryCallsArgs,
): Promise<Connection<CallListRow>> {
  const filter: CallFilterSpec = callFilterSpec(args.filter);
  if (parent === 'agent_id') delete filter.agentId;
  else delete filter.contactId;
  const order = callOrderSpec(args.orderBy);
  const page = parsePageArgs(args, callOrdering(order), 'timestamp', ctx.limits);
  const [pages, counts] =
    parent === 'agent_id' ? [ctx.loaders.callsByAgent, ctx.loaders.callCountByAgent] : [ctx.loaders.callsByContact, ctx.loaders.callCountByContact];
  const result = await pages.load({ parentId, filter, order, page });
  primeCalls(ctx, result.rows);
  return toConnection(result, page, callCursor(order), () => counts.load({ parentId, filter }));
}

const MIN_URL_TTL = 60;
const MAX_URL_TTL = 86_400;

export const Call: CallResolvers = {
  id: (call) => toGlobalId('Call', call.id),
  direction: (call) => toGraphQLEnum(call.direction),
  status: (call) => toGraphQLEnum(call.status),
  fromNumber: (call) => call.from_number,
  toNumber: (call) => call.to_number,
  startedAt: (call) => call.started_at,
  endedAt: (call) => call.ended_at,
  durationSeconds: (call) => call.duration_seconds,
  cost: (call) => call.cost,
  sentiment: (call) => toGraphQLEnumOrNull(call.sentiment),
  outcome: (call) => toGraphQLEnumOrNull(call.outcome),
  summary: (call) => call.summary,
  notes: (call) => call.notes,
  updatedAt: (call) => call.updated_at,
  agent: async (call, _args, ctx) => {
    const agent = await ctx.loaders.agentById.load(call.agent_id);
    // The composite foreign key guarantees the agent exists in this organisation.
    if (!agent) throw new Error(`call ${call.id} has no agent ${call.agent_id}`);
    return agent;
  },
  contact: (call, _args, ctx) => (call.contact_id ? ctx.loaders.contactById.load(call.contact_id) : null),
  appointment: (call, _args, ctx) => ctx.loaders.appointmentByCallId.load(call.id),
  hasRecording: (call) => call.recording_key !== null,
  recordingUrl: async (call, { expiresInSeconds }, ctx) => {
    const ttl = expiresInSeconds ?? ctx.recordingUrlTtlSeconds;
    // Checked before looking at the call, so a bad argument fails the same way on every row.
    if (ttl < MIN_URL_TTL || ttl > MAX_URL_TTL) {
      throw badUserInput(`expiresInSeconds must be between ${MIN_URL_TTL} and ${MAX_URL_TTL}`, 'expiresInSeconds');
    }
    if (call.recording_key === null) return null;
    return ctx.signer.sign({ orgId: ctx.orgId, key: call.recording_key, expiresInSeconds: ttl, origin: ctx.origin });
  },
  transcript: (call, _args, ctx) => ctx.loaders.transcriptByCallId.load(call.id),
  metadata: async (call, _args, ctx) => (await ctx.loaders.callMetadataById.load(call.id))?.metadata ?? {},
};
