import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { sql, type RawBuilder, type Transaction } from 'kysely';
import type { Db } from '../db/database';
import type {
  AgentStatus,
  AppointmentStatus,
  CallDirection,
  CallOutcome,
  CallStatus,
  ContactStatus,
  Database,
  Role,
  Sentiment,
  TranscriptSegment,
} from '../db/schema';
import { Random, WeightedIndex, seedFrom } from './random';
import { synthesizeCallAudio } from './wav';
import { demoWebhookSecret } from '../webhooks/secrets';

/**
 * Demo data: two organisations with agents, numbers, ~2,000 contacts and
 * ~20,000 calls each over the last 90 days, plus transcripts, appointments and
 * a handful of synthetic recordings.
 *
 * Everything is planned in memory first (pure, seeded: the only input that
 * varies is `now`), then written in one transaction with `INSERT … SELECT FROM
 * unnest(…)` — one statement per few thousand rows, so seeding takes seconds.
 * The data is meant to make dashboards look real: business hours in the
 * organisation's own time zone, weekday/weekend rhythm, growth over time,
 * contacts called more while they are fresh, outcomes that agree with
 * durations, sentiment, summaries, appointments and contact status.
 */

export interface DemoSeedResult {
  organisations: { id: string; slug: string; name: string }[];
  calls: number;
  contacts: number;
  /** Wall-clock time the seed took. */
  seconds: number;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

const CALL_DAYS = 90;
const CONTACT_DAYS = 180;
const CONTACTS_PER_ORG = 2000;
const CALLS_PER_ORG = 20_000;
const RECORDED_CALLS_PER_ORG = 300;
const TRANSCRIBED_CALLS_PER_ORG = 500;
const AUDIO_FILES_PER_ORG = 6;
/** Rows per INSERT: well inside the pool's 5 s statement timeout. */
const CHUNK = 5000;

// ------------------------------------------------------------------ specs

type Provider = 'retell' | 'vapi' | 'elevenlabs';

interface AgentSpec {
  name: string;
  provider: Provider;
  language: string;
  status: AgentStatus;
  handles: CallDirection | 'both';
  /** Takes inbound calls outside business hours. */
  afterHours?: boolean;
  /** Relative share of the calls it is eligible for. */
  weight: number;
  createdDaysAgo: number;
  /** First call this many days ago (a recently launched agent). */
  liveFromDaysAgo?: number;
  /** Last call this many days ago (paused / archived agents). */
  liveUntilDaysAgo?: number;
}

interface OrgSpec {
  slug: string;
  name: string;
  timezone: string;
  createdDaysAgo: number;
  users: { email: string; name: string; role: Role }[];
  agents: AgentSpec[];
  /** The organisation's own numbers, one per index. */
  agentNumber(index: number): string;
  /** All fictional numbers contacts and unknown callers are drawn from. */
  contactPhonePool(random: Random): string[];
  firstNames: readonly string[];
  lastNames: readonly string[];
  tags: readonly string[];
  contactMetadata(random: Random): Record<string, unknown>;
  services: readonly string[];
  /** A local wall-clock time the way the organisation's customers say it. */
  formatTime(hour: number, minute: number): string;
  summaries: Record<Exclude<CallOutcome, 'voicemail_left'>, readonly string[]>;
  script: {
    inboundOpener: string;
    outboundOpener: string;
    inboundReason: readonly string[];
    middle: readonly (readonly [string, string])[];
    closings: Record<Exclude<CallOutcome, 'voicemail_left'>, readonly (readonly [TranscriptSegment['speaker'], string])[]>;
  };
}

const CALLBACK_WHENS = ['tomorrow morning', 'after 5pm', 'next week', 'on Friday', 'later this afternoon', 'on Monday'];

/** NANP area codes around the New York practice; 212 is reserved for the organisation's own lines. */
// prettier-ignore
const US_AREA_CODES = [
  '646', '332', '917', '718', '347', '929', '516', '631', '914', '201', '551', '973', '862', '908', '732', '848',
  '203', '475', '845', '570', '610', '484', '215', '267', '856', '609', '302', '410', '443', '240', '301', '202',
  '703', '571', '617', '857', '781', '339', '508', '413',
];

// prettier-ignore
const ACME: OrgSpec = {
  slug: 'acme',
  name: 'Acme Dental Group',
  timezone: 'America/New_York',
  createdDaysAgo: 210,
  users: [
    { email: 'admin@acme.example', name: 'Dana Whitfield', role: 'admin' },
    { email: 'member@acme.example', name: 'Marcus Bell', role: 'member' },
    { email: 'viewer@acme.example', name: 'Priya Shah', role: 'viewer' },
  ],
  agents: [
    { name: 'Ava — Inbound Reception', provider: 'retell', language: 'en-US', status: 'active', handles: 'inbound', weight: 6, createdDaysAgo: 200 },
    { name: 'Max — Appointment Reminders', provider: 'vapi', language: 'en-US', status: 'active', handles: 'outbound', weight: 5, createdDaysAgo: 195 },
    { name: 'Nora — Recall Outreach', provider: 'retell', language: 'en-US', status: 'active', handles: 'outbound', weight: 4, createdDaysAgo: 150 },
    { name: 'Leo — Insurance Verification', provider: 'elevenlabs', language: 'en-US', status: 'active', handles: 'outbound', weight: 1.5, createdDaysAgo: 120 },
    { name: 'Sofía — Línea en Español', provider: 'retell', language: 'es-US', status: 'active', handles: 'both', weight: 1.2, createdDaysAgo: 40, liveFromDaysAgo: 35 },
    { name: 'Ivy — After-hours Line', provider: 'vapi', language: 'en-US', status: 'active', handles: 'inbound', afterHours: true, weight: 0.3, createdDaysAgo: 180 },
    { name: 'Zoe — Billing Questions', provider: 'elevenlabs', language: 'en-US', status: 'paused', handles: 'inbound', weight: 1.5, createdDaysAgo: 170, liveUntilDaysAgo: 6 },
    { name: 'Otto — Legacy Reminder Bot', provider: 'vapi', language: 'en-US', status: 'archived', handles: 'outbound', weight: 4, createdDaysAgo: 205, liveUntilDaysAgo: 48 },
  ],
  agentNumber: (i) => `+1212555${String(100 + i).padStart(4, '0')}`,
  contactPhonePool: (random) => {
    // 555-0100…0199 is the NANP range reserved for fiction, in every area code.
    const pool: string[] = [];
    for (const area of US_AREA_CODES) for (let n = 100; n < 200; n++) pool.push(`+1${area}5550${n}`);
    return random.shuffle(pool);
  },
  firstNames: [
    'James', 'Mary', 'Robert', 'Patricia', 'John', 'Jennifer', 'Michael', 'Linda', 'David', 'Elizabeth', 'William',
    'Barbara', 'Richard', 'Susan', 'Joseph', 'Jessica', 'Thomas', 'Sarah', 'Christopher', 'Karen', 'Daniel', 'Lisa',
    'Matthew', 'Nancy', 'Anthony', 'Sandra', 'Mark', 'Ashley', 'Steven', 'Emily', 'Andrew', 'Michelle', 'Joshua',
    'Amanda', 'Kevin', 'Melissa', 'Brian', 'Stephanie', 'José', 'María', 'Luis', 'Carmen', 'Wei', 'Mei', 'Raj', 'Priya',
    'Aaliyah', 'Jamal', 'Sofia', 'Diego', 'Hannah', 'Ethan', 'Olivia', 'Noah', 'Grace', 'Tyler', 'Chloe', 'Isaac',
    'Leah', 'Omar',
  ],
  lastNames: [
    'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez', 'Hernandez',
    'Lopez', 'Gonzalez', 'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin', 'Lee', 'Perez',
    'Thompson', 'White', 'Harris', 'Sanchez', 'Clark', 'Ramirez', 'Lewis', 'Robinson', 'Walker', 'Young', 'Allen', 'King',
    'Wright', 'Scott', 'Torres', 'Nguyen', 'Hill', 'Flores', 'Green', 'Adams', 'Nelson', 'Baker', 'Hall', 'Rivera',
    'Campbell', 'Mitchell', 'Carter', 'Roberts', 'Chen', 'Patel', 'Kim', 'Cohen', "O'Brien", 'Murphy', 'Rossi',
    'Kowalski', 'Goldberg', 'Shapiro',
  ],
  tags: ['new-patient', 'recall-due', 'insurance', 'orthodontics', 'cosmetic', 'emergency', 'vip', 'spanish-speaking', 'family-plan'],
  contactMetadata: (random) => ({
    source: random.weighted([['web_form', 5], ['referral', 3], ['google_ads', 3], ['walk_in', 1], ['import', 2]] as const),
    ...(random.chance(0.6)
      ? { insurer: random.pick(['Delta Dental', 'Cigna', 'Aetna', 'MetLife', 'Guardian', 'self-pay']) }
      : {}),
  }),
  // With their article, so templates read right ("an Invisalign consultation").
  services: ['a cleaning', 'a check-up', 'a whitening consultation', 'a crown fitting', 'an Invisalign consultation', 'a filling', 'an emergency visit'],
  formatTime: (hour, minute) => `${((hour + 11) % 12) + 1}:${String(minute).padStart(2, '0')} ${hour < 12 ? 'AM' : 'PM'}`,
  summaries: {
    appointment_booked: [
      '{first} booked {service} for {when}. Confirmation sent by SMS.',
      'Booked {first} in for {service} on {when}; insurance details confirmed.',
      '{first} rescheduled and is now booked for {service} on {when}.',
    ],
    callback_requested: [
      '{first} asked for a call back {callback} to discuss {service}.',
      '{first} was busy and requested a call back {callback}.',
    ],
    interested: [
      '{first} is interested in {service} but wants to check their schedule first.',
      '{first} asked about pricing for {service}; price list sent by email.',
      '{first} wants to book {service} once their insurance approval comes through.',
    ],
    not_interested: [
      '{first} is not interested at the moment.',
      '{first} declined; already sees another dentist.',
      '{first} is not ready to book {service} yet.',
    ],
    wrong_number: ['Wrong number: the person who answered does not know {first}.', 'Reached a wrong number; contact details need updating.'],
    do_not_call: ['{first} asked not to be called again. Added to the do-not-call list.'],
    transferred: [
      'Transferred {first} to the front desk with a billing question.',
      '{first} asked to speak to a person; transferred to reception.',
      'Transferred {first} to the on-call dentist about tooth pain.',
    ],
    no_outcome: [
      '{first} asked about opening hours; no follow-up needed.',
      'Short call with {first}; no clear next step.',
      '{first} confirmed their address and hung up.',
    ],
  },
  script: {
    inboundOpener: 'Thank you for calling Acme Dental Group, this is {agent}. How can I help you today?',
    outboundOpener: 'Hi, this is {agent}, the virtual assistant at Acme Dental Group. Am I speaking with {first}?',
    inboundReason: ["Hi, I'm calling about {service}.", 'Hello, I wanted to ask about booking {service}.', 'Hi, I have a question about my last visit.'],
    middle: [
      ['Of course. Can I confirm your date of birth, please?', "Sure, it's the one you have on file."],
      ['Thanks. Are you still with the same insurance provider?', "Yes, nothing's changed."],
      ["It's been a while since your last visit. Would you like to come in for {service}?", 'Maybe, what do you have available?'],
      ['Let me check the schedule for you.', 'Thanks.'],
    ],
    closings: {
      appointment_booked: [
        ['agent', 'I have {when} available for {service}. Does that work for you?'],
        ['contact', 'Yes, that works for me.'],
        ['agent', "Great, you're booked. You'll get a text confirmation shortly."],
      ],
      callback_requested: [
        ['contact', "I'm in the middle of something. Could you call me back {callback}?"],
        ['agent', "Absolutely, I'll arrange a call back {callback}. Talk soon."],
      ],
      interested: [
        ['contact', 'That sounds good, but I need to check my calendar first.'],
        ['agent', "No problem. I'll email you the available times and prices."],
      ],
      not_interested: [
        ["contact", "Thanks, but I'm not interested right now."],
        ['agent', 'Understood. Thank you for your time, and have a great day.'],
      ],
      wrong_number: [
        ['contact', "Sorry, I think you've got the wrong number."],
        ['agent', "My apologies for the confusion. I'll update our records."],
      ],
      do_not_call: [
        ['contact', "Please take me off your list. Don't call this number again."],
        ['agent', "Of course. I've removed your number from our call list."],
      ],
      transferred: [
        ['contact', 'Actually, can I speak to someone about my bill?'],
        ['agent', 'Sure, let me transfer you to our front desk now.'],
      ],
      no_outcome: [
        ['contact', 'I was just wondering what your opening hours are.'],
        ['agent', "We're open eight to seven on weekdays and nine to one on Saturdays."],
      ],
    },
  },
};

/** Ofcom's ranges reserved for drama: never assigned to a real line. */
// prettier-ignore
const UK_DRAMA_PREFIXES = ['441134960', '441144960', '441154960', '441164960', '441174960', '441184960', '441214960',
  '441314960', '441414960', '441514960', '441614960', '441914980'];

// prettier-ignore
const GLOBEX: OrgSpec = {
  slug: 'globex',
  name: 'Globex Realty',
  timezone: 'Europe/London',
  createdDaysAgo: 200,
  users: [
    { email: 'admin@globex.example', name: 'Hugo Pemberton', role: 'admin' },
    { email: 'member@globex.example', name: 'Chloe Barnes', role: 'member' },
    { email: 'viewer@globex.example', name: 'Tom Ashworth', role: 'viewer' },
  ],
  agents: [
    { name: 'Harriet — Lettings Enquiries', provider: 'retell', language: 'en-GB', status: 'active', handles: 'inbound', weight: 6, createdDaysAgo: 190 },
    { name: 'Oliver — Viewing Scheduler', provider: 'vapi', language: 'en-GB', status: 'active', handles: 'outbound', weight: 5, createdDaysAgo: 185 },
    { name: 'Priya — Valuation Bookings', provider: 'retell', language: 'en-GB', status: 'active', handles: 'both', weight: 3, createdDaysAgo: 160 },
    { name: 'George — Landlord Outreach', provider: 'elevenlabs', language: 'en-GB', status: 'active', handles: 'outbound', weight: 3, createdDaysAgo: 60, liveFromDaysAgo: 55 },
    { name: 'Isla — After-hours Line', provider: 'vapi', language: 'en-GB', status: 'active', handles: 'inbound', afterHours: true, weight: 0.3, createdDaysAgo: 175 },
    { name: 'Freddie — Maintenance Reports', provider: 'elevenlabs', language: 'en-GB', status: 'paused', handles: 'inbound', weight: 1.5, createdDaysAgo: 150, liveUntilDaysAgo: 9 },
    { name: 'Amelia — Spring Campaign', provider: 'vapi', language: 'en-GB', status: 'archived', handles: 'outbound', weight: 4, createdDaysAgo: 198, liveUntilDaysAgo: 40 },
  ],
  agentNumber: (i) => `+44207946${String(10 + i).padStart(4, '0')}`,
  contactPhonePool: (random) => {
    const mobiles: string[] = [];
    for (let n = 0; n < 1000; n++) mobiles.push(`+447700900${String(n).padStart(3, '0')}`);
    const landlines: string[] = [];
    for (const prefix of UK_DRAMA_PREFIXES) for (let n = 0; n < 1000; n++) landlines.push(`+${prefix}${String(n).padStart(3, '0')}`);
    // Mostly mobiles, as for real UK leads, then landlines.
    return random.shuffle([...random.shuffle(mobiles).slice(0, 900), ...random.shuffle(landlines).slice(0, 2000)]);
  },
  firstNames: [
    'Oliver', 'Amelia', 'George', 'Isla', 'Harry', 'Ava', 'Jack', 'Mia', 'Charlie', 'Ivy', 'Thomas', 'Lily', 'Oscar',
    'Freya', 'William', 'Emily', 'James', 'Grace', 'Henry', 'Sophie', 'Alfie', 'Poppy', 'Leo', 'Evie', 'Archie', 'Ella',
    'Joshua', 'Florence', 'Samuel', 'Rosie', 'Daniel', 'Chloe', 'Mohammed', 'Aisha', 'Arjun', 'Priya', 'Callum', 'Niamh',
    'Rhys', 'Seren', 'Ewan', 'Eilidh', 'Kwame', 'Adaeze', 'Tomasz', 'Zofia', 'Luca', 'Chiara', 'Hamza', 'Fatima',
  ],
  lastNames: [
    'Smith', 'Jones', 'Taylor', 'Brown', 'Williams', 'Wilson', 'Johnson', 'Davies', 'Robinson', 'Wright', 'Thompson',
    'Evans', 'Walker', 'White', 'Roberts', 'Green', 'Hall', 'Wood', 'Jackson', 'Clarke', 'Patel', 'Khan', 'Lewis',
    'James', 'Phillips', 'Mason', 'Mitchell', 'Rose', 'Cox', 'Morgan', 'Hughes', 'Edwards', 'Turner', 'Hill', 'Harris',
    'Cooper', 'Ward', 'Morris', 'King', 'Baker', 'Harrison', 'Scott', 'Young', 'Campbell', 'Kelly', 'Murphy', 'Ahmed',
    'Hussain', 'Begum', 'Okafor', 'Nowak', 'Kowalczyk', 'MacDonald', 'Fraser', "O'Connor", 'Singh',
  ],
  tags: ['buyer', 'seller', 'landlord', 'tenant', 'first-time-buyer', 'investor', 'hot-lead', 'valuation-booked', 'chain-free'],
  contactMetadata: (random) => ({
    source: random.weighted([['rightmove', 5], ['zoopla', 4], ['website', 3], ['referral', 2], ['board', 1]] as const),
    ...(random.chance(0.6)
      ? { area: random.pick(['Camden', 'Islington', 'Hackney', 'Clapham', 'Richmond', 'Greenwich', 'Ealing', 'Wandsworth']) }
      : {}),
  }),
  services: ['a viewing', 'a valuation', 'a second viewing', 'a lettings consultation', 'a mortgage adviser call', 'an inventory check'],
  formatTime: (hour, minute) => `${((hour + 11) % 12) + 1}${minute ? `.${String(minute).padStart(2, '0')}` : ''}${hour < 12 ? 'am' : 'pm'}`,
  summaries: {
    appointment_booked: [
      '{first} booked {service} for {when}. Confirmation sent by email.',
      'Arranged {service} with {first} on {when}; negotiator notified.',
      '{first} rescheduled {service} to {when}.',
    ],
    callback_requested: ['{first} asked for a call back {callback} about {service}.', '{first} was driving; call back {callback}.'],
    interested: [
      '{first} is interested in {service} and wants the brochure first.',
      '{first} asked about the asking price and chain status; details sent by email.',
      '{first} is keen but waiting on a mortgage in principle.',
    ],
    not_interested: [
      '{first} is not looking to move at the moment.',
      '{first} has already instructed another agent.',
      '{first} found the area too expensive.',
    ],
    wrong_number: ['Wrong number: the person who answered does not know {first}.', 'Reached a wrong number; contact details need updating.'],
    do_not_call: ['{first} asked not to be contacted again. Added to the suppression list.'],
    transferred: [
      'Transferred {first} to a negotiator to discuss an offer.',
      '{first} asked for the lettings manager; call transferred.',
      'Transferred {first} to the maintenance team about a leak.',
    ],
    no_outcome: [
      '{first} asked about office opening hours; no follow-up needed.',
      'Brief call with {first}; no clear next step.',
      '{first} asked whether a property was still available; it has been let.',
    ],
  },
  script: {
    inboundOpener: 'Good day, you are through to Globex Realty, this is {agent}. How can I help?',
    outboundOpener: "Hello, it's {agent} calling from Globex Realty. Is that {first}?",
    inboundReason: ["Hi, I'm calling about {service}.", 'Hello, I saw a flat on Rightmove and wanted to ask about it.', "Hi, I'd like to get my house valued."],
    middle: [
      ['Lovely. Which property or area are you interested in?', 'Somewhere in north London, ideally two bedrooms.'],
      ['And are you chain-free at the moment?', 'Yes, we are renting at the moment.'],
      ['Have you got a mortgage in principle yet?', "We're sorting that out this week."],
      ['Let me just check the diary for you.', 'Great, thanks.'],
    ],
    closings: {
      appointment_booked: [
        ['agent', "I can offer {when} for {service}. Would that suit?"],
        ['contact', "Yes, that's perfect."],
        ['agent', "Brilliant, that's booked. I'll send a confirmation email now."],
      ],
      callback_requested: [
        ['contact', "I'm just driving at the moment. Could you ring me back {callback}?"],
        ['agent', "Of course, I'll make sure someone calls you back {callback}."],
      ],
      interested: [
        ['contact', 'It sounds promising, but could you send me the details first?'],
        ['agent', "Certainly. I'll email the brochure and floor plan over now."],
      ],
      not_interested: [
        ['contact', "Thanks, but we're not looking to move at the moment."],
        ['agent', 'No problem at all. Thank you for your time.'],
      ],
      wrong_number: [
        ['contact', "Sorry, I think you've got the wrong number."],
        ['agent', "Apologies for the trouble. I'll update our records."],
      ],
      do_not_call: [
        ['contact', 'Please remove me from your list. I do not want any more calls.'],
        ['agent', "Understood. I've removed your details from our call list."],
      ],
      transferred: [
        ['contact', "I'd like to talk to someone about making an offer."],
        ['agent', "Of course, I'll put you through to one of our negotiators now."],
      ],
      no_outcome: [
        ['contact', 'I just wanted to know when your office is open.'],
        ['agent', "We're open nine to six on weekdays and ten to four on Saturdays."],
      ],
    },
  },
};

const ORGS: readonly OrgSpec[] = [ACME, GLOBEX];

// ------------------------------------------------------------- distributions

/** Local-hour weights on weekdays: a morning peak, a lunch dip, an afternoon peak. */
const WEEKDAY_HOURS = [0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1.5, 5, 8, 9, 9, 6, 7, 9, 9, 8, 6, 4, 2, 1.2, 0.8, 0.5, 0.3];
const WEEKEND_HOURS = [0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.6, 2, 5, 7, 7, 6, 5, 4, 3, 1.5, 1, 0.8, 0.6, 0.5, 0.4, 0.3, 0.2];
/** Sunday … Saturday. */
const WEEKDAY_FACTOR = [0.15, 1, 1.05, 1, 1, 0.9, 0.35];
const WEEKDAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/**
 * Call statuses by direction: inbound calls reach an AI agent that always
 * answers, so almost all complete; outbound dials often go unanswered.
 * Together (60/40 outbound/inbound) ≈ completed 62%, no_answer 17%,
 * voicemail 10%, busy 6%, failed 5%.
 */
type TerminalStatus = Exclude<CallStatus, 'queued' | 'ringing' | 'in_progress'>;
const OUTBOUND_STATUSES: readonly (readonly [TerminalStatus, number])[] = [
  ['completed', 47],
  ['no_answer', 23],
  ['voicemail', 17],
  ['busy', 8],
  ['failed', 5],
];
const INBOUND_STATUSES: readonly (readonly [TerminalStatus, number])[] = [
  ['completed', 86],
  ['no_answer', 7],
  ['busy', 3],
  ['failed', 4],
];

type ConversationOutcome = Exclude<CallOutcome, 'voicemail_left'>;
const OUTCOMES: readonly (readonly [ConversationOutcome, number])[] = [
  ['appointment_booked', 12],
  ['callback_requested', 14],
  ['interested', 16],
  ['not_interested', 18],
  ['wrong_number', 4],
  ['do_not_call', 3],
  ['transferred', 10],
  ['no_outcome', 23],
];

/** Median seconds and log-spread per outcome: bookings take a while, wrong numbers do not. */
const OUTCOME_DURATION: Record<ConversationOutcome, readonly [number, number]> = {
  appointment_booked: [260, 0.45],
  callback_requested: [110, 0.5],
  interested: [200, 0.5],
  not_interested: [70, 0.5],
  wrong_number: [35, 0.3],
  do_not_call: [40, 0.35],
  transferred: [150, 0.6],
  no_outcome: [90, 0.7],
};

/** [positive, neutral, negative] weights per outcome. */
const OUTCOME_SENTIMENT: Record<ConversationOutcome, readonly [number, number, number]> = {
  appointment_booked: [75, 22, 3],
  callback_requested: [40, 50, 10],
  interested: [60, 35, 5],
  not_interested: [5, 50, 45],
  wrong_number: [5, 70, 25],
  do_not_call: [2, 28, 70],
  transferred: [30, 50, 20],
  no_outcome: [15, 60, 25],
};

const LEAD_SCORE: Record<ContactStatus, readonly [number, number]> = {
  new: [35, 15],
  contacted: [45, 15],
  qualified: [68, 12],
  converted: [84, 9],
  lost: [15, 10],
  archived: [22, 12],
};

// ------------------------------------------------------------ time zones

/**
 * Local wall-clock time in one IANA zone, via Intl. The UTC offset is cached
 * per 15-minute bucket (zones change offset only on such boundaries), so
 * tens of thousands of conversions cost a few hundred Intl calls.
 */
class ZoneClock {
  private readonly format: Intl.DateTimeFormat;
  private readonly offsets = new Map<number, number>();

  constructor(readonly timeZone: string) {
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
  }

  /** Local minus UTC, in ms, at an instant. */
  offsetAt(utcMs: number): number {
    const bucket = Math.floor(utcMs / (15 * MINUTE_MS));
    let offset = this.offsets.get(bucket);
    if (offset === undefined) {
      const at = bucket * 15 * MINUTE_MS;
      const parts: Record<string, number> = {};
      for (const part of this.format.formatToParts(new Date(at))) parts[part.type] = Number(part.value);
      offset = Date.UTC(parts.year ?? 0, (parts.month ?? 1) - 1, parts.day ?? 1, parts.hour ?? 0, parts.minute ?? 0) - at;
      this.offsets.set(bucket, offset);
    }
    return offset;
  }

  /** Local calendar fields of an instant (a Date whose UTC fields are the local ones). */
  local(utcMs: number): Date {
    return new Date(utcMs + this.offsetAt(utcMs));
  }

  /** The instant of a local wall-clock time; a time skipped by DST lands an hour off, which is fine here. */
  toUtc(year: number, month0: number, day: number, hour: number, minute: number, second = 0, ms = 0): number {
    const wall = Date.UTC(year, month0, day, hour, minute, second, ms);
    // Twice: the offset at the first guess may differ from the one at the answer near a DST switch.
    const guess = wall - this.offsetAt(wall);
    return wall - this.offsetAt(guess);
  }
}

// ---------------------------------------------------------------- plans

interface PlannedAgent {
  spec: AgentSpec;
  providerAgentId: string;
  createdMs: number;
  updatedMs: number;
  fromMs: number;
  untilMs: number;
  /** The number its calls used: its own, or (paused/archived) a released one. */
  number: string;
  ratePerMinute: number;
  firstName: string;
}

interface PlannedNumber {
  e164: string;
  provider: string;
  providerNumberId: string;
  agent: number | null;
  createdMs: number;
}

interface PlannedContact {
  name: string;
  firstName: string;
  phone: string;
  email: string | null;
  leadScore: number;
  status: ContactStatus;
  tags: string[];
  metadata: string;
  createdMs: number;
  updatedMs: number;
  lastContactedMs: number | null;
  weight: number;
  blocked: boolean;
  outcomes: ConversationOutcome[];
  hadCompletedAppointment: boolean;
}

interface PlannedCall {
  agent: number;
  contact: number; // -1: unknown caller
  direction: CallDirection;
  status: CallStatus;
  from: string;
  to: string;
  startedMs: number;
  endedMs: number | null;
  duration: number;
  cost: string;
  sentiment: Sentiment | null;
  outcome: CallOutcome | null;
  summary: string | null;
  audio: number; // index into the org's audio files, -1: none
  metadata: string;
  /** The provider's id for the call, as a webhook would have stored it (Call.providerConversation reads it). */
  providerCallId: string;
  /** What the conversation was about, for its transcript; not stored. */
  topic: string;
  slot: string;
}

interface PlannedAppointment {
  call: number;
  contact: number;
  agent: number;
  scheduledMs: number;
  status: AppointmentStatus;
  value: string;
  createdMs: number;
  updatedMs: number;
}

interface OrgPlan {
  spec: OrgSpec;
  createdMs: number;
  agents: PlannedAgent[];
  numbers: PlannedNumber[];
  contacts: PlannedContact[];
  calls: PlannedCall[];
  transcripts: { call: number; text: string; segments: string }[];
  appointments: PlannedAppointment[];
  audio: { name: string; wav: Buffer }[];
}

/** Opening hours, local: 8–19 on weekdays, 9–17 at weekends. */
function isBusinessHour(weekend: boolean, hour: number): boolean {
  return weekend ? hour >= 9 && hour < 17 : hour >= 8 && hour < 19;
}

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (match, key: string) => values[key] ?? match);
}

function emailLocalPart(text: string): string {
  return text
    .normalize('NFD')
    .replace(/[^A-Za-z]/g, '')
    .toLowerCase();
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

function providerCallId(random: Random, provider: Provider): string {
  if (provider === 'vapi')
    return `${random.hex(8)}-${random.hex(4)}-4${random.hex(3)}-${random.pick(['8', '9', 'a', 'b'])}${random.hex(3)}-${random.hex(12)}`;
  if (provider === 'elevenlabs') return `conv_${random.hex(26)}`;
  return `call_${random.hex(24)}`;
}

/**
 * Everything one organisation gets, computed without touching the database.
 *
 * Every step draws from one seeded stream, in the order below: the order is
 * part of the output (a step that drew one number more or earlier would
 * change every row after it). Only the audio has its own seed.
 */
function planOrganisation(spec: OrgSpec, nowMs: number): OrgPlan {
  const org: Planning = { spec, nowMs, random: new Random(seedFrom(`switchboard-demo:${spec.slug}`)), clock: new ZoneClock(spec.timezone) };
  const { agents, numbers } = planAgents(org);
  const { contacts, unknownCallers } = planContacts(org);
  const times = planCallTimes(org);
  const { calls, appointments } = planCalls(org, times, agents, contacts, unknownCallers);
  settleContacts(org, contacts);
  const transcripts = planTranscripts(org, calls, agents, contacts);
  return {
    spec,
    createdMs: nowMs - spec.createdDaysAgo * DAY_MS,
    agents,
    numbers,
    contacts,
    calls,
    transcripts,
    appointments,
    audio: planAudio(spec),
  };
}

/** What every planning step needs: the organisation, "now", its seeded stream and its wall clock. */
interface Planning {
  spec: OrgSpec;
  nowMs: number;
  random: Random;
  clock: ZoneClock;
}

/**
 * Agents and numbers. Active agents own a number; the paused agent's number
 * was unassigned when it was paused (the "spare" number); the archived
 * agent's number was released and is not in the inventory any more.
 */
function planAgents({ spec, nowMs, random }: Planning): { agents: PlannedAgent[]; numbers: PlannedNumber[] } {
  const agents: PlannedAgent[] = [];
  const numbers: PlannedNumber[] = [];
  let released = 90; // index of numbers the org no longer owns: far past the ones in use
  for (const [index, agent] of spec.agents.entries()) {
    const created = nowMs - agent.createdDaysAgo * DAY_MS - random.int(0, DAY_MS);
    const until = agent.liveUntilDaysAgo === undefined ? Infinity : nowMs - agent.liveUntilDaysAgo * DAY_MS;
    const number = agent.status === 'archived' ? spec.agentNumber(released++) : spec.agentNumber(index);
    agents.push({
      spec: agent,
      providerAgentId: agent.provider === 'vapi' ? providerCallId(random, 'vapi') : `agent_${random.hex(24)}`,
      createdMs: created,
      updatedMs: Math.min(nowMs, Number.isFinite(until) ? until + random.int(0, 2 * HOUR_MS) : created + random.int(1, 30) * DAY_MS),
      fromMs: agent.liveFromDaysAgo === undefined ? -Infinity : nowMs - agent.liveFromDaysAgo * DAY_MS,
      untilMs: until,
      number,
      ratePerMinute: Math.round(random.float(0.07, 0.12) * 1000) / 1000,
      firstName: agent.name.split(' — ')[0] ?? agent.name,
    });
    if (agent.status !== 'archived') {
      numbers.push({
        e164: number,
        provider: random.chance(0.8) ? 'twilio' : 'telnyx',
        providerNumberId: `PN${random.hex(32)}`,
        agent: agent.status === 'active' ? index : null,
        createdMs: created,
      });
    }
  }
  return { agents, numbers };
}

/**
 * Contacts, in creation order (so a call can pick among contacts that existed
 * at its time by index range), and the numbers of unknown callers. Creation
 * picks up over time: 70% spread over 180 days, 30% in the last 60. Status,
 * score and activity are filled in by the calls and `settleContacts`.
 */
function planContacts({ spec, nowMs, random }: Planning): { contacts: PlannedContact[]; unknownCallers: string[] } {
  const phones = spec.contactPhonePool(random);
  const unknownCallers = phones.slice(CONTACTS_PER_ORG, CONTACTS_PER_ORG + 400);
  const emailsSeen = new Set<string>();
  const contacts: PlannedContact[] = [];
  for (let i = 0; i < CONTACTS_PER_ORG; i++) {
    const phone = phones[i];
    if (phone === undefined) throw new Error(`${spec.slug}: phone pool smaller than ${CONTACTS_PER_ORG}`);
    const first = random.pick(spec.firstNames);
    const last = random.pick(spec.lastNames);
    let email: string | null = null;
    if (random.chance(0.86)) {
      const base = `${emailLocalPart(first)}.${emailLocalPart(last)}`;
      let candidate = `${base}@${random.pick(['example.com', 'example.net', 'example.org'])}`;
      while (emailsSeen.has(candidate)) candidate = `${base}${random.int(1, 999)}@${random.pick(['example.com', 'example.net', 'example.org'])}`;
      emailsSeen.add(candidate);
      email = candidate;
    }
    const ageDays = random.chance(0.7) ? random.float(0, CONTACT_DAYS) : random.float(0, 60);
    const tagCount = random.weighted([
      [0, 30],
      [1, 40],
      [2, 22],
      [3, 8],
    ] as const);
    contacts.push({
      name: `${first} ${last}`,
      firstName: first,
      phone,
      email,
      leadScore: 0,
      status: 'new',
      tags: random
        .shuffle([...spec.tags])
        .slice(0, tagCount)
        .sort(),
      metadata: JSON.stringify(spec.contactMetadata(random)),
      createdMs: Math.floor(nowMs - ageDays * DAY_MS),
      updatedMs: 0,
      lastContactedMs: null,
      // Some contacts are never called; the rest vary a lot in how much.
      weight: random.chance(0.12) ? 0 : random.logNormal(1, 0.8),
      blocked: false,
      outcomes: [],
      hadCompletedAppointment: false,
    });
  }
  contacts.sort((a, b) => a.createdMs - b.createdMs);
  return { contacts, unknownCallers };
}

interface CallTime {
  ms: number;
  /** Inside the organisation's opening hours, local time. */
  business: boolean;
  /** Still going at `now`. */
  live: boolean;
}

/**
 * When the calls happen, in order: a day (weekday rhythm, growth, day-to-day
 * noise), then a local hour from that day's curve, converted to UTC in the
 * org's zone; plus a few calls that are live at `now`.
 */
function planCallTimes({ nowMs, random, clock }: Planning): CallTime[] {
  const today = clock.local(nowMs);
  const days: { year: number; month0: number; day: number; weekday: number }[] = [];
  const dayWeights: number[] = [];
  for (let d = 0; d < CALL_DAYS; d++) {
    const date = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - d));
    const weekday = date.getUTCDay();
    days.push({ year: date.getUTCFullYear(), month0: date.getUTCMonth(), day: date.getUTCDate(), weekday });
    const growth = 0.7 + 0.6 * (1 - d / (CALL_DAYS - 1));
    dayWeights.push((WEEKDAY_FACTOR[weekday] ?? 1) * growth * clamp(random.normal(1, 0.12), 0.6, 1.4));
  }
  const dayIndex = new WeightedIndex(dayWeights);
  const weekdayHours = new WeightedIndex(WEEKDAY_HOURS);
  const weekendHours = new WeightedIndex(WEEKEND_HOURS);

  const times: CallTime[] = [];
  for (let i = 0; i < CALLS_PER_ORG; i++) {
    for (let attempt = 0; ; attempt++) {
      const day = days[dayIndex.sample(random)];
      if (!day) throw new Error('day sampling failed');
      const weekend = day.weekday === 0 || day.weekday === 6;
      const hour = (weekend ? weekendHours : weekdayHours).sample(random);
      const ms = clock.toUtc(day.year, day.month0, day.day, hour, random.int(0, 59), random.int(0, 59), random.int(0, 999));
      if (ms <= nowMs - 1000 || attempt > 50) {
        times.push({ ms: Math.min(ms, nowMs - 1000), business: isBusinessHour(weekend, hour), live: false });
        break;
      }
    }
  }
  // A few calls are always live so the dashboard has something "now".
  for (const ageMs of [random.int(90, 360) * 1000, random.int(60, 240) * 1000, random.int(6, 20) * 1000, random.int(500, 2000)]) {
    const local = clock.local(nowMs - ageMs);
    const weekend = local.getUTCDay() === 0 || local.getUTCDay() === 6;
    times.push({ ms: nowMs - ageMs, business: isBusinessHour(weekend, local.getUTCHours()), live: true });
  }
  times.sort((a, b) => a.ms - b.ms);
  return times;
}

/** The contacts a call at some instant may reach: those created by then, weighted, with a bias to fresh ones. */
interface ContactPool {
  contacts: PlannedContact[];
  unknownCallers: string[];
  index: WeightedIndex;
  /** Number of contacts created at or before `ms`. */
  createdBy(ms: number): number;
}

function contactPool(contacts: PlannedContact[], unknownCallers: string[]): ContactPool {
  const created = contacts.map((c) => c.createdMs);
  const createdBy = (ms: number): number => {
    let lo = 0;
    let hi = created.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((created[mid] ?? 0) <= ms) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return { contacts, unknownCallers, index: new WeightedIndex(contacts.map((c) => c.weight)), createdBy };
}

/** Every call in time order, and the appointments the calls booked. Contacts collect their outcomes as calls reach them. */
function planCalls(
  org: Planning,
  times: readonly CallTime[],
  agents: readonly PlannedAgent[],
  contacts: PlannedContact[],
  unknownCallers: string[],
): { calls: PlannedCall[]; appointments: PlannedAppointment[] } {
  const pool = contactPool(contacts, unknownCallers);
  const calls: PlannedCall[] = [];
  const appointments: PlannedAppointment[] = [];
  for (const time of times) {
    const { call, appointment } = planCall(org, time, calls.length, agents, pool);
    calls.push(call);
    if (appointment) appointments.push(appointment);
  }
  return { calls, appointments };
}

/** One call: who, with whom, how it went, what it booked. Updates the contact it reached. */
function planCall(
  org: Planning,
  time: CallTime,
  callIndex: number,
  agents: readonly PlannedAgent[],
  pool: ContactPool,
): { call: PlannedCall; appointment: PlannedAppointment | undefined } {
  const { spec, nowMs, random } = org;
  const t = time.ms;
  const { agent, direction } = chooseAgent(random, agents, time);
  const agentPlan = agents[agent] as PlannedAgent;
  const contact = chooseContact(random, pool, direction, t);
  const contactPlan = contact >= 0 ? pool.contacts[contact] : undefined;
  const contactPhone = contactPlan?.phone ?? random.pick(pool.unknownCallers);

  let { status, outcome, sentiment, duration } = callResult(random, direction, contactPlan !== undefined);
  let endedMs: number | null = t + duration * 1000;
  if (time.live || endedMs > nowMs) {
    // Still going at `now`: not terminal yet.
    const age = nowMs - t;
    status = age < 3000 ? 'queued' : age < 30_000 ? 'ringing' : 'in_progress';
    outcome = null;
    sentiment = null;
    duration = 0;
    endedMs = null;
  }

  const providerId = providerCallId(random, agentPlan.spec.provider);
  const metadata: Record<string, unknown> = { provider_call_id: providerId };
  if (status === 'failed') metadata.error = random.pick(['sip_503', 'sip_480', 'carrier_rejected', 'llm_timeout']);

  let summary: string | null = null;
  let topic = '';
  let slot = '';
  let appointment: PlannedAppointment | undefined;
  if (status === 'completed' && outcome && outcome !== 'voicemail_left') {
    const service = random.pick(spec.services);
    let when = '';
    if (outcome === 'appointment_booked' && contactPlan) {
      const booking = planBooking(org, t, endedMs ?? t);
      appointment = { ...booking.appointment, call: callIndex, contact, agent };
      if (appointment.status === 'completed') contactPlan.hadCompletedAppointment = true;
      when = booking.when;
    }
    summary = fill(random.pick(spec.summaries[outcome]), {
      first: contactPlan?.firstName ?? 'The caller',
      service,
      when,
      callback: random.pick(CALLBACK_WHENS),
    });
    topic = service;
    slot = when;
  }

  if (contactPlan) {
    if (outcome && outcome !== 'voicemail_left') contactPlan.outcomes.push(outcome);
    if (outcome === 'do_not_call' || outcome === 'wrong_number') contactPlan.blocked = true;
    contactPlan.lastContactedMs = t;
  }

  const call: PlannedCall = {
    agent,
    contact,
    direction,
    status,
    from: direction === 'inbound' ? contactPhone : agentPlan.number,
    to: direction === 'inbound' ? agentPlan.number : contactPhone,
    startedMs: t,
    endedMs,
    duration,
    cost: ((duration / 60) * agentPlan.ratePerMinute).toFixed(4),
    sentiment,
    outcome,
    summary,
    audio: -1,
    metadata: JSON.stringify(metadata),
    providerCallId: providerId,
    topic,
    slot,
  };
  return { call, appointment };
}

/**
 * The direction and the agent: one live at that time that handles the
 * direction; after hours the after-hours line takes most inbound calls. When
 * nobody handles the drawn direction, the other one; failing that, agent 0.
 */
function chooseAgent(random: Random, agents: readonly PlannedAgent[], time: CallTime): { agent: number; direction: CallDirection } {
  const t = time.ms;
  let direction: CallDirection = time.business ? (random.chance(0.64) ? 'outbound' : 'inbound') : random.chance(0.1) ? 'outbound' : 'inbound';
  const pickAgent = (dir: CallDirection): number => {
    const entries: [number, number][] = [];
    for (const [index, agent] of agents.entries()) {
      if (t < agent.fromMs || t > agent.untilMs || t < agent.createdMs) continue;
      if (agent.spec.handles !== 'both' && agent.spec.handles !== dir) continue;
      const afterHoursBoost = agent.spec.afterHours ? (time.business ? 0.2 : 60) : 1;
      entries.push([index, agent.spec.weight * afterHoursBoost]);
    }
    return entries.length > 0 ? random.weighted(entries) : -1;
  };
  let agent = pickAgent(direction);
  if (agent < 0) {
    direction = direction === 'inbound' ? 'outbound' : 'inbound';
    agent = pickAgent(direction);
  }
  return { agent: agent < 0 ? 0 : agent, direction };
}

/**
 * The contact, or -1 for an unknown caller (they only call in): someone who
 * existed by then, favouring contacts created in the last three weeks, and
 * never an outbound dial to a number that asked not to be called or was wrong.
 */
function chooseContact(random: Random, pool: ContactPool, direction: CallDirection, t: number): number {
  let contact = -1;
  if (direction === 'outbound' || !random.chance(0.125)) {
    const hi = pool.createdBy(t);
    const lo = pool.createdBy(t - 21 * DAY_MS);
    for (let attempt = 0; attempt < 5; attempt++) {
      const fresh = random.chance(0.45) && pool.index.weightOf(lo, hi) > 0;
      contact = fresh ? pool.index.sample(random, lo, hi) : pool.index.sample(random, 0, hi);
      if (contact < 0 || direction === 'inbound' || !(pool.contacts[contact] as PlannedContact).blocked) break;
    }
  }
  return contact;
}

/** How a finished call ended: status, then for a conversation its outcome, duration and sentiment. */
function callResult(
  random: Random,
  direction: CallDirection,
  knownContact: boolean,
): { status: CallStatus; outcome: CallOutcome | null; sentiment: Sentiment | null; duration: number } {
  const status: CallStatus = random.weighted(direction === 'outbound' ? OUTBOUND_STATUSES : INBOUND_STATUSES);
  if (status === 'completed') {
    let conversation = random.weighted(OUTCOMES);
    // Booking needs someone to book: an unknown caller cannot.
    while (conversation === 'appointment_booked' && !knownContact) conversation = random.weighted(OUTCOMES);
    const [median, sigma] = OUTCOME_DURATION[conversation];
    const duration = Math.round(clamp(random.logNormal(median, sigma), 30, 900));
    const [positive, neutral, negative] = OUTCOME_SENTIMENT[conversation];
    const sentiment = random.weighted([
      ['positive', positive],
      ['neutral', neutral],
      ['negative', negative],
    ] as const);
    return { status, outcome: conversation, sentiment, duration };
  }
  if (status === 'voicemail') return { status, outcome: 'voicemail_left', sentiment: null, duration: random.int(12, 40) };
  // No answer rang out; busy and failed end at once.
  return { status, outcome: null, sentiment: null, duration: status === 'no_answer' ? random.int(15, 40) : random.int(0, 4) };
}

/**
 * The appointment a call booked: a few days out, in opening hours; its
 * status by whether that time has passed. `when` is how the summary says it.
 */
function planBooking(
  { spec, nowMs, random, clock }: Planning,
  t: number,
  createdAt: number,
): { appointment: Omit<PlannedAppointment, 'call' | 'contact' | 'agent'>; when: string } {
  const local = clock.local(t);
  let date = new Date(Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate() + random.int(1, 10)));
  if (date.getUTCDay() === 0) date = new Date(date.getTime() + DAY_MS);
  const hour = date.getUTCDay() === 6 ? random.int(9, 12) : random.int(8, 17);
  const minute = random.pick([0, 15, 30, 45]);
  const scheduledMs = clock.toUtc(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate(), hour, minute);
  const past = scheduledMs < nowMs;
  const status: AppointmentStatus = past
    ? random.weighted([
        ['completed', 72],
        ['no_show', 12],
        ['cancelled', 16],
      ] as const)
    : random.weighted([
        ['scheduled', 88],
        ['cancelled', 12],
      ] as const);
  const updatedMs =
    status === 'scheduled'
      ? createdAt
      : status === 'cancelled'
        ? Math.min(nowMs, createdAt + Math.floor(random.next() * (scheduledMs - createdAt)))
        : Math.min(nowMs, scheduledMs + random.int(30, 120) * MINUTE_MS);
  return {
    appointment: { scheduledMs, status, value: (random.int(16, 120) * 5).toFixed(2), createdMs: createdAt, updatedMs },
    when: `${WEEKDAY_NAMES[date.getUTCDay()]} at ${spec.formatTime(hour, minute)}`,
  };
}

/**
 * Contact status and score follow from what their calls achieved. With ~10
 * calls per contact most have booked something at some point, so status is
 * probabilistic on top (not every visit makes a customer), aiming at roughly
 * new 15%, contacted 30%, qualified 20%, converted 15%, lost 17%, archived 3%.
 */
function settleContacts({ random }: Planning, contacts: PlannedContact[]): void {
  for (const contact of contacts) {
    const last = contact.outcomes[contact.outcomes.length - 1];
    let status: ContactStatus;
    if (random.chance(0.03)) status = 'archived';
    else if (contact.lastContactedMs === null) status = 'new';
    else if (last === 'do_not_call' || last === 'wrong_number') status = 'lost';
    else if (contact.hadCompletedAppointment && random.chance(0.45)) status = 'converted';
    else if (last === 'not_interested' && random.chance(0.7)) status = 'lost';
    else if (contact.outcomes.some((o) => o === 'appointment_booked' || o === 'interested' || o === 'callback_requested')) {
      status = random.chance(0.4) ? 'qualified' : 'contacted';
    } else status = 'contacted';
    contact.status = status;
    const [mean, sd] = LEAD_SCORE[status];
    contact.leadScore = Math.round(clamp(random.normal(mean, sd), 0, 100));
    contact.updatedMs = Math.max(contact.createdMs, contact.lastContactedMs ?? 0);
  }
}

/**
 * Transcripts and recordings: completed calls, weighted towards recent ones
 * (that is what a dashboard shows first). Recorded calls are a subset: the
 * first ones chosen get one of the organisation's audio files.
 */
function planTranscripts(
  { spec, nowMs, random }: Planning,
  calls: PlannedCall[],
  agents: readonly PlannedAgent[],
  contacts: readonly PlannedContact[],
): OrgPlan['transcripts'] {
  const completed = calls.flatMap((call, index) => (call.status === 'completed' && call.duration >= 40 ? [index] : []));
  const recency = new WeightedIndex(completed.map((index) => Math.exp(-(nowMs - (calls[index] as PlannedCall).startedMs) / (20 * DAY_MS))));
  const chosen: number[] = [];
  const taken = new Set<number>();
  while (chosen.length < Math.min(TRANSCRIBED_CALLS_PER_ORG, completed.length)) {
    const index = completed[recency.sample(random)];
    if (index === undefined || taken.has(index)) continue;
    taken.add(index);
    chosen.push(index);
  }
  const transcripts: OrgPlan['transcripts'] = [];
  for (const [n, index] of chosen.entries()) {
    const call = calls[index] as PlannedCall;
    if (n < RECORDED_CALLS_PER_ORG) call.audio = random.int(0, AUDIO_FILES_PER_ORG - 1);
    const segments = transcriptFor(spec, call, agents[call.agent] as PlannedAgent, contacts[call.contact], random);
    transcripts.push({
      call: index,
      text: segments.map((s) => `${s.speaker === 'agent' ? 'Agent' : 'Contact'}: ${s.text}`).join('\n'),
      segments: JSON.stringify(segments),
    });
  }
  transcripts.sort((a, b) => a.call - b.call);
  return transcripts;
}

/** The organisation's recordings. They depend on the seed alone (not on `now`): the same files every time. */
function planAudio(spec: OrgSpec): OrgPlan['audio'] {
  const audioRandom = new Random(seedFrom(`switchboard-demo:${spec.slug}:audio`));
  return Array.from({ length: AUDIO_FILES_PER_ORG }, (_, i) => ({
    name: `demo-call-${i + 1}`,
    wav: synthesizeCallAudio(seedFrom(`${spec.slug}:audio:${i}`), audioRandom.float(4.5, 6)),
  }));
}

/** A short scripted conversation matching the call's direction and outcome, timed across its duration. */
function transcriptFor(
  spec: OrgSpec,
  call: PlannedCall,
  agent: PlannedAgent,
  contact: PlannedContact | undefined,
  random: Random,
): TranscriptSegment[] {
  const values = {
    agent: agent.firstName,
    first: contact?.firstName ?? 'there',
    service: call.topic || random.pick(spec.services),
    when: call.slot || `Tuesday at ${spec.formatTime(10, 30)}`,
    callback: random.pick(CALLBACK_WHENS),
  };
  const lines: [TranscriptSegment['speaker'], string][] = [];
  if (call.direction === 'inbound') {
    lines.push(['agent', spec.script.inboundOpener], ['contact', random.pick(spec.script.inboundReason)]);
  } else {
    lines.push(['agent', spec.script.outboundOpener], ['contact', random.pick(['Yes, speaking.', "Yes, that's me.", 'Speaking, who is this?'])]);
  }
  // Longer calls get more back-and-forth before the closing.
  const middle = random.shuffle([...spec.script.middle]).slice(0, clamp(Math.round(call.duration / 100) + random.int(0, 1), 1, 4));
  for (const [agentLine, contactLine] of middle) lines.push(['agent', agentLine], ['contact', contactLine]);
  const outcome = call.outcome && call.outcome !== 'voicemail_left' ? call.outcome : 'no_outcome';
  for (const [speaker, text] of spec.script.closings[outcome]) lines.push([speaker, text]);

  // Spread the lines over the call in proportion to their length.
  const texts = lines.map(([speaker, text]) => ({ speaker, text: fill(text, values) }));
  const totalChars = texts.reduce((sum, line) => sum + line.text.length + 20, 0);
  const spanMs = call.duration * 1000 * 0.92;
  let at = random.int(300, 1500);
  return texts.map((line) => {
    const segment = { speaker: line.speaker, startMs: Math.round(at), text: line.text };
    at += ((line.text.length + 20) / totalChars) * spanMs;
    return segment;
  });
}

// ---------------------------------------------------------------- writing

type PgType = 'int8' | 'int4' | 'int2' | 'text' | 'timestamptz' | 'numeric' | 'jsonb';

interface UnnestColumn {
  name: string;
  type: PgType;
  values: readonly (string | number | null)[];
  /** SQL over `t.<name>` when the column is not inserted as is. */
  select?: RawBuilder<unknown>;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

/**
 * `INSERT … SELECT FROM unnest($1::type[], $2::type[], …)`: one parameter per
 * column however many rows, so thousands of rows cost one round trip and one
 * parse. `WITH ORDINALITY … ORDER BY` makes the identity ids follow the input
 * order; the returned ids are sorted numerically to map them back to rows.
 */
async function insertUnnest(
  trx: Transaction<Database>,
  table: keyof Database,
  orgId: string,
  columns: readonly UnnestColumn[],
  returnIds: boolean,
): Promise<string[]> {
  const rows = columns[0]?.values.length ?? 0;
  const ids: string[] = [];
  for (let start = 0; start < rows; start += CHUNK) {
    const end = Math.min(rows, start + CHUNK);
    const names = sql.join(columns.map((c) => sql.ref(c.name)));
    const arrays = sql.join(columns.map((c) => sql`${c.values.slice(start, end)}::${sql.raw(c.type)}[]`));
    const selects = sql.join(columns.map((c) => c.select ?? sql.ref(`t.${c.name}`)));
    const result = await sql<{ id: string }>`
      insert into ${sql.table(table)} (org_id, ${names})
      select ${orgId}::int8, ${selects}
      from unnest(${arrays}) with ordinality as t(${names}, ord)
      order by t.ord
      ${returnIds ? sql`returning id` : sql``}`.execute(trx);
    if (returnIds) {
      const chunkIds = result.rows.map((r) => r.id);
      chunkIds.sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0));
      ids.push(...chunkIds);
    }
  }
  if (returnIds && ids.length !== rows) throw new Error(`insert into ${table}: expected ${rows} ids, got ${ids.length}`);
  return ids;
}

async function writeOrganisation(trx: Transaction<Database>, plan: OrgPlan, recordingsDir: string): Promise<string> {
  const { spec } = plan;
  const org = await trx
    .insertInto('organisations')
    .values({ slug: spec.slug, name: spec.name, timezone: spec.timezone, created_at: new Date(plan.createdMs) })
    .returning('id')
    .executeTakeFirstOrThrow();
  const orgId = org.id;

  const users = await trx
    .insertInto('users')
    .values(spec.users.map((u) => ({ email: u.email, name: u.name, created_at: new Date(plan.createdMs) })))
    .returning(['id', 'email'])
    .execute();
  await trx
    .insertInto('memberships')
    .values(
      spec.users.map((u) => {
        const user = users.find((row) => row.email === u.email);
        if (!user) throw new Error(`user ${u.email} not inserted`);
        return { org_id: orgId, user_id: user.id, role: u.role, created_at: new Date(plan.createdMs) };
      }),
    )
    .execute();

  const agentRows = await trx
    .insertInto('agents')
    .values(
      plan.agents.map((a) => ({
        org_id: orgId,
        name: a.spec.name,
        status: a.spec.status,
        provider: a.spec.provider,
        provider_agent_id: a.providerAgentId,
        language: a.spec.language,
        created_at: new Date(a.createdMs),
        updated_at: new Date(a.updatedMs),
      })),
    )
    .returning(['id', 'provider_agent_id'])
    .execute();
  const agentIds = plan.agents.map((a) => {
    const row = agentRows.find((r) => r.provider_agent_id === a.providerAgentId);
    if (!row) throw new Error(`agent ${a.spec.name} not inserted`);
    return row.id;
  });
  const agentId = (index: number): string => agentIds[index] ?? '';

  await trx
    .insertInto('phone_numbers')
    .values(
      plan.numbers.map((n) => ({
        org_id: orgId,
        e164: n.e164,
        provider: n.provider,
        provider_number_id: n.providerNumberId,
        agent_id: n.agent === null ? null : agentId(n.agent),
        created_at: new Date(n.createdMs),
      })),
    )
    .execute();

  const { contacts, calls } = plan;
  const contactIds = await insertUnnest(
    trx,
    'contacts',
    orgId,
    [
      { name: 'name', type: 'text', values: contacts.map((c) => c.name) },
      { name: 'phone', type: 'text', values: contacts.map((c) => c.phone) },
      { name: 'email', type: 'text', values: contacts.map((c) => c.email) },
      { name: 'lead_score', type: 'int2', values: contacts.map((c) => c.leadScore) },
      { name: 'status', type: 'text', values: contacts.map((c) => c.status) },
      // text[] per row cannot travel inside an unnest()ed array; tags never contain commas.
      { name: 'tags', type: 'text', values: contacts.map((c) => c.tags.join(',')), select: sql`string_to_array(t.tags, ',')` },
      { name: 'metadata', type: 'jsonb', values: contacts.map((c) => c.metadata) },
      { name: 'created_at', type: 'timestamptz', values: contacts.map((c) => iso(c.createdMs)) },
      { name: 'updated_at', type: 'timestamptz', values: contacts.map((c) => iso(c.updatedMs)) },
      { name: 'last_contacted_at', type: 'timestamptz', values: contacts.map((c) => isoOrNull(c.lastContactedMs)) },
    ],
    true,
  );
  const contactId = (index: number): string | null => (index < 0 ? null : (contactIds[index] ?? null));

  const key = (audio: number): string | null => {
    const file = plan.audio[audio];
    return file ? `orgs/${orgId}/recordings/${file.name}.wav` : null;
  };
  const callIds = await insertUnnest(
    trx,
    'calls',
    orgId,
    [
      { name: 'agent_id', type: 'int8', values: calls.map((c) => agentId(c.agent)) },
      { name: 'contact_id', type: 'int8', values: calls.map((c) => contactId(c.contact)) },
      { name: 'direction', type: 'text', values: calls.map((c) => c.direction) },
      { name: 'status', type: 'text', values: calls.map((c) => c.status) },
      { name: 'from_number', type: 'text', values: calls.map((c) => c.from) },
      { name: 'to_number', type: 'text', values: calls.map((c) => c.to) },
      { name: 'started_at', type: 'timestamptz', values: calls.map((c) => iso(c.startedMs)) },
      { name: 'ended_at', type: 'timestamptz', values: calls.map((c) => isoOrNull(c.endedMs)) },
      { name: 'duration_seconds', type: 'int4', values: calls.map((c) => c.duration) },
      { name: 'cost', type: 'numeric', values: calls.map((c) => c.cost) },
      { name: 'sentiment', type: 'text', values: calls.map((c) => c.sentiment) },
      { name: 'outcome', type: 'text', values: calls.map((c) => c.outcome) },
      { name: 'summary', type: 'text', values: calls.map((c) => c.summary) },
      { name: 'recording_key', type: 'text', values: calls.map((c) => key(c.audio)) },
      { name: 'metadata', type: 'jsonb', values: calls.map((c) => c.metadata) },
      { name: 'provider_call_id', type: 'text', values: calls.map((c) => c.providerCallId) },
      { name: 'created_at', type: 'timestamptz', values: calls.map((c) => iso(c.startedMs)) },
      { name: 'updated_at', type: 'timestamptz', values: calls.map((c) => iso(c.endedMs ?? c.startedMs)) },
    ],
    true,
  );
  const callId = (index: number): string => callIds[index] ?? '';

  await insertUnnest(
    trx,
    'call_transcripts',
    orgId,
    [
      { name: 'call_id', type: 'int8', values: plan.transcripts.map((t) => callId(t.call)) },
      { name: 'text', type: 'text', values: plan.transcripts.map((t) => t.text) },
      { name: 'segments', type: 'jsonb', values: plan.transcripts.map((t) => t.segments) },
      {
        name: 'created_at',
        type: 'timestamptz',
        values: plan.transcripts.map((t) => {
          const call = calls[t.call] as PlannedCall;
          return iso(call.endedMs ?? call.startedMs);
        }),
      },
    ],
    false,
  );

  await insertUnnest(
    trx,
    'appointments',
    orgId,
    [
      { name: 'contact_id', type: 'int8', values: plan.appointments.map((a) => contactId(a.contact)) },
      { name: 'call_id', type: 'int8', values: plan.appointments.map((a) => callId(a.call)) },
      { name: 'agent_id', type: 'int8', values: plan.appointments.map((a) => agentId(a.agent)) },
      { name: 'scheduled_at', type: 'timestamptz', values: plan.appointments.map((a) => iso(a.scheduledMs)) },
      { name: 'status', type: 'text', values: plan.appointments.map((a) => a.status) },
      { name: 'value', type: 'numeric', values: plan.appointments.map((a) => a.value) },
      { name: 'created_at', type: 'timestamptz', values: plan.appointments.map((a) => iso(a.createdMs)) },
      { name: 'updated_at', type: 'timestamptz', values: plan.appointments.map((a) => iso(a.updatedMs)) },
    ],
    false,
  );

  for (const file of plan.audio) {
    const target = path.join(recordingsDir, `orgs/${orgId}/recordings/${file.name}.wav`);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, file.wav);
  }
  return orgId;
}

/**
 * Seeds the demo organisations into an empty database; does nothing and
 * returns undefined when any organisation exists. One transaction: a failed
 * seed leaves no partial data (WAV files already written are harmless).
 */
export async function seedDemoData(db: Db, options: { recordingsDir: string; now?: Date }): Promise<DemoSeedResult | undefined> {
  const started = performance.now();
  if (await db.selectFrom('organisations').select('id').limit(1).executeTakeFirst()) return undefined;

  // Planned before the transaction opens, so it never sits idle in one.
  const nowMs = Math.floor((options.now ?? new Date()).getTime());
  const plans = ORGS.map((spec) => planOrganisation(spec, nowMs));

  const seeded = await db.transaction().execute(async (trx) => {
    // Two processes seeding at once: the second waits here, then sees rows.
    await sql`lock table organisations in share row exclusive mode`.execute(trx);
    if (await trx.selectFrom('organisations').select('id').limit(1).executeTakeFirst()) return undefined;

    const organisations: DemoSeedResult['organisations'] = [];
    for (const plan of plans) {
      const id = await writeOrganisation(trx, plan, options.recordingsDir);
      await trx
        .insertInto('webhook_secrets')
        .values({ org_id: id, secret: demoWebhookSecret(plan.spec.slug) })
        .execute();
      organisations.push({ id, slug: plan.spec.slug, name: plan.spec.name });
    }
    return {
      organisations,
      calls: plans.reduce((sum, p) => sum + p.calls.length, 0),
      contacts: plans.reduce((sum, p) => sum + p.contacts.length, 0),
      seconds: Math.round(performance.now() - started) / 1000,
    };
  });
  // Freshly filled tables have no statistics until autovacuum gets to them, and
  // the first dashboards would be planned blind: analysed once the rows are committed.
  if (seeded) await sql`analyze`.execute(db);
  return seeded;
}
