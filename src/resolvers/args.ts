import { badUserInput } from '../graphql/errors';
import { localIdOf } from '../graphql/globalId';
import type { CallFilter, CallOrder, ContactOrder, DateRangeInput, DateRangePreset, DateTimeRangeInput, InputMaybe } from '../generated/graphql';
import type { RangeSpec } from '../stats/periods';
import type { CallFilterSpec, CallOrderSpec } from '../queries/calls';
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
  return spec;
}

export function callOrderSpec(order: InputMaybe<CallOrder>): CallOrderSpec {
  return { direction: order?.direction === 'ASC' ? 'asc' : 'desc' };
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
