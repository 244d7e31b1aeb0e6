import {
  EmailAddressResolver,
  JSONObjectResolver,
  NonNegativeFloatResolver,
  NonNegativeIntResolver,
  PhoneNumberResolver,
  URLResolver,
} from 'graphql-scalars';
import type { Resolvers } from '../generated/graphql';
import { DateTime } from '../graphql/dateTime';
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
import { AnalyticsGroup, Dashboard, LeaderboardEntry } from './stats';

export const resolvers: Resolvers = {
  DateTime,
  EmailAddress: EmailAddressResolver,
  JSONObject: JSONObjectResolver,
  NonNegativeFloat: NonNegativeFloatResolver,
  NonNegativeInt: NonNegativeIntResolver,
  PhoneNumber: PhoneNumberResolver,
  URL: URLResolver,
  Query,
  Mutation,
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
  LeaderboardEntry,
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
