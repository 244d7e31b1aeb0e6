import type { TenantScope } from '../db/tenant';
import { findAgentsByIds, findPhoneNumbersByAgents, findPhoneNumbersByIds } from '../queries/agents';
import { findAppointmentsByCalls, findAppointmentsByContacts, findAppointmentsByIds } from '../queries/appointments';
import { findCallMetadata, findCallsByIds, findTranscripts } from '../queries/calls';
import { findContactMetadata, findContactsByIds } from '../queries/contacts';
import { findMembersByIds, findOwnOrganisation } from '../queries/organisations';
import { rowByKeyLoader, rowsByKeyLoader, type LoaderOptions } from './byKey';
import { callCountsByParentLoader, callPagesByParentLoader } from './callPages';
import { agentStatsLoader } from './agentStats';
import { searchHighlightLoader } from './highlights';
import { cachedRowLists, cachedRows } from '../cache/cachedFetch';
import type { EntityCache } from '../cache/entityCache';
import type { EntityCaches } from '../cache/runtime';

/**
 * The per-request loaders, bound to the caller's organisation through its
 * scope: nothing a resolver can reach takes an organisation id of its own, so
 * no code path can read another tenant's rows.
 */
export function createLoaders(scope: TenantScope, options: LoaderOptions, now: Date, caches?: EntityCaches) {
  const sameOrg = () => scope.orgId;
  /** Rows of this organisation by id; behind an entity cache when one is given. */
  const byId = <Row extends { id: string }>(fetch: (scope: TenantScope, ids: readonly string[]) => Promise<Row[]>, cache?: EntityCache<Row>) =>
    rowByKeyLoader(
      cachedRows(
        cache,
        sameOrg,
        (ids) => fetch(scope, ids),
        (row) => row.id,
      ),
      (row) => row.id,
      options,
    );

  return {
    // Hot, rarely changing rows sit behind entity caches (src/cache) that the database invalidates.
    // An organisation's id is its own organisation: the cache's invalidation key.
    organisationById: rowByKeyLoader(
      cachedRows(
        caches?.organisations,
        (id) => id,
        (ids) => findOwnOrganisation(scope, ids),
        (row) => row.id,
      ),
      (row) => row.id,
      options,
    ),
    memberById: byId(findMembersByIds, caches?.members),
    agentById: byId(findAgentsByIds, caches?.agents),
    contactById: byId(findContactsByIds),
    callById: byId(findCallsByIds),
    appointmentById: byId(findAppointmentsByIds),
    phoneNumberById: byId(findPhoneNumbersByIds),
    callMetadataById: byId(findCallMetadata),
    contactMetadataById: byId(findContactMetadata),
    transcriptByCallId: rowByKeyLoader(
      (ids) => findTranscripts(scope, ids),
      (row) => row.call_id,
      options,
    ),
    appointmentByCallId: rowByKeyLoader(
      (ids) => findAppointmentsByCalls(scope, ids),
      (row) => row.call_id ?? '',
      options,
    ),
    appointmentsByContactId: rowsByKeyLoader(
      (ids) => findAppointmentsByContacts(scope, ids),
      (row) => row.contact_id,
      options,
    ),
    phoneNumbersByAgentId: rowsByKeyLoader(
      cachedRowLists(
        caches?.phoneNumbersByAgent,
        sameOrg,
        (ids) => findPhoneNumbersByAgents(scope, ids),
        (row) => row.agent_id ?? '',
      ),
      (row) => row.agent_id ?? '',
      options,
    ),
    callsByAgent: callPagesByParentLoader(scope, 'agent_id', options),
    callsByContact: callPagesByParentLoader(scope, 'contact_id', options),
    callCountByAgent: callCountsByParentLoader(scope, 'agent_id', options),
    callCountByContact: callCountsByParentLoader(scope, 'contact_id', options),
    agentStats: agentStatsLoader(scope, now, options),
    searchHighlight: searchHighlightLoader(scope, options),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;

/**
 * After a write, everything this request has loaded so far may be stale (a
 * moved phone number, a call's new outcome inside a cached page, an agent's
 * stats). Forgetting it all is cheap — it is one request's memo — and keeps a
 * later field or a second mutation in the same document from reading old rows.
 */
export function forgetLoadedRows(loaders: Loaders): void {
  for (const loader of Object.values(loaders)) loader.clearAll();
}
