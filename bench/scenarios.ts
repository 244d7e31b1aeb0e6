import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/config/config';

/**
 * The benchmark's scenarios: real dashboard operations stored as .graphql
 * files in bench/scenarios/. Variables that depend on the dataset (ids, a
 * page-200 cursor) are filled in by the preparation step.
 */
export interface Scenario {
  name: string;
  description: string;
  query: string;
  /** Only part of the scale sweep if true. */
  sweep: boolean;
  /** The equivalent PostGraphile v5 operation (bench/scenarios/postgraphile/), for the scenarios of the issue-12 comparison. */
  peerQuery?: string;
}

/** The operations Switchboard is compared on with PostGraphile and the raw-SQL floor (issue 12). */
export const PEER_SCENARIOS = ['calls-page', 'agents-board-10x5', 'deep-cursor-5000'];

export interface DatasetFacts {
  page200Cursor: string;
  /** Switchboard's cursor for row 5,000 of the calls list (newest first). */
  row5000Cursor: string;
  nodeIds: string[];
  search: string;
}

const FILES: [string, string, boolean][] = [
  ['calls-page', 'calls(first: 50) with agent, contact and hasRecording', true],
  ['calls-page-recording-url', 'the same page with recordingUrl signed for every call', false],
  ['nested-agents', 'agents(first: 20) { calls(first: 10) { contact } stats(30 days) }', false],
  ['contact-search', "trigram contact search with each contact's last call", false],
  ['dashboard-30d', 'the 30-day statistics panel with the previous 30 days', true],
  ['analytics-90d', '90-day daily series, zero-filled', false],
  ['leaderboard', 'every agent ranked by 30-day conversion rate', false],
  ['deep-pagination', 'page 200 of calls (rows 9,951–10,000) by cursor', false],
  ['node-lookups', 'nodes(ids:) with 50 mixed ids', false],
  ['agents-board-10x5', 'agents(first: 10) { calls(first: 5) { contact } } (the PostGraphile comparison)', false],
  ['deep-cursor-5000', 'calls(first: 50) after row 5,000 by cursor (the PostGraphile comparison)', false],
];

const read = (...parts: string[]) => readFileSync(path.join(PROJECT_ROOT, 'bench', 'scenarios', ...parts), 'utf8');

export function loadScenarios(): Scenario[] {
  return FILES.map(([name, description, sweep]) => ({
    name,
    description,
    sweep,
    query: read(`${name}.graphql`),
    ...(PEER_SCENARIOS.includes(name) ? { peerQuery: read('postgraphile', `${name}.graphql`) } : {}),
  }));
}

export function variablesFor(scenario: Scenario, facts: DatasetFacts): Record<string, unknown> {
  switch (scenario.name) {
    case 'contact-search':
      return { search: facts.search };
    case 'deep-pagination':
      return { after: facts.page200Cursor };
    case 'deep-cursor-5000':
      return { after: facts.row5000Cursor };
    case 'node-lookups':
      return { ids: facts.nodeIds };
    default:
      return {};
  }
}
