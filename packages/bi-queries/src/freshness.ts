import type { DB } from '@penguinmails/schema'
import { type Kysely, sql } from 'kysely'

/** How far a tenant's analytics lag its source, from the change tracking of migration 0005. */
export interface TenantFreshness {
  /**
   * The instant up to which the tenant's analytics reflect its source: the recording time of its
   * oldest dirty key still waiting (every change before it has been applied), or now when none
   * waits. ISO 8601.
   */
  as_of: string
  /** dirty-key rows of the tenant not yet drained: source changes not yet applied */
  pending_changes: number
}

/**
 * The tenant's freshness watermark, read from `analytics_dirty_keys`. Run it in the reader's
 * transaction before the data it describes: a drain that commits in between only makes the data
 * fresher than stated, never staler. Row level security limits a reader to its own tenant's keys.
 */
export async function tenantFreshness(db: Kysely<DB>, tenantId: string): Promise<TenantFreshness> {
  const { rows } = await sql<{ pending: number; as_of: Date }>`
    select count(*)::int as pending, coalesce(min(created_at), now()) as as_of
      from analytics_dirty_keys
     where tenant_id = ${tenantId}`.execute(db)
  const row = rows[0] as { pending: number; as_of: Date }
  return { as_of: new Date(row.as_of).toISOString(), pending_changes: Number(row.pending) }
}

/** The freshness watermark and the tenant's data version, read by one statement. */
export interface TenantFreshnessAndVersion {
  freshness: TenantFreshness
  /**
   * The sum of the tenant's bumps in analytics_tenant_versions (migration 0010), a decimal string;
   * '0' when the tenant's data never changed since the migration. Every write to the tables a
   * cached read depends on adds a bump in the writing transaction, so equal versions mean equal
   * data.
   */
  version: string
}

/** The SQL of tenantFreshnessAndVersion, `$1` being the tenant: also sent inline by the API. */
export const FRESHNESS_AND_VERSION_SQL = `
    select count(*)::int as pending, coalesce(min(created_at), now()) as as_of,
           coalesce((select sum(bumps) from analytics_tenant_versions where tenant_id = $1), 0)::text
             as version
      from analytics_dirty_keys
     where tenant_id = $1`

/** Turns a row of FRESHNESS_AND_VERSION_SQL into its result. */
export function toFreshnessAndVersion(row: {
  pending: number | string
  as_of: Date | string
  version: string
}): TenantFreshnessAndVersion {
  return {
    freshness: {
      as_of: new Date(row.as_of).toISOString(),
      pending_changes: Number(row.pending),
    },
    version: String(row.version),
  }
}

/**
 * tenantFreshness and the tenant's data version in one round trip. Read in the transaction of the
 * data it describes (repeatable read), the version names exactly the data that transaction sees.
 */
export async function tenantFreshnessAndVersion(
  db: Kysely<DB>,
  tenantId: string,
): Promise<TenantFreshnessAndVersion> {
  const { rows } = await sql<{ pending: number; as_of: Date; version: string }>`
    select count(*)::int as pending, coalesce(min(created_at), now()) as as_of,
           coalesce((select sum(bumps) from analytics_tenant_versions where tenant_id = ${tenantId}), 0)::text
             as version
      from analytics_dirty_keys
     where tenant_id = ${tenantId}`.execute(db)
  return toFreshnessAndVersion(rows[0] as { pending: number; as_of: Date; version: string })
}
