import type { Migration } from 'kysely';
import * as m0001 from './0001_core';
import * as m0002 from './0002_call_rollups';
import * as m0003 from './0003_covering_indexes';
import * as m0004 from './0004_org_daily_rollups';
import * as m0005 from './0005_agent_rollups';
import * as m0006 from './0006_writes';
import * as m0007 from './0007_call_ingestion';
import * as m0008 from './0008_cache_invalidation';
import * as m0009 from './0009_rollup_keys';
import { appRoleGrants, DEFAULT_APP_ROLE } from './0010_app_role';
import * as m0011 from './0011_search';
import * as m0012 from './0012_live_events';
import * as m0013 from './0013_provider_accounts';

/**
 * Migrations in order. A static list (not a folder scan) so the same code runs
 * compiled, under ts-jest and under tsx without dynamic-import tricks.
 * Names are permanent: never rename or reorder a migration that has shipped.
 */
export const migrations: Record<string, Migration> = {
  '0001_core': m0001,
  '0002_call_rollups': m0002,
  '0003_covering_indexes': m0003,
  '0004_org_daily_rollups': m0004,
  '0005_agent_rollups': m0005,
  '0006_writes': m0006,
  '0007_call_ingestion': m0007,
  '0008_cache_invalidation': m0008,
  '0009_rollup_keys': m0009,
  '0010_app_role': appRoleGrants(DEFAULT_APP_ROLE),
  '0011_search': m0011,
  '0012_live_events': m0012,
  '0013_provider_accounts': m0013,
};

/** The list with the configured runtime role (PG_APP_ROLE) in its grants; same names, same order. */
export function migrationsFor({ appRole }: { appRole: string }): Record<string, Migration> {
  return { ...migrations, '0010_app_role': appRoleGrants(appRole) };
}
