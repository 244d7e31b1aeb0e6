import type pg from 'pg';

/**
 * What `npm run db:report` shows: the statements that cost the most
 * (pg_stat_statements), how indexes and tables are read, and the cache hit
 * ratio. Plain queries over PostgreSQL's statistics views.
 */
export interface StatementStat {
  query: string;
  calls: number;
  totalMs: number;
  meanMs: number;
  rows: number;
}

export interface IndexStat {
  table: string;
  index: string;
  scans: number;
  sizeBytes: number;
}

export interface TableStat {
  table: string;
  seqScans: number;
  indexScans: number;
  liveRows: number;
}

export interface CacheHit {
  /** null when nothing has been read yet. */
  overall: number | null;
  tables: number | null;
  indexes: number | null;
}

export type TopStatements = { available: true; statements: StatementStat[] } | { available: false; reason: string };

/**
 * pg_stat_statements needs the library preloaded (the embedded server does)
 * and the extension created in this database; we create it when we may and
 * explain what is missing when we may not.
 */
export async function topStatements(client: pg.Client, limit: number): Promise<TopStatements> {
  try {
    await client.query('create extension if not exists pg_stat_statements');
  } catch (error) {
    return { available: false, reason: `cannot create the pg_stat_statements extension (${messageOf(error)})` };
  }
  try {
    const { rows } = await client.query<{ query: string; calls: string; total_ms: number; mean_ms: number; rows: string }>(
      `select query, calls, total_exec_time as total_ms, mean_exec_time as mean_ms, rows
         from pg_stat_statements
        where dbid = (select oid from pg_database where datname = current_database())
        order by total_exec_time desc
        limit $1`,
      [limit],
    );
    return {
      available: true,
      statements: rows.map((row) => ({
        query: row.query,
        calls: Number(row.calls),
        totalMs: row.total_ms,
        meanMs: row.mean_ms,
        rows: Number(row.rows),
      })),
    };
  } catch (error) {
    // 55000: the extension exists but the library is not in shared_preload_libraries.
    return { available: false, reason: messageOf(error) };
  }
}

export async function indexUsage(client: pg.Client): Promise<IndexStat[]> {
  const { rows } = await client.query<{ table: string; index: string; scans: string; size_bytes: string }>(
    `select relname as table, indexrelname as index, idx_scan as scans, pg_relation_size(indexrelid) as size_bytes
       from pg_stat_user_indexes
      order by idx_scan desc, relname, indexrelname`,
  );
  return rows.map((row) => ({ table: row.table, index: row.index, scans: Number(row.scans), sizeBytes: Number(row.size_bytes) }));
}

export async function tableScans(client: pg.Client): Promise<TableStat[]> {
  const { rows } = await client.query<{ table: string; seq_scans: string; index_scans: string | null; live_rows: string }>(
    `select relname as table, seq_scan as seq_scans, idx_scan as index_scans, n_live_tup as live_rows
       from pg_stat_user_tables
      order by seq_scan desc, relname`,
  );
  return rows.map((row) => ({
    table: row.table,
    seqScans: Number(row.seq_scans),
    indexScans: Number(row.index_scans ?? 0),
    liveRows: Number(row.live_rows),
  }));
}

export async function cacheHitRatio(client: pg.Client): Promise<CacheHit> {
  const { rows } = await client.query<{ overall: number | null; tables: number | null; indexes: number | null }>(
    `select
       (select blks_hit::float8 / nullif(blks_hit + blks_read, 0) from pg_stat_database where datname = current_database()) as overall,
       (select sum(heap_blks_hit)::float8 / nullif(sum(heap_blks_hit) + sum(heap_blks_read), 0) from pg_statio_user_tables) as tables,
       (select sum(idx_blks_hit)::float8 / nullif(sum(idx_blks_hit) + sum(idx_blks_read), 0) from pg_statio_user_indexes) as indexes`,
  );
  return rows[0] ?? { overall: null, tables: null, indexes: null };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
