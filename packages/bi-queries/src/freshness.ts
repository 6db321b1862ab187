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
