import type { CallDirection, CallOutcome, CallStatus, Sentiment, TranscriptSegment } from '../db/schema';

/**
 * The call events a voice provider sends (docs/webhooks.md has the format
 * and an example). Every event carries the call's identity — provider call
 * id, agent, direction, numbers, start — so whichever event arrives first can
 * create the call, and later ones only merge into it.
 */
export type CallEventType = 'call.started' | 'call.ended' | 'call.recording_ready' | 'call.transcript_ready';

export const CALL_EVENT_TYPES: readonly CallEventType[] = ['call.started', 'call.ended', 'call.recording_ready', 'call.transcript_ready'];
const STATUSES: readonly CallStatus[] = ['queued', 'ringing', 'in_progress', 'completed', 'failed', 'no_answer', 'busy', 'voicemail'];
const LIVE_STATUSES: readonly CallStatus[] = ['queued', 'ringing', 'in_progress'];
const FINAL_STATUSES: readonly CallStatus[] = ['completed', 'failed', 'no_answer', 'busy', 'voicemail'];
const OUTCOMES: readonly CallOutcome[] = [
  'appointment_booked',
  'callback_requested',
  'interested',
  'not_interested',
  'wrong_number',
  'do_not_call',
  'voicemail_left',
  'transferred',
  'no_outcome',
];
const SENTIMENTS: readonly Sentiment[] = ['positive', 'neutral', 'negative'];
const DIRECTIONS: readonly CallDirection[] = ['inbound', 'outbound'];

export interface CallIdentity {
  /** The provider's call id. */
  id: string;
  /** The provider's agent id; with `provider`, names one of the organisation's agents. */
  agentId: string;
  direction: CallDirection;
  from: string;
  to: string;
  startedAt: Date;
  /** The status the event reports, if any (merged by precedence, see apply.ts). */
  status: CallStatus | undefined;
}

export interface CallReport {
  endedAt: Date;
  durationSeconds: number;
  cost: number;
  outcome: CallOutcome | null;
  sentiment: Sentiment | null;
  summary: string | null;
}

interface EventBase {
  id: string;
  occurredAt: Date;
  provider: string;
  call: CallIdentity;
}

export type CallEvent =
  | (EventBase & { type: 'call.started' })
  | (EventBase & { type: 'call.ended'; report: CallReport })
  | (EventBase & { type: 'call.recording_ready'; recording: { key: string } })
  | (EventBase & { type: 'call.transcript_ready'; transcript: { text: string; segments: TranscriptSegment[] } });

/** A reason a client can act on: which field, and what is wrong with it. */
export class InvalidEventError extends Error {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

const ID_MAX = 255;
const SUMMARY_MAX = 20_000;
const E164 = /^\+[1-9][0-9]{6,14}$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
/** Relative, slash-separated, no `.`/`..` segments: it is stored under the organisation's own prefix. */
const RECORDING_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;
const MAX_DEPTH = 32;
const MAX_DURATION_SECONDS = 7 * 24 * 3600;
/** numeric(10, 4) */
const MAX_COST = 999_999;

/** Parses and validates an event; throws InvalidEventError naming the first bad field. */
export function parseCallEvent(value: unknown): CallEvent {
  checkStorable(value);
  const root = new Fields(value, '');
  const type = root.oneOf('type', CALL_EVENT_TYPES);
  const id = root.id('id');
  const occurredAt = root.instant('occurred_at');
  const provider = root.id('provider');
  const callFields = root.object('call');
  const call: CallIdentity = {
    id: callFields.id('id'),
    agentId: callFields.id('agent_id'),
    direction: callFields.oneOf('direction', DIRECTIONS),
    from: callFields.phone('from'),
    to: callFields.phone('to'),
    startedAt: callFields.instant('started_at'),
    status: callFields.optionalOneOf('status', STATUSES),
  };
  const base = { id, occurredAt, provider, call };

  switch (type) {
    case 'call.started':
      if (call.status !== undefined && !LIVE_STATUSES.includes(call.status)) {
        throw new InvalidEventError('call.status', `call.started reports ${LIVE_STATUSES.join(', ')} (or nothing)`);
      }
      return { ...base, type };
    case 'call.ended': {
      const status = callFields.oneOf('status', FINAL_STATUSES);
      const endedAt = callFields.optionalInstant('ended_at') ?? occurredAt;
      if (endedAt < call.startedAt) throw new InvalidEventError('call.ended_at', 'is before call.started_at');
      const derived = Math.round((endedAt.getTime() - call.startedAt.getTime()) / 1000);
      return {
        ...base,
        call: { ...call, status },
        type,
        report: {
          endedAt,
          durationSeconds: callFields.optionalInteger('duration_seconds', 0, MAX_DURATION_SECONDS) ?? Math.min(derived, MAX_DURATION_SECONDS),
          cost: callFields.optionalNumber('cost', 0, MAX_COST) ?? 0,
          outcome: callFields.optionalOneOf('outcome', OUTCOMES) ?? null,
          sentiment: callFields.optionalOneOf('sentiment', SENTIMENTS) ?? null,
          summary: callFields.optionalText('summary', SUMMARY_MAX) ?? null,
        },
      };
    }
    case 'call.recording_ready': {
      const recording = root.object('recording');
      const key = recording.string('key', 512);
      if (!RECORDING_KEY.test(key)) {
        throw new InvalidEventError('recording.key', 'must be a relative path of letters, digits, ".", "_" and "-" segments');
      }
      return { ...base, type, recording: { key } };
    }
    case 'call.transcript_ready': {
      const transcript = root.object('transcript');
      const text = transcript.text('text', Number.MAX_SAFE_INTEGER);
      const segments = transcript.optionalArray('segments').map((item, index): TranscriptSegment => {
        const segment = new Fields(item, `transcript.segments[${index}]`, true);
        return {
          speaker: segment.oneOf('speaker', ['agent', 'contact'] as const),
          startMs: segment.optionalInteger('start_ms', 0, 2 ** 31 - 1) ?? 0,
          text: segment.text('text', Number.MAX_SAFE_INTEGER),
        };
      });
      return { ...base, type, transcript: { text, segments } };
    }
  }
}

/** Reads one JSON object's fields, naming each by its dotted path in errors. */
class Fields {
  private readonly record: Record<string, unknown>;

  constructor(
    value: unknown,
    private readonly path: string,
    isElement = false,
  ) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new InvalidEventError(path || 'body', isElement ? 'must be an object' : 'must be a JSON object');
    }
    this.record = value as Record<string, unknown>;
  }

  private name(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }

  /** Absent and null mean the same: not given. */
  private get(key: string): unknown {
    return Object.hasOwn(this.record, key) ? this.record[key] : undefined;
  }

  private given(key: string): boolean {
    const value = this.get(key);
    return value !== undefined && value !== null;
  }

  object(key: string): Fields {
    if (!this.given(key)) throw new InvalidEventError(this.name(key), 'is required');
    return new Fields(this.get(key), this.name(key), true);
  }

  string(key: string, max: number): string {
    const value = this.get(key);
    if (value === undefined || value === null) throw new InvalidEventError(this.name(key), 'is required');
    if (typeof value !== 'string') throw new InvalidEventError(this.name(key), 'must be a string');
    if (value.length > max) throw new InvalidEventError(this.name(key), `must be at most ${max} characters`);
    return value;
  }

  /** Ids are opaque, printable, non-empty. */
  id(key: string): string {
    const value = this.string(key, ID_MAX);
    if (!/^[\x21-\x7e]+$/.test(value)) {
      throw new InvalidEventError(this.name(key), 'must be 1 to 255 printable ASCII characters without spaces');
    }
    return value;
  }

  text(key: string, max: number): string {
    return this.string(key, max);
  }

  optionalText(key: string, max: number): string | undefined {
    return this.given(key) ? this.string(key, max) : undefined;
  }

  phone(key: string): string {
    const value = this.string(key, 16);
    if (!E164.test(value)) throw new InvalidEventError(this.name(key), 'must be an E.164 number like +12125550100');
    return value;
  }

  oneOf<T extends string>(key: string, values: readonly T[]): T {
    const value = this.string(key, 64);
    if (!(values as readonly string[]).includes(value)) {
      throw new InvalidEventError(this.name(key), `must be one of ${values.join(', ')}`);
    }
    return value as T;
  }

  optionalOneOf<T extends string>(key: string, values: readonly T[]): T | undefined {
    return this.given(key) ? this.oneOf(key, values) : undefined;
  }

  instant(key: string): Date {
    const value = this.string(key, 64);
    const date = new Date(value);
    if (!INSTANT.test(value) || Number.isNaN(date.getTime()) || !isCalendarDate(value)) {
      throw new InvalidEventError(this.name(key), 'must be an ISO 8601 date-time with a time zone, like 2026-03-02T15:04:05.123Z');
    }
    return date;
  }

  optionalInstant(key: string): Date | undefined {
    return this.given(key) ? this.instant(key) : undefined;
  }

  optionalNumber(key: string, min: number, max: number): number | undefined {
    if (!this.given(key)) return undefined;
    const value = this.get(key);
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
      throw new InvalidEventError(this.name(key), `must be a number from ${min} to ${max}`);
    }
    return value;
  }

  optionalInteger(key: string, min: number, max: number): number | undefined {
    const value = this.optionalNumber(key, min, max);
    if (value !== undefined && !Number.isInteger(value)) {
      throw new InvalidEventError(this.name(key), `must be a whole number from ${min} to ${max}`);
    }
    return value;
  }

  optionalArray(key: string): unknown[] {
    if (!this.given(key)) return [];
    const value = this.get(key);
    if (!Array.isArray(value)) throw new InvalidEventError(this.name(key), 'must be an array');
    return value;
  }
}

/** Date.parse rolls 2026-02-30 over to March 2nd; a provider sending it has a bug worth hearing about. */
function isCalendarDate(value: string): boolean {
  const [year, month, day] = value.slice(0, 10).split('-').map(Number) as [number, number, number];
  return year >= 1970 && new Date(Date.UTC(year, month - 1, day)).getUTCDate() === day;
}

/**
 * PostgreSQL's text and jsonb cannot hold U+0000 or a lone UTF-16 surrogate;
 * they are refused here, with the field named, rather than failing the
 * insert. Walked iteratively with a depth bound: a hostile body nested a
 * million levels deep costs a 400, not a stack overflow.
 */
function checkStorable(root: unknown): void {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value: root, path: 'body', depth: 0 }];
  // eslint-disable-next-line no-control-regex -- NUL is one of the characters this pattern exists to find
  const bad = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
  for (let next = stack.pop(); next; next = stack.pop()) {
    const { value, path, depth } = next;
    if (typeof value === 'string') {
      if (bad.test(value)) throw new InvalidEventError(path, 'contains a NUL character or an unpaired surrogate');
    } else if (typeof value === 'object' && value !== null) {
      if (depth >= MAX_DEPTH) throw new InvalidEventError(path, `nests deeper than ${MAX_DEPTH} levels`);
      const entries = Array.isArray(value) ? value.map((item, i) => [`[${i}]`, item] as const) : Object.entries(value);
      for (const [key, item] of entries) {
        const childPath = Array.isArray(value) ? `${path}${key}` : path === 'body' ? key : `${path}.${key}`;
        if (bad.test(key)) throw new InvalidEventError(childPath, 'has a key with a NUL character or an unpaired surrogate');
        stack.push({ value: item, path: childPath, depth: depth + 1 });
      }
    }
  }
}
