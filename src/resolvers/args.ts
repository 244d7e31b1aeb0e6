import { badUserInput } from '../graphql/errors';
import { localIdOf } from '../graphql/globalId';
import type {
  AgentOrder,
  CallFilter,
  CallOrder,
  CallOrderField,
  ContactOrder,
  DateRangeInput,
  DateRangePreset,
  DateTimeRangeInput,
  InputMaybe,
} from '../generated/graphql';
import type { RangeSpec } from '../stats/periods';
import type { AgentOrderSpec } from '../queries/agents';
import type { CallFilterSpec, CallOrderSpec, CallSearch, CallSortField } from '../queries/calls';
import type { ContactOrderSpec, ContactSortField } from '../queries/contacts';
import { toDbEnum } from './enums';

/** GraphQL arguments → query specs. Ids are decoded here; validation errors name the argument. */

export function callFilterSpec(filter: InputMaybe<CallFilter>): CallFilterSpec {
  if (!filter) return {};
  const spec: CallFilterSpec = {};
  if (filter.direction) spec.direction = toDbEnum(filter.direction);
  if (filter.status) spec.statuses = filter.status.map(toDbEnum);
  if (filter.agentId != null) spec.agentId = localIdOf('Agent', filter.agentId, 'filter.agentId');
  if (filter.contactId != null) spec.contactId = localIdOf('Contact', filter.contactId, 'filter.contactId');
  if (filter.startedAfter) spec.startedAfter = filter.startedAfter;
  if (filter.startedBefore) spec.startedBefore = filter.startedBefore;
  if (filter.hasRecording != null) spec.hasRecording = filter.hasRecording;
  if (filter.outcome) spec.outcomes = filter.outcome.map(toDbEnum);
  if (filter.sentiment) spec.sentiments = filter.sentiment.map(toDbEnum);
  if (filter.search != null) spec.search = callSearch(filter.search);
  if (filter.durationMin != null) spec.durationMin = filter.durationMin;
  if (filter.durationMax != null) spec.durationMax = filter.durationMax;
  if (spec.durationMin !== undefined && spec.durationMax !== undefined && spec.durationMin > spec.durationMax) {
    throw badUserInput('filter.durationMin must not exceed filter.durationMax', 'filter.durationMin');
  }
  if (filter.costMin != null) spec.costMin = filter.costMin;
  if (filter.costMax != null) spec.costMax = filter.costMax;
  if (spec.costMin !== undefined && spec.costMax !== undefined && spec.costMin > spec.costMax) {
    throw badUserInput('filter.costMin must not exceed filter.costMax', 'filter.costMin');
  }
  if (filter.hasTranscript != null) spec.hasTranscript = filter.hasTranscript;
  if (filter.hasAppointment != null) spec.hasAppointment = filter.hasAppointment;
  if (filter.agentIds != null) {
    if (filter.agentIds.length > MAX_AGENT_IDS) throw badUserInput(`filter.agentIds takes at most ${MAX_AGENT_IDS} ids`, 'filter.agentIds');
    spec.agentIds = filter.agentIds.map((id) => localIdOf('Agent', id, 'filter.agentIds'));
  }
  if (filter.contactTag != null) spec.contactTag = filter.contactTag;
  return spec;
}

const MAX_AGENT_IDS = 100;
const MIN_CALL_SEARCH = 2;
const MAX_CALL_SEARCH = 200;
/** Separators people type in phone numbers. */
const NUMBER_PUNCTUATION = /[\s()+.-]/g;
const MIN_NUMBER_DIGITS = 3;
/** Contact matching goes through the trigram index, which needs 3 characters. */
const MIN_CONTACT_SEARCH = 3;
const MAX_SEARCH_WORDS = 16;

/**
 * `filter.search` → what to look for. A search that is a number (digits and
 * phone punctuation only) looks in from/to numbers; anything else is words,
 * each a prefix (`word:*`) in a `simple` tsquery. Words are runs of letters and
 * digits, so nothing the client sends reaches tsquery syntax.
 */
export function callSearch(search: string): CallSearch {
  const trimmed = search.trim();
  if (trimmed.length < MIN_CALL_SEARCH) throw badUserInput(`filter.search must be at least ${MIN_CALL_SEARCH} characters`, 'filter.search');
  if (trimmed.length > MAX_CALL_SEARCH) throw badUserInput(`filter.search must be at most ${MAX_CALL_SEARCH} characters`, 'filter.search');
  const digits = trimmed.replace(NUMBER_PUNCTUATION, '');
  if (/^\d+$/.test(digits) && digits.length >= MIN_NUMBER_DIGITS) return { kind: 'number', digits };
  const words = trimmed.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  if (words.length === 0) throw badUserInput('filter.search must contain a letter or a digit', 'filter.search');
  if (words.length > MAX_SEARCH_WORDS) throw badUserInput(`filter.search takes at most ${MAX_SEARCH_WORDS} words`, 'filter.search');
  const tsquery = words.map((word) => `${word}:*`).join(' & ');
  return trimmed.length >= MIN_CONTACT_SEARCH ? { kind: 'text', tsquery, contactLike: trimmed.toLowerCase() } : { kind: 'text', tsquery };
}

const CALL_SORT_FIELDS: Record<CallOrderField, CallSortField> = {
  STARTED_AT: 'started_at',
  DURATION: 'duration_seconds',
  COST: 'cost',
  ENDED_AT: 'ended_at',
  RELEVANCE: 'relevance',
};

/** No orderBy: newest first, or best match first when searching. RELEVANCE without a search has nothing to rank. */
export function callOrderSpec(order: InputMaybe<CallOrder>, filter: CallFilterSpec = {}): CallOrderSpec {
  if (!order) return filter.search ? { field: 'relevance', direction: 'desc' } : { field: 'started_at', direction: 'desc' };
  const field = CALL_SORT_FIELDS[order.field ?? 'STARTED_AT'];
  if (field === 'relevance' && !filter.search) throw badUserInput('orderBy RELEVANCE needs filter.search', 'orderBy.field');
  return { field, direction: order.direction === 'ASC' ? 'asc' : 'desc' };
}

export function agentOrderSpec(order: InputMaybe<AgentOrder>): AgentOrderSpec {
  return {
    field: order?.field === 'CREATED_AT' ? 'created_at' : 'name',
    direction: order?.direction === 'DESC' ? 'desc' : 'asc',
  };
}

export function contactOrderSpec(order: InputMaybe<ContactOrder>): ContactOrderSpec {
  const field: ContactSortField = toDbEnum(order?.field ?? 'CREATED_AT');
  return { field, direction: order?.direction === 'ASC' ? 'asc' : 'desc' };
}

const MIN_SEARCH_LENGTH = 3;

export function contactSearch(search: InputMaybe<string>): string | undefined {
  if (search == null) return undefined;
  const normalised = search.trim().toLowerCase();
  if (normalised.length < MIN_SEARCH_LENGTH) {
    throw badUserInput(`search must be at least ${MIN_SEARCH_LENGTH} characters`, 'search');
  }
  if (normalised.length > 100) throw badUserInput('search must be at most 100 characters', 'search');
  return normalised;
}

const MAX_RANGE_DAYS = 400;
const MAX_HOURLY_RANGE_DAYS = 31;
const DAY_MS = 86_400_000;
/**
 * Explicit ranges must lie in [1900-01-01, 9999-01-01). The DateTime scalar
 * takes any four-digit year, but a range's previous period and its local days
 * reach up to 401 days further out, and PostgreSQL's arithmetic on them must
 * stay in ordinary (AD, four-digit) years; no call centre has older data.
 */
const EARLIEST_RANGE_MS = Date.UTC(1900, 0, 1);
const LATEST_RANGE_MS = Date.UTC(9999, 0, 1);

/**
 * A statistics range: exactly one of a preset or an explicit [from, to).
 * DateRangeInput is `@oneOf`, so graphql-js refuses both or neither before
 * execution; the check here still holds if an executor ever skips that rule.
 */
export function rangeSpec(input: DateRangeInput, options: { hourly?: boolean } = {}): RangeSpec {
  // Typed as the loose shape on purpose: the generated union says both cannot be set, which is what is being checked.
  const { preset, between }: { preset?: DateRangePreset | null; between?: DateTimeRangeInput | null } = input;
  if (preset != null && between != null) throw badUserInput('Pass either range.preset or range.between, not both', 'range');
  if (preset != null) return { kind: 'preset', preset: toDbEnum(preset) };
  if (between == null) throw badUserInput('range needs a preset or between', 'range');
  const { from, to } = between;
  for (const [name, date] of [
    ['range.between.from', from],
    ['range.between.to', to],
  ] as const) {
    if (date.getTime() < EARLIEST_RANGE_MS || date.getTime() > LATEST_RANGE_MS) {
      throw badUserInput(`${name} must be between 1900-01-01 and 9999-01-01`, name);
    }
  }
  if (from.getTime() >= to.getTime()) throw badUserInput('range.between.from must be before range.between.to', 'range');
  const maxDays = options.hourly ? MAX_HOURLY_RANGE_DAYS : MAX_RANGE_DAYS;
  if (to.getTime() - from.getTime() > maxDays * DAY_MS) {
    throw badUserInput(`range must not span more than ${maxDays} days${options.hourly ? ' for hourly buckets' : ''}`, 'range');
  }
  return { kind: 'explicit', from, to };
}
