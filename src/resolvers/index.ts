import {
  CurrencyResolver,
  EmailAddressResolver,
  JSONObjectResolver,
  NonNegativeFloatResolver,
  NonNegativeIntResolver,
  URLResolver,
} from 'graphql-scalars';
import type { Resolvers } from '../generated/graphql';
import { DateTime } from '../graphql/dateTime';
import { PhoneNumber } from '../graphql/phoneNumber';
import { withPlainParseErrors } from '../graphql/scalars';
import { Agent, PhoneNumberAssignment } from './agents';
import { Appointment } from './appointments';
import { Call } from './calls';
import { connectionResolvers } from './connections';
import { Contact } from './contacts';
import { Node } from './nodes';
import { Mutation } from './mutations';
import { Organisation, Query, User, Viewer } from './query';
import type { AgentListRow } from '../queries/agents';
import type { CallListRow, TranscriptListRow } from '../queries/calls';
import { CallEdge, type CallConnectionModel, type CallEdgeModel } from './calls';
import type { ContactListRow } from '../queries/contacts';
import type { TranscriptSegment } from '../db/schema';
import { toGraphQLEnum } from './enums';
import { AgentStats, AnalyticsGroup, Dashboard, LeaderboardEntry, Metrics } from './stats';
import {
  AgentConfiguration,
  ProviderConversation,
  ProviderEvaluation,
  ProviderTranscriptTurn,
  ProviderUsage,
  SyncProviderAgentsPayload,
} from './provider';
import { Subscription } from './subscriptions';

export const resolvers: Resolvers = {
  Currency: withPlainParseErrors(CurrencyResolver),
  DateTime: withPlainParseErrors(DateTime),
  EmailAddress: withPlainParseErrors(EmailAddressResolver),
  JSONObject: withPlainParseErrors(JSONObjectResolver),
  NonNegativeFloat: withPlainParseErrors(NonNegativeFloatResolver),
  NonNegativeInt: withPlainParseErrors(NonNegativeIntResolver),
  PhoneNumber: withPlainParseErrors(PhoneNumber),
  URL: withPlainParseErrors(URLResolver),
  Query,
  Mutation,
  Subscription,
  Viewer,
  User,
  Organisation,
  Node,
  Call,
  Agent,
  PhoneNumberAssignment,
  Contact,
  Appointment,
  Dashboard,
  AnalyticsGroup,
  Metrics,
  AgentStats,
  LeaderboardEntry,
  AgentConfiguration,
  ProviderConversation,
  ProviderEvaluation,
  ProviderTranscriptTurn,
  ProviderUsage,
  SyncProviderAgentsPayload,
  CallConnection: {
    ...connectionResolvers<CallListRow>(),
    // Edges carry the list's search, for `highlight`.
    edges: (connection: CallConnectionModel): CallEdgeModel[] =>
      connection.rows.map((row) => ({ cursor: connection.cursorOf(row), node: row, search: connection.search })),
  },
  CallEdge,
  AgentConnection: connectionResolvers<AgentListRow>(),
  ContactConnection: connectionResolvers<ContactListRow>(),
  Transcript: {
    text: (transcript: TranscriptListRow) => transcript.text,
    segments: (transcript: TranscriptListRow) => transcript.segments,
  },
  TranscriptSegment: {
    speaker: (segment: TranscriptSegment) => toGraphQLEnum(segment.speaker),
  },
};
